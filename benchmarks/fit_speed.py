"""Time bayescale's Chinchilla fit against the classic Huber + L-BFGS + bootstrap recipe.

One process, the 245 Epoch Chinchilla runs, 4 chains x 1000 draws, in order:

1. bayescale with nutpie, first fit in the process (includes the nutpie compile;
   the on-disk PyTensor/numba caches are used as found), plus the import time of
   bayescale, measured in this process before anything else imports numpy;
2. ``--repeats`` nutpie refits with new seeds (the compiled model is reused), and
   one refit on a 200-run subset (new data through the same compile);
3. bayescale with PyMC's own NUTS: first fit and one refit;
4. the classic recipe of ``classic_baseline.py``: 4,500-start grid fit plus
   ``--n-boot`` bootstrap refits, and the speed-ups baseline / bayescale.

Prints an aligned table, the load average before and after (timings are noisy on
a shared machine) and every warning raised during the fits, then a JSON of all
numbers to stdout or to ``--json PATH``.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

COLUMNS = ["import_s", "compile_s", "sample_s", "loglik_s", "wall_s", "min_ess_bulk",
           "ess_bulk_per_s", "steps_per_draw", "divergences", "max_rhat"]
HEADERS = ["import s", "compile s", "sample s", "loglik s", "wall s", "min ESS_bulk",
           "ESS_bulk/s", "steps/draw", "div", "max R-hat"]


def timed_fit(bs, runs, sampler, seed):
    """Fit the Chinchilla law; return its timings, diagnostics and the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        fit = bs.fit("chinchilla", runs, sampler=sampler, chains=4, draws=1000, random_seed=seed, calibrate=False)
        wall = time.perf_counter() - start
    diag, stats = fit.diagnostics, fit.idata.sample_stats
    return {
        "sampler": sampler,
        "seed": seed,
        "n_runs": len(runs),
        **fit.timings,
        "wall_s": wall,
        "min_ess_bulk": diag.min_ess_bulk,
        "min_ess_tail": diag.min_ess_tail,
        "ess_bulk_per_s": diag.min_ess_bulk / fit.timings["sample_s"],
        "steps_per_draw": float(stats["n_steps"].mean()) if "n_steps" in stats else math.nan,
        "divergences": diag.divergences,
        "max_rhat": diag.max_rhat,
        "ok": diag.ok,
        "warnings": sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}),
    }


def median_row(rows):
    """Per-column median of ``rows``, with the range of wall time as ``wall_range``."""
    out = {c: statistics.median(r[c] for r in rows) for c in COLUMNS if c in rows[0]}
    walls = [r["wall_s"] for r in rows]
    return {**out, "wall_range": (min(walls), max(walls))}


def fmt(row, column):
    """One table cell: blank when missing or NaN, the wall range when there is one."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "wall_s" and "wall_range" in row:
        low, high = row["wall_range"]
        return f"{value:.2f} [{low:.2f}-{high:.2f}]"
    if column in ("min_ess_bulk", "ess_bulk_per_s", "divergences"):
        return f"{value:.0f}"
    if column == "max_rhat":
        return f"{value:.4f}"
    if column == "steps_per_draw":
        return f"{value:.1f}"
    return f"{value:.2f}"


def print_table(rows):
    """Print ``(label, row)`` pairs as a plain aligned table."""
    cells = [["configuration", *HEADERS]] + [[label, *(fmt(row, c) for c in COLUMNS)] for label, row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    for n, line in enumerate(cells):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def json_safe(obj):
    """Replace NaN by None (and tuples by lists) so the dump is strict JSON."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def main():
    """Run the four timings, print the table and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=4000, help="bootstrap refits of the baseline")
    parser.add_argument("--repeats", type=int, default=3, help="nutpie refits with new seeds")
    parser.add_argument("--skip-baseline", action="store_true", help="time bayescale only")
    parser.add_argument("--json", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args()
    load_before = os.getloadavg()

    start = time.perf_counter()
    import bayescale as bs
    import_s = time.perf_counter() - start

    runs = bs.load_dataset("epoch-chinchilla")
    subset = runs.sample(200, random_state=0)
    cold = {"import_s": import_s, **timed_fit(bs, runs, "nutpie", seed=0)}
    refits = [timed_fit(bs, runs, "nutpie", seed=s) for s in range(1, args.repeats + 1)]
    refit_subset = timed_fit(bs, subset, "nutpie", seed=args.repeats + 1)
    pymc_first = timed_fit(bs, runs, "pymc", seed=0)
    pymc_refit = timed_fit(bs, runs, "pymc", seed=1)
    table = [
        (f"nutpie first fit, {len(runs)} runs (cold)", cold),
        (f"nutpie refit, {len(runs)} runs (median of {args.repeats})", median_row(refits)),
        (f"nutpie refit, {len(subset)}-run subset", refit_subset),
        (f"pymc first fit, {len(runs)} runs", pymc_first),
        (f"pymc refit, {len(runs)} runs", pymc_refit),
    ]
    result = {"n_runs": len(runs), "nutpie_cold": cold, "nutpie_refits": refits,
              "nutpie_refit_subset": refit_subset, "pymc_first": pymc_first, "pymc_refit": pymc_refit}

    if not args.skip_baseline:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from classic_baseline import bootstrap, huber_grid_fit

        N, D, loss = (runs[c].to_numpy(float) for c in ("N", "D", "loss"))
        grid = huber_grid_fit(N, D, loss)
        start = time.perf_counter()
        bootstrap(N, D, loss, grid, n_boot=args.n_boot, seed=0)
        boot_s = time.perf_counter() - start
        total = grid["seconds"] + boot_s
        result["baseline"] = {"grid_s": grid["seconds"], "n_starts": grid["n_starts"],
                              "bootstrap_s": boot_s, "n_boot": args.n_boot, "total_s": total}
        result["speedup"] = {
            "cold_import_plus_first_fit": total / (cold["import_s"] + cold["wall_s"]),
            "warm_refit_median": total / median_row(refits)["wall_s"],
        }
        table += [
            (f"baseline grid fit ({grid['n_starts']} starts)", {"wall_s": grid["seconds"]}),
            (f"baseline bootstrap ({args.n_boot} refits)", {"wall_s": boot_s}),
            ("baseline total (grid + bootstrap)", {"wall_s": total}),
        ]
    result["load_avg_before_after"] = [load_before, os.getloadavg()]

    print_table(table)
    if "speedup" in result:
        print(f"\nspeed-up baseline total / bayescale: cold (import + first fit) "
              f"{result['speedup']['cold_import_plus_first_fit']:.1f}x, "
              f"warm refit (median) {result['speedup']['warm_refit_median']:.1f}x")
    print("wall s = bs.fit call (data prep, build, compile, sampling, loglik, diagnostics); "
          "ESS_bulk/s = min ESS_bulk / sample s")
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f}"
          .format(*result["load_avg_before_after"][0], *result["load_avg_before_after"][1]))
    fits = [cold, *refits, refit_subset, pymc_first, pymc_refit]
    for w in sorted({w for f in fits for w in f["warnings"]}):
        print("warning during fits:", w)

    dump = json.dumps(json_safe(result), indent=2)
    if args.json:
        args.json.write_text(dump + "\n")
    else:
        print(dump)


if __name__ == "__main__":
    main()
