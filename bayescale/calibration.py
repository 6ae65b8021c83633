"""Calibration: learn a fit's extrapolation error from rolling-origin refits inside its own runs.

:func:`calibrate` refits the fit's model on the runs at or below successive origins (:class:`~bayescale.validation.RollingOrigins`),
records each refit's predictive draws at the later runs, and gives the discrepancy model of
:mod:`bayescale.extrapolation` its grid posterior. It returns a new :class:`~bayescale.fit.Fit`; the fit it is
given is never changed.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from .error_prior import ErrorPrior, default_prior
from .errors import ArgumentError, ExtrapolationWarning
from .extrapolation import KAPPA_GRID, TAU_GRID, Calibration, discrepancy_posterior
from .fit import Fit
from .scales import default_by, distance, scales, span
from .validation import ORIGINS, RollingOrigins, Split, refit_and_score

CALIBRATION_DRAWS = 300  # posterior draws of each refit kept for the backtest records
CALIBRATION_DRAWS_PER_CHAIN = 250


def calibrate(fit: Fit, origins=ORIGINS, by: str | None = None, random_seed: Any = None, executor: Any = None, prior: Any = None) -> Fit:
    """``fit`` with its extrapolation error learned (see :mod:`bayescale.extrapolation`), as a new fit.

    The refits use ``fit``'s model and sampler settings with fewer draws, and seeds from ``random_seed`` (default:
    the fit's own). The error's prior is ``prior``: ``"half-normal"`` (default), ``"literature"`` (the law's error
    across the public studies, :func:`~bayescale.error_prior.default_prior`; wider: see
    ``benchmarks/error_prior.py`` for how the two compare) or an :class:`~bayescale.error_prior.ErrorPrior`. A fit
    with too few runs for rolling origins gets the prior alone. Where the error cannot be learned — a likelihood that
    does not observe the log target — the fit comes back without a calibration, with an
    :class:`~bayescale.ExtrapolationWarning`.

    >>> import bayescale as bs
    >>> from bayescale.simulate import isoflop_design
    >>> runs = bs.simulate("chinchilla", "besiroglu2024", design=isoflop_design(np.geomspace(1e18, 1e21, 7), sizes=6), random_seed=1)
    >>> plain = bs.fit("chinchilla", runs, draws=250, random_seed=1, calibrate=False)
    >>> calibrated = bs.calibrate(plain)
    >>> plain.calibration is None, calibrated.calibration.refits, calibrated.idata is plain.idata
    (True, 3, True)
    """
    return fit.with_calibration(learn(fit, origins, by, random_seed, executor, prior))


def learn(fit: Fit, origins=ORIGINS, by: str | None = None, random_seed: Any = None, executor: Any = None, prior: Any = None) -> Calibration | None:
    """The :class:`~bayescale.extrapolation.Calibration` of ``fit``, or None (with a warning) where it cannot be learned."""
    law, family = fit.law, fit.spec.family
    random_seed = fit.settings.get("random_seed") if random_seed is None else random_seed
    if not family.log_target:
        warnings.warn(
            f"fit of {law.name!r}: the extrapolation error is learned on log target, which a {fit.spec.likelihood} likelihood "
            "does not observe; intervals beyond the fitted runs cover noise and parameter uncertainty only",
            ExtrapolationWarning,
            stacklevel=3,
        )
        return None
    prior = resolve_prior(prior)
    by = by or default_by(law.input_names)
    min_runs = 2 * (len(law.parameters) + len(fit.spec.noise_names)) + 1
    splits = RollingOrigins(tuple(origins), by, min_runs).splits(fit.runs, law.input_names)
    settings = {**fit.settings, "draws": CALIBRATION_DRAWS_PER_CHAIN}
    results = refit_and_score(fit.spec, fit.runs, splits, partial(backtest_record, by=by), settings, random_seed, executor)
    records = [r.score for r in results]
    if prior is None:
        weights = discrepancy_posterior(records, family)
        unit, growth, source = "spans", 1.0, "half-normal"
    else:
        weights = discrepancy_posterior(records, family, prior.log_weights(), prior.unit, prior.growth)
        unit, growth, source = prior.unit, prior.growth, prior.describe()
    _warn_at_grid_edge(weights, law.name)
    fitted_span = span(scales(fit.runs, law.input_names)[by])
    runs = int(sum(len(r["d"]) for r in records))
    reach = max((float(r["d"].max()) for r in records), default=0.0)
    return Calibration(by, fitted_span, tuple(TAU_GRID.tolist()), tuple(KAPPA_GRID.tolist()), tuple(weights.tolist()), len(records), runs,
                       unit, growth, reach, source)


EDGE_MASS = 0.05  # posterior mass in the last cell of a grid that says the grid cut the learned error short


def _warn_at_grid_edge(weights: np.ndarray, name: str) -> None:
    """Warn where the learned error piles up at the end of its grid: the truth may lie beyond, the intervals too narrow."""
    grid = np.asarray(weights).reshape(len(TAU_GRID), len(KAPPA_GRID))
    for symbol, values, mass in (("tau", TAU_GRID, grid[-1].sum()), ("kappa", KAPPA_GRID, grid[:, -1].sum())):
        if mass > EDGE_MASS:
            warnings.warn(f"fit of {name!r}: the law's error beyond the runs is learned at the end of its grid ({mass:.0%} of the posterior "
                          f"at {symbol} = {values[-1]:g}, the largest the grid holds): the law misfits its own later runs badly, and its "
                          "intervals beyond the runs may be too narrow still; try another law", ExtrapolationWarning, stacklevel=3)


def resolve_prior(prior: Any) -> ErrorPrior | None:
    """``prior`` as an :class:`ErrorPrior` (``"literature"``: the shipped one), or None for the half-normal (default)."""
    if prior is None or (isinstance(prior, str) and prior == "half-normal"):
        return None
    if isinstance(prior, ErrorPrior):
        return prior
    if isinstance(prior, str) and prior == "literature":
        return default_prior()
    raise ArgumentError(f"prior must be 'half-normal' (the default), 'literature' (the law's error across the public studies) or an "
                        f"ErrorPrior; got {prior!r}")


def backtest_record(refit: Fit, later: pd.DataFrame, split: Split, by: str) -> dict[str, Any]:
    """A refit's law-mean draws at the later runs (log), its noise draws, the later runs' distance ``d`` (decades)
    beyond the refit's runs, the ``span`` (decades of ``by``) those cover, and the later runs' ``by`` values."""
    law = refit.law
    seed = refit.settings.get("random_seed")
    table, draws = refit.sample_predictive(later, seed, extrapolation=False)
    post = refit.idata.posterior
    keep = np.random.default_rng(seed).permutation(len(draws.mean))[:CALIBRATION_DRAWS]
    fitted = scales(refit.runs, law.input_names)
    return {
        "log_y": np.log(later[law.target].to_numpy(float)),
        "mu": np.log(draws.mean[keep]),
        "noise": {n: post[n].values.reshape(-1)[keep] for n in refit.spec.noise_names},
        "d": distance(scales(table, law.input_names), fitted.max().to_dict()),
        "span": span(fitted[by]),
        "value": scales(table, law.input_names)[by].to_numpy(float),
    }
