"""Backtests: refit a law on the runs below successive thresholds and score its predictions of the larger runs.

Each fold fits the law on the runs with ``by`` (compute by default) at or below a threshold, learns
its extrapolation error from rolling-origin refits *inside* those runs only, and predicts every larger
run twice: with the plain posterior and with the learned extrapolation error. Coverage of nominal
intervals, CRPS, log score and relative error are reported overall, by distance beyond the fitted
runs (×2, ×5, ×10, ×20 in ``by``) and as a calibration curve (nominal vs observed coverage).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .calibration import calibrate
from .errors import ArgumentError
from .fit import Fit, model_spec
from .scoring import CI_PROBS, score_fit, summarize_scores
from .validation import Split, Thresholds, ordering, refit_and_score
from .files import save_figure

METHODS = {"plain": False, "calibrated": True}
RATIO_BINS = (1.0, 2.0, 5.0, 10.0, 20.0, np.inf)
NOMINAL = np.round(np.arange(0.1, 1.0, 0.1), 2)


@dataclass
class Backtest:
    """Scores of every held-out run in every fold, for the plain and the calibrated predictive."""

    law: str
    by: str
    thresholds: list[float]
    runs: pd.DataFrame
    fits: list[Fit]

    def summary(self) -> pd.DataFrame:
        """Totals per method over all held-out runs of all folds (see :func:`~bayescale.scoring.summarize_scores`)."""
        return self.runs.groupby("method", sort=False).apply(summarize_scores, include_groups=False)

    def by_distance(self) -> pd.DataFrame:
        """Totals per method and distance bin, the bins in multiples of the largest fitted ``by`` (×2, ×5, ×10, ×20)."""
        labels = [f"≤{hi:g}×" if np.isfinite(hi) else f">{lo:g}×" for lo, hi in zip(RATIO_BINS[:-1], RATIO_BINS[1:])]
        binned = self.runs.assign(ratio_bin=pd.cut(self.runs["ratio"], RATIO_BINS, labels=labels))
        binned["method"] = pd.Categorical(binned["method"], categories=list(METHODS))
        return binned.groupby(["method", "ratio_bin"], observed=True).apply(summarize_scores, include_groups=False)

    def calibration_curve(self) -> pd.DataFrame:
        """Observed coverage of central intervals at nominal levels 10%…90%, per method (from each run's PIT)."""
        distance_from_centre = np.abs(self.runs["pit"] - 0.5)
        curve = {level: (distance_from_centre <= level / 2).groupby(self.runs["method"], sort=False).mean() for level in NOMINAL}
        return pd.DataFrame(curve).rename_axis(columns="nominal")

    def plot(self, path: str | None = None, overwrite: bool = False) -> Figure:
        """Calibration plot (nominal vs observed coverage) and 90% coverage by distance, per method."""
        fig = Figure(figsize=(10, 4.2))
        left, right = fig.subplots(1, 2)
        curve, binned = self.calibration_curve(), self.by_distance()
        for method in curve.index:
            left.plot(NOMINAL, curve.loc[method], "o-", label=method)
            right.plot(binned.loc[method].index.astype(str), binned.loc[method]["coverage_90"], "o-", label=method)
        left.plot([0, 1], [0, 1], "k--", lw=0.8)
        left.set(xlabel="nominal coverage", ylabel="observed coverage", title=f"{self.law}: calibration over {len(self.thresholds)} folds")
        right.axhline(0.9, color="k", ls="--", lw=0.8)
        right.set(xlabel=f"held-out {self.by} / largest fitted {self.by}", ylabel="coverage of 90% intervals", ylim=(0, 1.02),
                  title="coverage by extrapolation distance")
        left.legend()
        fig.tight_layout()
        if path:
            save_figure(fig, path, overwrite)
        return fig


def backtest(
    law: Any,
    runs: Any = None,
    *,
    by: str | None = None,
    folds: int = 3,
    span: tuple[float, float] = (0.5, 0.75),
    thresholds: list[float] | None = None,
    ci_probs=CI_PROBS,
    random_seed: int = 0,
    priors: dict[str, Any] | None = None,
    pool: dict[str, str] | None = None,
    likelihood: str | None = None,
    centered: bool | list[str] = True,
    columns: dict[str, str] | None = None,
    error_prior: Any = None,
    executor: Any = None,
    study: str | None = None,
    **settings: Any,
) -> Backtest:
    """Backtest ``law`` (a name, a :class:`Law` or a :class:`Fit`, whose model and runs are reused) on ``runs``.

    ``folds`` thresholds of ``by`` (default compute, else the law's first input) are placed in log scale between
    the fractions ``span`` of its range, unless ``thresholds`` gives them; model options are those of
    :func:`~bayescale.fit` and ``settings`` its sampler settings; ``error_prior`` is the calibrations' ``prior`` (see
    :func:`~bayescale.calibrate`). ``executor`` runs the folds (a number of local worker processes, a Dask client or
scheduler address: :func:`bayescale.executors.executor_for`; the results do not depend on it), ``study`` names the
runs in the error of a fold that fails.

    >>> from bayescale import simulate
    >>> from bayescale.simulate import isoflop_design
    >>> runs = simulate("chinchilla", "besiroglu2024", design=isoflop_design(np.geomspace(1e18, 1e21, 7), sizes=6), random_seed=1)
    >>> result = backtest("chinchilla", runs, folds=1, draws=250, random_seed=1)
    >>> np.log10(result.thresholds).round(2).tolist(), sorted(result.summary().index), int(result.summary().loc["plain", "n"])
    ([19.5], ['calibrated', 'plain'], 18)
    """
    if isinstance(law, Fit):
        spec, runs, settings = law.spec, law.runs if runs is None else runs, {**law.settings, **settings}
    else:
        if runs is None:
            raise ArgumentError("give the runs to backtest on: backtest(law, runs, ...)")
        spec = model_spec(law, priors=priors, pool=pool, likelihood=likelihood, centered=centered)
    table = spec.prepare_runs(runs, columns=columns)
    inputs = spec.law.input_names
    by, scale = ordering(table, inputs, by)
    cuts = Thresholds(tuple(float(t) for t in thresholds), by) if thresholds is not None else Thresholds.spread(scale, folds, span, by)
    score = partial(_score_fold, ci_probs=ci_probs, random_seed=random_seed, scale=scale, prior=error_prior)
    results = refit_and_score(spec, table, cuts.splits(table, inputs), score, settings, random_seed, executor, study)
    return Backtest(spec.law.name, by, list(cuts.values), pd.concat([r.score[1] for r in results], ignore_index=True), [r.score[0] for r in results])


def _score_fold(fitted: Fit, held_out: pd.DataFrame, split: Split, ci_probs, random_seed, scale: pd.Series, prior: Any) -> tuple[Fit, pd.DataFrame]:
    """One fold: the fit calibrated on its own runs only, and its scores of the held-out runs, plain and calibrated."""
    fitted = calibrate(fitted, prior=prior)
    largest = scale[split.train].max()
    parts = []
    for method, extrapolation in METHODS.items():
        scores = score_fit(fitted, held_out, ci_probs, random_seed, extrapolation)
        parts.append(scores.assign(method=method, fold=split.index, threshold=split.threshold, ratio=scale[split.test].to_numpy() / largest,
                                   distance=fitted.distance(scores), divergences=fitted.diagnostics.divergences))
    return fitted, pd.concat(parts, ignore_index=True)
