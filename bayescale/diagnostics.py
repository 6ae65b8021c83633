"""Sampling diagnostics: divergences, R-hat, ESS and BFMI, summarized and never hidden."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np

from .errors import SamplingWarning

MAX_RHAT = 1.01
MIN_ESS = 400
MIN_BFMI = 0.3
MODE_GAP_SD = 3.0  # a chain whose median log density lies this many within-chain sds below the best chain's sits elsewhere
MODE_MASS_GAP = 3.0  # a second optimum within this many nats of Laplace log mass of the main one holds >= 5% of the mass


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of one fit."""

    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    min_bfmi: float
    draws: int
    chains: int
    low_chains: tuple[int, ...] = ()  # chains stuck where the log density is clearly lower than in the best chain
    low_chains_gap: float = 0.0  # how much lower (nats, median log density), for the stuck chain furthest below
    second_mode_gap: float | None = None  # Laplace log mass of the main mode over the next one the start search found (nats)

    @property
    def problems(self) -> list[str]:
        """Plain-language list of what failed (empty when the fit is fine)."""
        out = []
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions: the posterior has regions NUTS cannot explore; reparametrize or tighten priors")
        if not self.max_rhat <= MAX_RHAT:
            out.append(f"R-hat {self.max_rhat:.3f} > {MAX_RHAT}: chains disagree; run longer or check for multimodality")
        if self.low_chains:
            out.append(
                f"chain(s) {', '.join(map(str, self.low_chains))} sit where the log density is up to {self.low_chains_gap:.1f} nats lower than in "
                "the best chain: a second, weaker mode (or chains not yet arrived), so the draws mix two posteriors; refit with "
                "another random_seed, more tuning, or a parametrization without the second mode"
            )
        if self.second_mode_gap is not None and self.second_mode_gap < MODE_MASS_GAP:
            out.append(
                f"the search for starting points found a second mode only {self.second_mode_gap:.1f} nats of Laplace mass below the main "
                "one, where the chains started: the draws leave out part of the posterior; tighten the priors or reparametrize"
            )
        if not self.min_ess_bulk >= MIN_ESS:
            out.append(f"bulk ESS {self.min_ess_bulk:.0f} < {MIN_ESS}: too few effective draws for reliable intervals")
        if not self.min_ess_tail >= MIN_ESS:
            out.append(f"tail ESS {self.min_ess_tail:.0f} < {MIN_ESS}: interval ends are unreliable")
        if not self.min_bfmi >= MIN_BFMI:
            out.append(f"BFMI {self.min_bfmi:.2f} < {MIN_BFMI}: poor energy exploration")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = (
            f"{self.chains} chains x {self.draws} draws: {self.divergences} divergences, max R-hat {self.max_rhat:.3f}, "
            f"min ESS bulk {self.min_ess_bulk:.0f} / tail {self.min_ess_tail:.0f}, min BFMI {self.min_bfmi:.2f}"
        )
        return head + "".join(f"\n  WARNING: {p}" for p in self.problems)

    def to_dict(self) -> dict:
        return {**self.__dict__, "low_chains": list(self.low_chains), "ok": self.ok, "problems": self.problems}


def diagnose(idata: az.InferenceData, var_names: list[str]) -> Diagnostics:
    """Diagnostics of ``var_names`` in ``idata`` (the sampled and derived parameters)."""
    post = idata.posterior[var_names]
    rhat = az.rhat(post)
    ess_bulk = az.ess(post, method="bulk")
    ess_tail = az.ess(post, method="tail")
    return Diagnostics(
        divergences=int(idata.sample_stats["diverging"].sum()),
        max_rhat=float(max(np.nanmax(rhat[v].values) for v in var_names)),
        min_ess_bulk=float(min(np.nanmin(ess_bulk[v].values) for v in var_names)),
        min_ess_tail=float(min(np.nanmin(ess_tail[v].values) for v in var_names)),
        min_bfmi=float(np.min(az.bfmi(idata))),
        draws=post.sizes["draw"],
        chains=post.sizes["chain"],
        **_low_chains(idata.sample_stats),
        second_mode_gap=json.loads(idata.sample_stats.attrs.get("bayescale_starts", "{}")).get("second_mode_gap"),
    )


def _low_chains(stats) -> dict:
    """Chains whose median log density (nutpie's ``logp``, PyMC's ``lp``) is ``MODE_GAP_SD`` within-chain sds below the best chain's.

    >>> import xarray as xr
    >>> lp = np.random.default_rng(0).normal(size=(4, 500)) - np.array([[0.0], [0.0], [20.0], [0.0]])
    >>> _low_chains(xr.Dataset({"lp": (("chain", "draw"), lp)}))
    {'low_chains': (2,), 'low_chains_gap': 19.8}
    """
    name = next((n for n in ("logp", "lp") if n in stats), None)
    if name is None or stats.sizes["chain"] < 2:
        return {}
    lp = stats[name].values
    medians, spread = np.median(lp, axis=1), float(np.median(np.std(lp, axis=1)))
    gaps = medians.max() - medians
    low = tuple(int(c) for c in np.flatnonzero(gaps > MODE_GAP_SD * max(spread, 1e-12)))
    return {"low_chains": low, "low_chains_gap": round(float(gaps.max()), 1)} if low else {}


def warn_if_bad(diagnostics: Diagnostics, what: str) -> None:
    """Emit a :class:`SamplingWarning` for each problem of a fit."""
    for problem in diagnostics.problems:
        warnings.warn(f"{what}: {problem}", SamplingWarning, stacklevel=3)
