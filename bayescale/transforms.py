"""Law inputs computed from training logs: learning-rate schedule areas and average parameter count.

Some laws are not functions of N, D, C but of a run's history. The learning-rate annealing law of
Tissue et al. (2024) uses the forward area ``S1`` (the sum of the learning rates up to a step) and the
annealing area ``S2`` (a momentum-smoothed sum of the learning-rate drops); the law of Jin et al.
(2025) uses the average parameter count ``N-bar`` over pre-training. These functions turn per-step
columns into such inputs, validating what they are given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .data import DataError


def schedule_areas(step, lr, decay: float = 0.999, initial_area: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Forward area ``S1`` and annealing area ``S2`` of a learning-rate schedule at each logged step.

    ``lr[i]`` is the learning rate at optimizer step ``step[i]``; between logged steps it is taken
    to be linear, so the schedule is rebuilt at every step from the first logged one to the last.
    With ``eta_t`` that per-step rate (Tissue et al. 2024, arXiv:2408.11029, Sec. 3)::

        S1(t) = initial_area + sum_{tau <= t} eta_tau
        m_tau = decay * m_{tau-1} + (eta_{tau-1} - eta_tau),   S2(t) = sum_{tau <= t} m_tau

    ``initial_area`` is the area of the steps before the first logged one (a linear warmup of
    ``w`` steps to ``peak`` adds ``peak * w / 2``); ``decay`` is the paper's momentum factor lambda.

    >>> s1, s2 = schedule_areas([0, 2, 4], [1.0, 1.0, 0.0], decay=0.0)
    >>> s1.tolist(), s2.tolist()
    ([1.0, 3.0, 3.5], [0.0, 0.0, 1.0])
    """
    step = _vector(step, "step")
    lr = _vector(lr, "lr")
    if len(step) != len(lr):
        raise DataError(f"step and lr must have the same length, got {len(step)} and {len(lr)}")
    _check_increasing(step, "step")
    _check_non_negative(lr, "lr")
    if not 0.0 <= decay < 1.0:
        raise DataError(f"decay must be in [0, 1), got {decay!r}")
    if initial_area < 0:
        raise DataError(f"initial_area must be non-negative, got {initial_area!r}")
    every = np.arange(step[0], step[-1] + 1)
    eta = np.interp(every, step, lr)
    s1 = initial_area + np.cumsum(eta)
    drop = np.concatenate([[0.0], eta[:-1] - eta[1:]])
    momentum = _momentum(drop, decay)
    s2 = np.cumsum(momentum)
    at = (step - step[0]).astype(int)
    return s1[at], s2[at]


def add_schedule_areas(
    runs: pd.DataFrame,
    run: str = "run",
    step: str = "step",
    lr: str = "lr",
    decay: float = 0.999,
    initial_area: float = 0.0,
) -> pd.DataFrame:
    """A copy of ``runs`` with ``S1`` and ``S2`` (see :func:`schedule_areas`) computed per ``run``.

    Rows of one run must be in increasing ``step`` order and log every learning-rate change that
    matters: the schedule between two logged steps is taken to be linear.

    >>> log = pd.DataFrame({"run": ["a"] * 3, "step": [0, 1, 2], "lr": [2.0, 2.0, 1.0]})
    >>> add_schedule_areas(log, decay=0.5)[["S1", "S2"]].values.tolist()
    [[2.0, 0.0], [4.0, 0.0], [5.0, 1.0]]
    """
    for column in (run, step, lr):
        if column not in runs.columns:
            raise DataError(f"missing column {column!r}; the data has columns {list(runs.columns)}")
    out = runs.copy()
    for name, rows in runs.groupby(run, sort=False):
        try:
            s1, s2 = schedule_areas(rows[step], rows[lr], decay=decay, initial_area=initial_area)
        except DataError as err:
            raise DataError(f"run {name!r}: {err}") from None
        out.loc[rows.index, "S1"] = s1
        out.loc[rows.index, "S2"] = s2
    return out


def average_parameter_count(step, n_params) -> float:
    """Average parameter count over training, ``N-bar`` of Jin et al. (2025): the mean of the
    parameter count over steps, integrated with the trapezoidal rule between logged steps.

    A model pruned linearly from 100 to 50 parameters over the second half of training:

    >>> average_parameter_count([0, 50, 100], [100, 100, 50])
    87.5
    """
    step = _vector(step, "step")
    n_params = _vector(n_params, "n_params")
    if len(step) != len(n_params) or len(step) < 2:
        raise DataError(f"step and n_params need the same length of at least 2, got {len(step)} and {len(n_params)}")
    _check_increasing(step, "step")
    bad = np.flatnonzero(n_params <= 0)
    if bad.size:
        raise DataError(f"n_params row {bad[0]} has value {n_params[bad[0]]:g}: parameter counts must be positive")
    area = np.sum((n_params[1:] + n_params[:-1]) / 2 * np.diff(step))
    return float(area / (step[-1] - step[0]))


def _momentum(drop: np.ndarray, decay: float) -> np.ndarray:
    """``m_t = decay * m_{t-1} + drop_t``, as a linear filter (exact, and fast for long schedules)."""
    return lfilter([1.0], [1.0, -decay], drop)


def _vector(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise DataError(f"{name} must be a non-empty one-dimensional sequence, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise DataError(f"{name} row {bad[0]} has value {array[bad[0]]:g}: values must be finite numbers")
    return array


def _check_increasing(step: np.ndarray, name: str) -> None:
    bad = np.flatnonzero(np.diff(step) <= 0)
    if bad.size:
        i = bad[0] + 1
        raise DataError(f"{name} must increase strictly: row {i} has {step[i]:g} after {step[i - 1]:g}")
    if not np.all(step == np.round(step)):
        raise DataError(f"{name} must hold whole optimizer steps")


def _check_non_negative(values: np.ndarray, name: str) -> None:
    bad = np.flatnonzero(values < 0)
    if bad.size:
        raise DataError(f"{name} row {bad[0]} has value {values[bad[0]]:g}: learning rates must be non-negative")
