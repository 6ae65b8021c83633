# %% [markdown]
# # Hierarchical fits: one law across three training sets
#
# Gadre et al. (2024) trained the same model family on three corpora (C4, RedPajama, RefinedWeb), many of
# the runs far past Chinchilla's 20 tokens per parameter. One Chinchilla law is fitted to all 95 runs with
# `E`, `A` and `B` varying by corpus around population values (partial pooling) and the exponents shared.
# We compare that with one separate fit per corpus, then ask what pooling buys a corpus with few runs.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayescale as bs

DRAWS = int(os.environ.get("BAYESCALE_NOTEBOOK_DRAWS", "1000"))
POOL = {"E": "dataset", "A": "dataset", "B": "dataset"}
SETTINGS = {"draws": DRAWS, "tune": DRAWS, "random_seed": 3, "calibrate": False}  # within-data comparisons: no extrapolation error needed

runs = bs.load_dataset("gadre-overtraining")
runs.groupby("dataset").agg(runs=("loss", "size"), N_max=("N", "max"), D_max=("D", "max"), loss_min=("loss", "min"))

# %% [markdown]
# ## Pooled and separate fits

# %%
pooled = bs.fit("chinchilla", runs, pool=POOL, **SETTINGS)
print(pooled.diagnostics)
pooled.summary().round(3)

# %%
separate = {name: bs.fit("chinchilla", group, **SETTINGS) for name, group in runs.groupby("dataset")}
for name, result in separate.items():
    print(f"{name}: {result.diagnostics}")

# %% [markdown]
# ## Shrinkage
# Each corpus's `E` alone (separate fit) and within the pooled fit, with 90% intervals; the dashed line is
# the pooled population median `E_pop`.

# %%
def estimates(parameter: str) -> pd.DataFrame:
    rows = {}
    for name in pooled.groups:
        alone = separate[name].summary().loc[parameter]
        together = pooled.summary().loc[f"{parameter}[{name}]"]
        rows[name] = {"separate": alone["median"], "separate_lower": alone["lower"], "separate_upper": alone["upper"],
                      "pooled": together["median"], "pooled_lower": together["lower"], "pooled_upper": together["upper"]}
    return pd.DataFrame(rows).T


def shrinkage_plot(table: pd.DataFrame, population: float, parameter: str):
    fig, ax = plt.subplots(figsize=(7, 3.2))
    y = np.arange(len(table))
    for offset, kind, colour in ((-0.12, "separate", "C0"), (0.12, "pooled", "C1")):
        ax.errorbar(table[kind], y + offset, xerr=[table[kind] - table[f"{kind}_lower"], table[f"{kind}_upper"] - table[kind]],
                    fmt="o", color=colour, label=kind)
    ax.axvline(population, color="k", ls="--", lw=1, label="population median")
    ax.set(yticks=y, yticklabels=table.index, xlabel=f"{parameter} (median, 90% interval)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


e_table = estimates("E")
shrinkage_plot(e_table, pooled.summary().loc["E_pop", "median"], "E")
e_table.round(3)

# %% [markdown]
# ## What pooling buys a corpus with few runs
# Keep only RedPajama's 10 cheapest runs (plus all runs of the other two corpora) and predict RedPajama's
# other runs: once from a separate fit on its 10 runs, once from the pooled fit, where the other corpora
# inform the shared exponents and the population of `E`, `A`, `B`.

# %%
target = "rpj"
is_target = runs["dataset"] == target
kept = runs[is_target].nsmallest(10, "C").index
held_out = runs[is_target & ~runs.index.isin(kept)]
few = runs[~is_target | runs.index.isin(kept)]

few_separate = bs.fit("chinchilla", few[few["dataset"] == target], **SETTINGS)
few_pooled = pooled.refit(few)


def score(result) -> pd.Series:
    prediction = result.predict(held_out, ci_prob=0.9, random_seed=0)
    observed = held_out["loss"].to_numpy()
    inside = (observed >= prediction["lower"].to_numpy()) & (observed <= prediction["upper"].to_numpy())
    return pd.Series({
        "held-out runs": len(held_out),
        "median abs. error": np.median(np.abs(prediction["median"].to_numpy() - observed)),
        "90% coverage": inside.mean(),
        "median 90% width": np.median(prediction["upper"] - prediction["lower"]),
    })


comparison = pd.DataFrame({"separate, 10 runs": score(few_separate), "pooled, 10 runs + others": score(few_pooled)})
comparison.round(3)

# %% [markdown]
# The table above is the answer for this data set: the error and interval width of each approach at the
# held-out RedPajama runs, and how often the 90% intervals contained the observed loss.
