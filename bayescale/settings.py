"""Sampler settings of a fit: their names, defaults and checks (no sampler is imported here)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import ArgumentError

SAMPLERS = ("nutpie", "pymc")
THREADS_ENV = "BAYESCALE_SAMPLER_THREADS"  # threads that sample a fit's chains (set to 1 in worker processes)
DEFAULTS = {"sampler": None, "chains": 4, "draws": 1000, "tune": 1000, "target_accept": 0.95, "random_seed": None}


MINIMUM = {"chains": 1, "draws": 10, "tune": 1}  # fewer than 10 draws a chain leave the diagnostics undefined
MAXIMUM = 10**7


def resolve(settings: dict[str, Any], law_defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """``settings`` over a law's own defaults over ``DEFAULTS``, checked; ``sampler`` resolved (nutpie by default).

    >>> resolve({"draws": 500}, {"sampler": "pymc"})["sampler"], resolve({})["draws"]
    ('pymc', 1000)
    """
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ArgumentError(f"unknown sampler settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    given = {k: v for k, v in settings.items() if v is not None or k == "random_seed"}
    out = {**DEFAULTS, **(law_defaults or {}), **given}
    out["sampler"] = out["sampler"] or "nutpie"
    if out["sampler"] not in SAMPLERS:
        raise ArgumentError(f"unknown sampler {out['sampler']!r}; use one of {SAMPLERS}")
    for name, least in MINIMUM.items():
        if not isinstance(out[name], int) or isinstance(out[name], bool) or not least <= out[name] <= MAXIMUM:
            raise ArgumentError(f"{name} must be a whole number from {least} to {MAXIMUM:,}, got {out[name]!r}")
    check_seed(out["random_seed"])
    if not isinstance(out["target_accept"], (int, float)) or not 0 < out["target_accept"] < 1:
        raise ArgumentError(f"target_accept must lie strictly between 0 and 1, got {out['target_accept']!r}")
    return out


def check_seed(seed: Any) -> Any:
    """``seed`` unchanged where NumPy takes it as a seed: None, a non-negative whole number or a list of them."""
    try:
        if isinstance(seed, (bool, float)):
            raise TypeError
        np.random.SeedSequence(seed)
    except (TypeError, ValueError):
        raise ArgumentError(f"random_seed must be None or a non-negative whole number (or a list of them), got {seed!r}") from None
    return seed


def sampler_threads(chains: int) -> int:
    """Threads that sample ``chains`` chains: ``$BAYESCALE_SAMPLER_THREADS`` where set (a worker process, which
    shares its cores with other workers), else one per chain up to the cores there are (the draws do not depend
    on it)."""
    given = os.environ.get(THREADS_ENV)
    if given:
        if not given.isdigit() or int(given) < 1:
            raise ArgumentError(f"{THREADS_ENV} must be a positive whole number of threads, got {given!r}")
        return int(given)
    return max(1, min(chains, os.cpu_count() or 1))
