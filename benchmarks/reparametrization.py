"""Level coordinates against the pivot-only parametrization of the Chinchilla law, on real runs.

    BAYESCALE_DATA=../shared/data python benchmarks/reparametrization.py [--seeds 2] [--draws 1000]

The baseline is the same law and posterior written so that the level coordinates do not apply:
``exp(logE) + A / N**alpha + B / D**beta`` with ``logE ~ Normal(0.5, 0.5)``, i.e. ``E ~ LogNormal(0.5, 0.5)``
as in the catalogue (the coefficients are still sampled at the data centre). Printed per data set and
parametrization: wall time (compile included on the first seed), divergences, max R-hat, min bulk ESS,
ESS per second and leapfrog steps per draw, and the posterior median of E and alpha (they must agree).
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import bayescale as bs

CHINCHILLA = bs.get_law("chinchilla")
PIVOT_ONLY = bs.law_from_formula(
    "exp(logE) + A / N**alpha + B / D**beta",
    {"logE": {"dist": "Normal", "mu": 0.5, "sigma": 0.5}, **{p: CHINCHILLA.parameters[p].prior.to_dict() for p in ("A", "B", "alpha", "beta")}},
    name="chinchilla-pivot-only",
)


def misfitting() -> pd.DataFrame:
    runs = bs.load_dataset("misfitting")
    final = runs[runs["portion_steps_elapsed"] >= 1]
    return final.loc[final.groupby(["model", "total_steps"])["loss"].idxmin(), ["N", "D", "loss"]]


CASES = {
    "epoch-chinchilla": (lambda: bs.load_dataset("epoch-chinchilla")[["N", "D", "loss"]], {}),
    "misfitting (81 final runs)": (misfitting, {}),
    "gadre-overtraining, E by dataset": (lambda: bs.load_dataset("gadre-overtraining")[["N", "D", "loss", "dataset"]], {"E": "dataset"}),
    "loss-to-loss, E A B by corpus": (lambda: bs.load_dataset("loss-to-loss")[["N", "D", "loss", "corpus"]], dict.fromkeys("EAB", "corpus")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    for case, (load, pool) in CASES.items():
        runs = load()
        for label, law in [("level coordinates", CHINCHILLA), ("pivot only (baseline)", PIVOT_ONLY)]:
            law_pool = {("logE" if p == "E" and law is PIVOT_ONLY else p): g for p, g in pool.items()}
            for seed in range(args.seeds):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", bs.SamplingWarning)
                    fit = bs.fit(law, runs, pool=law_pool, draws=args.draws, random_seed=seed, calibrate=False)
                wall = time.perf_counter() - start
                d, post = fit.diagnostics, fit.idata.posterior
                e = post["E"] if "E" in post else __import__("numpy").exp(post["logE"])
                rows.append({
                    "data": case, "parametrization": label, "seed": seed, "wall s": round(wall, 1),
                    "sample s": round(fit.timings["sample_s"], 1), "divergences": d.divergences, "max R-hat": round(d.max_rhat, 4),
                    "min ESS bulk": int(d.min_ess_bulk), "ESS/s": round(d.min_ess_bulk / fit.timings["sample_s"], 1),
                    "steps/draw": round(float(fit.idata.sample_stats["n_steps"].mean()), 1),
                    "E median": round(float(e.median()), 3), "alpha median": round(float(post["alpha"].median()), 4),
                })
                print(rows[-1], flush=True)
    pd.set_option("display.width", 250, "display.max_columns", 20)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
