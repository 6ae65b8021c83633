"""A user's first fit in a new process: this checkout against a baseline checkout, with and without a warm cache.

The Chinchilla law on the 245 Epoch runs, 4 chains x 1000 draws, each probe a fresh Python process (import, build,
compile, sample), in this order for each checkout: a fit with an empty compile cache (a new
``base_compiledir``), ``--repeats`` fits with that cache warm, and in the last of them ``--refits`` refits of the
compiled model. The probes alternate between the checkouts so that machine load hits both alike. Also times
the classic point fit (Huber loss, L-BFGS from a 4,500-start grid) with ``--n-boot`` warm-started bootstrap
refits, in the same run. simple-scaling-laws needs Python >= 3.12, which this machine lacks: its row says so.
Draws of the same seed are compared between the empty-cache and warm-cache fits (they must be equal).

    git worktree add /tmp/base <commit>
    python benchmarks/cold_fit.py --baseline /tmp/base --repeats 2
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys, time
start = time.perf_counter()
import numpy as np
import bayescale as bs
imported = time.perf_counter()
runs = bs.load_dataset("epoch-chinchilla")
fits = []
for seed in [1] + list(range(2, 2 + int(sys.argv[2]))):
    t = time.perf_counter()
    fit = bs.fit("chinchilla", runs, chains=4, draws=1000, random_seed=seed, calibrate=False)
    fits.append({"wall_s": time.perf_counter() - t, **fit.timings, "divergences": fit.diagnostics.divergences,
                 "max_rhat": fit.diagnostics.max_rhat, "min_ess_bulk": fit.diagnostics.min_ess_bulk})
    if seed == 1:
        np.save(sys.argv[1], fit.idata.posterior["alpha"].values)
print(json.dumps({"import_s": imported - start, "process_s": time.perf_counter() - start, "fits": fits}))
"""


def probe(checkout: Path, cache: Path, draws_file: Path, refits: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTENSOR_FLAGS": f"base_compiledir={cache}"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(draws_file), str(refits)], env=env, capture_output=True,
                         text=True, cwd=checkout)
    if out.returncode:
        raise SystemExit(f"{checkout}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def classic(n_boot: int) -> float:
    """Wall time of ``classic_baseline.py`` in a new process (its grid fit twice, once without 5 outliers, and the
    bootstrap): the recipe users run today."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(HERE / "benchmarks" / "classic_baseline.py"), "--n-boot", str(n_boot)],
                         capture_output=True, text=True, cwd=HERE)
    return time.perf_counter() - start if out.returncode == 0 else float("nan")


def row(label, first):
    fit = first["fits"][0]
    return (f"{label:<34} {first['process_s']:>9.1f} {first['import_s']:>8.1f} {fit['compile_s']:>9.2f} "
            f"{fit['sample_s']:>8.2f} {fit['wall_s']:>7.2f} {fit['min_ess_bulk'] / fit['sample_s']:>8.0f} "
            f"{fit['divergences']:>4d} {fit['max_rhat']:>7.4f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout of the repository")
    parser.add_argument("--repeats", type=int, default=2, help="warm-cache processes per checkout")
    parser.add_argument("--refits", type=int, default=3, help="refits in each warm-cache process")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap refits of the classic recipe")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    checkouts = {"this checkout": HERE, "baseline": args.baseline.resolve()}
    work = Path(tempfile.mkdtemp(prefix="cold_fit_"))
    results = {name: {"empty": None, "warm": []} for name in checkouts}
    try:
        for name, path in checkouts.items():
            results[name]["empty"] = probe(path, work / name, work / f"{name}-empty.npy", 0)
        for repeat in range(args.repeats):
            for name, path in checkouts.items():
                results[name]["warm"].append(probe(path, work / name, work / f"{name}-warm{repeat}.npy", args.refits))
        import numpy as np

        same = {name: all(np.array_equal(np.load(work / f"{name}-empty.npy"), np.load(work / f"{name}-warm{r}.npy"))
                          for r in range(args.repeats)) for name in checkouts}
        classic_s = classic(args.n_boot)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'probe':<34} {'process s':>9} {'import s':>8} {'compile s':>9} {'sample s':>8} {'fit s':>7} "
          f"{'ESS/s':>8} {'div':>4} {'R-hat':>7}")
    for name in checkouts:
        print(row(f"{name}: cold, empty cache", results[name]["empty"]))
        for warm in results[name]["warm"]:
            print(row(f"{name}: cold, warm cache", warm))
        refits = [f["wall_s"] for warm in results[name]["warm"] for f in warm["fits"][1:]]
        if refits:
            print(f"{name + ': refit (median of ' + str(len(refits)) + ')':<34} {'':>9} {'':>8} {'':>9} {'':>8} "
                  f"{statistics.median(refits):>7.2f}")
        print(f"{name}: draws with an empty cache == draws with a warm one: {same[name]}")
    print(f"{'classic Huber + L-BFGS + ' + str(args.n_boot) + ' bootstraps':<34} {classic_s:>9.1f}")
    print("simple-scaling-laws: not run (it needs Python >= 3.12; this machine has 3.11 only)")
    ours = [w["process_s"] for w in results["this checkout"]["warm"]]
    base = [w["process_s"] for w in results["baseline"]["warm"]]
    print(f"warm-cache process, this checkout / baseline: {statistics.median(ours) / statistics.median(base):.2f}; "
          f"/ classic: {statistics.median(ours) / classic_s:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "same_draws": same, "classic_s": classic_s}, indent=1))


if __name__ == "__main__":
    main()
