# %% [markdown]
# # Planning a run
#
# What to train for a compute budget, under the posterior of a fitted law: the compute-optimal frontier
# with bands, how serving inference moves the optimum, and from which budget one training set beats another.

# %%
import os

import numpy as np
import pandas as pd

import bayescale as bs

DRAWS = int(os.environ.get("BAYESCALE_NOTEBOOK_DRAWS", "1000"))

runs = bs.load_dataset("epoch-chinchilla")
fit = bs.fit("chinchilla", runs, draws=DRAWS, tune=DRAWS, random_seed=5, calibrate=False)  # planning reads the law's mean
print(fit.diagnostics)

# %% [markdown]
# ## The frontier
# For each budget, every posterior draw has its own optimal `N*`, `D*` and loss; the bands are 90% intervals
# over draws. The marks are the largest fitted run's compute and Chinchilla's budget.

# %%
budgets = np.geomspace(1e18, 1e26, 25)
frontier = bs.plan(fit, flops=budgets)
figure = bs.plot_frontier(frontier, mark=[runs["C"].max(), 5.76e23])

# %% [markdown]
# At Chinchilla's budget, 5.76e23 FLOP:

# %%
bs.plan(fit, flops=5.76e23).summary.round(4)

# %% [markdown]
# IsoFLOP curves at three budgets: loss along each budget line, with the optimum marked.

# %%
curves = bs.isoflop(fit, [1e20, 1e22, 1e24], points=31)
figure = bs.plot_isoflop(curves)

# %% [markdown]
# ## Inference-aware optimum
# A model that will serve `T` tokens costs `2N` FLOP per served token as well. With the budget fixed, the
# optimum moves to a smaller model trained on more tokens.

# %%
budget = 1e24
served = [0.0, 1e12, 1e13]
medians = {f"{t:.0e} tokens served": bs.plan(fit, flops=budget, inference_tokens=t).summary.loc[budget, "median"] for t in served}
pd.DataFrame(medians).T[["N", "D", "tokens_per_param", "loss"]].round(4)

# %% [markdown]
# ## Crossover between two training sets
# A pooled fit of the Gadre et al. runs (one law, `E`, `A`, `B` per training set) gives both configurations
# in one posterior, so their difference is paired draw by draw. Which reaches a lower compute-optimal loss,
# and from which budget on?

# %%
gadre = bs.load_dataset("gadre-overtraining")
pooled = bs.fit("chinchilla", gadre, pool={"E": "dataset", "A": "dataset", "B": "dataset"}, draws=DRAWS, tune=DRAWS, random_seed=5, calibrate=False)
print(pooled.diagnostics)
result = bs.crossover(pooled, pooled, group_a="rpj", group_b="c4_original", flops=np.geomspace(1e18, 1e26, 17))
print(result.summary)
result.table[["flops", "p_a_better", "diff_median", "diff_lower", "diff_upper"]].round(4)
