"""Effective counts of two laws' inputs: routed experts (Clark et al. 2022) and repeated data (Muennighoff et al. 2023).

The laws ``clark-routed`` and ``muennighoff-data-constrained`` write these transforms inside their formulas (a law
file is data, so it cannot call Python); here they are as functions, for tables, plots and planning, checked
against the formulas by the tests.
"""

from __future__ import annotations

import numpy as np

from .data import DataError


def saturated_experts(E, E_start: float, E_max: float) -> np.ndarray:
    """Clark et al.'s saturating transform of the expert count (arXiv:2202.01169, Eq. 2)::

        1 / E^ = 1 / (E - 1 + (1 / E_start - 1 / E_max)^-1) + 1 / E_max

    ``E^`` is ``E_start`` for a dense model (``E = 1``), grows like ``E`` in between and tends to ``E_max``.
    ``E_start`` and ``E_max`` are in experts (the authors' notebook fits them in log2 units).

    >>> saturated_experts([1.0, 1e12], E_start=2.0, E_max=400.0).round(3).tolist()
    [2.0, 400.0]
    """
    E = _positive(E, "E")
    if not 0 < E_start < E_max:
        raise DataError(f"the saturating transform needs 0 < E_start < E_max, got E_start = {E_start!r}, E_max = {E_max!r}")
    return 1.0 / (1.0 / (E - 1.0 + 1.0 / (1.0 / E_start - 1.0 / E_max)) + 1.0 / E_max)


def effective_parameter_count(N, E, a: float, b: float, c: float, E_start: float, E_max: float) -> np.ndarray:
    """The dense model size with the loss of a routed model of ``N`` dense parameters and ``E`` experts under the law
    ``clark-routed``: ``N-bar = N^(alpha(E^) / alpha(E_start)) (E^ / E_start)^(b / alpha(E_start))`` with
    ``alpha(x) = a + c log10 x`` (the authors' ``effective_param_count``, example.ipynb). A dense model is its own size.

    >>> float(effective_parameter_count(1e8, 1.0, a=-0.082, b=-0.108, c=0.009, E_start=1.847, E_max=314.478))
    100000000.0
    """
    N = _positive(N, "N")
    e_hat = saturated_experts(E, E_start, E_max)
    alpha_start = a + c * np.log10(E_start)
    return N ** ((a + c * np.log10(e_hat)) / alpha_start) * (e_hat / E_start) ** (b / alpha_start)


def data_constrained_inputs(N, D, U, A: float, B: float, alpha: float, beta: float) -> dict[str, np.ndarray]:
    """Muennighoff et al.'s repetition counts (arXiv:2305.16264, Sec. 3; the authors' ``scaling_law``, datablations
    README): ``R_D = max(D / U - 1, 0)`` epochs beyond the first, ``U_N = min(N, D_to_N(U))`` the compute-optimal
    model size for ``U`` unique tokens (``D_to_N(U) = (U G)^(beta / alpha) G``, ``G = (alpha A / (beta B))^(1 /
    (alpha + beta))``) and ``R_N = max(N / U_N - 1, 0)`` the excess parameters. ``U`` may not exceed ``D``.

    >>> counts = data_constrained_inputs(1e9, 4e10, 1e10, A=520.82, B=1487.72, alpha=0.3527, beta=0.3527)
    >>> {k: round(float(v), 3) for k, v in counts.items()}
    {'R_D': 3.0, 'U_N': 510021478.012, 'R_N': 0.961}
    """
    N, D, U = (_positive(x, name) for x, name in ((N, "N"), (D, "D"), (U, "U")))
    N, D, U = np.broadcast_arrays(N, D, U)
    more = np.flatnonzero(U > D)
    if more.size:
        i = more[0]
        raise DataError(f"row {i}: U = {U[i]:g} unique tokens is more than D = {D[i]:g} tokens in all ({more.size} such rows)")
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    U_N = np.minimum(N, (U * G) ** (beta / alpha) * G)
    return {"R_D": np.maximum(D / U - 1.0, 0.0), "U_N": U_N, "R_N": np.maximum(N / U_N - 1.0, 0.0)}


def _positive(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~(np.isfinite(array) & (array > 0)))
    if bad.size:
        raise DataError(f"{name} row {bad[0]} has value {array.flat[bad[0]]!r}: it must be a positive finite number")
    return array
