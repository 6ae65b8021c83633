"""NUTS backends: nutpie (default) and PyMC's own sampler.

nutpie is the default because it was measured faster on the Epoch data (see
``benchmarks/fit_speed.py``): its compiled model is cached per model structure,
so a refit of the same law on new data skips compilation entirely. Both use a
mass matrix that learns correlations (nutpie: low-rank; PyMC: full), which
the law posteriors need.
"""

from __future__ import annotations

import json
import time
from typing import Any

import arviz as az
import numpy as np
import pymc as pm

SAMPLERS = ("nutpie", "pymc")
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
    cores: int = 2,
) -> tuple[az.InferenceData, dict[str, float]]:
    """Sample ``model`` with NUTS; return the draws and timings (``compile_s``, ``sample_s``)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; use one of {SAMPLERS}")
    seed = int(np.random.SeedSequence(random_seed).generate_state(1)[0] % 2**31)
    if sampler == "nutpie":
        return _sample_nutpie(model, key, chains, draws, tune, target_accept, seed, progressbar, cores)
    start = time.perf_counter()
    idata = pm.sample(
        model=model,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=min(cores, chains),
        init="jitter+adapt_full",
        target_accept=target_accept,
        random_seed=seed,
        progressbar=progressbar,
        compute_convergence_checks=False,
    )
    return idata, {"compile_s": float("nan"), "sample_s": time.perf_counter() - start}


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
        compiled = _COMPILED[cache_key] = nutpie.compile_pymc_model(model)
    compiled_at = time.perf_counter()
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
    return idata, {"compile_s": compiled_at - start, "sample_s": time.perf_counter() - compiled_at}

