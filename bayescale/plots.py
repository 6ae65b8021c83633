"""Figures of a fit: the data against the law, and the extrapolation band."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .data import FLOPS_PER_PARAMETER_TOKEN, compute
from .files import save_figure


def extrapolation_path(fit, beyond: float = 100.0, points: int = 40, tokens_per_param: float = 20.0) -> pd.DataFrame:
    """Runs along a line from the smallest fitted run to ``beyond`` times the largest.

    Laws in N and D follow a fixed tokens-per-parameter ratio (C = 6ND); single-input laws their input.
    """
    runs, inputs = fit.runs, fit.law.input_names
    if set(inputs) == {"N", "D"}:
        flops = compute(runs["N"], runs["D"])
        c = np.geomspace(flops.min(), flops.max() * beyond, points)
        n = np.sqrt(c / (FLOPS_PER_PARAMETER_TOKEN * tokens_per_param))
        path = pd.DataFrame({"N": n, "D": tokens_per_param * n})
    else:
        path = pd.DataFrame({x: np.geomspace(runs[x].min(), runs[x].max() * beyond, points) for x in inputs})
    if fit.spec.group:
        path[fit.spec.group] = fit.groups[0]
    return path


def _axis(table: pd.DataFrame) -> tuple[pd.Series, str]:
    if {"N", "D"} <= set(table.columns):
        return compute(table["N"], table["D"]), "training compute C = 6ND (FLOP)"
    x = [c for c in ("C", "N", "D") if c in table.columns][0]
    return table[x], {"C": "training compute C (FLOP)", "N": "parameters N", "D": "tokens D"}[x]


def plot_fit(fit, path: str | None = None, ci_prob: float = 0.9, random_seed: int | None = 0, overwrite: bool = False) -> Figure:
    """Two panels: observed vs predicted loss of the fitted runs, and the band far beyond them."""
    fitted = fit.predict(fit.runs, ci_prob=ci_prob, random_seed=random_seed)
    ahead = fit.predict(extrapolation_path(fit), ci_prob=ci_prob, random_seed=random_seed)
    target = fit.law.target
    fig = Figure(figsize=(11, 4.5))
    left, right = fig.subplots(1, 2)
    lo, hi = fitted[["lower", "upper"]].min().min(), fitted[["lower", "upper"]].max().max()
    left.errorbar(fit.runs[target], fitted["median"], yerr=[fitted["median"] - fitted["lower"], fitted["upper"] - fitted["median"]],
                  fmt="o", ms=3, alpha=0.6, lw=0.8)
    left.plot([lo, hi], [lo, hi], "k--", lw=1)
    left.set(xlabel=f"observed {target}", ylabel=f"predicted {target} (median, {ci_prob:.0%} interval)", title=f"{fit.law.name}: fitted runs")
    x_data, label = _axis(fit.runs)
    x_path, _ = _axis(ahead)
    right.scatter(x_data, fit.runs[target], s=8, c="0.3", label="fitted runs")
    right.fill_between(x_path, ahead["lower"], ahead["upper"], alpha=0.25, label=f"new run, {ci_prob:.0%}")
    right.fill_between(x_path, ahead["mean_lower"], ahead["mean_upper"], alpha=0.5, label=f"law mean, {ci_prob:.0%}")
    right.plot(x_path, ahead["mean_median"], lw=1.5)
    right.axvline(x_data.max(), color="k", lw=0.8, ls=":")
    right.set(xscale="log", xlabel=label, ylabel=target, title="extrapolation beyond the fitted runs")
    right.legend(fontsize=8)
    fig.tight_layout()
    if path:
        save_figure(fig, path, overwrite)
    return fig
