"""Many fits on more workers: the same rolling-origin refits run sequentially, on local worker processes and on a
Dask LocalCluster, in one run; then a sweep of every catalogue law that fits the Epoch or Gadre runs.

The refits are backtests of three laws (chinchilla, kaplan, powerlaw-n) on two studies (epoch-chinchilla,
gadre-overtraining), one refit per rolling origin at ``ORIGINS``, 4 chains of 1000 draws each. Each configuration
runs in a fresh Python process (imports, compilation from the disk caches, sampling, scoring: what a user waits
for), and each checks that its records equal the sequential ones. Two sequential baselines: with the default
sampler threads (chains in parallel on the cores there are) and with one thread, the work of one worker; the
efficiency is the refits' speed-up over the one-thread run divided by the workers (the prologue of imports and
data, the same for every configuration, is reported in the whole-process column). Every configuration runs
``--repeats`` times, interleaved, and the medians are reported (this machine is noisy: one round's efficiency of the
same configuration varied from 0.65 to 0.90). Run it twice: the first run of a new machine fills the workers' compile
directories.

    python benchmarks/many_fits.py [--workers 2] [--repeats 2] [--no-sweep]
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LAWS = ("chinchilla", "kaplan", "powerlaw-n")
STUDIES = ("epoch-chinchilla", "gadre-overtraining")
ORIGINS = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)


def jobs():
    """The refits: every law on every study at every rolling origin, as executor jobs."""
    from functools import partial

    import bayescale as bs
    from bayescale.calibration import backtest_record
    from bayescale.fit import model_spec
    from bayescale.scales import default_by
    from bayescale.validation import RollingOrigins, refit_jobs

    out = []
    for study in STUDIES:
        for law in LAWS:
            spec = model_spec(law)
            runs = spec.prepare_runs(bs.load_dataset(study))
            by = default_by(spec.law.input_names)
            splits = RollingOrigins(ORIGINS, by, min_runs=12).splits(runs, spec.law.input_names)
            out += refit_jobs(spec, runs, splits, partial(backtest_record, by=by), {"draws": 1000}, random_seed=0, study=study)
    return out


def configuration(name: str, workers: int, result: Path) -> None:
    """Run the refits one way (in this fresh process) and pickle their records and wall time to ``result``."""
    start = time.perf_counter()
    from bayescale.executors import run_all

    todo = jobs()
    section = time.perf_counter()  # the refits from here on: the executor's start (processes, a cluster) included
    if name == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            results = run_all(todo, client)
    else:
        results = run_all(todo, workers if name == "processes" else None)
    records = [(r.split.label, r.score) for r in results]
    diagnostics = [(r.fit.diagnostics.divergences, r.fit.diagnostics.max_rhat) for r in results]
    timings = {k: sum(r.fit.timings[k] for r in results) for k in ("compile_s", "sample_s", "total_s")}
    now = time.perf_counter()
    result.write_bytes(pickle.dumps({"seconds": now - start, "refits_s": now - section, "records": records, "diagnostics": diagnostics,
                                     "timings": timings}))


def equal(a, b) -> bool:
    """Whether two records are the same to the last bit (arrays by value, NaN equal to NaN)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind == "f"))


def measure(name: str, workers: int, threads: str | None) -> dict:
    env = dict(os.environ)
    env.pop("BAYESCALE_SAMPLER_THREADS", None)
    if threads:
        env["BAYESCALE_SAMPLER_THREADS"] = threads
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.pkl"
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--run", name, "--workers", str(workers), "--result", str(result)], env=env, check=True)
        wall = time.perf_counter() - start
        print(f"{name} (workers {workers}, sampler threads {threads or 'default'}): {wall:.1f} s", file=sys.stderr, flush=True)
        return {**pickle.loads(result.read_bytes()), "wall": wall}


def sweep_table(workers: int) -> None:
    import bayescale as bs

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        table = bs.sweep(None, list(STUDIES), out, holdout=0.2, executor=workers)
        seconds = time.perf_counter() - start
    shown = ["law", "study", "status", "divergences", "max_rhat", "min_ess_bulk", "elpd_loo", "coverage_90", "median_rel_error", "seconds"]
    print(f"\nsweep: every catalogue law whose inputs the runs have, on {', '.join(STUDIES)}, leave-largest-20%-out, {workers} local workers: "
          f"{len(table)} fits in {seconds:.0f} s\n")
    print(table[[c for c in shown if c in table]].to_markdown(index=False, floatfmt=".4g"))
    failed = table[table["status"] == "failed"]
    for _, row in failed.iterrows():
        print(f"failed: {row['law']} on {row['study']}: {row['error']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every configuration, interleaved (medians reported)")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        return configuration(args.run, args.workers, args.result)
    w = args.workers
    configurations = {  # label: (configuration, workers, sampler threads)
        "sequential, chains in parallel (default)": ("sequential", 1, None),
        "sequential, one thread (one worker's work)": ("sequential", 1, "1"),
        f"{w} local worker processes": ("processes", w, None),
        f"Dask LocalCluster, {w} workers": ("dask", w, None),
    }
    rounds = [{label: measure(*c) for label, c in configurations.items()} for _ in range(args.repeats)]
    base, default = "sequential, one thread (one worker's work)", "sequential, chains in parallel (default)"
    print(f"{len(rounds[0][base]['records'])} refits: {', '.join(LAWS)} on {', '.join(STUDIES)}, rolling origins {ORIGINS[0]}–{ORIGINS[-1]}, "
          f"4 chains × 1000 draws; {os.cpu_count()} cores; {args.repeats} rounds of every configuration, interleaved\n")
    print("Whole process: Python's start, imports, data, the jobs and the refits. Refits: from the executor's start (worker")
    print("processes or a LocalCluster started, models compiled there) to the last result; the efficiency is of the refits,")
    print("against the one-thread run of the same round (median, then each round's). The last column sums each refit's own")
    print("timings (wherever it ran): what is left of the refits' wall time times the workers is the executor's (imports in")
    print("new processes, transfers, idle workers).\n")
    print("| configuration | whole process s | refits s | speed-up over one thread | efficiency (each round) | speed-up over the default | "
          "whole-process speed-up over one thread | records equal the sequential ones | summed over the refits: compile (or load) s, sampling s, fit s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, (_, workers, _) in configurations.items():
        runs = [r[label] for r in rounds]
        speed_ups = [r[base]["refits_s"] / r[label]["refits_s"] for r in rounds]
        efficiencies = ", ".join(f"{x / workers:.2f}" for x in speed_ups)
        same = all(equal(run["records"], rounds[0][base]["records"]) and equal(run["diagnostics"], rounds[0][base]["diagnostics"]) for run in runs)
        median = {k: np.median([run[k] for run in runs]) for k in ("wall", "refits_s")}
        timings = {k: np.median([run["timings"][k] for run in runs]) for k in ("compile_s", "sample_s", "total_s")}
        print(f"| {label} | {median['wall']:.1f} | {median['refits_s']:.1f} | {np.median(speed_ups):.2f} | {np.median(speed_ups) / workers:.2f} "
              f"({efficiencies}) | {np.median([r[default]['refits_s'] / r[label]['refits_s'] for r in rounds]):.2f} | "
              f"{np.median([r[base]['wall'] / r[label]['wall'] for r in rounds]):.2f} | {same} | "
              f"{timings['compile_s']:.1f}, {timings['sample_s']:.1f}, {timings['total_s']:.1f} |")
    diagnostics = rounds[0][base]["diagnostics"]
    print(f"\nrefits' divergences: {sum(d for d, _ in diagnostics)}; largest R-hat {max(r for _, r in diagnostics):.4f}")
    if not args.no_sweep:
        sweep_table(w)


if __name__ == "__main__":
    main()
