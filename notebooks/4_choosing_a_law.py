# %% [markdown]
# # Choosing a law: LOO, extrapolation backtests and the report
#
# Three laws fitted to the same 245 Epoch runs: Chinchilla's `E + A/N^α + B/D^β`, Kaplan's joint law and a
# compute-only power law `E + A/C^α`. They are ranked two ways: PSIS-LOO (how well each predicts a run
# it has not seen, *inside* the data) and a leave-largest-out backtest (refit on the 80% cheapest runs,
# score the 20% most expensive: the question a scaling law is asked).

# %%
import html
import os

import pandas as pd
from IPython.display import HTML

import bayescale as bs

DRAWS = int(os.environ.get("BAYESCALE_NOTEBOOK_DRAWS", "1000"))
LAWS = ["chinchilla", "kaplan", "powerlaw-compute"]

print("catalogue:", ", ".join(bs.list_laws()))
runs = bs.load_dataset("epoch-chinchilla")
fits = {name: bs.fit(name, runs, draws=DRAWS, tune=DRAWS, random_seed=4) for name in LAWS}
for name, result in fits.items():
    print(f"{name}: {result.law.formula}\n  {result.diagnostics}")

# %% [markdown]
# ## PSIS-LOO
# `weight` is the stacking weight; `bad_k` counts runs whose Pareto k exceeds 0.7 (their LOO estimate is
# unreliable; `reloo=True` refits without them).

# %%
bs.compare(fits).round(3)

# %% [markdown]
# ## Extrapolation to the largest runs

# %%
backtest = bs.validate_extrapolation(fits, by="C", holdout=0.2)
print(backtest.verdict())
backtest.table.round(3)

# %% [markdown]
# ## Averaging instead of choosing
# When no law clearly wins, predict with the mixture weighted by the LOO stacking weights. Chinchilla itself
# (70B parameters, 1.4T tokens):

# %%
chinchilla = pd.DataFrame({"N": [70e9], "D": [1.4e12]})
bs.average_predictions(fits, chinchilla).round(4)

# %% [markdown]
# Runs with the largest Pareto k, for the best law by LOO:

# %%
bs.pareto_k(fits["chinchilla"]).head()

# %% [markdown]
# ## The report
# One self-contained HTML file: verdict, both rankings, figures, and each law's equation, priors, posterior
# and diagnostics. The backtest above is passed in so it is not run twice.

# %%
path = bs.report(fits, "comparison.html", extrapolation=backtest, overwrite=True)
HTML(f'<iframe srcdoc="{html.escape(path.read_text())}" style="width:100%; height:700px; border:1px solid #ccc"></iframe>')
