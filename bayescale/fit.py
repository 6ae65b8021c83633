"""A fitted law as a value: the posterior with the model and runs it came from, its summary and predictions.

A :class:`Fit` never changes once made: prediction only reads it (NumPy draws from the stored posterior, no
sampler runs), and calibration returns a new fit (:func:`bayescale.calibrate`).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from . import settings as sampler_settings
from .data import group_codes
from .diagnostics import Diagnostics, diagnose, warn_if_bad
from .errors import ArgumentError, ExtrapolationWarning, ModelError
from .extrapolation import Calibration
from .laws import Law, resolve_law
from .model.builder import build_model, data_centre
from .model.curves import RUN_OFFSET, RUN_SCALE, WARMUP, run_names
from .model.spec import ModelSpec
from .prediction import Predictive, predictive
from .priors import Prior
from .sampling import sample
from .scales import distance, scales
from .storage import read_fit_file, write_fit_file


def pointwise_log_likelihood(spec: ModelSpec, posterior: xr.Dataset, runs: pd.DataFrame, groups: list[str]) -> xr.Dataset:
    """Log density of each run's observed target (on the likelihood's scale) under each draw (what PSIS-LOO
    needs), in NumPy.

    Equal to ``pm.compute_log_likelihood`` (tested) and about ten times faster, which keeps refits fast.
    """
    law, family = spec.law, spec.family
    idx = group_codes(runs[spec.group], groups) if spec.group else None
    values = {x: runs[x].to_numpy(float) for x in law.input_names}
    for p in law.param_names:
        draws = posterior[p].values
        values[p] = draws[..., idx] if draws.ndim == 3 else draws[..., None]
    offsets = None
    if spec.curves:
        codes = group_codes(runs[spec.curves], run_names(runs, spec.curves))
        offsets = posterior[RUN_OFFSET].values[..., codes]
    logp = noise_logpdf(spec, posterior, runs[law.target].to_numpy(float), law.evaluate(values), offsets)
    name = family.observed_name
    return xr.Dataset({name: (("chain", "draw", f"{name}_dim_0"), logp)}, coords={"chain": posterior.chain, "draw": posterior.draw})


def noise_logpdf(spec: ModelSpec, posterior: xr.Dataset, y: np.ndarray, mean: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Log density of the observed targets ``y`` (runs) around law means ``mean`` (chain × draw × runs), shifted by
    per-run ``offsets`` on the observed scale when given, under the likelihood, on the scale it observes."""
    family = spec.family
    noise = {n: posterior[n].values[..., None] for n in spec.noise_names}
    location = family.location(mean)
    return family.logpdf(family.observe(y), location if offsets is None else location + offsets, noise)


def central_probs(ci_prob: float) -> list[float]:
    """Lower end, median and upper end of a central ``ci_prob`` interval, as probabilities.

    >>> central_probs(0.9)
    [0.05, 0.5, 0.95]
    """
    if not isinstance(ci_prob, (int, float)) or isinstance(ci_prob, bool) or not 0 < ci_prob < 1:
        raise ArgumentError(f"ci_prob must be between 0 and 1, got {ci_prob!r}")
    return [round((1 - ci_prob) / 2, 12), 0.5, round((1 + ci_prob) / 2, 12)]


class Fit:
    """A fitted law: the posterior (ArviZ InferenceData) with the spec, runs and groups it came from, and the
    learned extrapolation error (``calibration``, None until :func:`bayescale.calibrate`).

    Build one with :func:`bayescale.fit` or :func:`load`; ``Fit(...)`` only stores.
    """

    def __init__(
        self,
        spec: ModelSpec,
        idata: az.InferenceData,
        runs: pd.DataFrame,
        groups: list[str],
        centre: dict[str, float],
        timings: dict[str, float] | None = None,
        settings: dict[str, Any] | None = None,
        calibration: Calibration | None = None,
    ):
        self.spec = spec
        self.idata = idata
        self.runs = runs
        self.groups = list(groups)
        self.centre = dict(centre)
        self.timings = dict(timings or {})
        self.settings = dict(settings or {})
        self.calibration = calibration

    def __getattr__(self, name: str) -> Any:
        if name == "levels":
            raise AttributeError("Fit.levels is now Fit.groups (the groups pooled parameters vary over)")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def law(self) -> Law:
        return self.spec.law

    @property
    def var_names(self) -> list[str]:
        """Parameters reported to users: the law's, the population and group scales, the noise."""
        names = list(self.law.param_names)
        for p in self.spec.pool:
            names += [f"{p}_pop", f"{p}_sd"]
        return names + ([RUN_SCALE] if self.spec.curves else []) + self.spec.noise_names

    @property
    def run_names(self) -> list[str]:
        """The fitted runs of a whole-curve fit (``curves=``), in the order of its ``run_offset`` draws."""
        return run_names(self.runs, self.spec.curves) if self.spec.curves else []

    @property
    def diagnostics(self) -> Diagnostics:
        return diagnose(self.idata, self.var_names)

    def summary(self, ci_prob: float = 0.9) -> pd.DataFrame:
        """Posterior summary in the law's units: mean, sd, median, central interval, R-hat, ESS."""
        central_probs(ci_prob)
        args = {"data": self.idata, "var_names": self.var_names, "round_to": "none"}
        moments = az.summary(**args, kind="stats")[["mean", "sd"]]
        central = az.summary(**args, kind="stats", stat_focus="median", hdi_prob=ci_prob).iloc[:, [0, 2, 3]]
        central.columns = ["median", "lower", "upper"]
        checks = az.summary(**args, kind="diagnostics")[["r_hat", "ess_bulk", "ess_tail"]]
        return pd.concat([moments, central, checks], axis=1)

    def predict(self, new: Any, ci_prob: float = 0.9, random_seed: Any = None, extrapolation: bool = True) -> pd.DataFrame:
        """The target at new runs with three nested central ``ci_prob`` intervals, each adding one source of uncertainty:

        - ``mean_lower``, ``mean_median``, ``mean_upper``: the law's mean, parameter uncertainty only;
        - ``law_lower``, ``law_median``, ``law_upper``: plus the law's own error beyond the fitted runs, which grows
          with ``distance`` (decades beyond them), as learned by :func:`bayescale.calibrate`;
        - ``lower``, ``median``, ``upper``: plus run-to-run noise — where a new run's target will land.

        ``extrapolation=False`` leaves out the law's error (the plain posterior). A run beyond the fitted runs of a fit
        without calibration gets no law's error, with an :class:`~bayescale.ExtrapolationWarning` naming its distance.
        ``error_from`` says what each run's law's error rests on: ``fitted range`` (none is added), ``own backtests``
        (the fit's rolling origins reached that far), ``prior`` (farther: the cross-study prior alone, with an
        :class:`~bayescale.ExtrapolationWarning`) or ``none (plain posterior)``.
        Groups the fit never saw draw their parameters from the population. The same ``random_seed`` gives the same
        output; no sampler runs.
        """
        quantiles = central_probs(ci_prob)
        table, draws = self.sample_predictive(new, random_seed, extrapolation)
        table["distance"] = far = self.distance(table)
        table["error_from"] = self._error_sources(far, extrapolation)
        if extrapolation and self.calibration is None and far.max() > 0:
            warnings.warn(self._uncalibrated(far.max()), ExtrapolationWarning, stacklevel=2)
        elif extrapolation and self.calibration is not None and far.max() > self.calibration.reach:
            warnings.warn(
                f"fit of {self.law.name!r}: {int((far > self.calibration.reach).sum())} run(s) lie up to {far.max():.2f} decades beyond the "
                f"fitted runs, farther than its own backtests reached ({self.calibration.reach:.2f}); there the law's error rests on "
                f"the prior ({self.calibration.prior})",
                ExtrapolationWarning,
                stacklevel=2,
            )
        for prefix, key in [("", "new_run"), ("law_", "law"), ("mean_", "mean")]:
            table[f"{prefix}lower"], table[f"{prefix}median"], table[f"{prefix}upper"] = np.quantile(getattr(draws, key), quantiles, axis=0)
        return table

    def _error_sources(self, far: np.ndarray, extrapolation: bool) -> np.ndarray:
        """Per run, what its law's error rests on: none inside the fitted runs, else the fit's own backtests (up to
        the farthest run they scored), the calibration's prior beyond, or nothing (plain posterior)."""
        if not extrapolation or self.calibration is None:
            return np.where(far > 0, "none (plain posterior)", "fitted range")
        return np.select([far <= 0, far <= self.calibration.reach], ["fitted range", "own backtests"], "prior")

    def _uncalibrated(self, far: float) -> str:
        name = self.law.name
        if not self.spec.family.log_target:
            return (f"fit of {name!r}: the extrapolation error is learned on log target, which a {self.spec.likelihood} likelihood "
                    f"does not observe; its intervals up to {far:.2f} decades beyond the fitted runs cover noise and parameter uncertainty only")
        return (f"fit of {name!r} predicts up to {far:.2f} decades beyond its fitted runs without a calibration, so the intervals "
                "there lack the law's own error (parameters and noise only); fit with calibrate=True or call bs.calibrate(fit)")

    def distance(self, new: pd.DataFrame) -> np.ndarray:
        """Decades beyond the fitted runs, the largest over the law's inputs (and compute for laws in N and D)."""
        return distance(scales(new, self.law.input_names), scales(self.runs, self.law.input_names).max().to_dict())

    def sample_predictive(self, new: Any, random_seed: Any = None, extrapolation: bool = True) -> tuple[pd.DataFrame, Predictive]:
        """The validated ``new`` runs and predictive draws there (:class:`~bayescale.prediction.Predictive`)."""
        table = self.spec.prepare_runs(new, target=False)
        return table, predictive(self, table, random_seed, extrapolation)

    def refit(self, runs: pd.DataFrame, **settings: Any) -> "Fit":
        """The same model (law, priors, pooling, likelihood) and sampler settings fitted to other ``runs``
        (without calibration). ``settings`` override the sampler settings (``draws``, ``random_seed``, ...)."""
        return fit_spec(self.spec, runs, **{**self.settings, **settings})

    def with_calibration(self, calibration: Calibration | None) -> "Fit":
        """A copy of this fit carrying ``calibration`` (the posterior is shared, never changed)."""
        return Fit(self.spec, self.idata, self.runs, self.groups, self.centre, self.timings, self.settings, calibration)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the fit to a netCDF file (spec, priors, pooling, data, calibration and version embedded)."""
        return write_fit_file(path, self.idata, self.runs, self._metadata(), overwrite=overwrite)

    def log_mlflow(self, tracking_uri: str | None = None, *, experiment: str = "bayescale", run_name: str | None = None,
                   figures: bool = True) -> str:
        """Log the fit as a new MLflow run of ``experiment`` and return its id: the model and sampler settings as
        params; each parameter's median and 5% / 95% quantiles (``alpha_median``, ``alpha_q05``), the diagnostics
        and ``elpd_loo`` as metrics; the saved fit and, with ``figures``, :func:`~bayescale.plot_fit` as artifacts.
        ``tracking_uri`` defaults to MLflow's own (``$MLFLOW_TRACKING_URI``). Needs ``pip install 'bayescale[logs]'``."""
        from .tracking import log_fit

        return log_fit(self, tracking_uri, experiment=experiment, run_name=run_name, figures=figures)

    def _metadata(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "groups": self.groups,
            "centre": self.centre,
            "timings": self.timings,
            "settings": self.settings,
            "calibration": self.calibration.to_dict() if self.calibration else None,
        }

    def __repr__(self) -> str:
        pooled = ", ".join(f"{p} by {g}" for p, g in self.spec.pool.items()) or "none"
        return (
            f"{self.law!r}\nlikelihood: {self.spec.family.describe(self.law.target)}; pooled: {pooled}; {len(self.runs)} runs\n{self.diagnostics}"
            + (f"\n{self.calibration}" if self.calibration else "\nno calibration: intervals beyond the fitted runs lack the law's own error")
        )


def load(path: str | Path, trust_python: bool = False) -> Fit:
    """Load a fit saved with :meth:`Fit.save`. A fit of a Python law class imports that class's module, which
    runs its code: it is refused unless ``trust_python`` is True.

    >>> import bayescale as bs
    >>> bs.load("missing.nc")
    Traceback (most recent call last):
    ...
    bayescale.errors.MissingFileError: no fit file at missing.nc
    """
    idata, runs, meta = read_fit_file(path, trust_python)
    return Fit(meta["spec"], idata, runs, meta["groups"], meta["centre"], meta["timings"], meta["settings"], meta["calibration"])


def model_spec(
    law: str | Path | Law,
    priors: dict[str, Any] | None = None,
    pool: dict[str, str] | None = None,
    likelihood: str | None = None,
    centered: bool | list[str] = True,
    curves: str | None = None,
    warmup: float | None = None,
) -> ModelSpec:
    """The :class:`ModelSpec` that :func:`bayescale.fit` builds from its arguments (same meanings)."""
    law = resolve_law(law)
    if not isinstance(priors, (dict, type(None))) or not all(isinstance(k, str) for k in priors or {}):
        raise ModelError(f"priors must map parameter names to priors, e.g. {{'alpha': {{'dist': 'LogNormal', 'mu': -1, 'sigma': 0.3}}}}; got {priors!r}")
    priors = dict(priors or {})
    if not isinstance(pool, (dict, type(None))):
        raise ModelError(f"pool must map parameters to a group column, e.g. {{'E': 'corpus'}}; got {pool!r}")
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
        curves=curves,
        warmup=WARMUP if warmup is None else warmup,
    )


def fit_spec(spec: ModelSpec, data: Any, *, columns: dict[str, str] | None = None, progressbar: bool = False, **settings: Any) -> Fit:
    """Fit a :class:`ModelSpec` to ``data`` with NUTS under the sampler ``settings`` of :func:`bayescale.fit`
    (over the law's own defaults over :data:`bayescale.settings.DEFAULTS`); no calibration."""
    start = time.perf_counter()
    law, group = spec.law, spec.group
    settings = sampler_settings.resolve(settings, law.fit_defaults)
    runs = spec.prepare_runs(data, columns=columns)
    n_free = len(law.parameters) + len(spec.noise_names)
    if len(runs) <= n_free:
        raise ModelError(
            f"law {law.name!r} with a {spec.likelihood} likelihood has {n_free} parameters; fitting it needs more runs than that, got {len(runs)}"
        )
    groups = sorted(runs[group].unique()) if group else []
    centre = data_centre(runs, law.input_names)
    model = build_model(spec, runs, groups, centre)
    key = {"spec": spec.to_dict(), "groups": len(groups), "sampler": settings["sampler"]}
    if spec.curves:
        key["runs"] = int(runs[spec.curves].nunique())
    idata, timings = sample(model, key, progressbar=progressbar, **settings)
    loglik_start = time.perf_counter()
    idata.add_groups(log_likelihood=pointwise_log_likelihood(spec, idata.posterior, runs, groups))
    timings["loglik_s"] = time.perf_counter() - loglik_start
    timings["total_s"] = time.perf_counter() - start
    result = Fit(spec, idata, runs, groups, centre, timings, settings)
    warn_if_bad(result.diagnostics, f"fit of {law.name!r}")
    return result
