"""Loss-to-loss and multi-power laws fitted to public data: fit time, divergences, R-hat, held-out error.

Run from the repository root with the data sets available (``BAYESCALE_DATA``)::

    python benchmarks/catalogue_curves.py

Loss-to-loss (Brandfonbrener et al. 2024) predicts one loss from another and holds out the 20% of
runs with the most compute, as benchmarks/catalogue_real.py does: train-to-train pairs the
in-distribution loss of the fineweb-100b model with that of the model of the same N and D trained on
another corpus; train-to-test maps a model's in-distribution loss to its C4 loss (gadre-overtraining:
to its C4 or RefinedWeb loss). The multi-power law (Luo et al. 2025) and Tissue et al.'s law are fitted
on the split of catalogue_real.py, the two cosine curves of a model size (every 8th logged step),
and predict every logged step of its seven other schedules. A last table measures the binned
schedule history of the multi-power law against its exact per-step sum at the fitted values.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import numpy as np
import pandas as pd

import bayescale as bs
from bayescale.transforms import add_multipower_inputs, multipower_loss_drop
from catalogue_real import WARMUP_AREA, cosine_fitted, fit_row, most_compute_held_out, multipower  # the same splits

THIN = 8  # fit the middle one of every 8 logged steps of the cosine curves: their residuals are correlated along a curve
# longer warmup and chains (multi-power: L0 and alpha trade off along a long ridge; loss-to-loss: for the code and math
# corpora, whose Lx lies at 1.3-2.0 nats, V and S at Lx = 3 are extrapolations that correlate at 0.97), smaller steps
# (loss-to-loss: near E_x)
SETTINGS = {"multi-power": {"tune": 2000, "draws": 2000, "target_accept": 0.99}, "loss-to-loss": {"tune": 3000, "draws": 5000, "target_accept": 0.995}}
GADRE_TRAIN_LOSS = {"c4_original": "loss_c4_val", "rpj": "loss_paloma_redpajama", "rw_original": "loss_paloma_falcon-refinedweb"}


def train_to_train(y: str, x: str = "fineweb-100b") -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        runs = bs.load_dataset("loss-to-loss")
        own = {c: runs[runs["corpus"] == c][["N", "C", "loss"]] for c in (x, y)}
        return own[x].rename(columns={"loss": "Lx"}).merge(own[y].rename(columns={"loss": "Ly"}), on=["N", "C"])

    return load


def train_to_test(corpus: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        runs = bs.load_dataset("loss-to-loss")
        runs = runs[runs["corpus"] == corpus]
        return pd.DataFrame({"C": runs["C"], "Lx": runs["loss"], "Ly": runs["eval/c4_val/CrossEntropyLoss"]})

    return load


def gadre_train_to_test(dataset: str) -> Callable[[], pd.DataFrame]:
    test = "loss_paloma_falcon-refinedweb" if dataset == "c4_original" else "loss_c4_val"

    def load() -> pd.DataFrame:
        runs = bs.load_dataset("gadre-overtraining")
        runs = runs[runs["dataset"] == dataset]
        return pd.DataFrame({"C": runs["C"], "Lx": runs[GADRE_TRAIN_LOSS[dataset]], "Ly": runs[test]})

    return load


def multipower_curves(size: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        return add_multipower_inputs(multipower(size)(), initial_area=WARMUP_AREA)

    return load


def thinned_cosine(runs: pd.DataFrame) -> pd.Series:
    """Every THIN-th logged step of the cosine curves, from the middle of the first THIN: the first logged step, right
    after warmup, is the one neither law describes (on the 100M curves it holds both laws' largest held-out error in
    every schedule)."""
    return cosine_fitted(runs) & (runs.groupby("schedule").cumcount() % THIN == THIN // 2)


CASES = [
    *(("loss-to-loss", f"loss-to-loss train-to-train fineweb-100b -> {y}", train_to_train(y), most_compute_held_out)
      for y in ("fineweb-edu-100b", "slimpajama-chunk1", "smollm-corpus", "proof-pile-2", "starcoder")),
    *(("loss-to-loss", f"loss-to-loss train-to-test {c} -> c4_val", train_to_test(c), most_compute_held_out)
      for c in ("fineweb-100b", "smollm-corpus", "proof-pile-2", "starcoder")),
    *(("loss-to-loss", f"gadre-overtraining train-to-test {d} -> {'refinedweb' if d == 'c4_original' else 'c4_val'}",
       gadre_train_to_test(d), most_compute_held_out) for d in GADRE_TRAIN_LOSS),
    *((law, f"multipower ({size}), cosine every {THIN}th step", multipower_curves(size), thinned_cosine)
      for size in ("25M", "100M", "400M") for law in ("multi-power", "tissue-annealing")),
]


def run_case(law: str, data: str, load: Callable[[], pd.DataFrame], split: Callable[[pd.DataFrame], pd.Series]) -> tuple[dict, bs.Fit, pd.DataFrame]:
    runs = load()
    fitted = split(runs)
    held_out = runs[~fitted if law == "loss-to-loss" else ~cosine_fitted(runs)]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.SamplingWarning)
        result = bs.fit(law, runs[fitted], random_seed=1, calibrate=False, **SETTINGS.get(law, {}))
    return fit_row(law, data, result, time.perf_counter() - start, runs, fitted, held_out), result, runs


def binning_error(result: bs.Fit, curves: pd.DataFrame) -> pd.DataFrame:
    """Per schedule: the largest change of the multi-power law's mean from the binned to the exact per-step sum."""
    values = result.summary().loc[result.law.param_names, "median"].to_dict()
    rows = []
    for schedule, log in curves.groupby("schedule"):
        binned = result.law.evaluate({**{x: log[x].to_numpy() for x in result.law.input_names}, **values})
        drop = multipower_loss_drop(log["step"], log["lr"], **{k: values[k] for k in ("B", "h", "beta", "gamma")})
        exact = values["L0"] + values["A"] / log["S1"].to_numpy() ** values["alpha"] - drop
        rows.append({"schedule": schedule, "largest loss drop, nats": round(float(drop.max()), 4),
                     "max |binned - exact|, nats": float(f"{np.abs(binned - exact).max():.2g}")})
    return pd.DataFrame(rows)


def main() -> None:
    table, checks = [], []
    for case in CASES:
        row, result, runs = run_case(*case)
        table.append(row)
        if row["law"] == "multi-power":
            checks.append(binning_error(result, runs).assign(size=runs["model_size"].iloc[0]))
    print(pd.DataFrame(table).to_markdown(index=False))
    print()
    print(pd.concat(checks)[["size", "schedule", "largest loss drop, nats", "max |binned - exact|, nats"]].to_markdown(index=False))


if __name__ == "__main__":
    main()
