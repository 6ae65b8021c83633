"""Extrapolation uncertainty: the law's own error beyond the fitted runs, learned from the runs themselves.

A posterior that assumes the law is exact is honest about noise and parameters only; far beyond
the fitted runs the law's form itself is the larger error. Here that error is a discrepancy on
log loss, ``delta ~ Normal(0, (tau + kappa * d)^2)`` for a run ``d > 0`` decades beyond the fitted runs
(the largest distance over the law's inputs and, for laws in N and D, compute C = 6ND): ``tau`` is the
error of any run outside the fitted range, ``kappa`` its growth per decade.

``(tau, kappa)`` are learned by rolling-origin backtests inside the fitted runs: refit the law on the
runs below successive quantiles of ``by`` (compute by default), predict the later runs, and weigh each
pair on a grid by how well the predictive distribution with that discrepancy scores the later runs (a
grid posterior under half-normal priors). Later runs of one origin share their errors, so each origin's
log score is tempered to count one observation per tenth of a decade of ``by`` it spans. When the law
is right, the backtests' errors are explained by noise and parameter uncertainty and both shrink to zero.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import logsumexp

from .data import DERIVATIONS
from .diagnostics import SamplingWarning

ORIGINS = (0.5, 0.65, 0.8)
TAU_GRID = np.linspace(0.0, 0.04, 21)
KAPPA_GRID = np.linspace(0.0, 0.15, 61)
TAU_PRIOR_SD = 0.02
KAPPA_PRIOR_SD = 0.05
CALIBRATION_DRAWS = 300
BIN_DECADES = 0.1
CALIBRATION_DRAWS_PER_CHAIN = 250


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
    fitted runs, and its growth per decade)."""

    by: str
    maxima: dict[str, float]
    tau: tuple[float, ...]
    kappa: tuple[float, ...]
    weights: tuple[float, ...]
    origins: tuple[float, ...]
    backtest_runs: int

    def draws(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``size`` draws of (tau, kappa) from the grid posterior."""
        index = rng.choice(len(self.weights), size=size, p=np.asarray(self.weights))
        tau, kappa = np.meshgrid(self.tau, self.kappa, indexing="ij")
        return tau.ravel()[index], kappa.ravel()[index]

    def sd(self, d: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws (size × runs) of the discrepancy's sd at distances ``d``; zero inside the fitted range."""
        tau, kappa = self.draws(size, rng)
        return np.where(d[None, :] > 0, tau[:, None] + kappa[:, None] * d[None, :], 0.0)

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
            f"kappa {q.loc['kappa', 0.5]:.4f} [{q.loc['kappa', 0.05]:.4f}, {q.loc['kappa', 0.95]:.4f}] per decade beyond the "
            f"fitted runs (sd of log loss; 90% intervals), from {len(self.origins)} rolling-origin refits scoring {self.backtest_runs} later runs"
        )


def noise_logpdf(likelihood: str, residual: np.ndarray, sigma: np.ndarray, nu: np.ndarray | None) -> np.ndarray:
    """Log density of log-loss residuals under the noise model (Student-t or normal)."""
    if likelihood == "studentt":
        return stats.t.logpdf(residual, df=nu, scale=sigma)
    return stats.norm.logpdf(residual, scale=sigma)


def discrepancy_posterior(records: list[dict[str, np.ndarray]], likelihood: str, random_seed: int = 0) -> np.ndarray:
    """Grid posterior weights over (tau, kappa) given backtest ``records`` (log_y, mu draws × runs, sigma, nu, d, n_eff).

    Each later run's predictive density with a discrepancy of sd ``tau + kappa * d`` is averaged over posterior
    draws with common normal draws ``z`` (so the weights are smooth on the grid); each record's total is
    tempered by ``n_eff / runs``.
    """
    rng = np.random.default_rng(random_seed)
    tau, kappa = np.meshgrid(TAU_GRID, KAPPA_GRID, indexing="ij")
    tau, kappa = tau.ravel(), kappa.ravel()
    log_post = stats.halfnorm.logpdf(tau, scale=TAU_PRIOR_SD) + stats.halfnorm.logpdf(kappa, scale=KAPPA_PRIOR_SD)
    for rec in records:
        z = rng.standard_normal(rec["mu"].shape)
        base = rec["log_y"][None, :] - rec["mu"]
        nu = None if rec["nu"] is None else rec["nu"][:, None]
        temper = rec["n_eff"] / len(rec["d"])
        for i in range(len(tau)):
            logp = noise_logpdf(likelihood, base - (tau[i] + kappa[i] * rec["d"][None, :]) * z, rec["sigma"][:, None], nu)
            log_post[i] += temper * np.sum(logsumexp(logp, axis=0) - np.log(len(logp)))
    return np.exp(log_post - logsumexp(log_post))


def effective_count(values: np.ndarray) -> int:
    """Distinct tenths of a decade among ``values``: later runs that share one are counted once.

    >>> effective_count(np.array([1e20, 1.1e20, 1e21]))
    2
    """
    return len(np.unique(np.floor(np.log10(values) / BIN_DECADES)))


def backtest_records(fit, origins=ORIGINS, by: str | None = None, random_seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Rolling-origin refits inside ``fit``'s runs: for each quantile in ``origins`` of ``by``, refit on the runs
    at or below it and record the law-mean draws at the later runs with their distance beyond the refit's runs."""
    law = fit.law
    by = by or default_by(law.input_names)
    table = scales(fit.runs, law.input_names)
    records = []
    for q in origins:
        threshold = np.quantile(table[by], q)
        train = (table[by] <= threshold).to_numpy()
        if train.all() or train.sum() <= 2 * (len(law.parameters) + len(fit.spec.noise_names)):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            refit = fit.refit(fit.runs[train], draws=CALIBRATION_DRAWS_PER_CHAIN, random_seed=random_seed)
        later = fit.runs[~train]
        _, preds = refit.sample_predictive(later, random_seed, extrapolation=False)
        mean = preds["mean"]
        post = refit.idata.posterior
        keep = np.random.default_rng(random_seed).permutation(len(mean))[:CALIBRATION_DRAWS]
        nu = post["nu"].values.reshape(-1)[keep] if "nu" in post else None
        records.append(
            {
                "log_y": np.log(later[law.target].to_numpy(float)),
                "mu": np.log(mean[keep]),
                "sigma": post["sigma"].values.reshape(-1)[keep],
                "nu": nu,
                "d": distance(scales(later, law.input_names), table[train].max().to_dict()),
                "n_eff": effective_count(table[by].to_numpy()[~train]),
            }
        )
    return records


def calibrate(fit, origins=ORIGINS, by: str | None = None, random_seed: int = 0) -> Calibration | None:
    """Learn ``fit``'s extrapolation error (see the module docstring); None, with a warning, when the runs are too few."""
    by = by or default_by(fit.law.input_names)
    records = backtest_records(fit, origins, by, random_seed)
    maxima = scales(fit.runs, fit.law.input_names).max().to_dict()
    if len(records) < 2:
        warnings.warn(
            f"fit of {fit.law.name!r}: too few runs or distinct {by} values for rolling-origin refits, so the extrapolation "
            "error cannot be learned; intervals beyond the fitted runs cover noise and parameter uncertainty only",
            ExtrapolationWarning,
            stacklevel=3,
        )
        return None
    weights = discrepancy_posterior(records, fit.spec.likelihood, random_seed)
    runs = int(sum(len(r["d"]) for r in records))
    return Calibration(by, maxima, tuple(TAU_GRID.tolist()), tuple(KAPPA_GRID.tolist()), tuple(weights.tolist()), tuple(origins), runs)
