"""Fit a law with NUTS and use the posterior: summary, prediction, save and load."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
import warnings
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from .diagnostics import Diagnostics, diagnose, warn_if_bad
from .extrapolation import ORIGINS, Calibration, calibrate, distance, scales
from .extrapolation import noise_logpdf as density
from .laws import Law, resolve_law
from .model import ModelSpec, add_predictions, build_model, data_centre
from .priors import Prior
from .sampling import sample


@contextmanager
def _quiet(name: str):
    """Silence a library's info logging (PyMC announces every predictive draw)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def pointwise_log_likelihood(spec: ModelSpec, posterior: xr.Dataset, runs: pd.DataFrame, levels: list[str]) -> xr.Dataset:
    """Log density of each run's observed target (its log, or for beta itself) under each draw (what PSIS-LOO
    needs), in NumPy.

    Equal to ``pm.compute_log_likelihood`` (tested) and about ten times faster, which keeps refits fast.
    """
    law, group = spec.law, spec.group
    idx = pd.Categorical(runs[group], categories=levels).codes if group else None
    values = {x: runs[x].to_numpy(float) for x in law.input_names}
    for p in law.param_names:
        draws = posterior[p].values
        values[p] = draws[..., idx] if draws.ndim == 3 else draws[..., None]
    logp = noise_logpdf(spec, posterior, runs[law.target].to_numpy(float), law.evaluate(values))
    name = spec.observed_name
    return xr.Dataset({name: (("chain", "draw", f"{name}_dim_0"), logp)}, coords={"chain": posterior.chain, "draw": posterior.draw})


def noise_logpdf(spec: ModelSpec, posterior: xr.Dataset, y: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Log density of the observed targets ``y`` (runs) around law means ``mean`` (chain × draw × runs) under the
    noise model, on the scale it observes (log target, or the target itself for beta)."""
    noise = {n: posterior[n].values[..., None] for n in spec.noise_names}
    return density(spec.likelihood, spec.observed(y), spec.location(mean), noise)


def central_probs(ci_prob: float) -> list[float]:
    """Lower end, median and upper end of a central ``ci_prob`` interval, as probabilities.

    >>> central_probs(0.9)
    [0.05, 0.5, 0.95]
    """
    if not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob must be between 0 and 1, got {ci_prob}")
    return [round((1 - ci_prob) / 2, 12), 0.5, round((1 + ci_prob) / 2, 12)]


SETTINGS = {"sampler": None, "chains": 4, "draws": 1000, "tune": 1000, "target_accept": 0.95, "random_seed": None}


class Fit:
    """A fitted law: the posterior (ArviZ InferenceData) with the spec and data it came from.

    Build one with :func:`fit` or :func:`load`; ``Fit(...)`` only stores.
    """

    def __init__(
        self,
        spec: ModelSpec,
        idata: az.InferenceData,
        runs: pd.DataFrame,
        levels: list[str],
        centre: dict[str, float],
        timings: dict[str, float] | None = None,
        settings: dict[str, Any] | None = None,
        calibration: Calibration | None = None,
    ):
        self.spec = spec
        self.idata = idata
        self.runs = runs
        self.levels = levels
        self.centre = centre
        self.timings = timings or {}
        self.settings = settings or {}
        self.calibration = calibration

    @property
    def law(self) -> Law:
        return self.spec.law

    @property
    def var_names(self) -> list[str]:
        """Parameters reported to users: the law's, the population and group scales, the noise."""
        names = list(self.law.param_names)
        for p in self.spec.pool:
            names += [f"{p}_pop", f"{p}_sd"]
        return names + self.spec.noise_names

    @property
    def diagnostics(self) -> Diagnostics:
        return diagnose(self.idata, self.var_names)

    def summary(self, ci_prob: float = 0.9) -> pd.DataFrame:
        """Posterior summary in the law's units: mean, sd, median, central interval, R-hat, ESS."""
        args = {"data": self.idata, "var_names": self.var_names, "round_to": "none"}
        moments = az.summary(**args, kind="stats")[["mean", "sd"]]
        central = az.summary(**args, kind="stats", stat_focus="median", hdi_prob=ci_prob).iloc[:, [0, 2, 3]]
        central.columns = ["median", "lower", "upper"]
        checks = az.summary(**args, kind="diagnostics")[["r_hat", "ess_bulk", "ess_tail"]]
        return pd.concat([moments, central, checks], axis=1)

    def predict(self, new: Any, ci_prob: float = 0.9, random_seed: int | None = None, extrapolation: bool = True) -> pd.DataFrame:
        """The target at new runs with three nested central ``ci_prob`` intervals, each adding one source of uncertainty:

        - ``mean_lower``, ``mean_median``, ``mean_upper``: the law's mean, parameter uncertainty only;
        - ``law_lower``, ``law_median``, ``law_upper``: plus the law's own error beyond the fitted runs, which grows
          with ``distance`` (decades beyond them; learned by :meth:`calibrate`, run on first need);
        - ``lower``, ``median``, ``upper``: plus run-to-run noise — where a new run's target will land.

        ``extrapolation=False`` leaves out the law's error (the plain posterior). Unseen group levels draw their
        parameters from the population.
        """
        quantiles = central_probs(ci_prob)
        table, draws = self.sample_predictive(new, random_seed, extrapolation)
        table["distance"] = self.distance(table)
        for prefix, key in [("", "new_run"), ("law_", "law"), ("mean_", "mean")]:
            table[f"{prefix}lower"], table[f"{prefix}median"], table[f"{prefix}upper"] = np.quantile(draws[key], quantiles, axis=0)
        return table

    def distance(self, new: pd.DataFrame) -> np.ndarray:
        """Decades beyond the fitted runs, the largest over the law's inputs (and compute for laws in N and D)."""
        return distance(scales(new, self.law.input_names), scales(self.runs, self.law.input_names).max().to_dict())

    def calibrate(self, origins=ORIGINS, by: str | None = None, random_seed: int = 0) -> Calibration | None:
        """Learn the law's error beyond the fitted runs by rolling-origin refits (see :mod:`bayescale.extrapolation`)."""
        self.calibration = calibrate(self, origins, by, random_seed)
        return self.calibration

    def sample_predictive(self, new: Any, random_seed: int | None = None, extrapolation: bool = True) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """The validated ``new`` runs and predictive draws (draws × runs) there: the law's ``mean``, the ``law`` mean
        with its extrapolation error (equal to ``mean`` when ``extrapolation`` is False) and a ``new_run``'s target.

        Under a beta likelihood a law whose mean leaves (0, 1) there has broken down: a warning says so, and the
        new-run draws sit at the bound."""
        table = self.spec.prepare_runs(new, target=False)
        model = build_model(self.spec, self.runs, self.levels, self.centre)
        names = add_predictions(model, self.spec, table, self.levels)
        with model, warnings.catch_warnings(), _quiet("pymc"):
            # every parameter comes from the posterior draws, so the potentials' priors are already in them
            warnings.filterwarnings("ignore", "The effect of Potentials", UserWarning)
            preds = pm.sample_posterior_predictive(
                self.idata.posterior, var_names=names, predictions=True, random_seed=random_seed, progressbar=False
            ).predictions
        mean = preds["mean"].values.reshape(-1, len(table))
        outside = ((mean <= 0) | (mean >= 1)) & (not self.spec.log_target)
        if outside.any():
            rows = np.flatnonzero(outside.any(axis=0)).tolist()
            warnings.warn(
                f"law {self.law.name!r}: its mean leaves (0, 1) in {outside.mean():.1%} of the draws at rows {rows}, where "
                "the law has broken down; new-run draws there sit at the bound",
                UserWarning,
                stacklevel=2,
            )
        shift = np.zeros_like(mean)
        beyond = self.distance(table)
        if extrapolation and beyond.any():
            if self.calibration is None:
                self.calibrate(random_seed=0)
            if self.calibration is not None:
                rng = np.random.default_rng(random_seed)
                shift = self.calibration.shifts(beyond, len(mean), rng)
        with np.errstate(over="ignore"):  # a heavy-tailed (small nu) new run can overflow to inf; quantiles are unaffected
            new_run = self.spec.from_observed(preds["new_run"].values.reshape(mean.shape) + shift)
        draws = {"mean": mean, "law": mean * np.exp(shift), "new_run": new_run}
        return table, draws

    def refit(self, runs: pd.DataFrame, **settings: Any) -> "Fit":
        """The same model (law, priors, pooling, likelihood) and sampler settings fitted to other ``runs``.

        ``settings`` override the sampler settings (``draws``, ``random_seed``, ...).
        """
        return fit_spec(self.spec, runs, **{**self.settings, **settings})

    def save(self, path: str, overwrite: bool = False) -> None:
        """Write the fit to a netCDF file (spec, priors, pooling, data and version embedded)."""
        from .storage import save_fit

        save_fit(self, path, overwrite=overwrite)

    def __repr__(self) -> str:
        pooled = ", ".join(f"{p} by {g}" for p, g in self.spec.pool.items()) or "none"
        return (
            f"{self.law!r}\nlikelihood: {self.spec.likelihood} on {'log ' if self.spec.log_target else ''}{self.law.target}; pooled: {pooled}; "
            f"{len(self.runs)} runs\n{self.diagnostics}"
        )


def fit(
    law: str | Law,
    data: Any,
    *,
    priors: dict[str, Any] | None = None,
    pool: dict[str, str] | None = None,
    likelihood: str | None = None,
    centered: bool | list[str] = True,
    columns: dict[str, str] | None = None,
    sampler: str | None = None,
    chains: int = 4,
    draws: int = 1000,
    tune: int = 1000,
    target_accept: float = 0.95,
    random_seed: int | None = None,
    progressbar: bool = False,
) -> Fit:
    """Fit ``law`` (a catalogue name or :class:`Law`) to ``data`` with NUTS.

    ``priors`` overrides default priors by parameter name (``{"alpha": {"dist": "LogNormal", "mu": -1, "sigma": 0.3}}``),
    also for the noise (``sigma``, ``nu``; ``phi`` for beta) and pooled scales (``alpha_sd``); ``likelihood`` is
    ``"studentt"``, ``"normal"`` (both on log target) or ``"beta"`` (a target in (0, 1)), by default the law's own
    (its ``likelihood`` field) or studentt; ``pool`` maps parameters to the
    group column they vary over (``{"E": "dataset"}``; an exponent only with its coefficient), ``centered`` which use the
    centred parametrization (True: all; False or a list for groups with few runs or near-equal values). ``sampler`` is
    ``"nutpie"`` or ``"pymc"`` (dense mass matrix), by default the law's own (its ``sampler`` field) or nutpie. Diagnostics are checked and
    a :class:`~bayescale.diagnostics.SamplingWarning` is raised for each problem.
    """
    spec = model_spec(law, priors=priors, pool=pool, likelihood=likelihood, centered=centered)
    settings = {"sampler": sampler, "chains": chains, "draws": draws, "tune": tune, "target_accept": target_accept, "random_seed": random_seed}
    return fit_spec(spec, data, columns=columns, progressbar=progressbar, **settings)


def model_spec(
    law: str | Law,
    priors: dict[str, Any] | None = None,
    pool: dict[str, str] | None = None,
    likelihood: str | None = None,
    centered: bool | list[str] = True,
) -> ModelSpec:
    """The :class:`ModelSpec` that :func:`fit` builds from its arguments (same meanings)."""
    law = resolve_law(law)
    priors = dict(priors or {})
    law_priors = {k: priors.pop(k) for k in list(priors) if k in law.parameters}
    pool = dict(pool or {})
    if isinstance(centered, bool):
        centered = list(pool) if centered else []
    return ModelSpec(
        law=law.with_priors(law_priors) if law_priors else law,
        likelihood=likelihood,
        pool=pool,
        extra_priors={k: Prior.from_dict(v) for k, v in priors.items()},
        centered=tuple(centered),
    )


def fit_spec(spec: ModelSpec, data: Any, *, columns: dict[str, str] | None = None, progressbar: bool = False, **settings: Any) -> Fit:
    """Fit a built :class:`ModelSpec` to ``data`` with the sampler ``settings`` of :func:`fit` (defaults: ``SETTINGS``)."""
    start = time.perf_counter()
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"unknown sampler settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
    settings = {**SETTINGS, **settings}
    law, group = spec.law, spec.group
    settings["sampler"] = settings["sampler"] or law.sampler or "nutpie"
    runs = spec.prepare_runs(data, columns=columns)
    n_free = len(law.parameters) + len(spec.noise_names)
    if len(runs) <= n_free:
        raise ValueError(
            f"law {law.name!r} with a {spec.likelihood} likelihood has {n_free} parameters; fitting it needs more runs than that, got {len(runs)}"
        )
    levels = sorted(runs[group].unique()) if group else []
    centre = data_centre(runs, law.input_names)
    model = build_model(spec, runs, levels, centre)
    key = {"spec": spec.to_dict(), "levels": len(levels), "sampler": settings["sampler"]}
    idata, timings = sample(model, key, progressbar=progressbar, **settings)
    loglik_start = time.perf_counter()
    idata.add_groups(log_likelihood=pointwise_log_likelihood(spec, idata.posterior, runs, levels))
    timings["loglik_s"] = time.perf_counter() - loglik_start
    timings["total_s"] = time.perf_counter() - start
    result = Fit(spec, idata, runs, levels, centre, timings, settings)
    warn_if_bad(result.diagnostics, f"fit of {law.name!r}")
    return result
