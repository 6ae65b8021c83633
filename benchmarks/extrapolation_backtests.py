"""Calibrated extrapolation on five public studies: backtests of the plain and the calibrated predictive.

    BAYESCALE_DATA=../shared/data python benchmarks/extrapolation_backtests.py [--studies epoch-chinchilla ...] [--out DIR]

Each study is refitted with the Chinchilla law on the runs below each fold's compute threshold (folds
chosen so that the held-out runs reach at least 10x the largest fitted compute), the extrapolation
error is learned inside each fold only, and every held-out run is predicted with the plain posterior
and with the learned error. Printed: per study and pooled over all held-out runs (and with each study
weighted equally) the coverage of 50% / 90% intervals, median 90% width relative to the prediction,
median relative error, CRPS and elpd; coverage by distance; sampling diagnostics of every fold; wall
time. A calibration plot per study and the per-run table are written to ``--out``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

import bayescale as bs

ALL_FIVE = ["E", "A", "B", "alpha", "beta"]


def epoch() -> pd.DataFrame:
    return bs.load_dataset("epoch-chinchilla")[["N", "D", "loss"]]


def loss_to_loss() -> pd.DataFrame:
    return bs.load_dataset("loss-to-loss")[["N", "D", "loss", "corpus"]]


def gadre() -> pd.DataFrame:
    return bs.load_dataset("gadre-overtraining")[["N", "D", "loss", "dataset"]]


def porian(max_excess: float = 0.5) -> pd.DataFrame:
    """Points within ``max_excess`` of their isoFLOP minimum (the paper fits near the minima; far-off small models diverge)."""
    runs = bs.load_dataset("porian")
    best = runs.groupby(["config", "C"])["loss"].transform("min")
    return runs[runs["loss"] <= (1 + max_excess) * best][["N", "D", "loss", "config"]]


def misfitting() -> pd.DataFrame:
    """Final checkpoints, the best peak learning rate per (model, step budget): one L(N, D) point each."""
    runs = bs.load_dataset("misfitting")
    final = runs[runs["portion_steps_elapsed"] >= 1]
    return final.loc[final.groupby(["model", "total_steps"])["loss"].idxmin(), ["N", "D", "loss"]]


STUDIES = {
    # name: (runs, pooling, compute thresholds)
    "epoch-chinchilla": (epoch, {}, [1e20, 3e20, 1e21]),
    "loss-to-loss": (loss_to_loss, {"E": "corpus", "A": "corpus", "B": "corpus"}, [2.1e18, 4.6e18]),
    "gadre-overtraining": (gadre, {"E": "dataset"}, [2.1e19, 4.1e19]),
    "porian": (porian, dict.fromkeys(ALL_FIVE, "config"), [8e17, 1.6e18]),
    "misfitting": (misfitting, {}, [5e18, 1.4e19]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="+", default=list(STUDIES), choices=list(STUDIES))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("bayescale-reports/backtests"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pd.set_option("display.width", 250, "display.max_columns", 30, "display.precision", 4)
    parts, fits, thresholds_all = [], [], []
    for name in args.studies:
        load, pool, thresholds = STUDIES[name]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bs.ExtrapolationWarning)
            result = bs.backtest("chinchilla", load(), pool=pool, thresholds=thresholds, draws=args.draws, random_seed=0)
        wall = time.perf_counter() - start
        print(f"\n== {name}: {len(result.runs) // 2} held-out runs over {len(thresholds)} folds, {wall:.0f} s")
        for fold, fitted in enumerate(result.fits):
            print(f"  fold {fold} (C <= {thresholds[fold]:.3g}, {len(fitted.runs)} runs): {fitted.diagnostics}; "
                  f"{fitted.calibration or 'no calibration'}")
        print(result.summary().to_string())
        print(result.by_distance()[["n", "coverage_50", "coverage_90", "width_90", "median_rel_error"]].to_string())
        result.plot(args.out / f"{name}.png")
        parts.append(result.runs.assign(study=name))
        fits += result.fits
        thresholds_all += thresholds
    pooled = bs.Backtest("chinchilla", "C", thresholds_all, pd.concat(parts, ignore_index=True), fits)
    runs = pooled.runs
    runs.to_csv(args.out / "held_out_runs.csv", index=False)
    pooled.plot(args.out / "pooled.png")
    print("\n== pooled over all held-out runs")
    print(pooled.summary().to_string())
    print(pooled.by_distance()[["n", "coverage_50", "coverage_90", "width_90", "median_rel_error"]].to_string())
    per_study = runs.groupby(["method", "study"], sort=False)[["inside_50", "inside_90"]].mean()
    print("\n== each study weighted equally\n" + per_study.groupby("method", sort=False).mean().to_string())


if __name__ == "__main__":
    main()
