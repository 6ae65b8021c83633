"""Rank competing laws fitted to the same runs.

Two questions, two answers, side by side:

- *Which law predicts a run like these best?* PSIS-LOO through ArviZ, with Pareto-k per run
  and exact refits (``reloo``) where the importance-sampling approximation fails.
- *Which law extrapolates?* Refit each law on the runs below a threshold of N, D or C and
  score the held-out largest runs (log predictive density, CRPS, interval coverage, error).
  LOO cannot answer this: every left-out run has neighbours of the same size.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from .data import DERIVATIONS, read_table
from .errors import ArgumentError, ComparisonError, SamplingWarning
from .fit import Fit, central_probs
from .scales import default_by
from .calibration import calibrate
from .scoring import CI_PROBS, holdout_loglik, score_fit, summarize_scores
from .executors import run_all
from .validation import LeaveLargestOut, Split, refit_jobs

K_THRESHOLD = 0.7
CV = ("loo", "largest")


def named_fits(fits: Mapping[str, Fit] | list[Fit], minimum: int = 2) -> dict[str, Fit]:
    """Fits keyed by name (a dict as given, or law names), checked to share the same runs and target."""
    if isinstance(fits, Fit):
        fits = [fits]
    if not isinstance(fits, Mapping):
        fits = list(fits)
        names = [f.law.name for f in fits]
        if len(set(names)) < len(names):
            raise ComparisonError(f"several fits of the same law ({names}); pass a dict of fits keyed by a name you choose")
        fits = dict(zip(names, fits))
    if len(fits) < minimum:
        raise ComparisonError(f"comparing needs at least {minimum} fits, got {len(fits)}")
    for name, fit in fits.items():
        if not isinstance(fit, Fit):
            raise ComparisonError(f"{name!r} is a {type(fit).__name__}, not a bayescale Fit (from bs.fit or bs.load)")
        if "log_likelihood" not in fit.idata.groups():
            raise ComparisonError(f"fit {name!r} has no log_likelihood group; refit it with bs.fit, which stores one")
    _check_same_runs(fits)
    return dict(fits)


def _check_same_runs(fits: dict[str, Fit]) -> None:
    (first, reference), *others = fits.items()
    target, y = reference.law.target, reference.runs[reference.law.target].to_numpy()
    for name, fit in others:
        if fit.law.target != target:
            raise ComparisonError(f"fit {name!r} models {fit.law.target!r} but {first!r} models {target!r}; compare fits of one target")
        if fit.spec.family.scale != reference.spec.family.scale:
            raise ComparisonError(
                f"fit {name!r} has a {fit.spec.likelihood} likelihood and {first!r} a {reference.spec.likelihood} one: their log "
                "likelihoods are densities of the target and of its log, which LOO cannot compare; refit one of them"
            )
        other = fit.runs[target].to_numpy()
        if len(other) != len(y):
            raise ComparisonError(f"fit {name!r} has {len(other)} runs but {first!r} has {len(y)}; compare fits of the same runs")
        differ = np.flatnonzero(~np.isclose(other, y, rtol=1e-12, atol=0))
        if differ.size:
            row = differ[0]
            raise ComparisonError(
                f"fits {first!r} and {name!r} were fitted to different data: run {row} has {target} {y[row]!r} vs {other[row]!r} "
                f"({differ.size} runs differ); compare fits of the same runs in the same order"
            )


def run_scales(fits: dict[str, Fit]) -> pd.DataFrame:
    """The size columns of the shared runs (N, D, C, ...), gathered across fits and derived with C = 6ND."""
    table = pd.DataFrame(index=next(iter(fits.values())).runs.index)
    for fit in fits.values():
        for column in fit.runs.columns:
            if column not in table and column != fit.law.target and pd.api.types.is_numeric_dtype(fit.runs[column]):
                table[column] = fit.runs[column].to_numpy()
    for name, (sources, formula, _) in DERIVATIONS.items():
        if name not in table and all(s in table for s in sources):
            table[name] = formula(table)
    return table


def pareto_k(fit: Fit) -> pd.DataFrame:
    """The fit's runs with the Pareto shape k of PSIS-LOO for each, largest first."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        elpd = az.loo(fit.idata, pointwise=True)
    return fit.runs.assign(pareto_k=elpd.pareto_k.values).sort_values("pareto_k", ascending=False)


class _ExactLoo(az.SamplingWrapper):
    """ArviZ's refit interface for ``az.reloo``: leave one run out, refit the same model, score the run."""

    def __init__(self, fit: Fit):
        super().__init__(model=None, idata_orig=fit.idata)
        self.fit = fit

    def sel_observations(self, idx):
        keep = np.ones(len(self.fit.runs), bool)
        keep[idx] = False
        return self.fit.runs[keep], self.fit.runs[~keep]

    def sample(self, modified_observed_data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)  # the refit's diagnostics are checked below
            refit = self.fit.refit(modified_observed_data)
        if not refit.diagnostics.ok:
            warnings.warn(f"exact LOO refit of {self.fit.law.name!r}: {'; '.join(refit.diagnostics.problems)}", SamplingWarning, stacklevel=2)
        return refit

    def get_inference_data(self, fitted):
        return fitted

    def log_likelihood__i(self, excluded_obs, idata__i):
        _, _, loglik = holdout_loglik(idata__i, excluded_obs, random_seed=0)  # within the data: no extrapolation error
        return xr.DataArray(loglik[:, 0])


def loo(fit: Fit, reloo: bool = False) -> az.ELPDData:
    """PSIS-LOO of ``fit``; with ``reloo``, runs with Pareto k > 0.7 are scored by exact refits without them."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        elpd = az.loo(fit.idata, pointwise=True)
        elpd.attrs = {"refitted": 0}
        bad = int((elpd.pareto_k.values > K_THRESHOLD).sum())
        if reloo and bad:
            elpd = az.reloo(_ExactLoo(fit), loo_orig=elpd, k_thresh=K_THRESHOLD, verbose=False)
            elpd.warning = False
            elpd.attrs = {"refitted": bad}
    return elpd


def compare(
    fits: Mapping[str, Fit] | list[Fit],
    cv: str = "loo",
    *,
    reloo: bool = False,
    by: str | None = None,
    holdout: float = 0.2,
    random_seed: int | None = 0,
    executor: Any = None,
) -> pd.DataFrame:
    """Rank laws fitted to the same runs, best first.

    ``cv="loo"``: PSIS-LOO — ``elpd_loo``, ``se``, ``p_loo``, ``elpd_diff`` and its ``dse``, stacking
    ``weight`` and ``pseudo_bma_weight``, ``bad_k`` (runs with Pareto k > 0.7; see :func:`pareto_k`),
    ``refitted`` (of those, scored exactly when ``reloo``) and ``warning``.
    ``cv="largest"``: refit on the runs whose ``by`` (default compute where the runs give it, else the first
    law's first input) is below its ``1 - holdout`` quantile and score the rest; see :func:`validate_extrapolation`
    (its refits run on ``executor``).
    """
    if cv not in CV:
        raise ArgumentError(f"unknown cv {cv!r}; use 'loo' (PSIS-LOO) or 'largest' (refit on smaller runs, score the largest)")
    fits = named_fits(fits)
    if cv == "largest":
        return validate_extrapolation(fits, by=by, holdout=holdout, random_seed=random_seed, executor=executor).table
    elpds = {name: loo(fit, reloo=reloo) for name, fit in fits.items()}
    table = az.compare(elpds, ic="loo", method="stacking")
    table["pseudo_bma_weight"] = az.compare(elpds, ic="loo", method="pseudo-BMA")["weight"]
    table["bad_k"] = [int((elpds[name].pareto_k.values > K_THRESHOLD).sum()) for name in table.index]
    table["refitted"] = [elpds[name].attrs["refitted"] for name in table.index]
    columns = ["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "pseudo_bma_weight", "bad_k", "refitted", "warning"]
    return table[columns].astype({"rank": int, "warning": bool})


@dataclass
class Extrapolation:
    """Leave-largest-out validation: each law refitted on runs with ``by <= threshold``, scored on the rest."""

    by: str
    threshold: float
    table: pd.DataFrame
    scores: dict[str, pd.DataFrame]
    refits: dict[str, Fit]
    held_out: np.ndarray

    def verdict(self) -> str:
        """One sentence per law on how its intervals did at the held-out runs."""
        lines = []
        for name, row in self.table.iterrows():
            n = int(row["n"])
            lines.append(
                f"{name}: its 90% interval covered {round(row['coverage_90'] * n)} of {n} held-out runs "
                f"({self.by} > {self.threshold:.3g}); median error {row['median_rel_error']:.2%}"
            )
        return "\n".join(lines)


def validate_extrapolation(
    fits: Mapping[str, Fit] | list[Fit] | Fit,
    by: str | None = None,
    holdout: float = 0.2,
    ci_probs=CI_PROBS,
    random_seed: int | None = 0,
    extrapolation: bool = False,
    executor: Any = None,
) -> Extrapolation:
    """Refit each law on the runs with the smallest ``by`` and score the largest ``holdout`` fraction.

    ``by`` is a size column of the runs (N, D, C, ...), by default compute where the runs give it, else the first
    law's first input. The table (best first by held-out ``elpd``) has ``elpd``, ``elpd_diff`` and its ``dse``,
    ``crps``, ``coverage_50``/``coverage_90`` with median ``width_50``/``width_90`` relative to the prediction,
    ``median_rel_error``, and the refits' ``divergences`` and ``max_rhat``. The laws' own posteriors are scored
    unless ``extrapolation`` is True, which adds each refit's learned extrapolation error (see
    :func:`bayescale.calibrate`). The laws' refits run together on ``executor`` (see
    :func:`bayescale.executors.executor_for`).
    """
    fits = named_fits(fits, minimum=1)
    scales = run_scales(fits)
    by = by or default_by([c for f in fits.values() for c in f.law.input_names if c in scales] or list(scales.columns))
    if by not in scales:
        raise ArgumentError(f"cannot order runs by {by!r}: the fits' runs have {list(scales.columns)}, and {by!r} cannot be derived from them")
    split, = LeaveLargestOut(holdout, by).splits(scales, [by])
    score = partial(score_held_out, ci_probs=ci_probs, random_seed=random_seed, extrapolation=extrapolation)
    jobs = [job for fit in fits.values() for job in refit_jobs(fit.spec, fit.runs, [split], score, fit.settings, random_seed)]
    scores, refits, rows = {}, {}, {}
    for name, result in zip(fits, run_all(jobs, executor)):
        refits[name] = result.fit
        scores[name] = result.score.assign(**{by: scales[by].to_numpy()[split.test]})
        d = result.fit.diagnostics
        rows[name] = pd.concat([summarize_scores(result.score), pd.Series({"divergences": d.divergences, "max_rhat": d.max_rhat})])
    table = pd.DataFrame(rows).T.sort_values("elpd", ascending=False)
    best = scores[table.index[0]]["lpd"].to_numpy()
    table.insert(1, "elpd_diff", table["elpd"].iloc[0] - table["elpd"])
    table.insert(2, "dse", [np.sqrt(len(best) * np.var(best - scores[name]["lpd"].to_numpy())) for name in table.index])
    table.insert(0, "rank", np.arange(len(table)))
    return Extrapolation(by, split.threshold, table.astype({"rank": int, "n": int, "divergences": int}), scores, refits, split.test)


def score_held_out(refit: Fit, held_out: pd.DataFrame, split: Split, ci_probs, random_seed, extrapolation: bool) -> pd.DataFrame:
    if extrapolation:
        refit = calibrate(refit)
    return score_fit(refit, held_out, ci_probs, random_seed, extrapolation)


def average_predictions(
    fits: Mapping[str, Fit] | list[Fit],
    new: Any,
    weights: Mapping[str, float] | None = None,
    ci_prob: float = 0.9,
    random_seed: int | None = 0,
    extrapolation: bool = True,
) -> pd.DataFrame:
    """Predictions of the weighted mixture of laws (default: LOO stacking weights) at ``new`` runs.

    Columns: a new run's ``lower``/``median``/``upper`` and the mixture of the laws' means
    ``mean_lower``/``mean_median``/``mean_upper``, each law's learned extrapolation error included
    unless ``extrapolation`` is False (see :meth:`Fit.predict`).
    """
    fits = named_fits(fits)
    quantiles = central_probs(ci_prob)
    weights = dict(weights) if weights is not None else compare(fits)["weight"].to_dict()
    unknown = set(weights) - set(fits)
    if unknown or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ArgumentError(f"weights must be non-negative numbers for the fits {sorted(fits)}, not all zero; got {weights}")
    table = read_table(new)
    draws = {"": [], "mean_": []}
    per_draw = []
    for name, weight in weights.items():
        if weight <= 0:
            continue
        _, predictive = fits[name].sample_predictive(table, random_seed, extrapolation)
        draws[""].append(predictive.new_run)
        draws["mean_"].append(predictive.law)
        per_draw.append(np.full(len(predictive.law), weight / len(predictive.law)))
    per_draw = np.concatenate(per_draw)
    for prefix, parts in draws.items():
        q = np.quantile(np.concatenate(parts), quantiles, axis=0, weights=per_draw[:, None] * np.ones(len(table)), method="inverted_cdf")
        table[f"{prefix}lower"], table[f"{prefix}median"], table[f"{prefix}upper"] = q
    return table
