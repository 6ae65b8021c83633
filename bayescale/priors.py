"""Priors as data: one small language for TOML files, code and saved fits.

A prior is a PyMC distribution name and its keyword arguments, written
``{dist = "LogNormal", mu = 6.0, sigma = 1.5}`` in a law file and
``Prior("LogNormal", mu=6.0, sigma=1.5)`` in Python. It round-trips through
plain dicts, so saved fits carry the exact priors they were fitted with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit, logit

from .errors import ArgumentError

DISTRIBUTIONS = (
    "Normal",
    "StudentT",
    "Cauchy",
    "LogNormal",
    "HalfNormal",
    "HalfStudentT",
    "HalfCauchy",
    "Gamma",
    "InverseGamma",
    "Exponential",
    "Weibull",
    "Uniform",
    "Beta",
    "TruncatedNormal",
)
POSITIVE = ("LogNormal", "HalfNormal", "HalfStudentT", "HalfCauchy", "Gamma", "InverseGamma", "Exponential", "Weibull")


@dataclass(frozen=True)
class Prior:
    """A PyMC distribution by name with its parameters.

    >>> Prior("LogNormal", mu=0.0, sigma=1.0).to_dict()
    {'dist': 'LogNormal', 'mu': 0.0, 'sigma': 1.0}
    """

    dist: str
    kwargs: dict[str, float] = field(default_factory=dict)

    def __init__(self, dist: str, **kwargs: float):
        if dist not in DISTRIBUTIONS:
            raise ArgumentError(f"unknown prior distribution {dist!r}; use one of: {', '.join(DISTRIBUTIONS)}")
        for key, value in kwargs.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ArgumentError(f"prior {dist} argument {key}={value!r} must be a number")
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "kwargs", {k: float(v) for k, v in kwargs.items()})

    @classmethod
    def from_dict(cls, spec: dict[str, Any] | Prior) -> Prior:
        """Build from ``{"dist": name, **kwargs}`` (or return a Prior unchanged)."""
        if isinstance(spec, Prior):
            return spec
        if not isinstance(spec, dict) or "dist" not in spec:
            raise ArgumentError(f"a prior must be a dict with a 'dist' key, e.g. {{'dist': 'Normal', 'mu': 0, 'sigma': 1}}; got {spec!r}")
        kwargs = {k: v for k, v in spec.items() if k != "dist"}
        return cls(spec["dist"], **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.dist, **self.kwargs}

    @property
    def positive(self) -> bool:
        """Whether the distribution lives on the positive numbers (its sampler scale is the log)."""
        return self.dist in POSITIVE

    def create(self, name: str, **kwargs: Any) -> Any:
        """Create the random variable ``name`` in the current PyMC model."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self.kwargs, **kwargs)

    def dist_rv(self) -> Any:
        """An unnamed random variable of this distribution (for transforms and draws)."""
        import pymc as pm

        return getattr(pm, self.dist).dist(**self.kwargs)

    def to_unconstrained(self, values: Any) -> np.ndarray:
        """Values on the scale the sampler moves on (PyMC's default transform of the distribution), in NumPy.

        >>> float(Prior("LogNormal", mu=0.0, sigma=1.0).to_unconstrained(np.e))
        1.0
        """
        return self._transform()[0](np.asarray(values, float))

    def from_unconstrained(self, values: Any) -> np.ndarray:
        """The inverse of :meth:`to_unconstrained`.

        >>> float(Prior("Uniform", lower=0.0, upper=2.0).from_unconstrained(0.0))
        1.0
        """
        return self._transform()[1](np.asarray(values, float))

    def _transform(self) -> tuple[Any, Any]:
        """The forward and backward NumPy functions of the distribution's PyMC default transform."""
        if self.positive:
            return np.log, np.exp
        if self.dist == "Beta":
            return logit, expit
        if self.dist not in ("Uniform", "TruncatedNormal"):
            return (lambda x: x), (lambda u: u)
        low, high = (self.kwargs.get(k, np.inf * sign) for k, sign in (("lower", -1), ("upper", 1)))
        if np.isfinite(low) and np.isfinite(high):
            return (lambda x: np.log(x - low) - np.log(high - x)), (lambda u: low + (high - low) * expit(u))
        if np.isfinite(low):
            return (lambda x: np.log(x - low)), (lambda u: low + np.exp(u))
        if np.isfinite(high):
            return (lambda x: np.log(high - x)), (lambda u: high - np.exp(u))
        return (lambda x: x), (lambda u: u)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.kwargs.items())
        return f"{self.dist}({args})"
