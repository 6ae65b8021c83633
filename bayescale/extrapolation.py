"""Extrapolation uncertainty: the law's own error beyond the fitted runs, learned from the runs themselves.

A posterior that assumes the law is exact is honest about noise and parameters only; far beyond
the fitted runs the law's form itself is the larger error. Here that error is a discrepancy on
log loss for a run ``d > 0`` decades beyond the fitted runs (the largest distance over the law's inputs
and, for laws in N and D, compute C = 6ND), measured in spans ``r = d / R`` of the fitted runs (``R``:
the decades of ``by``, compute by default, that they cover: a fit over one decade extrapolated by one
decade reaches as far again as its data, a fit over four decades only a quarter)::

    delta(r) = z * kappa * r + tau * w,    z, w ~ Normal(0, 1)

``z`` is shared by every run of one prediction (the law bends away from the truth smoothly, so runs
near each other err together), ``w`` is each run's own: ``kappa`` is the error's growth per span and
``tau`` the extra scatter of any run outside the fitted range. A run's discrepancy has sd
``sqrt(tau**2 + (kappa * r)**2)``.

``(tau, kappa)`` get a grid posterior (half-normal priors) from rolling-origin backtests inside the
fitted runs: refit the law on the runs at or below successive origins of ``by`` (fractions of its log
range, budgets kept whole) and score the later
runs with the refit's posterior predictive plus the discrepancy (their ``r`` in the refit's own span).
Because ``z`` is shared, an origin whose later runs all miss on one side counts as one draw of the
slope, not as many outliers, and the Student-t noise cannot explain such a shift away: it is learned by
``kappa``. When the law is right, the backtests' errors are explained by noise and parameter
uncertainty and both shrink.

The discrepancy lives on log target, so it is learned for the log-target likelihoods (studentt, normal)
only. A fit observing the target itself (beta, normal-raw) has no calibration, and its intervals beyond the
fitted runs cover noise and parameter uncertainty only (a prediction there says so). The rolling-origin refits
are run by :func:`bayescale.calibration.calibrate`; this module holds the discrepancy model and its grid posterior.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp

from .errors import ArgumentError
from .likelihoods import Likelihood

TAU_GRID = np.linspace(0.0, 0.04, 21)
KAPPA_GRID = np.linspace(0.0, 0.3, 121)
TAU_PRIOR_SD = 0.02
KAPPA_PRIOR_SD = 0.05
SHIFT_STEP = 0.001
SHIFTS = np.arange(-0.6, 0.6 + SHIFT_STEP / 2, SHIFT_STEP)  # log-loss shifts on which each run's density is tabulated
SLOPES = stats.norm.ppf((np.arange(32) + 0.5) / 32)  # quantiles of z: the shared slope's integral


@dataclass(frozen=True)
class Calibration:
    """The learned extrapolation error: a grid posterior over ``tau`` and ``kappa`` (sd of log loss beyond the
    fitted runs, and its growth per ``span``: the decades of ``by`` the fitted runs cover)."""

    by: str
    span: float
    tau: tuple[float, ...]
    kappa: tuple[float, ...]
    weights: tuple[float, ...]
    refits: int
    backtest_runs: int

    def __post_init__(self):
        weights = np.asarray(self.weights, float)
        if not (np.isfinite(self.span) and self.span > 0):
            raise ArgumentError(f"a calibration's span (decades of {self.by} the fitted runs cover) must be positive, got {self.span!r}")
        if weights.shape != (len(self.tau) * len(self.kappa),) or (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
            raise ArgumentError(f"a calibration's weights must be {len(self.tau)} x {len(self.kappa)} non-negative numbers summing to 1")

    def draws(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``size`` draws of (tau, kappa) from the grid posterior."""
        index = rng.choice(len(self.weights), size=size, p=np.asarray(self.weights))
        tau, kappa = np.meshgrid(self.tau, self.kappa, indexing="ij")
        return tau.ravel()[index], kappa.ravel()[index]

    def sd(self, d: np.ndarray) -> np.ndarray:
        """Posterior-mean sd of the discrepancy at ``d`` decades beyond the fitted runs (zero inside them).

        >>> calibration = Calibration("C", 2.0, (0.0, 0.01), (0.02,), (0.5, 0.5), 4, 100)
        >>> calibration.sd(np.array([0.0, 2.0])).round(4).tolist()
        [0.0, 0.0212]
        """
        w = np.asarray(self.weights).reshape(len(self.tau), len(self.kappa))
        tau, kappa = np.meshgrid(self.tau, self.kappa, indexing="ij")
        r = d / self.span
        variance = np.sum(w[..., None] * (tau[..., None] ** 2 + (kappa[..., None] * r) ** 2), axis=(0, 1))
        return np.where(d > 0, np.sqrt(variance), 0.0)

    def shifts(self, d: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws (size × runs) of the discrepancy at ``d`` decades beyond: one slope ``z`` per draw shared by the runs."""
        tau, kappa = self.draws(size, rng)
        z, w = rng.standard_normal((size, 1)), rng.standard_normal((size, len(d)))
        return np.where(d[None, :] > 0, z * kappa[:, None] * d[None, :] / self.span + w * tau[:, None], 0.0)

    def quantiles(self, probs=(0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Quantiles of the marginal posteriors of tau and kappa."""
        w = np.asarray(self.weights).reshape(len(self.tau), len(self.kappa))
        out = {}
        for name, grid, marginal in [("tau", self.tau, w.sum(axis=1)), ("kappa", self.kappa, w.sum(axis=0))]:
            out[name] = np.asarray(grid)[np.minimum(np.searchsorted(np.cumsum(marginal), probs), len(grid) - 1)]
        return pd.DataFrame(out, index=list(probs)).T

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Calibration":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})

    def __str__(self) -> str:
        q = self.quantiles()
        return (
            f"extrapolation error: tau {q.loc['tau', 0.5]:.4f} [{q.loc['tau', 0.05]:.4f}, {q.loc['tau', 0.95]:.4f}] + "
            f"kappa {q.loc['kappa', 0.5]:.4f} [{q.loc['kappa', 0.05]:.4f}, {q.loc['kappa', 0.95]:.4f}] per {self.span:.2f} decades of "
            f"{self.by} beyond the fitted runs (their span; sd of log loss; 90% intervals), from {self.refits} rolling-origin refits scoring {self.backtest_runs} later runs"
        )


def run_log_densities(record: dict[str, Any], likelihood: Likelihood) -> np.ndarray:
    """Each later run's log predictive density (runs × ``SHIFTS``) when the law is off by each shift:
    ``log mean_s p(log_y | mu_s + shift, noise_s)`` over the refit's posterior draws ``s``."""
    log_y, mu = record["log_y"], record["mu"]
    noise = {k: v[:, None] for k, v in record["noise"].items()}
    out = np.empty((len(log_y), len(SHIFTS)))
    for i in range(len(log_y)):
        logp = likelihood.logpdf(log_y[i], mu[:, i, None] + SHIFTS[None, :], noise)
        out[i] = logsumexp(logp, axis=0) - np.log(len(logp))
    return out


def record_log_likelihood(record: dict[str, Any], likelihood: Likelihood) -> np.ndarray:
    """Log likelihood (``TAU_GRID`` × ``KAPPA_GRID``) of one origin's later runs: per run, its density convolved
    with the scatter ``tau``; jointly, averaged over the shared slope ``z`` at ``SLOPES``."""
    densities, r = run_log_densities(record, likelihood), record["r"]
    shift = SLOPES[None, :, None] * KAPPA_GRID[:, None, None] * r[None, None, :]  # kappa × z × runs
    position = np.clip((shift - SHIFTS[0]) / SHIFT_STEP, 0, len(SHIFTS) - 1 - 1e-9)
    low, frac = position.astype(int), position % 1
    runs = np.arange(len(r))[None, None, :]
    out = np.empty((len(TAU_GRID), len(KAPPA_GRID)))
    top = densities.max(axis=1, keepdims=True)
    for a, tau in enumerate(TAU_GRID):
        scattered = densities if tau == 0 else top + np.log(
            np.maximum(gaussian_filter1d(np.exp(densities - top), tau / SHIFT_STEP, axis=1, mode="nearest"), 1e-300)
        )
        at = scattered[runs, low] * (1 - frac) + scattered[runs, low + 1] * frac
        out[a] = logsumexp(at.sum(axis=2), axis=1) - np.log(len(SLOPES))
    return out


def discrepancy_posterior(records: list[dict[str, Any]], likelihood: Likelihood) -> np.ndarray:
    """Grid posterior weights over (``TAU_GRID`` × ``KAPPA_GRID``, flattened) given backtest ``records``
    (``log_y``, ``mu`` draws × runs, ``noise`` draws by name, ``r``), under half-normal priors."""
    log_post = stats.halfnorm.logpdf(TAU_GRID, scale=TAU_PRIOR_SD)[:, None] + stats.halfnorm.logpdf(KAPPA_GRID, scale=KAPPA_PRIOR_SD)[None, :]
    for record in records:
        log_post = log_post + record_log_likelihood(record, likelihood)
    return np.exp(log_post - logsumexp(log_post)).ravel()
