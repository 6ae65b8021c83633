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

REAL, POSITIVE_VALUE, UNIT = "any number", "a positive number", "a number in (0, 1)"
# each distribution's parameters and what each may be; then the sets of them it needs (one of)
DISTRIBUTIONS = {
    "Normal": ({"mu": REAL, "sigma": POSITIVE_VALUE}, [()]),
    "StudentT": ({"nu": POSITIVE_VALUE, "mu": REAL, "sigma": POSITIVE_VALUE}, [("nu",)]),
    "Cauchy": ({"alpha": REAL, "beta": POSITIVE_VALUE}, [("alpha", "beta")]),
    "LogNormal": ({"mu": REAL, "sigma": POSITIVE_VALUE}, [()]),
    "HalfNormal": ({"sigma": POSITIVE_VALUE}, [()]),
    "HalfStudentT": ({"nu": POSITIVE_VALUE, "sigma": POSITIVE_VALUE}, [("nu",)]),
    "HalfCauchy": ({"beta": POSITIVE_VALUE}, [("beta",)]),
    "Gamma": ({"alpha": POSITIVE_VALUE, "beta": POSITIVE_VALUE, "mu": POSITIVE_VALUE, "sigma": POSITIVE_VALUE}, [("alpha", "beta"), ("mu", "sigma")]),
    "InverseGamma": ({"alpha": POSITIVE_VALUE, "beta": POSITIVE_VALUE, "mu": POSITIVE_VALUE, "sigma": POSITIVE_VALUE}, [("alpha", "beta"), ("mu", "sigma")]),
    "Exponential": ({"lam": POSITIVE_VALUE, "scale": POSITIVE_VALUE}, [("lam",), ("scale",)]),
    "Weibull": ({"alpha": POSITIVE_VALUE, "beta": POSITIVE_VALUE}, [("alpha", "beta")]),
    "Uniform": ({"lower": REAL, "upper": REAL}, [()]),
    "Beta": ({"alpha": POSITIVE_VALUE, "beta": POSITIVE_VALUE, "mu": UNIT, "sigma": POSITIVE_VALUE}, [("alpha", "beta"), ("mu", "sigma")]),
    "TruncatedNormal": ({"mu": REAL, "sigma": POSITIVE_VALUE, "lower": REAL, "upper": REAL}, [()]),
}
_ALLOWED = {REAL: lambda v: True, POSITIVE_VALUE: lambda v: v > 0, UNIT: lambda v: 0 < v < 1}
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
        if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
            raise ArgumentError(f"unknown prior distribution {dist!r}; use one of: {', '.join(DISTRIBUTIONS)}")
        known, needed = DISTRIBUTIONS[dist]
        for key, value in kwargs.items():
            if key not in known:
                raise ArgumentError(f"prior {dist} has no argument {key!r}; its arguments: {', '.join(known)}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value) or not _ALLOWED[known[key]](value):
                raise ArgumentError(f"prior {dist} argument {key}={value!r} must be {known[key]}")
        if not any(set(option) <= set(kwargs) for option in needed):
            raise ArgumentError(f"prior {dist} needs {' or '.join(', '.join(o) for o in needed)}; got {sorted(kwargs) or 'none'}")
        low, high = kwargs.get("lower", -np.inf), kwargs.get("upper", np.inf)
        if dist in ("Uniform", "TruncatedNormal") and not low < high:
            raise ArgumentError(f"prior {dist} needs lower < upper, got lower={low!r}, upper={high!r}")
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
        if not all(isinstance(k, str) for k in kwargs):
            raise ArgumentError(f"a prior's arguments are named by text, got {spec!r}")
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
