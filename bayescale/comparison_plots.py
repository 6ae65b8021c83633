"""Figures of a law comparison: fits, residuals, Pareto k and held-out extrapolation, one panel per law."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .compare import K_THRESHOLD, Extrapolation


def _panels(count: int, height: float = 3.6):
    fig = Figure(figsize=(4.2 * count, height))
    axes = fig.subplots(1, count, squeeze=False, sharey=True)
    return fig, axes[0]


def _by_group(fit) -> list[tuple[str, np.ndarray]]:
    group = fit.spec.group
    if not group:
        return [("runs", np.ones(len(fit.runs), bool))]
    return [(name, (fit.runs[group] == name).to_numpy()) for name in fit.groups]


def plot_fits(fits: dict, predictions: dict[str, pd.DataFrame], scale: pd.Series, ci_prob: float):
    """Observed runs and each law's predictive median and interval at them, against ``scale``, per group."""
    fig, axes = _panels(len(fits))
    for ax, (name, fit) in zip(axes, fits.items()):
        pred = predictions[name]
        for group, mask in _by_group(fit):
            x = scale.to_numpy()[mask]
            points = ax.scatter(x, fit.runs[fit.law.target].to_numpy()[mask], s=9, alpha=0.7, label=group)
            order = np.argsort(x)
            ax.vlines(x[order], pred["lower"].to_numpy()[mask][order], pred["upper"].to_numpy()[mask][order],
                      color=points.get_facecolor()[0], alpha=0.25, lw=2)
        ax.set(xscale="log", title=name, xlabel=scale.name)
    axes[0].set_ylabel(f"{fit.law.target} (points) and {ci_prob:.0%} predictive interval (bars)")
    if any(fit.spec.group for fit in fits.values()):
        axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_residuals(fits: dict, predictions: dict[str, pd.DataFrame], scale: pd.Series):
    """Log residual log(observed / predictive median) against ``scale``: structure here is misfit."""
    fig, axes = _panels(len(fits))
    for ax, (name, fit) in zip(axes, fits.items()):
        residual = np.log(fit.runs[fit.law.target].to_numpy() / predictions[name]["median"].to_numpy())
        for group, mask in _by_group(fit):
            ax.scatter(scale.to_numpy()[mask], residual[mask], s=9, alpha=0.7, label=group)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(xscale="log", title=name, xlabel=scale.name)
    axes[0].set_ylabel("log(observed / predicted median)")
    fig.tight_layout()
    return fig


def plot_pareto_k(pareto: dict[str, pd.DataFrame], scale: pd.Series):
    """PSIS-LOO Pareto k of each run; above the dashed line LOO's approximation fails for that run."""
    fig, axes = _panels(len(pareto))
    for ax, (name, table) in zip(axes, pareto.items()):
        k = table.sort_index()["pareto_k"].to_numpy()
        bad = k > K_THRESHOLD
        ax.scatter(scale.to_numpy()[~bad], k[~bad], s=9, c="0.4")
        ax.scatter(scale.to_numpy()[bad], k[bad], s=16, c="tab:red", label=f"k > {K_THRESHOLD}: {bad.sum()} runs")
        ax.axhline(K_THRESHOLD, color="tab:red", ls="--", lw=0.8)
        ax.set(xscale="log", title=name, xlabel=scale.name)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("Pareto k")
    fig.tight_layout()
    return fig


def plot_extrapolation(ext: Extrapolation, fits: dict, scale: pd.Series, ci_prob: float = 0.9):
    """Each law refitted on the smaller runs: its predictive interval at the held-out largest runs."""
    fig, axes = _panels(len(ext.scores))
    level = f"{ci_prob * 100:.0f}"
    for ax, (name, scores) in zip(axes, ext.scores.items()):
        fit = fits[name]
        y = fit.runs[fit.law.target].to_numpy()
        x = scale.to_numpy()
        near = ~ext.held_out & (x > ext.threshold / 30)  # the fitted runs of the last 1.5 decades, for context
        ax.scatter(x[near], y[near], s=7, c="0.65", label="fitted runs")
        lower, upper = scores[f"lower_{level}"].to_numpy(), scores[f"upper_{level}"].to_numpy()
        inside = scores[f"inside_{level}"].to_numpy()
        xs = scores[ext.by].to_numpy()
        ax.vlines(xs, lower, upper, color=np.where(inside, "tab:green", "tab:red"), lw=2, alpha=0.5)
        ax.scatter(xs, y[ext.held_out], s=12, c="k", marker="x", label=f"held out ({ext.by} > {ext.threshold:.2g})")
        ax.axvline(ext.threshold, color="k", ls=":", lw=0.8)
        covered = int(inside.sum())
        ax.set(xscale="log", xlabel=scale.name, title=f"{name}: {covered}/{len(inside)} inside {ci_prob:.0%}")
        ax.legend(fontsize=7)
    axes[0].set_ylabel(f"{fit.law.target}; bars: {ci_prob:.0%} interval of the refit (green covers)")
    fig.tight_layout()
    return fig

