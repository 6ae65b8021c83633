"""Compute plans from real data: Chinchilla at Gopher's budget (Epoch runs) and Porian et al.'s allocation exponents.

1. ``epoch-chinchilla`` (245 runs, Besiroglu et al. 2024): the Chinchilla law, 4 chains x 1000 draws, planned at
   C = 5.76e23 FLOP: N*, D*, D*/N* and the allocation exponent a = beta / (alpha + beta), 90% central intervals.
2. ``porian`` (15 configurations, Porian et al. 2024): the Chinchilla law with every parameter pooled by
   configuration; a per configuration with 90% and 95% intervals beside the authors' estimate and the 2.5-97.5%
   range of their bootstrap (``compute_optimal_fits.csv``, fits of N_opt = n_coef * C**n_exponent to isoFLOP minima).

Usage: ``BAYESCALE_DATA=../shared/data python benchmarks/plan_real.py [--draws 1000] [--porian-max-excess 0.5]``.
``--porian-max-excess`` drops Porian points whose loss exceeds their isoFLOP minimum by more than this fraction
(small models trained far past their optimum diverge, up to loss 10; the paper fits near the minima only).
"""

import argparse
import time
import warnings

import pandas as pd

import bayescale as bs

GOPHER = 5.76e23
CONFIG = ["dataset", "hparams", "warmup", "decay", "param_count", "val"]


def interval(values: pd.Series, prob: float) -> str:
    lo, hi = values.quantile([(1 - prob) / 2, (1 + prob) / 2])
    return f"[{lo:.4g}, {hi:.4g}]"


def epoch(draws: int, seed: int) -> None:
    start = time.perf_counter()
    fit = bs.fit("chinchilla", bs.load_dataset("epoch-chinchilla"), draws=draws, random_seed=seed, calibrate=False)
    result = bs.plan(fit, flops=GOPHER).summary.loc[GOPHER]
    print(f"\n== epoch-chinchilla: Chinchilla law, {len(fit.runs)} runs, {time.perf_counter() - start:.0f} s; {fit.diagnostics}")
    print(f"plan at C = {GOPHER:.3g} FLOP (median [90% interval]):")
    for quantity, label in [("N", "N* (parameters)"), ("D", "D* (tokens)"), ("tokens_per_param", "D*/N*"), ("a", "a = beta/(alpha+beta)"),
                            ("b", "b = alpha/(alpha+beta)"), ("loss", "L* (nats/token)")]:
        row = result.loc[quantity]
        print(f"  {label:24s} {row['median']:.4g} [{row['lower']:.4g}, {row['upper']:.4g}]")


def porian(draws: int, seed: int, max_excess: float) -> None:
    runs = bs.load_dataset("porian")
    best = runs.groupby(["config", "C"])["loss"].transform("min")
    kept = runs[runs["loss"] <= (1 + max_excess) * best]
    start = time.perf_counter()
    pool = dict.fromkeys(["E", "A", "B", "alpha", "beta"], "config")
    fit = bs.fit("chinchilla", kept[["N", "D", "loss", "config"]], pool=pool, draws=draws, random_seed=seed, calibrate=False)
    print(f"\n== porian: Chinchilla law pooled by configuration, {len(kept)} of {len(runs)} runs "
          f"(loss within {max_excess:.0%} of the isoFLOP minimum), {time.perf_counter() - start:.0f} s; {fit.diagnostics}")
    a = bs.plan(fit, flops=1e19).draws.set_index("config")["a"]  # a does not depend on C for this law
    theirs = pd.read_csv(bs.data_dir() / "porian_resolving" / "compute_optimal_fits.csv")
    theirs.index = theirs[CONFIG].astype(str).agg("/".join, axis=1)
    rows = []
    for config, values in a.groupby(level=0, sort=False):
        row = theirs.loc[config]
        rows.append({
            "configuration": config,
            "a (bayescale)": f"{values.median():.3f}",
            "90% interval": interval(values, 0.9),
            "95% interval": interval(values, 0.95),
            "a (Porian)": f"{row['n_exponent_bs_median_weighted']:.3f}",
            "bootstrap 2.5-97.5%": f"[{row['n_exponent_bootstrap_p2.5']:.4g}, {row['n_exponent_bootstrap_p97.5']:.4g}]",
        })
    print(pd.DataFrame(rows).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--porian-max-excess", type=float, default=0.5)
    args = parser.parse_args()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bs.SamplingWarning)
        epoch(args.draws, args.seed)
        porian(args.draws, args.seed, args.porian_max_excess)
    for warning in caught:
        if issubclass(warning.category, bs.SamplingWarning):
            print(f"warning: {warning.message}")


if __name__ == "__main__":
    main()
