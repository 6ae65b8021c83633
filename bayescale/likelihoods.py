"""Likelihoods: the noise model of a fit, one object each.

A likelihood owns everything that depends on it: its noise parameters and their default priors, the scale
the target is observed on (its log, or the target itself), the link from the law's mean to the noise model's
location, the PyMC node, a NumPy log density, draws, the scale CRPS is computed on, and the target's domain.

- ``studentt`` (default) and ``normal``: noise on the log target around the log of the law, a multiplicative
  error; Student-t is the Bayesian counterpart of the Huber loss of Hoffmann et al.
- ``normal-raw``: Normal noise on the target itself around the law, for targets that can be zero or negative
  (a unigram-normalized loss, a difference of log-perplexities, an accuracy gain).
- ``beta``: a bounded target in (0, 1) (an error rate, an accuracy) as ``Beta(mu phi, (1 - mu) phi)`` around
  the law's mean ``mu``, with precision ``phi``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln

from .errors import ArgumentError, ModelError
from .priors import Prior

BOUND = 1e-9  # a Beta mean is kept this far inside (0, 1), where a law leaves it (the likelihood is then tiny)


@dataclass(frozen=True)
class Likelihood:
    """A noise model: ``name``, its ``noise`` parameters with default priors, the target's ``domain``
    (``"positive"``, ``"unit"`` or ``"real"``, checked by :func:`bayescale.data.prepare_runs`), whether it
    observes the log target, and whether a per-run offset can be added to its location (``additive``)."""

    name: str
    noise: dict[str, Prior] = field(default_factory=dict)
    domain: str = "positive"
    log_target: bool = True
    additive: bool = True

    @property
    def observed_name(self) -> str:
        """The observed node, and the variable of the stored pointwise log likelihood."""
        return "log_loss" if self.log_target else "target"

    @property
    def scale(self) -> str:
        """What the density is of: ``"log"`` (the log target) or ``"target"``; densities on different scales do not compare."""
        return "log" if self.log_target else "target"

    def observe(self, values: Any) -> np.ndarray:
        """Target values on the scale the likelihood observes."""
        values = np.asarray(values, float)
        return np.log(values) if self.log_target else values

    def to_target(self, values: Any) -> np.ndarray:
        """Values on the observed scale back in the target's units."""
        values = np.asarray(values, float)
        return np.exp(values) if self.log_target else values

    def location(self, mean: Any, backend: str = "numpy") -> Any:
        """The noise model's location for law means ``mean`` (NumPy arrays or PyTensor variables)."""
        if not self.log_target:
            return mean
        if backend == "numpy":
            return np.log(mean)
        import pytensor.tensor as pt

        return pt.log(mean)

    def node(self, name: str, mu: Any, noise: dict[str, Any], observed: Any = None) -> Any:
        """The PyMC random variable of targets around locations ``mu``."""
        raise NotImplementedError

    def logpdf(self, observed: np.ndarray, mu: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
        """Log density of ``observed`` values (on the observed scale) around locations ``mu``, broadcasting."""
        raise NotImplementedError

    def draw(self, mu: np.ndarray, noise: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """New targets on the observed scale around locations ``mu``, broadcasting."""
        raise NotImplementedError

    def simulate(self, mean: np.ndarray, noise: float, rng: np.random.Generator, law: str = "the law") -> np.ndarray:
        """Synthetic targets around law means ``mean`` with noise of scale ``noise``: the law times log-normal
        noise of sd ``noise`` for a log-target likelihood (``law`` names the law in errors)."""
        return mean * np.exp(noise * rng.standard_normal(np.shape(mean)))

    def crps_scale(self, values: np.ndarray) -> np.ndarray:
        """Values on the scale CRPS is computed on: the log target where the noise is on it (a heavy-tailed
        Student-t there has no finite CRPS in the target's units), else the target itself."""
        return np.log(values) if self.log_target else np.asarray(values, float)

    def describe(self, target: str = "target") -> str:
        """``"studentt on log loss"``: the likelihood and the scale of the ``target`` it observes."""
        return f"{self.name} on {'log ' if self.log_target else ''}{target}"

    def __str__(self) -> str:
        noise = ", ".join(f"{k} ~ {v}" for k, v in self.noise.items())
        return f"{self.describe()} ({noise})"


class StudentT(Likelihood):
    """Student-t noise on the log target.

    >>> from scipy import stats
    >>> x, noise = np.array([-0.02, 0.0, 0.05]), {"nu": np.array([1.5, 4.0, 30.0]), "sigma": np.array([0.01, 0.02, 0.03])}
    >>> bool(np.allclose(STUDENTT.logpdf(x, 0.0, noise), stats.t.logpdf(x, df=noise["nu"], scale=noise["sigma"])))
    True
    """

    def node(self, name, mu, noise, observed=None):
        import pymc as pm

        return pm.StudentT(name, nu=noise["nu"], mu=mu, sigma=noise["sigma"], observed=observed)

    def logpdf(self, observed, mu, noise):
        # written out: scipy.stats.t.logpdf is 14 times slower with an array of degrees of freedom
        nu, sigma = noise["nu"], noise["sigma"]
        const = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(sigma)
        return const - (nu + 1) / 2 * np.log1p(((observed - mu) / sigma) ** 2 / nu)

    def draw(self, mu, noise, rng):
        shape = np.broadcast_shapes(np.shape(mu), np.shape(noise["sigma"]), np.shape(noise["nu"]))
        return mu + noise["sigma"] * rng.standard_t(np.broadcast_to(noise["nu"], shape))


class Normal(Likelihood):
    """Normal noise, on the log target (``normal``) or on the target itself (``normal-raw``).

    >>> from scipy import stats
    >>> bool(np.isclose(NORMAL.logpdf(0.1, 0.0, {"sigma": 0.2}), stats.norm.logpdf(0.1, scale=0.2)))
    True
    """

    def node(self, name, mu, noise, observed=None):
        import pymc as pm

        return pm.Normal(name, mu=mu, sigma=noise["sigma"], observed=observed)

    def logpdf(self, observed, mu, noise):
        z = (observed - mu) / noise["sigma"]
        return -0.5 * z**2 - np.log(noise["sigma"]) - 0.5 * np.log(2 * np.pi)

    def draw(self, mu, noise, rng):
        shape = np.broadcast_shapes(np.shape(mu), np.shape(noise["sigma"]))
        return mu + noise["sigma"] * rng.standard_normal(shape)

    def simulate(self, mean, noise, rng, law="the law"):
        """Targets around ``mean``: log-normal noise of sd ``noise`` on the log scale, or Normal noise of sd ``noise``
        in the target's units for ``normal-raw``."""
        if self.log_target:
            return super().simulate(mean, noise, rng, law)
        return mean + noise * rng.standard_normal(np.shape(mean))


class Beta(Likelihood):
    """A target in (0, 1) as ``Beta(mu phi, (1 - mu) phi)`` around the law's mean ``mu``.

    >>> from scipy import stats
    >>> bool(np.isclose(BETA.logpdf(0.3, 0.25, {"phi": 40.0}), stats.beta.logpdf(0.3, 10.0, 30.0)))
    True
    """

    def location(self, mean, backend="numpy"):
        if backend == "numpy":
            return np.clip(mean, BOUND, 1 - BOUND)
        import pytensor.tensor as pt

        return pt.clip(mean, BOUND, 1 - BOUND)

    def node(self, name, mu, noise, observed=None):
        import pymc as pm

        return pm.Beta(name, alpha=mu * noise["phi"], beta=(1 - mu) * noise["phi"], observed=observed)

    def logpdf(self, observed, mu, noise):
        phi = noise["phi"]
        a, b = mu * phi, (1 - mu) * phi
        return gammaln(phi) - gammaln(a) - gammaln(b) + (a - 1) * np.log(observed) + (b - 1) * np.log1p(-observed)

    def draw(self, mu, noise, rng):
        shape = np.broadcast_shapes(np.shape(mu), np.shape(noise["phi"]))
        return rng.beta(np.broadcast_to(mu * noise["phi"], shape), np.broadcast_to((1 - mu) * noise["phi"], shape))

    def simulate(self, mean, noise, rng, law="the law"):
        """Beta draws around ``mean`` with ``phi = 1 / (4 noise**2) - 1``, so that ``noise`` is the target's sd at mean 1/2."""
        mean = np.asarray(mean, float)
        outside = np.flatnonzero((mean <= 0) | (mean >= 1))
        if outside.size:
            row = outside[0]
            raise ArgumentError(
                f"{law} has mean {mean[row]!r} at run {row}, outside (0, 1), where a beta likelihood cannot draw; "
                "choose params or a design that keep it inside"
            )
        if not 0 < noise < 0.5:
            raise ArgumentError(f"noise for a beta likelihood is the target's sd at mean 1/2, so it must lie in (0, 0.5); got {noise}")
        phi = 1 / (4 * noise**2) - 1
        return rng.beta(mean * phi, (1 - mean) * phi)


SIGMA_LOG = Prior("HalfNormal", sigma=0.1)  # sd of log target: 10% noise at one sd
STUDENTT = StudentT("studentt", {"sigma": SIGMA_LOG, "nu": Prior("Gamma", alpha=2.0, beta=0.1)})
NORMAL = Normal("normal", {"sigma": SIGMA_LOG})
NORMAL_RAW = Normal("normal-raw", {"sigma": Prior("HalfNormal", sigma=1.0)}, domain="real", log_target=False)  # sd in the target's units
# Beta precision: y's sd at mean 1/2 is 0.5 / sqrt(1 + phi), 0.015 at the median e^7 and 0.003-0.07 within 2 sd
BETA = Beta("beta", {"phi": Prior("LogNormal", mu=7.0, sigma=1.5)}, domain="unit", log_target=False, additive=False)
LIKELIHOODS = {lik.name: lik for lik in (STUDENTT, NORMAL, NORMAL_RAW, BETA)}
DEFAULT = "studentt"


def get_likelihood(name: str | Likelihood | None) -> Likelihood:
    """A likelihood by name (None: the default, Student-t on log target).

    >>> get_likelihood("normal-raw").log_target
    False
    """
    if isinstance(name, Likelihood):
        return name
    if name is None:
        return LIKELIHOODS[DEFAULT]
    if name not in LIKELIHOODS:
        raise ModelError(f"unknown likelihood {name!r}; use one of {tuple(LIKELIHOODS)}")
    return LIKELIHOODS[name]
