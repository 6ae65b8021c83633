"""A user's first fit in a new process: this checkout against a baseline checkout, with and without a warm cache.

The Chinchilla law on the 245 Epoch runs, 4 chains x 1000 draws, each probe a fresh Python process (import, build,
compile, sample), in this order for each checkout: a fit with an empty compile cache (a new
``base_compiledir``), ``--repeats`` fits with that cache warm, and in the last of them ``--refits`` refits of the
compiled model. The probes alternate between the checkouts so that machine load hits both alike. Also times
the classic point fit (Huber loss, L-BFGS from a 4,500-start grid) with ``--n-boot`` warm-started bootstrap
refits, and simple-scaling-laws' point fit with its 1,000 bootstrap draws (``--ssl-env``: a virtual environment the
benchmark creates for it; the package declares Python >= 3.12, so on an older Python it is installed with
``--ignore-requires-python`` and NumPy/SciPy releases that have wheels there, and its row says so; if the install
fails, the row says why). Draws of the same seed are compared between the empty-cache and warm-cache fits (they
must be equal).

    git worktree add /tmp/base <commit>
    python benchmarks/cold_fit.py --baseline /tmp/base --repeats 2 --ssl-env /tmp/ssl-env
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


SSL = "simple-scaling-laws==0.2.0"
SSL_PINS = ["numpy>=1.26,<2.4", "scipy>=1.13,<1.17", "polars>=1.0", "pyyaml>=6.0.1"]  # releases with Python 3.11 wheels
SSL_PROBE = """
import sys, time
start = time.perf_counter()
import polars as pl
import simple_scaling_laws as ssl
runs = pl.read_csv(sys.argv[1])
frame = pl.DataFrame({"training_run_id": [f"run{i}" for i in range(len(runs))], "model_size__n": runs["N"],
                      "dataset_size__d": runs["D"], "test_loss__cross_entropy": runs["loss"]})
model = ssl.fit(frame, law="separable-power", n_draws=1000, seed=0)
assert model.draws["test_loss__cross_entropy"].params.shape == (1000, 5)
print(time.perf_counter() - start)
"""


def ssl_environment(env: Path) -> tuple[Path | None, str]:
    """simple-scaling-laws installed in ``env`` (created if missing): its Python and a note, or None and why not."""
    python = env / "bin" / "python"
    note = "" if sys.version_info >= (3, 12) else (f"installed on Python {sys.version_info.major}.{sys.version_info.minor} "
                                                   "with --ignore-requires-python (it declares >= 3.12)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        steps = [pip + [SSL]] if not note else [pip + SSL_PINS, pip + ["--no-deps", "--ignore-requires-python", SSL]]
        for step in steps:
            out = subprocess.run(step, capture_output=True, text=True)
            if out.returncode:
                shutil.rmtree(env, ignore_errors=True)
                return None, f"not run: its install failed ({out.stderr.strip().splitlines()[-1]})"
    return python, note


def ssl_fit(python: Path, runs_csv: Path) -> float:
    """Wall time of simple-scaling-laws' point fit and 1,000 bootstrap draws on the same runs, in a new process."""
    out = subprocess.run([str(python), "-c", SSL_PROBE, str(runs_csv)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"simple-scaling-laws: {out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def export_runs(path: Path) -> None:
    """The Epoch runs as bayescale reads them (N, D, loss), for the other package's process."""
    code = f"import bayescale as bs; bs.load_dataset('epoch-chinchilla')[['N', 'D', 'loss']].to_csv({str(path)!r}, index=False)"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(HERE)})


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
    parser.add_argument("--ssl-env", type=Path, help="virtual environment for simple-scaling-laws (created if missing)")
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
        ssl_s, ssl_note = [], "not run: give --ssl-env"
        if args.ssl_env:
            python, ssl_note = ssl_environment(args.ssl_env.resolve())
            if python:
                export_runs(work / "runs.csv")
                ssl_s = [ssl_fit(python, work / "runs.csv") for _ in range(args.repeats)]
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
    if ssl_s:
        print(f"{'simple-scaling-laws + 1000 bootstraps':<34} {statistics.median(ssl_s):>9.1f}  (median of {len(ssl_s)}; {ssl_note})")
    else:
        print(f"simple-scaling-laws: {ssl_note}")
    ours = [w["process_s"] for w in results["this checkout"]["warm"]]
    base = [w["process_s"] for w in results["baseline"]["warm"]]
    versus_ssl = f"; / simple-scaling-laws: {statistics.median(ours) / statistics.median(ssl_s):.2f}" if ssl_s else ""
    print(f"warm-cache process, this checkout / baseline: {statistics.median(ours) / statistics.median(base):.2f}; "
          f"/ classic: {statistics.median(ours) / classic_s:.2f}{versus_ssl}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "same_draws": same, "classic_s": classic_s, "ssl_s": ssl_s},
                                        indent=1))


if __name__ == "__main__":
    main()
