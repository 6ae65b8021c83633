"""Score predictions of held-out runs: log predictive density, CRPS, interval coverage, error.

Scores are computed per run from posterior predictive draws (``draws``: draws × runs, in
the target's units) and, where available, the pointwise log likelihood of the held-out
runs (draws × runs, on the likelihood's scale, as stored for LOO). They are summarized over runs by
:func:`summarize_scores`.

CRPS is computed on the scale the likelihood chooses (:meth:`bayescale.likelihoods.Likelihood.crps_scale`): the
log target for the log-target likelihoods (a heavy-tailed Student-t there has no finite CRPS in the target's units,
and on the log scale it weighs runs of every size alike), the target itself for beta (bounded draws always have a
finite CRPS, and an error rate's own units are the ones its users read) and for normal-raw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scoringrules
from scipy.special import logsumexp

from .fit import noise_logpdf

CI_PROBS = (0.5, 0.9)


def log_predictive_density(loglik: np.ndarray) -> np.ndarray:
    """Per-run log of the posterior-mean likelihood, ``log mean_s p(y_i | θ_s)``.

    >>> log_predictive_density(np.log([[0.5, 0.1], [1.5, 0.1]])).round(3).tolist()
    [0.0, -2.303]
    """
    return logsumexp(loglik, axis=0) - np.log(loglik.shape[0])


def score_runs(
    observed: np.ndarray, draws: np.ndarray, loglik: np.ndarray | None = None, ci_probs=CI_PROBS, crps_scale=np.log
) -> pd.DataFrame:
    """Per-run scores of predictive ``draws`` (draws × runs) against ``observed`` values.

    Columns: ``median``, ``pit`` (share of draws at or below the observed value), ``rel_error`` (|median − observed| / |observed|), ``crps`` (of the values mapped by ``crps_scale``, the log by default: see the module docstring),
    per interval level ``lower_90``, ``upper_90``, ``inside_90`` (observed within it) and ``width_90``
    (width relative to the median), and ``lpd`` (when ``loglik`` is given).

    >>> rng = np.random.default_rng(0)
    >>> table = score_runs(np.array([2.0, 3.0]), rng.normal([2.0, 2.0], 0.1, size=(4000, 2)))
    >>> table["inside_90"].tolist(), table["rel_error"].round(2).tolist()
    ([True, False], [0.0, 0.33])
    """
    observed = np.asarray(observed, float)
    if draws.ndim != 2 or draws.shape[1] != observed.size:
        raise ValueError(f"draws must have shape (draws, {observed.size}), got {draws.shape}")
    median = np.median(draws, axis=0)
    out = pd.DataFrame(
        {
            "observed": observed,
            "median": median,
            "rel_error": np.abs(median - observed) / np.abs(observed),
            "crps": scoringrules.crps_ensemble(crps_scale(observed), crps_scale(draws).T, m_axis=-1),
            "pit": np.mean(draws <= observed, axis=0),
        }
    )
    for prob in ci_probs:
        lower, upper = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        level = f"{prob * 100:.0f}"
        out[f"lower_{level}"], out[f"upper_{level}"] = lower, upper
        out[f"inside_{level}"] = (lower <= observed) & (observed <= upper)
        out[f"width_{level}"] = (upper - lower) / np.abs(median)
    if loglik is not None:
        out["lpd"] = log_predictive_density(loglik)
    return out


def summarize_scores(per_run: pd.DataFrame) -> pd.Series:
    """Totals over runs: ``elpd`` (sum of lpd), mean CRPS, coverage and median width per interval, median relative error.

    >>> rng = np.random.default_rng(0)
    >>> observed, draws = np.exp(rng.normal(0, 0.1, size=200)), np.exp(rng.normal(0, 0.1, size=(2000, 200)))
    >>> summary = summarize_scores(score_runs(observed, draws))
    >>> bool(0.84 < summary["coverage_90"] < 0.96), bool(0.4 < summary["coverage_50"] < 0.6)
    (True, True)
    """
    out = {"n": len(per_run)}
    if "lpd" in per_run:
        out["elpd"] = per_run["lpd"].sum()
    out["crps"] = per_run["crps"].mean()
    for column in per_run.columns:
        if column.startswith("inside_"):
            level = column.removeprefix("inside_")
            out[f"coverage_{level}"] = per_run[column].mean()
            out[f"width_{level}"] = per_run[f"width_{level}"].median()
    out["median_rel_error"] = per_run["rel_error"].median()
    return pd.Series(out)


def holdout_loglik(fit, runs, random_seed: int | None = None, extrapolation: bool = False) -> tuple[pd.DataFrame, Any, np.ndarray]:
    """Validated held-out ``runs``, ``fit``'s predictive draws there, and their log likelihood (draws × runs).

    The likelihood integrates over the law's mean at each run (new group levels and, with ``extrapolation``,
    the learned extrapolation error included) and the noise model, so its log mean is comparable with
    PSIS-LOO's pointwise elpd.
    """
    law = fit.law
    observed = fit.spec.prepare_runs(runs)
    table, draws = fit.sample_predictive(observed, random_seed, extrapolation)
    table[law.target] = observed[law.target]
    post = fit.idata.posterior
    mean = draws.law.reshape(post.sizes["chain"], post.sizes["draw"], len(observed))
    loglik = noise_logpdf(fit.spec, post, observed[law.target].to_numpy(float), mean)
    return table, draws, loglik.reshape(-1, len(observed))


def score_fit(fit, runs, ci_probs=CI_PROBS, random_seed: int | None = None, extrapolation: bool = False) -> pd.DataFrame:
    """Per-run scores (:func:`score_runs`) of ``fit``'s posterior predictive at ``runs``, which hold the observed target."""
    table, draws, loglik = holdout_loglik(fit, runs, random_seed, extrapolation)
    scores = score_runs(table[fit.law.target].to_numpy(float), draws.new_run, loglik, ci_probs, crps_scale=fit.spec.family.crps_scale)
    return pd.concat([table, scores.drop(columns="observed")], axis=1)
