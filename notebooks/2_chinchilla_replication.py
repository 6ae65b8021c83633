# %% [markdown]
# # The Chinchilla replication, reproduced
#
# Hoffmann et al. (2022) fitted `L(N, D) = E + A/N^α + B/D^β` to about 400 training runs (their
# Approach 3) and reported the compute-optimal allocation `N* ∝ C^a` with `a = β/(α+β) = 0.46` and an
# 80% interval of (0.454, 0.455) (their Table 2: the 10th and 90th percentiles over 100 bootstrap fits to
# 80% of the runs; for `D* ∝ C^b`, `b = 0.54 (0.542, 0.543)`). Besiroglu et al. (2024) reconstructed the
# runs from the paper's figure, refitted the law and found different values and intervals far too narrow
# for the number of runs.
#
# Here we fit the same law to the reconstructed runs as a Bayesian model and compare. The published
# values are quoted in the next cell; every other number is computed below.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayescale as bs

DRAWS = int(os.environ.get("BAYESCALE_NOTEBOOK_DRAWS", "1000"))
PARAMS = ["E", "A", "B", "alpha", "beta"]
law = bs.get_law("chinchilla")
REPLICATED = ("hoffmann2022", "besiroglu2024")  # the law's other references are fits to other runs (Sardana et al.'s)
published = pd.DataFrame({key: law.references[key].values for key in REPLICATED}).loc[PARAMS]
for key in REPLICATED:
    print(f"{key}: {law.references[key].source}")
HOFFMANN_A_INTERVAL = (0.454, 0.455)  # Hoffmann et al. 2022, Table 2, Approach 3: 10th-90th percentiles of a over 100 bootstraps
CI = 0.8  # compare intervals at the same probability

# %%
runs = bs.load_dataset("epoch-chinchilla")
fit = bs.fit("chinchilla", runs, draws=DRAWS, tune=DRAWS, random_seed=2022, calibrate=False)
print(fit.diagnostics)

# %% [markdown]
# ## The law's parameters
# Posterior medians and 80% central intervals beside the two published point estimates.

# %%
post = fit.idata.posterior
summary = fit.summary(ci_prob=CI).loc[PARAMS, ["median", "lower", "upper"]]
table = summary.join(published)
table["hoffmann2022 inside?"] = (table["hoffmann2022"] >= table["lower"]) & (table["hoffmann2022"] <= table["upper"])
table.round(4)

# %% [markdown]
# ## The allocation exponent
# `a = β/(α+β)` is computed per posterior draw, so its interval carries the correlation of α and β.

# %%
a_draws = (post["beta"] / (post["alpha"] + post["beta"])).values.ravel()
a_lower, a_median, a_upper = np.quantile(a_draws, [(1 - CI) / 2, 0.5, (1 + CI) / 2])
a_hoffmann = published.loc["beta", "hoffmann2022"] / published.loc[["alpha", "beta"], "hoffmann2022"].sum()
a_besiroglu = published.loc["beta", "besiroglu2024"] / published.loc[["alpha", "beta"], "besiroglu2024"].sum()
p_below = (a_draws < a_hoffmann).mean()
print(f"posterior a = {a_median:.3f}, {CI:.0%} interval [{a_lower:.3f}, {a_upper:.3f}], width {a_upper - a_lower:.3f}")
print(f"Hoffmann et al. a = {a_hoffmann:.3f}, {CI:.0%} interval {HOFFMANN_A_INTERVAL}, width {np.diff(HOFFMANN_A_INTERVAL)[0]:.3f}")
print(f"Besiroglu et al. point estimate a = {a_besiroglu:.3f}")
print(f"posterior probability that a < {a_hoffmann:.3f}: {p_below:.3f}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.hist(a_draws, bins=60, density=True, color="C0", alpha=0.6, label="posterior, Epoch runs")
ax.axvspan(*HOFFMANN_A_INTERVAL, color="C3", alpha=0.8, label=f"Hoffmann et al. {CI:.0%} interval")
ax.axvline(a_hoffmann, color="C3", ls="--", label=f"Hoffmann et al. a = {a_hoffmann:.3f}")
ax.axvline(a_besiroglu, color="k", ls=":", label=f"Besiroglu et al. a = {a_besiroglu:.3f}")
ax.set(xlabel="allocation exponent a = β/(α+β)", ylabel="density")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Why the published interval was implausibly narrow
# An interval's width shrinks like `1/√n` in the number of runs. The posterior from these runs has a
# standard deviation for `a`; Hoffmann et al.'s interval implies a much smaller one (for a normal
# distribution an 80% interval spans ±1.28 sd). The number of runs it would take to shrink the first
# to the second:

# %%
sd_posterior = a_draws.std()
z = 1.2816  # the 90th percentile of the standard normal
sd_published = np.diff(HOFFMANN_A_INTERVAL)[0] / (2 * z)
runs_needed = len(runs) * (sd_posterior / sd_published) ** 2
print(f"sd of a: posterior {sd_posterior:.4f} from {len(runs)} runs; implied by the published interval {sd_published:.5f}")
print(f"runs needed for the published width: about {runs_needed:,.0f} (Hoffmann et al. ran about 400)")

# %% [markdown]
# ## What an honest interval means for a plan
# The compute-optimal model for Chinchilla's budget (5.76e23 FLOP) under the posterior, against the
# 70B parameters and 1.4T tokens Chinchilla was trained with.

# %%
budget = 5.76e23
optimum = bs.plan(fit, flops=budget, ci_prob=CI).summary.loc[budget]
published_optimum = bs.plan(("chinchilla", published["hoffmann2022"].to_dict()), flops=budget).summary.loc[budget, "median"]
optimum.assign(hoffmann2022=published_optimum).loc[["N", "D", "tokens_per_param", "loss", "a"]]
