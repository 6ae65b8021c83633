"""Backtests across the public studies: the data behind the error prior, and its leave-one-study-out check.

A :class:`Setting` is one study as a user would fit it: a data set (read by name from the data directory), the
runs kept, a law and its pooling. :func:`setting_records` refits it at rolling origins (:data:`BANK_ORIGINS` of
its log range of ``by``) and keeps, per origin, the refit's predictive draws at every later run
(:func:`bayescale.calibration.backtest_record`); :func:`save_records` / :func:`load_records` keep them as plain
arrays (no pickles). From the records, :func:`study_grid` gives a study's likelihood over the discrepancy grid,
:func:`bayescale.error_prior.learn_prior` the population over studies, and :func:`leave_one_study_out` scores
each study's later runs with a calibration from its own earlier origins only (nested: the runs at or below the
scored origin) under a prior learned without it, against the half-normal prior and the plain posterior.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .calibration import CALIBRATION_DRAWS_PER_CHAIN, backtest_record
from .datasets import load_dataset
from .error_prior import learn_prior
from .errors import ArgumentError, MissingFileError
from .extrapolation import KAPPA_GRID, TAU_GRID, grid_log_likelihood, halfnormal_log_prior, run_log_densities, scaled_distance
from .fit import model_spec
from .likelihoods import get_likelihood
from .scales import default_by
from .validation import RollingOrigins, refit_and_score

BANK_ORIGINS = (0.4, 0.55, 0.7, 0.85)
RATIO_BINS = (1.0, 2.0, 5.0, 10.0, 20.0, 100.0, np.inf)
METHODS = ("plain", "half-normal", "literature")


def _all(runs: pd.DataFrame) -> pd.DataFrame:
    return runs


def porian_near_minima(runs: pd.DataFrame, max_excess: float = 0.5) -> pd.DataFrame:
    """Points within ``max_excess`` of their isoFLOP minimum (the paper fits near the minima; far-off small models diverge)."""
    best = runs.groupby(["config", "C"])["loss"].transform("min")
    return runs[runs["loss"] <= (1 + max_excess) * best]


def final_best_lr(runs: pd.DataFrame) -> pd.DataFrame:
    """Misfitting's final checkpoints, the best peak learning rate per (model, step budget): one L(N, D) point each."""
    final = runs[runs["portion_steps_elapsed"] >= 1]
    return final.loc[final.groupby(["model", "total_steps"])["loss"].idxmin()]


def best_per_size_and_data(runs: pd.DataFrame) -> pd.DataFrame:
    """The best learning rate and batch size per (N, D): the loss a tuned run reaches."""
    return runs.loc[runs.groupby(["N", "D"])["loss"].idxmin()]


def every_fifth_checkpoint(runs: pd.DataFrame) -> pd.DataFrame:
    """Every fifth checkpoint of each curve (neighbouring checkpoints of one run are nearly the same point)."""
    return runs[runs.groupby("run").cumcount() % 5 == 4]


@dataclass(frozen=True)
class Setting:
    """One study as fitted for the error prior: data set, selection of runs, law, pooling, likelihood."""

    name: str
    dataset: str
    law: str = "chinchilla"
    pool: dict[str, str] = field(default_factory=dict)
    select: Callable[[pd.DataFrame], pd.DataFrame] = _all
    likelihood: str = "studentt"

    def runs(self, data_dir: Any = None) -> pd.DataFrame:
        return self.select(load_dataset(self.dataset, data_dir)).reset_index(drop=True)

    def spec(self):
        return model_spec(self.law, pool=self.pool or None, likelihood=self.likelihood)


ALL_FIVE = ["E", "A", "B", "alpha", "beta"]
SETTINGS = {
    s.name: s
    for s in [
        Setting("epoch-chinchilla", "epoch-chinchilla"),
        Setting("loss-to-loss", "loss-to-loss", pool=dict.fromkeys(["E", "A", "B"], "corpus")),
        Setting("gadre-overtraining", "gadre-overtraining", pool={"E": "dataset"}),
        Setting("porian", "porian", pool=dict.fromkeys(ALL_FIVE, "config"), select=porian_near_minima),
        Setting("misfitting", "misfitting", select=final_best_lr),
        Setting("gemstones", "gemstones", select=every_fifth_checkpoint),
        Setting("laion-clip", "laion-clip", pool={"E": "family"}),
        Setting("sldbench-data-constrained", "sldbench-data-constrained"),
        Setting("sldbench-lr", "sldbench-lr", select=best_per_size_and_data),
        Setting("sldbench-moe", "sldbench-moe", law="powerlaw-n", pool={"E": "experts", "A": "experts"}),
        Setting("sldbench-rectified", "sldbench-rectified", law="powerlaw-d", pool={"E": "curve", "A": "curve"}),
    ]
}


def setting_records(setting: Setting, random_seed: int = 0, data_dir: Any = None, executor: Any = None,
                    origins=BANK_ORIGINS, **settings: Any) -> list[dict[str, Any]]:
    """Backtest records of ``setting`` at rolling ``origins`` (see the module docstring), each with its origin's
    ``threshold`` (largest fitted ``by``) and the refit's divergences and largest R-hat."""
    spec = setting.spec()
    table = spec.prepare_runs(setting.runs(data_dir))
    inputs = spec.law.input_names
    by = default_by(inputs)
    min_runs = 2 * (len(spec.law.parameters) + len(spec.noise_names)) + 1
    splits = RollingOrigins(tuple(origins), by, min_runs).splits(table, inputs)
    results = refit_and_score(spec, table, splits, partial(backtest_record, by=by), {"draws": CALIBRATION_DRAWS_PER_CHAIN, **settings},
                              random_seed, executor)
    return [{**r.score, "threshold": r.split.threshold, "divergences": r.fit.diagnostics.divergences,
             "max_rhat": r.fit.diagnostics.max_rhat} for r in results]


def save_records(records: list[dict[str, Any]], likelihood: str, path: str | Path) -> None:
    """Write records as one ``.npz`` of plain arrays (read back by :func:`load_records`)."""
    arrays: dict[str, np.ndarray] = {"likelihood": np.array(likelihood)}
    for i, record in enumerate(records):
        for key, value in record.items():
            if key == "noise":
                arrays.update({f"{i}/noise/{n}": np.asarray(v) for n, v in value.items()})
            else:
                arrays[f"{i}/{key}"] = np.asarray(value)
    np.savez_compressed(path, **arrays)


def load_records(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """Records and likelihood name written by :func:`save_records` (no pickled objects are read)."""
    if not Path(path).is_file():
        raise MissingFileError(f"no backtest records at {path}")
    with np.load(path, allow_pickle=False) as stored:
        records: dict[int, dict[str, Any]] = {}
        for key in stored.files:
            if key == "likelihood":
                continue
            index, *name = key.split("/")
            record = records.setdefault(int(index), {"noise": {}})
            value = stored[key]
            if name[0] == "noise":
                record["noise"][name[1]] = value
            else:
                record[name[0]] = value if value.ndim else value.item()
        return [records[i] for i in sorted(records)], str(stored["likelihood"])


@dataclass
class Study:
    """A study setting's records with each record's run densities (computed once)."""

    name: str
    records: list[dict[str, Any]]
    likelihood: str
    densities: list[np.ndarray] = field(init=False)

    def __post_init__(self):
        family = get_likelihood(self.likelihood)
        self.records = sorted(self.records, key=lambda r: r["threshold"])
        self.densities = [run_log_densities(r, family) for r in self.records]


def study_grid(study: Study, unit: str, growth: float, keep: list[np.ndarray] | None = None) -> np.ndarray:
    """The study's log likelihood over the grid, summed over its records (each restricted to ``keep`` masks)."""
    total = np.zeros((len(TAU_GRID), len(KAPPA_GRID)))
    for i, (record, densities) in enumerate(zip(study.records, study.densities)):
        mask = np.ones(len(record["d"]), bool) if keep is None else keep[i]
        if mask.any():
            total += grid_log_likelihood(densities[mask], scaled_distance(record, unit, growth)[mask])
    return total


def _scores(record: dict[str, Any], log_weights: np.ndarray, unit: str, growth: float, family,
            rng: np.random.Generator, size: int = 4000) -> pd.DataFrame:
    """Per later run of one record: PIT, coverage of 50/90% intervals, relative 90% width, CRPS and log score (of
    log loss; both by Monte Carlo over ``size`` predictive draws) under the calibration ``log_weights``."""
    r = scaled_distance(record, unit, growth)
    weights = np.exp(log_weights - logsumexp(log_weights)).ravel()
    cell = rng.choice(weights.size, size=size, p=weights)
    tau, kappa = np.meshgrid(TAU_GRID, KAPPA_GRID, indexing="ij")
    tau, kappa = tau.ravel()[cell], kappa.ravel()[cell]
    draw = rng.integers(len(record["mu"]), size=size)
    shift = rng.standard_normal((size, 1)) * kappa[:, None] * r[None, :] + rng.standard_normal((size, len(r))) * tau[:, None]
    noise = {n: v[draw][:, None] for n, v in record["noise"].items()}
    location = record["mu"][draw] + shift
    samples = family.draw(location, noise, rng)
    log_y = record["log_y"]
    log_score = logsumexp(family.logpdf(log_y[None, :], location, noise), axis=0) - np.log(size)  # Monte Carlo over the draws
    pit = (samples < log_y[None, :]).mean(axis=0)
    q = np.quantile(samples, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    spread = np.abs(samples[: size // 2] - samples[size // 2:]).mean(axis=0)
    crps = np.abs(samples - log_y[None, :]).mean(axis=0) - 0.5 * spread
    return pd.DataFrame({
        "pit": pit, "inside_50": (q[1] <= log_y) & (log_y <= q[3]), "inside_90": (q[0] <= log_y) & (log_y <= q[4]),
        "width_90": np.exp(q[4]) - np.exp(q[0]), "rel_width_90": (np.exp(q[4]) - np.exp(q[0])) / np.exp(q[2]),
        "rel_error": np.exp(np.median(record["mu"], axis=0) - log_y) - 1, "crps": crps, "log_score": log_score,
    })


def leave_one_study_out(studies: dict[str, Study], unit: str, growth: float, random_seed: int = 0, family: str = "lognormal") -> pd.DataFrame:
    """Every later run of every origin of every study scored three ways (:data:`METHODS`): the plain posterior, the
    calibration under the half-normal prior (distance in spans, linear growth: the package's earlier calibration),
    and under the error prior learned from the other studies (``unit``, ``growth``, ``family``); the calibrations use
    the study's earlier origins restricted to the runs at or below the scored origin."""
    if len(studies) < 2:
        raise ArgumentError("leaving one study out needs at least two studies")
    grids = {name: study_grid(s, unit, growth) for name, s in studies.items()}
    plain = np.full((len(TAU_GRID), len(KAPPA_GRID)), -np.inf)
    plain[0, 0] = 0.0
    parts = []
    for name, study in studies.items():
        prior = learn_prior({k: g for k, g in grids.items() if k != name}, unit, growth, family=family)
        likelihood = get_likelihood(study.likelihood)
        for j, record in enumerate(study.records):
            nested = [r["value"] <= record["threshold"] * (1 + 1e-9) for r in study.records[:j]]
            keep = nested + [np.zeros(len(r["d"]), bool) for r in study.records[j:]]
            methods = {  # the half-normal calibration as the package had it: distance in spans, linear growth
                "plain": (plain, unit, growth),
                "half-normal": (halfnormal_log_prior() + study_grid(study, "spans", 1.0, keep=keep), "spans", 1.0),
                "literature": (prior.log_weights() + study_grid(study, unit, growth, keep=keep), unit, growth),
            }
            ratio = record["value"] / record["threshold"]
            for method, (log_weights, method_unit, method_growth) in methods.items():
                rng = np.random.default_rng([random_seed, j, len(parts)])
                scores = _scores(record, log_weights, method_unit, method_growth, likelihood, rng)
                parts.append(scores.assign(study=name, origin=j, method=method, ratio=ratio, d=record["d"],
                                           own_origins=sum(m.any() for m in nested)))
    return pd.concat(parts, ignore_index=True)


def ratio_bins(ratio: pd.Series) -> pd.Series:
    """Distance bins in multiples of the largest fitted ``by``: ≤2×, 2–5×, 5–10×, 10–20×, 20–100×, >100×."""
    labels = [f"{lo:g}-{hi:g}x" if np.isfinite(hi) else f">{lo:g}x" for lo, hi in zip(RATIO_BINS[:-1], RATIO_BINS[1:])]
    labels[0] = "<=2x"
    return pd.cut(ratio, RATIO_BINS, labels=labels)


def summarize(scores: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Coverage of 50/90% intervals, median relative 90% width, mean CRPS and log score, per method and ``by``."""
    keys = ["method"] + ([by] if isinstance(by, str) else list(by))
    table = scores.groupby(keys, observed=True, sort=False).agg(
        n=("pit", "size"), coverage_50=("inside_50", "mean"), coverage_90=("inside_90", "mean"),
        median_width_90=("rel_width_90", "median"), median_abs_error=("rel_error", lambda e: np.median(np.abs(e))),
        crps=("crps", "mean"), log_score=("log_score", "mean"),
    )
    return table.unstack("method").swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False).sort_index()
