"""The verb users call: :func:`fit` a law to runs with NUTS, its extrapolation error learned at fit time."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from .calibration import calibrate as calibrate_fit
from .calibration import learn
from .errors import ArgumentError, ExtrapolationWarning
from .fit import Fit, fit_spec, model_spec
from .laws import Law
from .model.curves import CURVES_TARGET_ACCEPT, CURVES_TUNE


def fit(
    law: str | Path | Law,
    data: Any,
    *,
    priors: dict[str, Any] | None = None,
    pool: dict[str, str] | None = None,
    likelihood: str | None = None,
    centered: bool | list[str] = True,
    columns: dict[str, str] | None = None,
    sampler: str | None = None,
    chains: int | None = None,
    draws: int | None = None,
    tune: int | None = None,
    target_accept: float | None = None,
    random_seed: int | None = None,
    progressbar: bool = False,
    calibrate: bool | None = None,
    executor: Any = None,
    curves: str | None = None,
    warmup: float | None = None,
) -> Fit:
    """Fit ``law`` (a catalogue name, a ``.toml`` law file or a :class:`Law`) to ``data`` with NUTS.

    ``priors`` overrides default priors by parameter name (``{"alpha": {"dist": "LogNormal", "mu": -1, "sigma": 0.3}}``),
    also for the noise (``sigma``, ``nu``; ``phi`` for beta) and pooled scales (``alpha_sd``); ``likelihood`` is
    ``"studentt"``, ``"normal"`` (both on log target), ``"normal-raw"`` (a target of any sign) or ``"beta"`` (a
    target in (0, 1)), by default the law's own (its ``likelihood`` field) or studentt; ``pool`` maps parameters to
    the group column they vary over (``{"E": "dataset"}``; an exponent only with its coefficient), ``centered`` which
    use the centred parametrization (True: all; False or a list for groups with few runs or near-equal values).
    ``sampler`` is ``"nutpie"`` or ``"pymc"`` (dense mass matrix), ``chains``, ``draws`` and ``tune`` the chains and
    their draws and tuning steps, ``target_accept`` NUTS's target acceptance: each by default the law's own (its file
    may declare them) or nutpie, 4 chains of 1000 draws after 1000 tuning steps, 0.95. Diagnostics are checked and a
    :class:`~bayescale.SamplingWarning` is raised for each problem.

    ``calibrate`` learns the law's error beyond the fitted runs from rolling-origin refits (:func:`bayescale.calibrate`,
    about one more fit's time): True always (warning where it cannot), False never, None (default) where the
    likelihood allows it (runs too few for rolling origins get the error's prior alone). Without it, predictions beyond the fitted runs carry no law's error and say so. ``executor`` runs the calibration's refits (local worker
    processes, a Dask cluster: :func:`bayescale.executors.executor_for`).

    ``curves`` fits whole training curves: it names the column of each checkpoint's run, and the checkpoints of one
    run share a per-run random effect (:mod:`bayescale.model.curves`; its scale ``run_sd`` takes a prior like the
    noise's). The checkpoints before ``warmup`` (None: 0.1) times each run's largest token count are left out first;
    both choices are kept in the fit file; NUTS tunes for 2000 steps with a target acceptance of 0.99 unless told
    otherwise (the law's constant and exponents, pinned by a few runs' levels, have a curved posterior). Without ``curves`` every row is an independent run.
    """
    if calibrate not in (True, False, None):
        raise ArgumentError(f"calibrate must be True, False or None (where the runs allow it), got {calibrate!r}")
    spec = model_spec(law, priors=priors, pool=pool, likelihood=likelihood, centered=centered, curves=curves, warmup=warmup)
    if spec.curves:
        data, columns = spec.without_warmup(data, columns), None
        own = spec.law.fit_defaults  # the law's own, where it asks for more
        target_accept = target_accept or max(own.get("target_accept", 0), CURVES_TARGET_ACCEPT)
        tune = tune or max(own.get("tune", 0), CURVES_TUNE)
    settings = {"sampler": sampler, "chains": chains, "draws": draws, "tune": tune, "target_accept": target_accept, "random_seed": random_seed}
    result = fit_spec(spec, data, columns=columns, progressbar=progressbar, **settings)
    if calibrate is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)  # predictions beyond the runs will say so
            return result.with_calibration(learn(result, executor=executor))
    return calibrate_fit(result, executor=executor) if calibrate else result
