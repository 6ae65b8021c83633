"""Where NUTS chains start: in the posterior's main mode, found by optimizations from several starts.

A law posterior can have a second, weaker mode (Farseer's three curvatures in N trade off so that a
worse fit of the runs is still a local optimum). A chain started at a random point near the prior's centre
falls into whichever basin it starts in, and which one that is depends on floating-point details of the
compiled density, so a fixed seed does not make it reproducible across machines. Here each fit first runs
BFGS on the log posterior (in the sampler's unconstrained coordinates) from ``STARTS`` jittered starting
points, groups the converged optima into modes, and weighs each by its Laplace mass ``log p(x*) - log det(H) / 2``
(``H`` the Hessian of ``-log p``, by central differences of the gradient). Chains start at draws from the Laplace
approximation of the heaviest mode. A second mode close to it in mass is reported by the diagnostics (:attr:`~bayescale.diagnostics.Diagnostics.second_mode_gap`), since its draws would be missing.

When no start converges to a proper optimum (an unbounded density, as at the neck of a hierarchical funnel),
the chains keep the sampler's own jittered starting points. Either way the diagnostics still check the draws:
a chain that leaves the main mode is named by ``low_chains``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy import optimize

STARTS = 8
MAX_ITERATIONS = 500
GRADIENT_TOLERANCE = 1e-4  # a converged optimum's largest |gradient| component (nats per unconstrained unit)
SAME_MODE_NATS = 0.5  # optima closer than this in log density are one mode

LogpGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Mode:
    """An optimum of the log density: its point, the Cholesky factor of its Laplace covariance, log density and mass."""

    point: np.ndarray
    cholesky: np.ndarray
    logp: float
    log_mass: float


@dataclass(frozen=True)
class Starts:
    """The result of the multi-start search: the heaviest mode (None when no start converged) and the others."""

    mode: Mode | None
    others: tuple[Mode, ...]
    starts: int
    converged: int

    def point(self, seed: Any) -> np.ndarray | None:
        """A chain's starting point: a draw from the main mode's Laplace approximation, fixed by ``seed`` (anything
        :func:`numpy.random.default_rng` takes)."""
        if self.mode is None:
            return None
        z = np.random.default_rng(seed).standard_normal(len(self.mode.point))
        return self.mode.point + self.mode.cholesky @ z

    def summary(self) -> dict:
        """What the diagnostics report: starts, converged, and the Laplace mass gap of the next mode (nats)."""
        gap = self.mode.log_mass - self.others[0].log_mass if self.mode is not None and self.others else None
        return {"starts": self.starts, "converged": self.converged, "modes": 1 + len(self.others) if self.mode else 0,
                "second_mode_gap": None if gap is None else round(float(gap), 2)}


def find_modes(logp_grad: LogpGrad, starts: list[np.ndarray]) -> Starts:
    """Optimize ``logp_grad`` (log density and gradient of a flat vector) from each of ``starts``; group the optima.

    >>> logp_grad = lambda x: (-0.5 * float(x @ x), -x)  # a standard normal in two dimensions: one mode at 0
    >>> found = find_modes(logp_grad, [np.array([3.0, -1.0]), np.array([-2.0, 2.0])])
    >>> found.converged, np.round(found.mode.point, 6).tolist(), np.round(found.mode.cholesky, 4).tolist()
    (2, [0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]])
    """
    optima = []
    for start in starts:
        result = _maximize(logp_grad, start)
        if result is not None:
            optima.append(result)
    modes: list[Mode] = []
    for x, logp in sorted(optima, key=lambda o: -o[1]):
        if any(abs(logp - m.logp) < SAME_MODE_NATS for m in modes):
            continue
        mode = _laplace(logp_grad, x, logp)
        if mode is not None:
            modes.append(mode)
    modes.sort(key=lambda m: -m.log_mass)
    return Starts(modes[0] if modes else None, tuple(modes[1:]), len(starts), len(optima))


def _maximize(logp_grad: LogpGrad, start: np.ndarray) -> tuple[np.ndarray, float] | None:
    """BFGS from ``start``; the optimum and its log density, or None when it did not converge to a finite one."""

    def negative(x):
        logp, grad = logp_grad(x)
        if not np.isfinite(logp):
            return np.inf, np.zeros_like(x)
        return -float(logp), -np.asarray(grad, float)

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = optimize.minimize(negative, np.asarray(start, float), jac=True, method="BFGS",
                                   options={"maxiter": MAX_ITERATIONS, "gtol": GRADIENT_TOLERANCE})
    if not np.isfinite(result.fun) or np.max(np.abs(result.jac)) > GRADIENT_TOLERANCE * 10:
        return None
    return result.x, -float(result.fun)


def _laplace(logp_grad: LogpGrad, x: np.ndarray, logp: float) -> Mode | None:
    """The Laplace approximation at optimum ``x``: None where the Hessian is not positive definite (no proper mode)."""
    n = len(x)
    step = 1e-5 * np.maximum(1.0, np.abs(x))
    hessian = np.empty((n, n))
    for i in range(n):
        up, down = x.copy(), x.copy()
        up[i] += step[i]
        down[i] -= step[i]
        hessian[i] = -(np.asarray(logp_grad(up)[1]) - np.asarray(logp_grad(down)[1])) / (2 * step[i])
    hessian = (hessian + hessian.T) / 2
    try:
        factor = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(factor)):
        return None
    cholesky = np.linalg.inv(factor).T  # covariance H^-1 = (L L^T)^-1 = L^-T L^-1
    log_mass = logp - float(np.sum(np.log(np.diag(factor))))
    return Mode(x, cholesky, logp, log_mass)
