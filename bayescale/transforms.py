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
    def areas(steps, rates):
        return dict(zip(("S1", "S2"), schedule_areas(steps, rates, decay=decay, initial_area=initial_area)))

    return _add_per_run(runs, run, step, lr, areas)


def _add_per_run(runs: pd.DataFrame, run: str, step: str, lr: str, columns_of) -> pd.DataFrame:
    """A copy of ``runs`` with the columns that ``columns_of(steps, rates)`` returns, computed per ``run``."""
    for column in (run, step, lr):
        if column not in runs.columns:
            raise DataError(f"missing column {column!r}; the data has columns {list(runs.columns)}")
    out = runs.copy()
    for name, rows in runs.groupby(run, sort=False):
        try:
            columns = columns_of(rows[step], rows[lr])
        except DataError as err:
            raise DataError(f"run {name!r}: {err}") from None
        for column, values in columns.items():
            out.loc[rows.index, column] = values
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


# --------------------------------------------------------------------------- multi-power law (Luo et al. 2025)

MULTIPOWER_BINS = 5  # age bins of the learning-rate history; models/multi-power.toml has one term per bin
MULTIPOWER_ETA_REF = 1e-4  # the learning rate at which the law's half-effect area h is measured
_BIN_EDGES = 2.0 * 8.0 ** np.arange(MULTIPOWER_BINS - 1)  # bin edges in steps at the peak learning rate: 2, 16, 128, 1024


def multipower_inputs(step, lr) -> dict[str, np.ndarray]:
    """The learning-rate decreases before each logged step, summarized in ``MULTIPOWER_BINS`` age bins.

    The multi-power law (Luo et al. 2025, arXiv:2503.12811) sums over every earlier step ``k`` its
    decrease ``eta_(k-1) - eta_k``, weighted by a function of ``eta_k`` and of the area since it,
    ``S_k(t) = eta_k + ... + eta_t``. Here the decreases are grouped by that area, measured in steps at
    the peak learning rate (bins [0, 2), [2, 16), [16, 128), [128, 1024), [1024, inf)), and bin ``j``
    keeps ``drop<j>``, their total, and ``eta<j>`` and ``age<j>``, the drop-weighted geometric means of
    ``eta_k`` and ``S_k(t)``; an empty bin has ``drop<j> = 0`` and placeholders (the peak rate and the
    bin's geometric centre). Between logged steps the schedule is taken to be linear, as in
    :func:`schedule_areas`. The law then weights each bin's drop once, at its means: on the multipower
    curves that moves the loss by under 5e-4 nats at the authors' fitted values, and by up to 3e-3 nats
    just after a sudden tenfold drop at gamma = 1.3 (:func:`multipower_loss_drop` is the exact sum).
    The schedule must not increase (``drop<j>`` is non-negative) and must stay positive.

    One decrease, at step 2 (peak rate 1): its area since then is 0.5 at step 2 (bin 1) and 2 at step 5 (bin 2):

    >>> bins = multipower_inputs([0, 1, 2, 5], [1.0, 1.0, 0.5, 0.5])
    >>> bins["drop1"].tolist(), bins["drop2"].tolist()
    ([0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.5])
    >>> [float(bins[name][row]) for name, row in [("age1", 2), ("age2", 3), ("eta2", 3)]]
    [0.5, 2.0, 0.5]
    """
    step, eta, drop, end = _decreasing_schedule(step, lr)
    peak = eta.max()
    edges = peak * _BIN_EDGES
    n = len(step)
    drops = np.zeros((n, MULTIPOWER_BINS))
    etas = np.full((n, MULTIPOWER_BINS), peak)
    ages = np.tile(peak * 2.0 * 8.0 ** (np.arange(MULTIPOWER_BINS) - 0.5), (n, 1))
    for i, k, age in _earlier_decreases(step, eta, drop, end):
        if not k.size:
            continue
        b = np.searchsorted(edges, age, side="right")
        total = np.bincount(b, drop[k], MULTIPOWER_BINS)
        seen = total > 0
        drops[i] = total
        etas[i, seen] = np.exp(np.bincount(b, drop[k] * np.log(eta[k]), MULTIPOWER_BINS)[seen] / total[seen])
        ages[i, seen] = np.exp(np.bincount(b, drop[k] * np.log(age), MULTIPOWER_BINS)[seen] / total[seen])
    columns = {"drop": drops, "eta": etas, "age": ages}
    return {f"{name}{j + 1}": values[:, j] for name, values in columns.items() for j in range(MULTIPOWER_BINS)}


def add_multipower_inputs(runs: pd.DataFrame, run: str = "run", step: str = "step", lr: str = "lr", initial_area: float = 0.0) -> pd.DataFrame:
    """A copy of ``runs`` with the inputs of the multi-power law computed per ``run``: ``S1``, the forward
    area of :func:`schedule_areas` (``initial_area`` is the warmup's area, the law's ``S_W``), and the
    binned decreases of :func:`multipower_inputs`. Rows of one run must be in increasing ``step`` order.

    >>> log = pd.DataFrame({"run": ["a"] * 3, "step": [0, 1, 2], "lr": [2.0, 2.0, 1.0]})
    >>> add_multipower_inputs(log)[["S1", "drop1", "eta1"]].values.tolist()[2]
    [5.0, 1.0, 1.0]
    """
    def inputs(steps, rates):
        return {"S1": schedule_areas(steps, rates, initial_area=initial_area)[0], **multipower_inputs(steps, rates)}

    return _add_per_run(runs, run, step, lr, inputs)


def multipower_loss_drop(step, lr, B: float, h: float, beta: float, gamma: float) -> np.ndarray:
    """The multi-power law's loss reduction at each logged step, summed exactly over every step:
    ``LD(t) = B * sum_(k <= t) (eta_(k-1) - eta_k) * (1 - (c * S_k(t) * (eta_k / 1e-4)^-gamma + 1)^-beta)``
    with ``c = (2^(1/beta) - 1) / h``, in the parameters of ``models/multi-power.toml``. This is what the
    binned inputs of :func:`multipower_inputs` approximate; it costs (steps x logged steps).

    >>> multipower_loss_drop([0, 1, 2], [1.0, 1.0, 0.5], B=2.0, h=0.5, beta=1.0, gamma=0.0).tolist()
    [0.0, 0.0, 0.5]
    """
    step, eta, drop, end = _decreasing_schedule(step, lr)
    c = (2.0 ** (1.0 / beta) - 1.0) / h
    out = np.zeros(len(step))
    for i, k, age in _earlier_decreases(step, eta, drop, end):
        out[i] = B * np.sum(drop[k] * (1.0 - (c * age * (eta[k] / MULTIPOWER_ETA_REF) ** -gamma + 1.0) ** -beta))
    return out


def _earlier_decreases(step, eta, drop, end):
    """For each logged step ``i``: the steps ``k`` up to it where the rate decreased, and the area ``S_k(t)`` since each."""
    decreases = np.flatnonzero(drop > 0)
    for i, t in enumerate((step - step[0]).astype(int)):
        k = decreases[: np.searchsorted(decreases, t, side="right")]
        yield i, k, end[t] - end[k] + eta[k]


def _decreasing_schedule(step, lr) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated logged steps, and at every step the rate, its decrease from the step before and the area up to it."""
    step = _vector(step, "step")
    lr = _vector(lr, "lr")
    if len(step) != len(lr):
        raise DataError(f"step and lr must have the same length, got {len(step)} and {len(lr)}")
    _check_increasing(step, "step")
    bad = np.flatnonzero(lr <= 0)
    if bad.size:
        raise DataError(f"lr row {bad[0]} has value {lr[bad[0]]:g}: the multi-power law needs positive learning rates")
    rise = np.flatnonzero(np.diff(lr) > 0)
    if rise.size:
        i = rise[0] + 1
        raise DataError(f"lr must not increase: row {i} has {lr[i]:g} after {lr[i - 1]:g} (the multi-power inputs take decaying schedules)")
    eta = np.interp(np.arange(step[0], step[-1] + 1), step, lr)
    drop = np.concatenate([[0.0], eta[:-1] - eta[1:]])
    return step, eta, drop, np.cumsum(eta)
