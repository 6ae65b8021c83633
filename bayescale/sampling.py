"""NUTS backends: nutpie (default) and PyMC's own sampler.

nutpie is the default because it was measured faster on the Epoch data (see
``benchmarks/fit_speed.py``): its compiled model is kept per model structure in the process,
so a refit of the same law on new data skips compilation entirely, and on disk across processes
(:mod:`bayescale.compiled`), so a new process loads it. Both use a
mass matrix that learns correlations (nutpie: low-rank; PyMC: full), which
the law posteriors need. Both start their chains in the posterior's main mode (:mod:`bayescale.starts`).

Models are compiled without fast-math: with it, LLVM's reassociations depend on how numba inlines functions,
which differs between a fresh compile and one loaded from PyTensor's disk cache, so the same seed gave draws
that differed between processes (the last bit of the log density first, whole draws after a few hundred steps).
The draws do not depend on the number of sampler threads either (:func:`bayescale.settings.sampler_threads`).
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from typing import Any

import arviz as az
import numpy as np
import pymc as pm
from pymc.blocking import DictToArrayBijection
from pymc.initial_point import make_initial_point_fns_per_chain

from .errors import ArgumentError, ModelError
from .settings import SAMPLERS, sampler_threads
from .starts import STARTS, Starts, find_modes

_COMPILED: dict[str, Any] = {}


def sample(
    model: pm.Model,
    key: dict[str, Any],
    sampler: str = "nutpie",
    chains: int = 4,
    draws: int = 1000,
    tune: int = 1000,
    target_accept: float = 0.95,
    random_seed: int | None = None,
    progressbar: bool = False,
    cores: int | None = None,
) -> tuple[az.InferenceData, dict[str, float]]:
    """Sample ``model`` with NUTS; return the draws and timings (``compile_s``, ``sample_s``)."""
    if sampler not in SAMPLERS:
        raise ArgumentError(f"unknown sampler {sampler!r}; use one of {SAMPLERS}")
    seed = int(np.random.SeedSequence(random_seed).generate_state(1)[0] % 2**31)
    cores = cores or sampler_threads(chains)
    if sampler == "nutpie":
        return _sample_nutpie(model, key, chains, draws, tune, target_accept, seed, progressbar, cores)
    start = time.perf_counter()
    starts, initvals = _pymc_starts(model, chains, seed)
    require_finite_start(model, starts)
    idata = pm.sample(
        model=model,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=min(cores, chains),
        init="jitter+adapt_full" if initvals is None else "adapt_full",
        initvals=initvals,
        target_accept=target_accept,
        random_seed=seed,
        progressbar=progressbar,
        compute_convergence_checks=False,
    )
    _record(idata, starts)
    return idata, {"compile_s": float("nan"), "sample_s": time.perf_counter() - start}


def require_finite_start(model: pm.Model, starts: Starts) -> None:
    """Where no optimization converged, check that the chains can start at all: the log density must be finite at
    the model's initial point, else a :class:`~bayescale.ModelError` names the terms that are not and the values."""
    if starts.converged:
        return
    point = model.initial_point()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTensor's note on its BLAS, for this one small function
        logps = model.point_logps(point)
    bad = {name: value for name, value in logps.items() if not np.isfinite(value)}
    if not bad:
        return
    values = {rv.name: model.rvs_to_values[rv].name for rv in model.free_RVs}
    shown = ", ".join(f"{name}={_untransformed(model, point)[name].round(4).tolist()}" for name in values)
    raise ModelError(
        f"the chains cannot start: the log density is not finite at the starting point (from the priors' means) in "
        f"{', '.join(f'{k} ({v})' for k, v in bad.items())}; there {shown}. Where a law's mean leaves its domain there "
        "(a loss below zero, the log of a negative number), give priors that keep it inside (narrower, or centred nearer the data)"
    )


def _record(idata: az.InferenceData, starts: Starts) -> None:
    """Keep the multi-start search's summary with the draws, where the diagnostics read it."""
    idata.sample_stats.attrs["bayescale_starts"] = json.dumps(starts.summary())


def _start_seeds(seed: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence([seed, 1]).generate_state(STARTS)]


def _pymc_starts(model: pm.Model, chains: int, seed: int) -> tuple[Starts, list[dict] | None]:
    """The main mode of ``model`` and, when found, each chain's starting values on the variables' own scale."""
    logp_grad = model.logp_dlogp_function(ravel_inputs=True)
    logp_grad.set_extra_values({})
    fns = make_initial_point_fns_per_chain(model=model, overrides=None, jitter_rvs=set(model.free_RVs), chains=STARTS)
    points = [fn(s) for fn, s in zip(fns, _start_seeds(seed))]
    starts = find_modes(lambda x: logp_grad(x), [DictToArrayBijection.map(p).data for p in points])
    if starts.mode is None:
        return starts, None
    template = DictToArrayBijection.map(points[0])
    initvals = []
    for chain in range(chains):
        flat = starts.point([seed, 2, chain])
        values = DictToArrayBijection.rmap(template._replace(data=flat), start_point=points[0])
        initvals.append(_untransformed(model, values))
    return starts, initvals


def _untransformed(model: pm.Model, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values of the free variables on their own scale from their unconstrained (sampler) values."""
    out = {}
    for rv in model.free_RVs:
        value = values[model.rvs_to_values[rv].name]
        transform = model.rvs_to_transforms.get(rv)
        out[rv.name] = value if transform is None else transform.backward(value, *rv.owner.inputs).eval()
    return out


def _nutpie_starts(compiled: Any, seed: int) -> Starts:
    """The main mode of a compiled nutpie model (its log density run with the data it now holds)."""
    fn = compiled.logp_func
    for var in fn.get_shared():  # a cached compile reused with new data: the optimizer must see that data too
        if var.name in compiled.shared_data:
            var.set_value(compiled.shared_data[var.name])
    starts = [compiled.initial_point_func(s) for s in _start_seeds(seed)]
    return find_modes(lambda x: fn(x), starts)


def _sample_nutpie(model, key, chains, draws, tune, target_accept, seed, progressbar, cores):
    import nutpie

    start = time.perf_counter()
    cache_key = json.dumps(key, sort_keys=True)
    data = {var.name: var.get_value() for var in model.data_vars}
    if cache_key in _COMPILED:
        compiled = _COMPILED[cache_key]
        # data a law does not use (a centre of an unpivoted input) is pruned from the compiled graph
        compiled = compiled.with_data(**{k: v for k, v in data.items() if k in compiled.shared_data})
    else:
        from .compiled import compile_model

        compiled = _COMPILED[cache_key] = compile_model(model, cache_key)
    compiled_at = time.perf_counter()
    starts = _nutpie_starts(compiled, seed)
    require_finite_start(model, starts)
    if starts.mode is not None:  # nutpie asks for each chain's start with a seed of its own
        compiled = dataclasses.replace(compiled, initial_point_func=lambda chain_seed: starts.point([seed, 2, chain_seed]))
    idata = nutpie.sample(
        compiled,
        chains=chains,
        draws=draws,
        tune=tune,
        cores=min(cores, chains),
        seed=seed,
        target_accept=target_accept,
        low_rank_modified_mass_matrix=True,
        progress_bar=progressbar,
        save_warmup=False,
    )
    _record(idata, starts)
    return idata, {"compile_s": compiled_at - start, "sample_s": time.perf_counter() - compiled_at}

