"""Whole training curves as data: the checkpoints of one run share a per-run random effect.

The checkpoints of one run are not independent draws around the law: a run sits above or below the law by its own
amount (its seed, its data order, its tuning) at every checkpoint. With i.i.d. noise the points of one curve count
as many runs' worth of evidence, and the intervals at held-out checkpoints are too narrow. Here each run ``r``
carries an offset ``u_r`` on the likelihood's observed scale (the log target for ``studentt`` and ``normal``),
``u ~ Normal(0, run_sd)`` for every run, on top of the noise of each checkpoint.

With few runs, a run's offset and the law's own dependence on the run's size trade along a ridge: sampled as they
are, the law's parameters mixed badly (R-hat 1.18 on the T5 curves). What the checkpoints pin down is each run's
level, so that is what is sampled: ``level_r``, the run's log target at its middle checkpoint (flat, around the
observed value), with the offset ``u_r = level_r - log law(run r's middle checkpoint)`` given its ``Normal(0, run_sd)``
prior (a change of variables with unit Jacobian: the posterior is the one the model defines). Restricting the offsets
to what the law cannot explain instead (orthogonal to a polynomial in log N) sampled well but hid the offsets' share of
the law's uncertainty: the law's constant came out at 0.33-0.69 for a true 1.7 on simulated curves.

The level is taken at the run's middle checkpoint, not its last: there it trades least with the law's slope along
the run. On one simulated set of 8 curves the law's constant mixed twice as fast (bulk ESS 571 against 260 in 4000
draws; R-hat 1.008 against 1.022). A run the fit never saw draws its full offset from ``Normal(0, run_sd)``.

Warm-up checkpoints, where the loss falls for reasons the law does not describe (learning-rate warm-up, the first
steps' transient), are left out by a documented rule: a checkpoint is dropped when an input that grows within its run
(the tokens D) is below ``warmup`` times that run's largest value (:func:`after_warmup`; default 10%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import group_codes


WARMUP = 0.1  # checkpoints before this fraction of a run's largest token count are left out
# NUTS's defaults for whole curves, where the law's constant and exponents rest on a few runs' levels (a curved
# posterior): on simulated curves, 2 divergences in 4000 draws at 0.95, none at 0.99; R-hat up to 1.014 after 1000
# tuning steps, at most 1.008 after 2000
CURVES_TARGET_ACCEPT = 0.99
CURVES_TUNE = 2000
RUN_SCALE = "run_sd"
RUN_OFFSET = "run_offset"


def run_inputs(runs: pd.DataFrame, curves: str, inputs: list[str]) -> tuple[list[str], list[str]]:
    """The law's inputs that stay fixed within every run (the run's size) and those that vary (the tokens seen)."""
    fixed = [x for x in inputs if (runs.groupby(curves, sort=False)[x].nunique() <= 1).all()]
    return fixed, [x for x in inputs if x not in fixed]


def after_warmup(runs: pd.DataFrame, curves: str, inputs: list[str], warmup: float) -> pd.DataFrame:
    """``runs`` without the warm-up checkpoints: those where an input that varies within the run is below
    ``warmup`` times the run's largest value of it.

    >>> runs = pd.DataFrame({"run": ["a"] * 4 + ["b"] * 2, "N": [1e8] * 4 + [1e9] * 2, "D": [1, 5, 10, 100, 2, 20]})
    >>> after_warmup(runs, "run", ["N", "D"], 0.1)["D"].tolist()
    [10, 100, 2, 20]
    """
    _, varying = run_inputs(runs, curves, inputs)
    keep = np.ones(len(runs), bool)
    for x in varying:  # a value that is not a number stays, for validation to name
        values = pd.to_numeric(runs[x], errors="coerce")
        keep &= ~(values < warmup * values.groupby(runs[curves], sort=False).transform("max")).to_numpy()
    return runs[keep].reset_index(drop=True)


def run_names(runs: pd.DataFrame, curves: str) -> list[str]:
    """The fitted runs, in the order of the offsets (sorted)."""
    return sorted(runs[curves].astype(str).unique())


def reference_rows(runs: pd.DataFrame, curves: str, inputs: list[str]) -> np.ndarray:
    """Each run's middle checkpoint (the one nearest the mean log of the inputs that grow within it), in
    :func:`run_names` order: there the run's level depends least on the law's slope along the run.

    >>> runs = pd.DataFrame({"run": ["b", "a", "a", "b", "a"], "N": [2, 1, 1, 2, 1], "D": [5, 1, 9, 1, 3]})
    >>> reference_rows(runs, "run", ["N", "D"]).tolist()
    [4, 0]
    """
    _, varying = run_inputs(runs, curves, inputs)
    logs, names = np.log(runs[varying].astype(float)), runs[curves].astype(str)
    distance = ((logs - logs.groupby(names).transform("mean")) ** 2).sum(axis=1)
    return distance.groupby(names).idxmin().loc[run_names(runs, curves)].to_numpy().astype("int64")


def fitted_offsets(posterior, table: pd.DataFrame, curves: str, fitted: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's offset draws (draws × rows) where its run was fitted (else 0), and which rows those are."""
    offsets = posterior[RUN_OFFSET].values.reshape(-1, len(fitted))
    if curves not in table.columns:
        return np.zeros((len(offsets), len(table))), np.zeros(len(table), bool)
    codes = group_codes(table[curves], fitted)
    known = codes >= 0
    return np.where(known, offsets[:, np.maximum(codes, 0)], 0.0), known


def new_run_offsets(posterior, table: pd.DataFrame, curves: str, known: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Offset draws (draws × rows) for the rows of runs the fit never saw: one ``Normal(0, run_sd)`` per new run
    (per row where the table has no run column), 0 for fitted runs."""
    sd = posterior[RUN_SCALE].values.reshape(-1)
    names = table[curves].astype(str).to_numpy() if curves in table.columns else np.arange(len(table)).astype(str)
    new, codes = np.unique(names, return_inverse=True)
    draws = sd[:, None] * rng.standard_normal((len(sd), len(new)))
    return np.where(known, 0.0, draws[:, codes])
