"""Out-of-sample validation: how runs are split, and the one loop that refits a model on each split and scores it.

Every many-fit check goes through :func:`refit_and_score`: backtests (:class:`Thresholds`), leave-largest-out
comparisons (:class:`LeaveLargestOut`), the rolling origins of a calibration (:class:`RollingOrigins`) and
leave-one-group-out checks (:class:`LeaveOneGroupOut`). Runs are ordered by ``by``: compute C where the law's inputs
give it (C = 6ND), else the law's first input (:func:`bayescale.scales.default_by`). Each refit's seed comes from
the caller's seed and the split's label, never from the order the splits run in, so any executor (local worker
processes, a Dask cluster: :mod:`bayescale.executors`) gives the same results as the default in-process loop.
"""

from __future__ import annotations

import json
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import ArgumentError, SamplingWarning
from .executors import Job, run_all
from .fit import Fit, fit_spec
from .model.spec import ModelSpec
from .scales import default_by, scales

ORIGINS = (0.6, 0.7, 0.8, 0.9)  # fractions of the fitted runs' log range of `by` that rolling-origin refits reach
BIN_DECADES = 0.05  # runs this close in `by` (one isoFLOP budget) stay on one side of an origin


@dataclass(frozen=True)
class Split:
    """One refit: the runs it is fitted to (``train``, a boolean mask) and those it is scored on (``test``)."""

    label: str
    train: np.ndarray
    test: np.ndarray
    threshold: float | None = None  # the largest fitted value of ``by``, for threshold splits
    index: int = 0  # the split's position among those of its kind (a backtest's fold number)


def ordering(runs: pd.DataFrame, inputs: list[str], by: str | None) -> tuple[str, pd.Series]:
    """The column runs are ordered by (``by``, default :func:`~bayescale.scales.default_by`) and its values."""
    by = by or default_by(inputs)
    table = scales(runs, inputs)
    if by not in table:
        raise ArgumentError(f"cannot order runs by {by!r}: the law's inputs are {inputs} (and C when they hold N and D)")
    return by, table[by]


@dataclass(frozen=True)
class Thresholds:
    """Fit the runs with ``by`` at or below each threshold, score the larger ones (a backtest fold each)."""

    values: tuple[float, ...]
    by: str | None = None

    def splits(self, runs: pd.DataFrame, inputs: list[str]) -> list[Split]:
        by, scale = ordering(runs, inputs, self.by)
        out = []
        for fold, threshold in enumerate(self.values):
            train = (scale <= threshold).to_numpy()
            if train.all():
                raise ArgumentError(f"fold {fold}: no run has {by} above {threshold:.4g}")
            out.append(Split(f"fold {fold}: {by} <= {threshold:.6g}", train, ~train, float(threshold), fold))
        return out

    @classmethod
    def spread(cls, scale: pd.Series, folds: int, span: tuple[float, float], by: str | None = None) -> "Thresholds":
        """``folds`` thresholds placed evenly in log ``scale`` between the fractions ``span`` of its log range.

        >>> Thresholds.spread(pd.Series([1e18, 1e22]), 3, (0.5, 0.75)).values
        (1e+20, 3.1622776601683794e+20, 1e+21)
        """
        if not isinstance(folds, int) or folds < 1:
            raise ArgumentError(f"folds must be a positive number of thresholds, got {folds!r}")
        if not 0 < span[0] <= span[1] < 1:
            raise ArgumentError(f"span must be two fractions 0 < low <= high < 1 of the log range, got {span}")
        low, high = np.log10(scale.min()), np.log10(scale.max())
        return cls(tuple(float(10 ** (low + f * (high - low))) for f in np.linspace(span[0], span[1], folds)), by)


@dataclass(frozen=True)
class LeaveLargestOut:
    """Fit the runs up to the ``1 - holdout`` quantile of ``by``, score the largest ``holdout`` fraction."""

    holdout: float = 0.2
    by: str | None = None

    def splits(self, runs: pd.DataFrame, inputs: list[str]) -> list[Split]:
        """
        >>> split, = LeaveLargestOut(0.4, by="N").splits(pd.DataFrame({"N": [1.0, 2.0, 3.0, 4.0, 5.0]}), ["N"])
        >>> split.test.tolist()
        [False, False, False, True, True]
        """
        if not 0 < self.holdout < 1:
            raise ArgumentError(f"holdout is the fraction of runs to hold out, between 0 and 1; got {self.holdout}")
        by, scale = ordering(runs, inputs, self.by)
        threshold = float(np.quantile(scale, 1 - self.holdout))
        test = scale.to_numpy() > threshold
        if not test.any():
            raise ArgumentError(f"no run has {by} above {threshold:.4g} (the {1 - self.holdout:.0%} quantile); raise holdout")
        return [Split(f"largest {self.holdout:.0%} by {by}", ~test, test, threshold)]


@dataclass(frozen=True)
class RollingOrigins:
    """Refits on the runs at or below origins at the fractions ``origins`` of the log range of ``by``, each scored
    on the later runs. Runs are binned to ``BIN_DECADES`` so that one budget's runs are never split; origins that
    leave every run, fewer than ``min_runs`` or a single bin in the refit, or repeat an earlier refit, are dropped.

    >>> runs = pd.DataFrame({"C": np.repeat([1e18, 1e19, 1e20, 1e21], 3) * np.tile([1.0, 1.01, 0.99], 4)})
    >>> [int(s.train.sum()) for s in RollingOrigins().splits(runs, ["C"])]
    [6, 9]
    """

    origins: tuple[float, ...] = ORIGINS
    by: str | None = None
    min_runs: int = 1

    def splits(self, runs: pd.DataFrame, inputs: list[str]) -> list[Split]:
        by, scale = ordering(runs, inputs, self.by)
        bins = np.floor(np.log10(scale.to_numpy()) / BIN_DECADES)
        low, high = bins.min(), bins.max()
        out: list[Split] = []
        for fraction in self.origins:
            train = bins <= low + fraction * (high - low)
            repeated = any((train == s.train).all() for s in out)
            if not (train.all() or repeated or train.sum() < self.min_runs or len(np.unique(bins[train])) < 2):
                out.append(Split(f"origin {fraction:g} of {by}", train, ~train, float(scale[train].max()), len(out)))
        return out


@dataclass(frozen=True)
class LeaveOneGroupOut:
    """Fit all groups but one of ``group``, score the one left out (a new corpus, a new training set)."""

    group: str

    def splits(self, runs: pd.DataFrame, inputs: list[str]) -> list[Split]:
        """
        >>> [s.label for s in LeaveOneGroupOut("corpus").splits(pd.DataFrame({"corpus": ["a", "b", "a"]}), [])]
        ['without corpus a', 'without corpus b']
        """
        if self.group not in runs:
            raise ArgumentError(f"cannot leave out groups of {self.group!r}: the runs have columns {list(runs.columns)}")
        values = runs[self.group].astype(str)
        if values.nunique() < 2:
            raise ArgumentError(f"leaving one group of {self.group!r} out needs at least two groups, got {sorted(values.unique())}")
        groups = sorted(values.unique())
        return [Split(f"without {self.group} {g}", (values != g).to_numpy(), (values == g).to_numpy(), index=i) for i, g in enumerate(groups)]


def task_seed(random_seed: Any, label: str) -> int:
    """A refit's seed, from the caller's seed and the split's label (not from the order the splits run in).

    >>> task_seed(1, "fold 0") == task_seed(1, "fold 0") != task_seed(1, "fold 1")
    True
    """
    entropy = [zlib.crc32(label.encode())] + ([] if random_seed is None else [int(random_seed)])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] % 2**31)


@dataclass(frozen=True)
class Result:
    """One split's refit (its seed derived by :func:`task_seed`) and what ``score`` made of it."""

    split: Split
    fit: Fit
    score: Any


Score = Callable[[Fit, pd.DataFrame, Split], Any]


def refit_and_score(
    spec: ModelSpec,
    runs: pd.DataFrame,
    splits: list[Split],
    score: Score,
    settings: dict[str, Any] | None = None,
    random_seed: Any = None,
    executor: Any = None,
    study: str | None = None,
) -> list[Result]:
    """Refit ``spec`` on each split's training runs (sampler ``settings``, a seed per split) and ``score(refit,
    test_runs, split)``. The refits' sampling warnings are left to ``score`` and the callers' tables (each carries
    its diagnostics); ``executor`` runs the splits (see :func:`bayescale.executors.executor_for`; default: one after
    another in this process); a split that raises is a :class:`~bayescale.executors.TaskError` named by the law,
    ``study`` (what the runs are) and the split.

    >>> import bayescale as bs
    >>> runs = bs.simulate("powerlaw-n", {"E": 1.8, "A": 400.0, "alpha": 0.34}, n=40, random_seed=0)
    >>> spec = bs.fit("powerlaw-n", runs, draws=200, random_seed=0, calibrate=False).spec
    >>> splits = LeaveLargestOut(0.25, by="N").splits(runs, ["N"])
    >>> def error(refit, held_out, split):  # the refit's median relative error on the held-out runs
    ...     predicted = refit.predict(held_out, random_seed=0, extrapolation=False)["mean_median"].to_numpy()
    ...     return float(np.median(np.abs(predicted / held_out["loss"].to_numpy() - 1)))
    >>> result, = bs.refit_and_score(spec, runs, splits, error, {"draws": 200}, random_seed=1)
    >>> len(result.fit.runs), result.score < 0.03
    (30, True)
    """
    return run_all(refit_jobs(spec, runs, splits, score, settings, random_seed, study), executor)


def refit_jobs(spec: ModelSpec, runs: pd.DataFrame, splits: list[Split], score: Score, settings: dict[str, Any] | None = None,
               random_seed: Any = None, study: str | None = None) -> list[Job]:
    """The jobs of :func:`refit_and_score`, for callers that run several models' refits at once."""
    where = f"{spec.law.name} on {study}" if study else spec.law.name
    affinity = json.dumps(spec.to_dict(), sort_keys=True, default=str)
    return [Job(_run_split, (spec, runs, split, score, {**(settings or {}), "random_seed": task_seed(random_seed, split.label)}),
                f"{where}, {split.label}", affinity) for split in splits]


def _run_split(task: tuple) -> Result:
    spec, runs, split, score, settings = task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)  # reported per split by the callers
        refit = fit_spec(spec, runs[split.train], **settings)
    return Result(split, refit, score(refit, runs[split.test], split))
