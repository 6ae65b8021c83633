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
from .spec import ModelSpec, group_codes


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
        mu = family.location(law.evaluate({**x, **_per_run(ctx.values, idx)}, backend="pytensor"), "pytensor")
        noise = {n: spec.prior(n).create(n) for n in spec.noise_names}
        name = family.observed_name
        family.node(name, mu, noise, observed=pm.Data(f"{name}_observed", family.observe(runs[law.target].to_numpy(float))))
    return model


def _per_run(values: dict[str, Any], idx: Any) -> dict[str, Any]:
    return {k: v[idx] if getattr(v, "ndim", 0) else v for k, v in values.items()}
