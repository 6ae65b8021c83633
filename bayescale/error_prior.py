"""The law's error across the literature: a population prior over the discrepancy's ``(tau, kappa)``.

Each public study setting of :mod:`bayescale.literature` (a data set, a law, its pooling) gives, from its own
rolling-origin backtests, a likelihood over the grid of :mod:`bayescale.extrapolation`. Over the studies,
``tau`` and ``kappa`` are taken as independent log-normal (or half-normal) draws (hierarchical: one ``(tau, kappa)``
per study setting); their hyperparameters are the maximum of the studies' marginal likelihood (empirical Bayes, with a unit normal
hyperprior on their log sds), for
the growth shape and distance unit the prior file names. The shipped file, ``priors/extrapolation_error.json``,
holds those numbers and their provenance and is rebuilt from the public data by
``benchmarks/error_prior.py --write``; every calibration starts from it (:func:`default_prior`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats
from scipy.special import logsumexp

from .errors import ArgumentError, MissingFileError
from .extrapolation import KAPPA_GRID, TAU_GRID, UNITS

PRIOR_FILE = Path(__file__).parent / "priors" / "extrapolation_error.json"
FORMAT = "bayescale-error-prior/1"


FAMILIES = ("lognormal", "halfnormal")


def _cell_log_probs(grid: np.ndarray, family: str, location: float, scale: float) -> np.ndarray:
    """Log probability of each grid point's cell (edges halfway between points; the first from 0, the last to
    infinity) under a log-normal (median ``exp(location)``, log sd ``scale``) or a half-normal (sd ``exp(location)``)."""
    edges = np.concatenate([[0.0], (grid[1:] + grid[:-1]) / 2, [np.inf]])
    if family == "lognormal":
        cdf = stats.lognorm.cdf(edges, s=scale, scale=np.exp(location))
    else:
        cdf = stats.halfnorm.cdf(edges, scale=np.exp(location))
    return np.log(np.maximum(np.diff(cdf), 1e-300))


@dataclass(frozen=True)
class ErrorPrior:
    """Population of ``tau`` (sd of log loss beyond the fitted runs) and ``kappa`` (its growth per ``unit``, as
    distance ** ``growth``) over studies: log-normal (median ``exp(*_log_mean)``, log sd ``*_log_sd``) or half-normal
    (sd ``exp(*_log_mean)``; the log sds unused), with where it was learned."""

    unit: str
    growth: float
    tau_log_mean: float
    tau_log_sd: float
    kappa_log_mean: float
    kappa_log_sd: float
    provenance: dict[str, Any] = field(default_factory=dict)
    family: str = "lognormal"

    def __post_init__(self):
        numbers = [self.growth, self.tau_log_mean, self.tau_log_sd, self.kappa_log_mean, self.kappa_log_sd]
        if self.unit not in UNITS or self.family not in FAMILIES or not all(np.isfinite(numbers)) or min(self.growth, self.tau_log_sd, self.kappa_log_sd) <= 0:
            raise ArgumentError(f"an error prior needs a unit in {UNITS}, a family in {FAMILIES} and finite numbers with positive "
                                f"growth and sds; got {self}")

    def log_weights(self) -> np.ndarray:
        """Log prior over the (``TAU_GRID`` × ``KAPPA_GRID``) grid."""
        return _cell_log_probs(TAU_GRID, self.family, self.tau_log_mean, self.tau_log_sd)[:, None] + _cell_log_probs(
            KAPPA_GRID, self.family, self.kappa_log_mean, self.kappa_log_sd
        )[None, :]

    def median(self, name: str) -> float:
        """The population median of ``tau`` or ``kappa``."""
        location = getattr(self, f"{name}_log_mean")
        return float(np.exp(location) * (1.0 if self.family == "lognormal" else stats.halfnorm.median()))

    def describe(self) -> str:
        studies = self.provenance.get("studies", [])
        return (f"the law's error across {len(studies)} public study settings ({self.family}; median tau {self.median('tau'):.4f}, "
                f"kappa {self.median('kappa'):.4f} per {self.unit[:-1]})")

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ErrorPrior":
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ArgumentError(f"not an error prior (expected format {FORMAT!r})")
        return cls(**{k: v for k, v in raw.items() if k != "format"})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")


def read_prior(path: str | Path) -> ErrorPrior:
    """The :class:`ErrorPrior` stored at ``path`` (a JSON file written by :meth:`ErrorPrior.save`)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no error prior at {path}")
    try:
        return ErrorPrior.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as error:
        raise ArgumentError(f"{path}: not a valid error prior file: {error}") from None


@cache
def default_prior() -> ErrorPrior:
    """The shipped prior (``PRIOR_FILE``), learned from the public studies."""
    return read_prior(PRIOR_FILE)


def learn_prior(grids: dict[str, np.ndarray], unit: str, growth: float, provenance: dict[str, Any] | None = None,
                family: str = "lognormal") -> ErrorPrior:
    """The empirical-Bayes :class:`ErrorPrior` from each study setting's grid log likelihood (``TAU_GRID`` ×
    ``KAPPA_GRID``, summed over its backtest records): the log-normal hyperparameters that maximize the sum over
    studies of ``log sum_grid prior × likelihood`` (plus a unit-normal hyperprior on the log of each log sd).

    >>> tau, kappa = np.meshgrid(TAU_GRID, KAPPA_GRID, indexing="ij")
    >>> grids = {f"s{i}": -0.5 * ((kappa - k) / 0.005) ** 2 - 0.5 * ((tau - 0.01) / 0.005) ** 2 for i, k in enumerate([0.02, 0.04, 0.08])}
    >>> prior = learn_prior(grids, "decades", 1.0)
    >>> bool(0.025 < prior.median("kappa") < 0.06), prior.kappa_log_sd > 0.3
    (True, True)
    """
    if not grids:
        raise ArgumentError("learning an error prior needs at least one study's backtests")
    stacked = np.stack(list(grids.values()))

    low, high = np.array([-12.0, -4.0, -12.0, -4.0]), np.array([1.0, 2.0, 1.0, 2.0])  # medians below e, sds e^-4..e^2

    def negative(theta):
        theta = np.clip(theta, low, high)
        prior = ErrorPrior(unit, growth, theta[0], np.exp(theta[1]), theta[2], np.exp(theta[3]), family=family)
        hyperprior = stats.norm.logpdf(theta[[1, 3]], 0.0, 1.0).sum()  # keeps the log sds away from 0 when studies are few
        return -float(np.sum(logsumexp(prior.log_weights()[None] + stacked, axis=(1, 2))) + hyperprior)

    start = np.array([np.log(0.01), np.log(1.0), np.log(0.03), np.log(1.0)])
    best = optimize.minimize(negative, start, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-4, "maxiter": 4000})
    theta = np.clip(best.x, low, high)
    return ErrorPrior(unit, float(growth), float(theta[0]), float(np.exp(theta[1])), float(theta[2]), float(np.exp(theta[3])),
                      {**(provenance or {}), "studies": sorted(grids), "log_marginal": -float(best.fun)}, family)
