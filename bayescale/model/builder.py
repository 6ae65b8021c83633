"""Build the PyMC model of a law: the one place a PyMC model is built.

The parameters come from their coordinates (:mod:`bayescale.model.coordinates`), the likelihood node from the
spec's likelihood object (:mod:`bayescale.likelihoods`). The runs (one matrix, :func:`run_table`) and the log-input
centres are ``pm.Data`` (shared variables), so a compiled model is reused for other runs of the same structure, in
this process and, from the compile cache, in the next.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pymc as pm

from .coordinates import Build, LevelCoordinates, PowerLevelCoordinates, coordinates
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
        columns = run_table(spec, runs, groups)
        table = pm.Data("runs_table", np.vstack(list(columns.values())))
        rows = {name: table[i] for i, name in enumerate(columns)}
        x = {name: rows[name] for name in law.input_names}
        refs = {name: pm.Data(f"log_{name}_centre", centre[name]) for name in law.input_names}
        idx = rows[GROUP_ROW].astype("int64") if group else None
        ctx = Build(spec, refs)
        if spec.level:
            LevelCoordinates(spec).build(ctx)
        elif spec.power_level:
            PowerLevelCoordinates(spec).build(ctx)
        for coordinate in coordinates(spec):
            coordinate.build(ctx)

        def location(at=None):
            """The law's location at every run, or at the rows ``at`` only."""
            pick = (lambda v: v) if at is None else (lambda v: v[at])
            params = _per_run(ctx.values, None if idx is None else pick(idx))
            return family.location(law.evaluate({**{k: pick(v) for k, v in x.items()}, **params}, backend="pytensor"), "pytensor")

        mu = location()
        if spec.curves:
            mu = mu + run_offsets(spec, runs, location)[rows[RUN_ROW].astype("int64")]
        noise = {n: spec.prior(n).create(n) for n in spec.noise_names}
        family.node(family.observed_name, mu, noise, observed=rows[OBSERVED_ROW])
    return model


OBSERVED_ROW, GROUP_ROW, RUN_ROW = "observed target", "group code", "run code"  # not identifiers: no input is named so


def run_table(spec: ModelSpec, runs: pd.DataFrame, groups: list[str]) -> dict[str, np.ndarray]:
    """Every per-run vector of the model, by name: the law's inputs, the observed target (on the likelihood's
    scale), then the group code and the curve's run code where the model has them.

    The model takes them as the rows of one matrix, so that they share one length and PyTensor's rewrites have no
    two lengths to check against each other. Given a vector each, the rewrites ordered those checks differently
    from process to process (2-3 graphs of one model in 6 processes, measured), and a graph not seen before was
    compiled anew instead of loaded from the compile cache.
    """
    law = spec.law
    table = {x: runs[x].to_numpy(float) for x in law.input_names}
    table[OBSERVED_ROW] = spec.family.observe(runs[law.target].to_numpy(float))
    if spec.group:
        table[GROUP_ROW] = group_codes(runs[spec.group], groups).astype(float)
    if spec.curves:
        table[RUN_ROW] = group_codes(runs[spec.curves], run_names(runs, spec.curves)).astype(float)
    return table


def run_offsets(spec: ModelSpec, runs: pd.DataFrame, location: Any) -> Any:
    """Each run's offset from the law (:mod:`bayescale.model.curves`), given ``location``, the law's location at the
    rows it is given: the offset of run ``r`` is its level at its middle checkpoint less the law's there, with the
    level sampled (flat, around the observed value) and the offset given its ``Normal(0, run_sd)`` prior. The law is
    evaluated at the middle checkpoints alone: indexed out of every row's location, the gradient took another pass
    over all the rows."""
    names = run_names(runs, spec.curves)
    middle = reference_rows(runs, spec.curves, spec.law.input_names)
    level_at = spec.family.observe(runs[spec.law.target].to_numpy(float)[middle])
    references = pm.Data("run_references", np.vstack([middle.astype(float), level_at]))  # one length, as in run_table
    ref, observed = references[0], references[1]
    level = observed + pm.Flat("run_level", shape=len(names))
    offsets = pm.Deterministic(RUN_OFFSET, level - location(ref.astype("int64")))
    sd = spec.prior(RUN_SCALE).create(RUN_SCALE)
    pm.Potential("run_offset_prior", pm.logp(pm.Normal.dist(0.0, sd), offsets).sum())
    return offsets


def _per_run(values: dict[str, Any], idx: Any) -> dict[str, Any]:
    return {k: v[idx] if getattr(v, "ndim", 0) else v for k, v in values.items()}
