# %% [markdown]
# # Quickstart: fit, diagnose, predict, save and load
#
# Fit the Chinchilla law `L(N, D) = E + A/N^α + B/D^β` to the 245 runs that Besiroglu et al. (2024)
# extracted from Hoffmann et al.'s figure, check that the sampler worked, predict a run far beyond the
# data, and round-trip the fit through a file.
#
# `BAYESCALE_NOTEBOOK_DRAWS` sets the draws per chain (default 1000; the docs CI uses fewer).

# %%
import os

import pandas as pd

import bayescale as bs

DRAWS = int(os.environ.get("BAYESCALE_NOTEBOOK_DRAWS", "1000"))

# %% [markdown]
# ## The data
# `load_dataset` reads a public data set from `$BAYESCALE_DATA` and says where it came from.

# %%
runs = bs.load_dataset("epoch-chinchilla")
print(runs.attrs["provenance"]["citation"])
runs[["N", "D", "C", "loss"]].describe().T

# %% [markdown]
# ## Fit
# NUTS (nutpie) with 4 chains. The first fit of a law compiles the model; refits of the same law reuse it.

# %%
fit = bs.fit("chinchilla", runs, draws=DRAWS, tune=DRAWS, random_seed=1)
print(f"compile {fit.timings['compile_s']:.1f} s, sampling {fit.timings['sample_s']:.1f} s")
fit

# %% [markdown]
# ## Diagnose
# Divergences, R-hat, effective sample sizes and BFMI are computed for every fit; problems are raised as
# `bs.SamplingWarning` (you would have seen them above) and kept on `fit.diagnostics`.

# %%
print(fit.diagnostics)
fit.diagnostics.to_dict()

# %% [markdown]
# The posterior in the law's own units, with 90% central intervals. `nu` is the Student-t degrees of
# freedom of the noise on log loss: a small value means heavy-tailed residuals, which the likelihood
# absorbs instead of bending the exponents.

# %%
summary = fit.summary()
summary.round(4)

# %% [markdown]
# ## Predict
# `predict` returns three nested intervals: the law's mean (`mean_*`, parameter uncertainty only), the law's
# mean plus its own error beyond the fitted runs (`law_*`) and a new run's loss (`lower`, `median`, `upper`:
# noise included). The law's error was learned when the fit was made, by rolling-origin refits inside the
# runs (`fit.calibration`); `predict` itself runs no sampler, so the same seed gives the same numbers.
# Chinchilla itself, 70B parameters on 1.4T tokens, lies far beyond the largest fitted run:

# %%
largest = runs.loc[runs["C"].idxmax()]
chinchilla = pd.DataFrame({"N": [70e9], "D": [1.4e12]})
prediction = fit.predict(chinchilla, ci_prob=0.9, random_seed=0)
print(f"Chinchilla's compute is {6 * 70e9 * 1.4e12 / largest['C']:.0f}x the largest fitted run's")
print(fit.calibration)
prediction.round(4)

# %%
figure = bs.plot_fit(fit)

# %% [markdown]
# ## Save and load
# A fit is one netCDF file holding the posterior, the law, the priors, the pooling, the runs, the calibration
# and the package version. Loading it gives back a `Fit` that predicts the same.

# %%
fit.save("chinchilla.nc")
again = bs.load("chinchilla.nc")
print(f"{os.path.getsize('chinchilla.nc') / 1e6:.1f} MB")
again.predict(chinchilla, ci_prob=0.9, random_seed=0).round(4)
