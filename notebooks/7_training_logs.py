# %% [markdown]
# # From your TensorBoard logs to a forecast
#
# A training run's loss curve lives in its experiment tracker, not in a table of `(N, D, loss)`. Here we read the
# TensorBoard event files of three T5 models trained on the Pile (base, large and xl: 248M, 783M and 2.85B
# parameters, 2M steps of about a million tokens each; `training_logs/` in the public data, see its PROVENANCE),
# fit the Chinchilla law to their whole evaluation-loss curves, and forecast the loss of an 11B-parameter model at
# the end of the same schedule.
#
# The checkpoints of one run are not independent runs: each run sits above or below any law by its own amount at
# every checkpoint. `bs.fit(..., curves="run")` gives every run an offset of its own (a per-run random effect) on
# top of each checkpoint's noise; without it the fit treats 140 checkpoints of a run as 140 runs' worth of evidence.
# We hold out the last 20% of each run's tokens and see which model's intervals hold there.
#
# `BAYESCALE_NOTEBOOK_DRAWS` sets the draws per chain (default 1000; the docs CI uses fewer).

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayescale as bs

DRAWS = int(os.environ.get("BAYESCALE_NOTEBOOK_DRAWS", "1000"))
METRIC = "training_eval/pile_r_denoiser/cross_ent_loss_per_all_target_tokens"
SIZES = {"base": 247_586_304, "large": 783_173_632, "xl": 2_849_804_288}  # parameters, from PROVENANCE.md

with warnings.catch_warnings(action="ignore", category=bs.DataWarning):  # the resumed runs' repeated steps, latest kept
    logs = bs.read_runs(bs.data_dir() / "training_logs/t5_pile", metric=METRIC, tokens_per_step=1e6,
                        meta={run: {"N": n} for run, n in SIZES.items()})
print(logs.attrs["duplicates"])
bs.logs.describe_runs(logs)

# %% [markdown]
# `bs.logs.checkpoints` turns the logged metric into the law's target and the tokens into its `D`. The held-out
# checkpoints are the last 20% of each run's tokens (1.6M–2M steps); the fits see the rest, less the first 10% of
# tokens, which `curves=` leaves out as warm-up by default (the i.i.d. fit is given the same points).

# %%
points = bs.logs.checkpoints(logs, bs.get_law("chinchilla"), METRIC)
late = points["D"] >= 0.8 * points.groupby("run")["D"].transform("max")
train, held_out = points[~late], points[late]
print(f"{len(train)} fitted checkpoints, {len(held_out)} held out")

# %% [markdown]
# ## Final points only?
# The usual recipe fits a law to each run's final loss. Three runs are three points, and the Chinchilla law has five
# parameters and a noise scale: the fit is refused. This is why the curves are needed at all.

# %%
final = train.sort_values("step").groupby("run").tail(1)
try:
    bs.fit("chinchilla", final, draws=DRAWS)
except bs.ModelError as err:
    print(err)

# %% [markdown]
# ## Whole curves: independent checkpoints vs a per-run effect
# Both fits use Normal noise on the log loss. The per-run model samples each run's level at its middle checkpoint
# and gives its offset from the law a `Normal(0, run_sd)` prior; the law's error beyond the runs is learned from
# rolling-origin refits of the curves.

# %%
curves = bs.fit("chinchilla", train, curves="run", likelihood="normal", draws=DRAWS, random_seed=1)
fits = {  # the i.i.d. fit gets the very checkpoints the per-run fit kept after warm-up
    "independent checkpoints": bs.fit("chinchilla", curves.runs, likelihood="normal", draws=DRAWS, random_seed=1),
    "per-run effect": curves,
}
for name, fit in fits.items():
    print(f"{name}: {len(fit.runs)} checkpoints; {fit.diagnostics}")
curves.summary().round(4)

# %% [markdown]
# ## Held-out late checkpoints
# Each held-out checkpoint belongs to a run the fit has seen, so the per-run fit predicts it with that run's own
# offset; the i.i.d. fit has no offsets and must stretch one law over all three runs.

# %%
def held_out_scores(p: pd.DataFrame) -> dict:
    y = held_out["loss"].to_numpy()
    inside = (y >= p["lower"].to_numpy()) & (y <= p["upper"].to_numpy())
    per_run = pd.Series(inside).groupby(held_out["run"].to_numpy()).mean()
    return {"90% coverage": inside.mean(), **{f"coverage {run}": v for run, v in per_run.items()},
            "median 90% width (% of loss)": 100 * ((p["upper"] - p["lower"]) / p["median"]).median(),
            "median |error| (%)": 100 * (np.abs(p["median"] - y) / y).median()}


rows, predictions = [], {}
for name, fit in fits.items():
    predictions[name] = fit.predict(held_out, random_seed=2)
    rows.append({"model": name, "intervals": "calibrated", **held_out_scores(predictions[name])})
    with warnings.catch_warnings(action="ignore", category=bs.ExtrapolationWarning):
        rows.append({"model": name, "intervals": "plain posterior", **held_out_scores(fit.predict(held_out, random_seed=2, extrapolation=False))})
pd.DataFrame(rows).set_index(["model", "intervals"]).round(3)

# %% [markdown]
# With the plain posterior (parameters and noise only), the i.i.d. fit's intervals are too narrow for two of the
# three runs; the per-run fit's hold, at half the error. The calibrated intervals add the law's error learned from
# rolling-origin refits of the curves, which both fits carry here.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=False)
for ax, run in zip(axes, SIZES):
    seen, held = points[(points["run"] == run) & ~late], held_out["run"] == run
    ax.plot(seen["step"], seen["loss"], ".", ms=2, color="0.5", label="fitted checkpoints")
    ax.plot(held_out.loc[held, "step"], held_out.loc[held, "loss"], ".", ms=3, color="k", label="held out")
    for (name, p), color in zip(predictions.items(), ["tab:orange", "tab:blue"]):
        ax.fill_between(held_out.loc[held, "step"], p.loc[held.to_numpy(), "lower"], p.loc[held.to_numpy(), "upper"], alpha=0.3, color=color, label=name)
    ax.set(title=f"T5 {run} ({SIZES[run] / 1e9:.2f}B)", xlabel="step", ylim=(seen["loss"].quantile(0.0) * 0.98, seen["loss"].quantile(0.5)))
axes[0].set_ylabel("eval loss (nats/token)")
axes[0].legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## An 11B model at 2M steps
# An 11B-parameter model (T5's XXL size) trained on the same schedule sees about 2e12 tokens. It is a run neither
# fit has seen: the per-run model draws it an offset from `Normal(0, run_sd)`, so its interval says how far a new
# run can sit from the law, as the three observed runs do; the i.i.d. fit assumes a new run sits on the law.

# %%
target = pd.DataFrame({"N": [11e9], "D": [2e12]})
with warnings.catch_warnings(action="ignore", category=bs.ExtrapolationWarning):
    forecast = pd.concat({name: fit.predict(target, random_seed=3) for name, fit in fits.items()}, names=["model"])
forecast[["mean_lower", "mean_median", "mean_upper", "lower", "median", "upper", "distance", "error_from"]].round(4)
