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
only. A beta fit (a bounded target such as an error rate) has no calibration: :func:`calibrate` returns None
with an :class:`ExtrapolationWarning`, and its intervals beyond the fitted runs cover noise and parameter
uncertainty only.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.ndimage import gaussian_filter1d
from scipy.special import gammaln, logsumexp

from .data import DERIVATIONS
from .diagnostics import SamplingWarning

ORIGINS = (0.6, 0.7, 0.8, 0.9)  # fractions of the fitted runs' log range of `by` that refits reach
BIN_DECADES = 0.05  # runs this close in `by` (one isoFLOP budget) stay on one side of an origin
TAU_GRID = np.linspace(0.0, 0.04, 21)
KAPPA_GRID = np.linspace(0.0, 0.3, 121)
TAU_PRIOR_SD = 0.02
KAPPA_PRIOR_SD = 0.05
CALIBRATION_DRAWS = 300
CALIBRATION_DRAWS_PER_CHAIN = 250
SHIFT_STEP = 0.001
SHIFTS = np.arange(-0.6, 0.6 + SHIFT_STEP / 2, SHIFT_STEP)  # log-loss shifts on which each run's density is tabulated
SLOPES = stats.norm.ppf((np.arange(32) + 0.5) / 32)  # quantiles of z: the shared slope's integral


class ExtrapolationWarning(UserWarning):
    """Extrapolation error that could not be learned: intervals beyond the data lack the law's own error."""


def scales(table: pd.DataFrame, inputs: list[str]) -> pd.DataFrame:
    """The columns distances are measured on: the law's inputs, and compute C = 6ND for laws in N and D.

    >>> scales(pd.DataFrame({"N": [1e9], "D": [2e10]}), ["N", "D"])["C"].tolist()
    [1.2e+20]
    """
    out = table[list(inputs)].astype(float)
    sources, formula, _ = DERIVATIONS["C"]
    if "C" not in out and all(s in out for s in sources):
        out["C"] = formula(out)
    return out


def default_by(inputs: list[str]) -> str:
    """Compute where it can be derived from the inputs, else the first input."""
    return "C" if "C" in inputs or {"N", "D"} <= set(inputs) else inputs[0]


def span(values: np.ndarray) -> float:
    """Decades covered by the positive ``values``.

    >>> span(np.array([0.0, 1e18, 1e20]))
    2.0
    """
    positive = np.asarray(values, float)[np.asarray(values) > 0]
    return float(np.log10(positive.max() / positive.min())) if positive.size else 0.0


def distance(table: pd.DataFrame, maxima: dict[str, float]) -> np.ndarray:
    """Decades beyond the fitted runs: the largest ``log10(x / max)`` over the columns of ``maxima``, at least 0.

    >>> distance(pd.DataFrame({"N": [1e9, 1e11], "C": [1e20, 1e21]}), {"N": 1e10, "C": 1e20}).tolist()
    [0.0, 1.0]
    """
    with np.errstate(divide="ignore"):  # inputs that may be zero (schedule areas) are never beyond the data at 0
        decades = [np.log10(table[c].to_numpy(float) / m) for c, m in maxima.items() if m > 0]
    return np.maximum(0.0, np.max(decades, axis=0))


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


def noise_logpdf(likelihood: str, observed: np.ndarray, mu: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
    """Log density of ``observed`` values around locations ``mu`` under the noise model, broadcasting.

    Both are on the likelihood's scale (log target for Student-t and normal, the target in (0, 1) for beta);
    ``noise`` holds its parameters by name (``sigma`` and ``nu``, or ``phi``). The Student-t density is written
    out: ``scipy.stats.t.logpdf`` is 14 times slower with an array of ``df``.

    >>> x, noise = np.array([-0.02, 0.0, 0.05]), {"nu": np.array([1.5, 4.0, 30.0]), "sigma": np.array([0.01, 0.02, 0.03])}
    >>> bool(np.allclose(noise_logpdf("studentt", x, 0.0, noise), stats.t.logpdf(x, df=noise["nu"], scale=noise["sigma"])))
    True
    """
    if likelihood == "beta":
        phi = noise["phi"]
        a, b = mu * phi, (1 - mu) * phi
        return gammaln(phi) - gammaln(a) - gammaln(b) + (a - 1) * np.log(observed) + (b - 1) * np.log1p(-observed)
    residual, sigma = observed - mu, noise["sigma"]
    if likelihood == "studentt":
        nu = noise["nu"]
        const = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(sigma)
        return const - (nu + 1) / 2 * np.log1p((residual / sigma) ** 2 / nu)
    return stats.norm.logpdf(residual, scale=sigma)


def run_log_densities(record: dict[str, Any], likelihood: str) -> np.ndarray:
    """Each later run's log predictive density (runs × ``SHIFTS``) when the law is off by each shift:
    ``log mean_s p(log_y | mu_s + shift, noise_s)`` over the refit's posterior draws ``s``."""
    log_y, mu = record["log_y"], record["mu"]
    noise = {k: v[:, None] for k, v in record["noise"].items()}
    out = np.empty((len(log_y), len(SHIFTS)))
    for i in range(len(log_y)):
        logp = noise_logpdf(likelihood, log_y[i], mu[:, i, None] + SHIFTS[None, :], noise)
        out[i] = logsumexp(logp, axis=0) - np.log(len(logp))
    return out


def record_log_likelihood(record: dict[str, Any], likelihood: str) -> np.ndarray:
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


def discrepancy_posterior(records: list[dict[str, Any]], likelihood: str) -> np.ndarray:
    """Grid posterior weights over (``TAU_GRID`` × ``KAPPA_GRID``, flattened) given backtest ``records``
    (``log_y``, ``mu`` draws × runs, ``noise`` draws by name, ``r``), under half-normal priors."""
    log_post = stats.halfnorm.logpdf(TAU_GRID, scale=TAU_PRIOR_SD)[:, None] + stats.halfnorm.logpdf(KAPPA_GRID, scale=KAPPA_PRIOR_SD)[None, :]
    for record in records:
        log_post = log_post + record_log_likelihood(record, likelihood)
    return np.exp(log_post - logsumexp(log_post)).ravel()


def origin_masks(values: np.ndarray, origins=ORIGINS, min_runs: int = 1) -> list[np.ndarray]:
    """The refits' runs (boolean masks) for origins at the fractions ``origins`` of the log range of ``values``.

    Values are binned to ``BIN_DECADES`` so that the runs of one budget are never split; origins that leave
    every run, fewer than ``min_runs`` or a single bin in the refit, or repeat an earlier refit, are dropped.

    >>> budgets = np.repeat([1e18, 1e19, 1e20, 1e21], 3) * np.tile([1.0, 1.01, 0.99], 4)
    >>> [int(m.sum()) for m in origin_masks(budgets)]
    [6, 9]
    """
    bins = np.floor(np.log10(values) / BIN_DECADES)
    low, high = bins.min(), bins.max()
    masks = []
    for fraction in origins:
        train = bins <= low + fraction * (high - low)
        repeated = any((train == m).all() for m in masks)
        if not (train.all() or repeated or train.sum() < min_runs or len(np.unique(bins[train])) < 2):
            masks.append(train)
    return masks


def backtest_records(fit, origins=ORIGINS, by: str | None = None, random_seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Rolling-origin refits inside ``fit``'s runs (see :func:`origin_masks`): refit on the runs at or below each
    origin of ``by`` and record the law-mean draws at the later runs with their distance beyond the refit's runs,
    in spans of the refit's runs."""
    law = fit.law
    by = by or default_by(law.input_names)
    table = scales(fit.runs, law.input_names)
    records = []
    for train in origin_masks(table[by].to_numpy(), origins, min_runs=2 * (len(law.parameters) + len(fit.spec.noise_names)) + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            refit = fit.refit(fit.runs[train], draws=CALIBRATION_DRAWS_PER_CHAIN, random_seed=random_seed)
        later = fit.runs[~train]
        _, preds = refit.sample_predictive(later, random_seed, extrapolation=False)
        mean = preds["mean"]
        post = refit.idata.posterior
        keep = np.random.default_rng(random_seed).permutation(len(mean))[:CALIBRATION_DRAWS]
        records.append(
            {
                "log_y": np.log(later[law.target].to_numpy(float)),
                "mu": np.log(mean[keep]),
                "noise": {n: post[n].values.reshape(-1)[keep] for n in fit.spec.noise_names},
                "r": distance(scales(later, law.input_names), table[train].max().to_dict()) / span(table[by][train]),
            }
        )
    return records


def calibrate(fit, origins=ORIGINS, by: str | None = None, random_seed: int = 0) -> Calibration | None:
    """Learn ``fit``'s extrapolation error (see the module docstring); None, with a warning, when the runs are too few
    or the likelihood is not on log target (beta)."""
    if not fit.spec.log_target:
        warnings.warn(
            f"fit of {fit.law.name!r}: the extrapolation error is learned on log target, which a {fit.spec.likelihood} likelihood "
            "does not observe; intervals beyond the fitted runs cover noise and parameter uncertainty only",
            ExtrapolationWarning,
            stacklevel=3,
        )
        return None
    by = by or default_by(fit.law.input_names)
    records = backtest_records(fit, origins, by, random_seed)
    if len(records) < 2:
        warnings.warn(
            f"fit of {fit.law.name!r}: too few runs or distinct {by} values for rolling-origin refits, so the extrapolation "
            "error cannot be learned; intervals beyond the fitted runs cover noise and parameter uncertainty only",
            ExtrapolationWarning,
            stacklevel=3,
        )
        return None
    weights = discrepancy_posterior(records, fit.spec.likelihood)
    runs = int(sum(len(r["r"]) for r in records))
    fitted_span = span(scales(fit.runs, fit.law.input_names)[by])
    return Calibration(by, fitted_span, tuple(TAU_GRID.tolist()), tuple(KAPPA_GRID.tolist()), tuple(weights.tolist()), len(records), runs)
