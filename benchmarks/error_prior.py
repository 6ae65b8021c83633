"""The law's error across the public studies: build the backtest bank, check the error prior leaving one study out,
and (``--write``) rebuild the shipped prior file.

    BAYESCALE_DATA=../shared/data python benchmarks/error_prior.py [--settings NAME ...] [--records DIR] [--write]

Each study setting of :data:`bayescale.literature.SETTINGS` is refitted at the rolling origins
:data:`~bayescale.literature.BANK_ORIGINS` (records cached in ``--records``, so an interrupted run resumes); refits
with divergences or R-hat above ``--max-rhat`` are left out (listed). For each candidate growth shape
(distance unit × power) every study's later runs are scored leaving that study out of the prior: the plain
posterior, the half-normal prior (the package's earlier calibration) and the literature prior, each updated by the
study's own earlier origins. Printed: pooled and per-study coverage of 50/90% intervals, median 90% width, CRPS and
log score by distance bin. The candidate with the best mean log score under the literature prior is kept;
``--write`` learns it from all studies and writes ``bayescale/priors/extrapolation_error.json``.
"""

from __future__ import annotations

import argparse
import datetime
import time
import warnings
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

import bayescale as bs
from bayescale import literature
from bayescale.error_prior import PRIOR_FILE, learn_prior

CANDIDATES = [("spans", 1.0, "lognormal"), ("decades", 1.0, "lognormal"), ("decades", 1.5, "lognormal"), ("decades", 1.5, "halfnormal"),
              ("spans", 1.0, "halfnormal")]  # (distance unit, growth power, population family)


def bank(names: list[str], folder: Path, seed: int, max_rhat: float, executor=None) -> dict[str, literature.Study]:
    folder.mkdir(parents=True, exist_ok=True)
    studies = {}
    for name in names:
        setting, path = literature.SETTINGS[name], folder / f"{name}.npz"
        if not path.exists():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                records = literature.setting_records(setting, random_seed=seed, executor=executor)
            literature.save_records(records, setting.likelihood, path)
            print(f"{name}: {len(records)} refits in {time.perf_counter() - start:.0f} s", flush=True)
        records, likelihood = literature.load_records(path)
        clean = [r for r in records if r["divergences"] == 0 and r["max_rhat"] <= max_rhat]
        for r in records:
            if r["divergences"] or r["max_rhat"] > max_rhat:
                print(f"  {name}: origin at {r['threshold']:.3g} left out ({r['divergences']} divergences, R-hat {r['max_rhat']:.3f})")
        if clean:
            studies[name] = literature.Study(name, clean, likelihood)
    return studies


def figure(scores: pd.DataFrame) -> Figure:
    """Coverage of 90% intervals and median 90% width by distance bin, per method."""
    table = literature.summarize(scores, "bin")
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    labels = table.index.astype(str)
    for method in literature.METHODS:
        left.plot(labels, table[(method, "coverage_90")], "o-", label=method)
        right.plot(labels, 100 * table[(method, "median_width_90")], "o-", label=method)
    left.axhline(0.9, color="k", ls="--", lw=0.8)
    left.set(xlabel="held-out run / largest fitted (compute or input)", ylabel="coverage of 90% intervals", ylim=(0, 1.02),
             title=f"{scores['study'].nunique()} public studies, each left out of the prior")
    right.set(xlabel="held-out run / largest fitted (compute or input)", ylabel="median 90% width, % of the loss", yscale="log",
              title="interval width")
    left.legend()
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=list(literature.SETTINGS), choices=list(literature.SETTINGS))
    parser.add_argument("--records", type=Path, default=Path("bayescale-reports/error-prior"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rhat", type=float, default=1.05)
    parser.add_argument("--candidates", nargs="+", default=[f"{u}:{g:g}:{f}" for u, g, f in CANDIDATES],
                        help="UNIT:POWER:FAMILY candidates to compare")
    parser.add_argument("--bank-only", action="store_true", help="build the record bank and stop")
    parser.add_argument("--write", action="store_true", help=f"write the learned prior to {PRIOR_FILE}")
    parser.add_argument("--figure", type=Path, help="write the coverage-by-distance figure here (replaces the file)")
    parser.add_argument("--workers", type=int, help="refit the bank's origins in this many local worker processes")
    parser.add_argument("--scheduler", help="refit the bank's origins on the Dask scheduler at this address")
    args = parser.parse_args()
    pd.set_option("display.width", 250, "display.max_columns", 40, "display.precision", 3)
    studies = bank(args.settings, args.records, args.seed, args.max_rhat, args.scheduler or args.workers)
    runs = {name: sum(len(r["d"]) for r in s.records) for name, s in studies.items()}
    print(f"\n{len(studies)} study settings, {sum(len(s.records) for s in studies.values())} origins, {sum(runs.values())} scored runs: {runs}")
    if args.bank_only:
        return
    results = {}
    for unit, growth, family in [(u, float(g), f) for u, g, f in (c.split(":") for c in args.candidates)]:
        scores = literature.leave_one_study_out(studies, unit, growth, args.seed, family)
        scores["bin"] = literature.ratio_bins(scores["ratio"])
        results[(unit, growth, family)] = scores
        print(f"\n== candidate: distance in {unit}, growth power {growth:g}, {family} population:")
        means = scores.groupby("method")[["log_score", "crps", "inside_90", "rel_width_90"]].agg(["mean", "median"])
        print(means.to_string())
    best = max(results, key=lambda c: results[c].query("method == 'literature'")["log_score"].mean())
    scores = results[best]
    print(f"\n== kept: distance in {best[0]}, growth power {best[1]:g}, {best[2]} population")
    print("\npooled, by distance beyond the fitted runs (multiples of the largest fitted compute or input):")
    print(literature.summarize(scores, "bin").to_string())
    print("\nper study (all distances):")
    print(literature.summarize(scores, "study").to_string())
    print("\nper study, runs at least 10x beyond:")
    print(literature.summarize(scores[scores["ratio"] >= 10], "study").to_string())
    if args.figure:
        figure(scores).savefig(args.figure, dpi=110)
        print(f"wrote {args.figure}")
    if args.write:
        grids = {name: literature.study_grid(s, best[0], best[1]) for name, s in studies.items()}
        provenance = {
            "script": "benchmarks/error_prior.py --write", "date": datetime.date.today().isoformat(), "bayescale": bs.__version__,
            "origins": list(literature.BANK_ORIGINS), "seed": args.seed, "max_rhat": args.max_rhat,
            "records": {name: len(s.records) for name, s in studies.items()}, "scored_runs": runs,
            "settings": {name: {"dataset": literature.SETTINGS[name].dataset, "law": literature.SETTINGS[name].law,
                                "pool": literature.SETTINGS[name].pool,
                                "source": {k: bs.load_dataset(literature.SETTINGS[name].dataset).attrs["provenance"][k] for k in ("repository", "commit")}}
                         for name in studies},
        }
        prior = learn_prior(grids, best[0], best[1], provenance, best[2])
        prior.save(PRIOR_FILE)
        print(f"\nwrote {PRIOR_FILE}: {prior.describe()}")


if __name__ == "__main__":
    main()
