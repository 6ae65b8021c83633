"""Synthetic runs drawn from a law: for tests, the demo and calibration checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .data import FLOPS_PER_PARAMETER_TOKEN
from .errors import ArgumentError
from .laws import Law, resolve_law
from .likelihoods import get_likelihood

RANGES = {"N": (1e7, 1e10), "D": (1e8, 1e11), "C": (1e17, 1e21)}


def isoflop_design(budgets: Any, sizes: int = 8, tokens_per_param: tuple[float, float] = (2.0, 200.0)) -> pd.DataFrame:
    """An isoFLOP sweep: for each budget C, ``sizes`` models spanning the tokens-per-parameter range (C = 6ND).

    >>> isoflop_design([6e18], sizes=2, tokens_per_param=(10, 1000))["N"].round().tolist()
    [31622777.0, 316227766.0]
    """
    rows = []
    for c in np.atleast_1d(np.asarray(budgets, float)):
        ratio = np.geomspace(tokens_per_param[1], tokens_per_param[0], sizes)
        n = np.sqrt(c / (FLOPS_PER_PARAMETER_TOKEN * ratio))
        rows.append(pd.DataFrame({"N": n, "D": c / (FLOPS_PER_PARAMETER_TOKEN * n), "C": c}))
    return pd.concat(rows, ignore_index=True)


def random_design(law: str | Law, n: int, random_seed: int | None = None) -> pd.DataFrame:
    """``n`` runs over each input's ``range`` (default ``RANGES`` for N, D, C): log-uniform, or
    uniform where the range starts at zero.

    >>> random_design("chinchilla", 2, random_seed=0).shape
    (2, 2)
    """
    law = resolve_law(law)
    ranges = {x: spec.range or RANGES.get(x) for x, spec in law.inputs.items()}
    missing = [x for x, r in ranges.items() if r is None]
    if missing:
        raise ArgumentError(f"law {law.name!r} gives no range for inputs {missing}; add `range = [low, high]` to them or pass a design DataFrame")
    rng = np.random.default_rng(random_seed)
    columns = {}
    for x, (low, high) in ranges.items():
        columns[x] = rng.uniform(low, high, size=n) if low == 0 else np.exp(rng.uniform(np.log(low), np.log(high), size=n))
    return pd.DataFrame(columns)


def simulate(
    law: str | Law,
    params: str | dict[str, float] | None = None,
    design: pd.DataFrame | None = None,
    n: int = 100,
    noise: float = 0.01,
    random_seed: int | None = None,
    likelihood: str | None = None,
) -> pd.DataFrame:
    """Runs with targets from ``law`` at ``params`` with noise of scale ``noise``.

    ``params`` is a reference name of the law (default: its first reference) or a dict of values;
    ``design`` holds the inputs (default: ``n`` log-uniform runs). ``likelihood`` (default: the law's own)
    picks the noise (:meth:`bayescale.likelihoods.Likelihood.simulate`): the law's mean times log-normal noise of
    sd ``noise``; for ``"normal-raw"`` Normal noise of sd ``noise`` in the target's units; for ``"beta"`` (a target
    in (0, 1)) ``Beta(mu phi, (1 - mu) phi)`` draws around the mean ``mu`` with ``phi = 1 / (4 noise**2) - 1``, so
    that ``noise`` is the target's sd at mean 1/2.

    >>> runs = simulate("chinchilla", n=5, random_seed=0)
    >>> list(runs.columns), len(runs)
    (['N', 'D', 'loss'], 5)
    """
    law = resolve_law(law)
    if params is None or isinstance(params, str):
        if not law.references:
            raise ArgumentError(f"law {law.name!r} has no reference values; pass params={{...}}")
        name = params or next(iter(law.references))
        if name not in law.references:
            raise ArgumentError(f"law {law.name!r} has no reference {name!r}; it has {list(law.references)}")
        params = law.references[name].values
    missing = set(law.param_names) - set(params)
    if missing:
        raise ArgumentError(f"params lack {sorted(missing)} of law {law.name!r}")
    rng = np.random.default_rng(random_seed)
    runs = (design if design is not None else random_design(law, n, rng)).copy()
    mean = law.evaluate({**{x: runs[x].to_numpy(float) for x in law.input_names}, **params})
    runs[law.target] = get_likelihood(likelihood or law.likelihood).simulate(np.broadcast_to(mean, len(runs)).astype(float), noise, rng, f"law {law.name!r}")
    return runs
