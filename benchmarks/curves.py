"""Whole training curves: independent checkpoints against a per-run random effect, on real multi-run curves.

Each study's runs are fitted on their checkpoints up to 80% of each run's tokens (less the first 10%, the warm-up
rule of ``curves=``); the last 20% are held out. Printed side by side for the i.i.d. model and the per-run model,
both with the plain posterior (parameters and noise) and, for the T5 logs, calibrated (the law's error learned from
rolling-origin refits): 90% and 50% coverage of the held-out checkpoints, pooled and per run, median 90% width and
median absolute error, the sampling diagnostics; and for T5 the forecast of an 11B model at 2M steps (2e12 tokens).

Studies: the T5 TensorBoard logs of ``training_logs/`` (3 sizes), the Gemstones curves (22 runs of 50M-2B
parameters, every 4th checkpoint), the Chinchilla law with Normal noise on the log loss.

    python benchmarks/curves.py            # both studies, about 15 minutes on 2 cores
    python benchmarks/curves.py --quick    # 300 draws per chain
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

import bayescale as bs

T5_METRIC = "training_eval/pile_r_denoiser/cross_ent_loss_per_all_target_tokens"
T5_SIZES = {"base": 247_586_304, "large": 783_173_632, "xl": 2_849_804_288}  # training_logs/PROVENANCE.md


def t5() -> pd.DataFrame:
    with warnings.catch_warnings(action="ignore", category=bs.DataWarning):
        logs = bs.read_runs(bs.data_dir() / "training_logs/t5_pile", metric=T5_METRIC, tokens_per_step=1e6,
                            meta={run: {"N": n} for run, n in T5_SIZES.items()})
    return bs.logs.checkpoints(logs, bs.get_law("chinchilla"), T5_METRIC)[["run", "step", "N", "D", "loss"]]


def gemstones() -> pd.DataFrame:
    curves = bs.load_dataset("gemstones")
    curves = curves[curves.groupby("run").cumcount() % 4 == 3]
    return curves[["run", "step", "N", "D", "loss"]].reset_index(drop=True)


def late(points: pd.DataFrame) -> pd.Series:
    return points["D"] >= 0.8 * points.groupby("run")["D"].transform("max")


def scores(fit: bs.Fit, held: pd.DataFrame, extrapolation: bool) -> dict:
    y = held["loss"].to_numpy()
    with warnings.catch_warnings(action="ignore", category=bs.ExtrapolationWarning):
        p90 = fit.predict(held, random_seed=2, extrapolation=extrapolation)
        p50 = fit.predict(held, ci_prob=0.5, random_seed=2, extrapolation=extrapolation)
    inside = (y >= p90["lower"].to_numpy()) & (y <= p90["upper"].to_numpy())
    per_run = pd.Series(inside).groupby(held["run"].to_numpy()).mean()
    return {
        "cov90": inside.mean(),
        "cov50": ((y >= p50["lower"].to_numpy()) & (y <= p50["upper"].to_numpy())).mean(),
        "runs covered >= 90%": f"{int((per_run >= 0.9).sum())}/{len(per_run)}",
        "worst run": per_run.min(),
        "width90 %": 100 * ((p90["upper"] - p90["lower"]) / p90["median"]).median(),
        "|error| %": 100 * np.median(np.abs(p90["median"].to_numpy() - y) / y),
    }


def compare(name: str, points: pd.DataFrame, draws: int, calibrate: bool) -> pd.DataFrame:
    train, held = points[~late(points)], points[late(points)]
    per_run = bs.fit("chinchilla", train, curves="run", likelihood="normal", draws=draws, random_seed=1, calibrate=calibrate)
    iid = bs.fit("chinchilla", per_run.runs, likelihood="normal", draws=draws, random_seed=1, calibrate=calibrate)
    rows = []
    for model, fit in [("independent checkpoints", iid), ("per-run effect", per_run)]:
        d = fit.diagnostics
        sampling = f"{d.divergences} div, R-hat {d.max_rhat:.3f}, ESS {d.min_ess_bulk:.0f}, {fit.timings['total_s']:.0f} s"
        for extrapolation in [False] + ([True] if calibrate else []):
            rows.append({"study": name, "model": model, "intervals": "calibrated" if extrapolation else "plain posterior",
                         **scores(fit, held, extrapolation), "sampling": sampling})
    if name == "T5":
        with warnings.catch_warnings(action="ignore", category=bs.ExtrapolationWarning):
            for model, fit in [("independent checkpoints", iid), ("per-run effect", per_run)]:
                p = fit.predict(pd.DataFrame({"N": [11e9], "D": [2e12]}), random_seed=3)
                print(f"T5, {model}: 11B at 2M steps (2e12 tokens): {p['median'][0]:.4f} [{p['lower'][0]:.4f}, {p['upper'][0]:.4f}] "
                      f"(law mean {p['mean_median'][0]:.4f} [{p['mean_lower'][0]:.4f}, {p['mean_upper'][0]:.4f}]); run_sd "
                      + (f"{per_run.summary().loc['run_sd', 'median']:.4f}" if fit is per_run else "-"))
    print(f"{name}: {train['run'].nunique()} runs, {len(per_run.runs)} fitted checkpoints, {len(held)} held out")
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 draws per chain")
    args = parser.parse_args()
    draws = 300 if args.quick else 1000
    table = pd.concat([compare("T5", t5(), draws, calibrate=True), compare("Gemstones", gemstones(), draws, calibrate=False)])
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.set_index(["study", "model", "intervals"]).round(3))


if __name__ == "__main__":
    main()
