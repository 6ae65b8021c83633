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

``(tau, kappa)`` get a grid posterior from rolling-origin backtests inside the fitted runs: refit the law on the
runs at or below successive origins of ``by`` (fractions of its log range, budgets kept whole) and score the later
runs with the refit's posterior predictive plus the discrepancy (their ``r`` in the refit's own span).
Because ``z`` is shared, an origin whose later runs all miss on one side counts as one draw of the
slope, not as many outliers, and the Student-t noise cannot explain such a shift away: it is learned by
``kappa``. When the law is right, the backtests' errors are explained by noise and parameter
uncertainty and both shrink.

The grid's prior is the law's error across the literature (:mod:`bayescale.error_prior`): the population of
``(tau, kappa)`` over public studies and laws, learned from their own rolling-origin backtests, with the growth
shape ``r**growth`` and the distance unit (spans or decades) that scored best leaving each study out. A study with
many origins moves away from it; a small one leans on it. Beyond the farthest of the fit's own backtests
(``reach``) the error rests on that prior alone.

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

TAU_GRID = np.linspace(0.0, 0.1, 26)
KAPPA_GRID = np.linspace(0.0, 0.3, 121)
TAU_PRIOR_SD = 0.02  # the flat-literature prior: half-normal scales (sd of log loss, and its growth per unit)
KAPPA_PRIOR_SD = 0.05
UNITS = ("spans", "decades")
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
    unit: str = "spans"  # kappa's distance unit: spans of the fitted runs, or decades
    growth: float = 1.0  # the error's sd grows as (distance in units) ** growth
    reach: float = 0.0  # decades beyond the fitted runs of the farthest run the fit's own backtests scored
    prior: str = "half-normal"  # where the grid's prior comes from

    def __post_init__(self):
        weights = np.asarray(self.weights, float)
        if not (np.isfinite(self.span) and self.span > 0):
            raise ArgumentError(f"a calibration's span (decades of {self.by} the fitted runs cover) must be positive, got {self.span!r}")
        if weights.shape != (len(self.tau) * len(self.kappa),) or (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
            raise ArgumentError(f"a calibration's weights must be {len(self.tau)} x {len(self.kappa)} non-negative numbers summing to 1")
        if self.unit not in UNITS or not (np.isfinite(self.growth) and 0 < self.growth <= 3) or not (np.isfinite(self.reach) and self.reach >= 0):
            raise ArgumentError(f"a calibration's unit must be one of {UNITS}, its growth in (0, 3] and its reach >= 0; got "
                                f"{self.unit!r}, {self.growth!r}, {self.reach!r}")

    def scaled(self, d: np.ndarray) -> np.ndarray:
        """The distance ``d`` (decades beyond the fitted runs) as kappa's multiplier: ``(d in units) ** growth``."""
        return (np.maximum(d, 0.0) / (self.span if self.unit == "spans" else 1.0)) ** self.growth

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
        r = self.scaled(d)
        variance = np.sum(w[..., None] * (tau[..., None] ** 2 + (kappa[..., None] * r) ** 2), axis=(0, 1))
        return np.where(d > 0, np.sqrt(variance), 0.0)

    def shifts(self, d: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws (size × runs) of the discrepancy at ``d`` decades beyond: one slope ``z`` per draw shared by the runs."""
        tau, kappa = self.draws(size, rng)
        z, w = rng.standard_normal((size, 1)), rng.standard_normal((size, len(d)))
        return np.where(d[None, :] > 0, z * kappa[:, None] * self.scaled(d)[None, :] + w * tau[:, None], 0.0)

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
        unit = f"{self.span:.2f} decades of {self.by} (the fitted runs' span)" if self.unit == "spans" else f"decade of {self.by}"
        growth = "" if self.growth == 1 else f", growing as distance**{self.growth:g}"
        return (
            f"extrapolation error: tau {q.loc['tau', 0.5]:.4f} [{q.loc['tau', 0.05]:.4f}, {q.loc['tau', 0.95]:.4f}] + "
            f"kappa {q.loc['kappa', 0.5]:.4f} [{q.loc['kappa', 0.05]:.4f}, {q.loc['kappa', 0.95]:.4f}] per {unit} beyond the fitted runs{growth} "
            f"(sd of log loss; 90% intervals), prior: {self.prior}; from {self.refits} rolling-origin refits scoring {self.backtest_runs} later "
            f"runs up to {self.reach:.2f} decades beyond their fits (farther, the error rests on the prior)"
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


def grid_log_likelihood(densities: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Log likelihood (``TAU_GRID`` × ``KAPPA_GRID``) of one origin's later runs, given their ``densities``
    (:func:`run_log_densities`) and kappa's multipliers ``r``: per run, its density convolved with the scatter
    ``tau``; jointly, averaged over the shared slope ``z`` at ``SLOPES``."""
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


def scaled_distance(record: dict[str, Any], unit: str, growth: float) -> np.ndarray:
    """A backtest record's later runs' distances (``d`` decades, over the refit's ``span``) as kappa's multipliers."""
    return (record["d"] / (record["span"] if unit == "spans" else 1.0)) ** growth


def halfnormal_log_prior() -> np.ndarray:
    """The flat-literature log prior over the grid: half-normal ``tau`` and ``kappa``."""
    return stats.halfnorm.logpdf(TAU_GRID, scale=TAU_PRIOR_SD)[:, None] + stats.halfnorm.logpdf(KAPPA_GRID, scale=KAPPA_PRIOR_SD)[None, :]


def discrepancy_posterior(
    records: list[dict[str, Any]], likelihood: Likelihood, log_prior: np.ndarray | None = None, unit: str = "spans", growth: float = 1.0
) -> np.ndarray:
    """Grid posterior weights over (``TAU_GRID`` × ``KAPPA_GRID``, flattened) given backtest ``records``
    (``log_y``, ``mu`` draws × runs, ``noise`` draws by name, ``d`` decades beyond the refit, its ``span``), under
    ``log_prior`` (default: :func:`halfnormal_log_prior`)."""
    log_post = halfnormal_log_prior() if log_prior is None else log_prior
    for record in records:
        log_post = log_post + grid_log_likelihood(run_log_densities(record, likelihood), scaled_distance(record, unit, growth))
    return np.exp(log_post - logsumexp(log_post)).ravel()
