"""Posterior predictive draws at new runs, in NumPy: no sampler runs and no PyMC model is built.

Each posterior draw gives the law's parameters: a group the fit saw keeps its own values, a group it never saw
draws its values from the population (its parameters' coordinates, :mod:`bayescale.model.coordinates`, say how).
The law's mean follows, then, beyond the fitted runs, the law's own error learned by calibration, and the run-to-run
noise of the likelihood: three nested sources of uncertainty.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import group_codes
from .model.coordinates import coordinates
from .model.curves import fitted_offsets, new_run_offsets
from .settings import check_seed


@dataclass(frozen=True)
class Predictive:
    """Draws (draws × runs) at new runs: the law's ``mean`` (parameter uncertainty; a fitted run's checkpoints with
    its run offset), the ``law`` mean with its extrapolation error (and a run the fit never saw with an offset drawn
    for it), and a ``new_run``'s target (plus noise)."""

    mean: np.ndarray
    law: np.ndarray
    new_run: np.ndarray


def parameter_draws(fit, table: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each law parameter's draws at each run of ``table`` (draws × runs, or draws × 1 when shared)."""
    spec, post = fit.spec, fit.idata.posterior
    size = post.sizes["chain"] * post.sizes["draw"]
    flat = {name: post[name].values.reshape(size, -1) for name in post.data_vars}
    if spec.group is None:
        return {p: flat[p] for p in spec.law.param_names}
    unseen = sorted(set(table[spec.group]) - set(fit.groups))
    codes = group_codes(table[spec.group], list(fit.groups) + unseen)
    scalars = {name: v[:, 0] for name, v in flat.items() if v.shape[1] == 1}
    new: dict[str, np.ndarray] = {}
    out = {}
    for coordinate in coordinates(spec):
        name = coordinate.name
        if not coordinate.pooled:
            new[name] = out[name] = flat[name]
            continue
        z = rng.standard_normal((size, len(unseen)))
        new[name] = coordinate.new_groups(scalars, z, new, fit.centre) if unseen else np.empty((size, 0))
        out[name] = np.concatenate([flat[name], new[name]], axis=1)[:, codes]
    return out


def predictive(fit, table: pd.DataFrame, random_seed=None, extrapolation: bool = True) -> Predictive:
    """Predictive draws of ``fit`` at the validated runs ``table`` (see :class:`Predictive`); the law's error is
    added beyond the fitted runs when ``extrapolation`` and the fit has a calibration."""
    rng = np.random.default_rng(check_seed(random_seed))
    family, law = fit.spec.family, fit.law
    values = parameter_draws(fit, table, rng)
    inputs = {x: table[x].to_numpy(float)[None, :] for x in law.input_names}
    with np.errstate(all="ignore"):
        mean = np.broadcast_to(law.evaluate({**inputs, **values}), (len(next(iter(values.values()))), len(table))).astype(float)
    if family.name == "beta":
        _warn_outside_unit(law.name, mean)
    post = fit.idata.posterior
    location, run_mean = family.location(mean), mean
    if fit.spec.curves:  # a fitted run's checkpoints keep its offset; a new run draws one
        known, seen = fitted_offsets(post, table, fit.spec.curves, fit.run_names)
        location = location + known
        mean = family.to_target(location)
        location = location + new_run_offsets(post, table, fit.spec.curves, seen, rng)
        run_mean = family.to_target(location)
    noise = {n: post[n].values.reshape(-1)[:, None] for n in fit.spec.noise_names}
    observed = family.draw(location, noise, rng)
    shift = np.zeros_like(mean)
    beyond = fit.distance(table)
    if extrapolation and fit.calibration is not None and beyond.any():
        shift = fit.calibration.shifts(beyond, len(mean), rng)
    with np.errstate(over="ignore"):  # a heavy-tailed (small nu) new run can overflow to inf; quantiles are unaffected
        return Predictive(mean, run_mean * np.exp(shift), family.to_target(observed + shift))


def _warn_outside_unit(name: str, mean: np.ndarray) -> None:
    outside = (mean <= 0) | (mean >= 1)
    if outside.any():
        rows = np.flatnonzero(outside.any(axis=0)).tolist()
        warnings.warn(
            f"law {name!r}: its mean leaves (0, 1) in {outside.mean():.1%} of the draws at rows {rows}, where "
            "the law has broken down; new-run draws there sit at the bound",
            UserWarning,
            stacklevel=3,
        )
