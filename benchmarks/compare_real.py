"""Compare laws on the real studies: PSIS-LOO and leave-largest-out extrapolation, side by side.

    BAYESCALE_DATA=../shared/data python benchmarks/compare_real.py [--draws 1000] [--report-dir DIR]

For each study: fit each law (pooled by the study's group where it has one), print the LOO table,
the extrapolation table (refit on runs below the 80% quantile of compute, score the rest) and the
coverage of the held-out largest runs; write one HTML report per study.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

import bayescale as bs

STUDIES = {
    "epoch-chinchilla": {"chinchilla": {}, "kaplan": {}, "powerlaw-compute": {}},
    "loss-to-loss": {
        "chinchilla": {"E": "corpus"},
        "kaplan": {"D_c": "corpus"},
        "powerlaw-compute": {"E": "corpus"},
    },
    "gadre-overtraining": {
        "chinchilla": {"E": "dataset"},
        "kaplan": {"D_c": "dataset"},
        "powerlaw-compute": {"E": "dataset"},
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--report-dir", type=Path, default=Path("bayescale-reports"))
    args = parser.parse_args()
    args.report_dir.mkdir(exist_ok=True)
    pd.set_option("display.width", 250, "display.max_columns", 30, "display.precision", 4)
    for study, laws in STUDIES.items():
        runs = bs.load_dataset(study)
        fits = {}
        for name, pool in laws.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", bs.SamplingWarning)  # printed below
                fits[name] = bs.fit(name, runs, pool=pool, draws=args.draws, random_seed=1, calibrate=False)
            print(f"{study} / {name} (pool {pool or 'none'}): {time.perf_counter() - start:.1f} s; {fits[name].diagnostics}")
        start = time.perf_counter()
        print(f"\n{study}: PSIS-LOO\n{bs.compare(fits).to_string()}")
        ext = bs.validate_extrapolation(fits, by="C", holdout=args.holdout)
        print(f"\n{study}: extrapolation, refit on C <= {ext.threshold:.3g}\n{ext.table.to_string()}\n{ext.verdict()}")
        path = bs.report(fits, args.report_dir / f"{study}.html", overwrite=True, extrapolation=ext)
        print(f"{study}: comparison + report {time.perf_counter() - start:.1f} s -> {path}\n")


if __name__ == "__main__":
    main()
