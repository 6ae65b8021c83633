"""Build the PyMC model of a law: the one place a PyMC model is built.

The parameters come from their coordinates (:mod:`bayescale.model.coordinates`), the likelihood node from the
spec's likelihood object (:mod:`bayescale.likelihoods`). Data, log-input centres and group indices are
``pm.Data`` (shared variables), so a compiled model is reused for other runs of the same structure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pymc as pm

from .coordinates import Build, LevelCoordinates, coordinates
from .curves import RUN_OFFSET, RUN_SCALE, reference_rows, run_names
from ..data import group_codes
from .spec import ModelSpec


def data_centre(runs: pd.DataFrame, inputs: list[str]) -> dict[str, float]:
    """Mean of log input over the runs: the centre that pivoted coefficients are sampled at.

    An input that can be zero (an annealing area) is centred on its positive values, or at
    ``log 1 = 0`` when it has none.

    >>> data_centre(pd.DataFrame({"S2": [0.0, np.e, np.e**3]}), ["S2"])
    {'S2': 2.0}
    """
    centre = {}
    for x in inputs:
        values = runs[x].to_numpy(float)
        positive = values[values > 0]
        centre[x] = float(np.mean(np.log(positive))) if positive.size else 0.0
    return centre


def build_model(spec: ModelSpec, runs: pd.DataFrame, groups: list[str] | None = None, centre: dict[str, float] | None = None) -> pm.Model:
    """The PyMC model of ``spec`` with ``runs`` observed.

    ``groups`` are the names of the groups pooled parameters vary over (default: those in ``runs``); ``centre``
    the log-input centre (default: from ``runs``). Both are stored with a fit, so its model is rebuilt exactly.
    """
    law, group, family = spec.law, spec.group, spec.family
    groups = list(groups) if groups is not None else (sorted(runs[group].unique()) if group else [])
    centre = centre or data_centre(runs, law.input_names)
    with pm.Model(coords={group: groups} if group else {}) as model:
        x = {name: pm.Data(name, runs[name].to_numpy(float)) for name in law.input_names}
        refs = {name: pm.Data(f"log_{name}_centre", centre[name]) for name in law.input_names}
        idx = pm.Data(f"{group}_idx", group_codes(runs[group], groups)) if group else None
        ctx = Build(spec, refs)
        if spec.level:
            LevelCoordinates(spec).build(ctx)
        for coordinate in coordinates(spec):
            coordinate.build(ctx)
        def location(rows=None):
            """The law's location at every run, or at the rows ``rows`` only."""
            at = (lambda v: v) if rows is None else (lambda v: v[rows])
            params = _per_run(ctx.values, None if idx is None else at(idx))
            return family.location(law.evaluate({**{k: at(v) for k, v in x.items()}, **params}, backend="pytensor"), "pytensor")

        mu = location()
        if spec.curves:
            mu = mu + run_offsets(spec, runs, location)
        noise = {n: spec.prior(n).create(n) for n in spec.noise_names}
        name = family.observed_name
        family.node(name, mu, noise, observed=pm.Data(f"{name}_observed", family.observe(runs[law.target].to_numpy(float))))
    return model


def run_offsets(spec: ModelSpec, runs: pd.DataFrame, location: Any) -> Any:
    """Each run's offset from the law (:mod:`bayescale.model.curves`), indexed by checkpoint, given ``location``,
    the law's location at the rows it is given: the offset of run ``r`` is its level at its middle checkpoint less the
    law's there, with the level sampled (flat, around the observed value) and the offset given its ``Normal(0, run_sd)``
    prior. The law is evaluated at the middle checkpoints alone: indexed out of every row's location, the gradient
    took another pass over all the rows."""
    names = run_names(runs, spec.curves)
    codes = group_codes(runs[spec.curves], names)
    middle = reference_rows(runs, spec.curves, spec.law.input_names)
    idx, ref = pm.Data(f"{spec.curves}_run_idx", codes), pm.Data("run_reference_row", middle)
    observed = pm.Data("run_reference_level", spec.family.observe(runs[spec.law.target].to_numpy(float)[middle]))
    level = observed + pm.Flat("run_level", shape=len(names))
    offsets = pm.Deterministic(RUN_OFFSET, level - location(ref))
    sd = spec.prior(RUN_SCALE).create(RUN_SCALE)
    pm.Potential("run_offset_prior", pm.logp(pm.Normal.dist(0.0, sd), offsets).sum())
    return offsets[idx]


def _per_run(values: dict[str, Any], idx: Any) -> dict[str, Any]:
    return {k: v[idx] if getattr(v, "ndim", 0) else v for k, v in values.items()}
