"""What a calibration costs beside the fit it calibrates: the Epoch runs and loss-to-loss with E, A, B pooled by corpus.

For each study, ``--repeats`` fresh Python processes share one compile cache (the first process fills it and is
reported apart): each fits the study's law as a user's first fit of the process would (4 chains x 1000 draws,
``calibrate=False``), then calibrates it (``bs.calibrate``: rolling-origin refits of the compiled model, fewer
draws). Reported: the cold fit's wall time, the calibration's, their ratio ``(fit + calibration) / fit``, the
refits kept and the fit's diagnostics, with ``--workers`` processes for the refits (0: in the fitting process).

    python benchmarks/calibration_cost.py --repeats 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
STUDIES = {"epoch-chinchilla": {}, "loss-to-loss": {"pool": {"E": "corpus", "A": "corpus", "B": "corpus"}}}
PROBE = """
import json, sys, time, warnings
import bayescale as bs
study, options, workers = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
runs = bs.load_dataset(study)
start = time.perf_counter()
fit = bs.fit("chinchilla", runs, chains=4, draws=1000, random_seed=1, calibrate=False, **options)
fitted = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    calibrated = bs.calibrate(fit, executor=workers or None)
done = time.perf_counter()
print(json.dumps({"fit_s": fitted - start, "calibration_s": done - fitted, "refits": calibrated.calibration.refits,
                  "max_rhat": fit.diagnostics.max_rhat, "divergences": fit.diagnostics.divergences}))
"""


def probe(study: str, cache: Path, workers: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE), "PYTENSOR_FLAGS": f"base_compiledir={cache}"}
    out = subprocess.run([sys.executable, "-c", PROBE, study, json.dumps(STUDIES[study]), str(workers)], env=env,
                         capture_output=True, text=True, cwd=HERE)
    if out.returncode:
        raise SystemExit(f"{study}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ratio(result: dict) -> float:
    return (result["fit_s"] + result["calibration_s"]) / result["fit_s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm-cache processes per study")
    parser.add_argument("--workers", type=int, default=0, help="processes for the calibration's refits (0: in process)")
    args = parser.parse_args(argv)
    print(f"{'study':<18} {'process':<12} {'fit s':>7} {'calibration s':>13} {'refits':>6} {'(fit+cal)/fit':>13} {'div':>4} {'R-hat':>7}")
    with tempfile.TemporaryDirectory(prefix="calibration_cost_") as cache:
        for study in STUDIES:
            first = probe(study, Path(cache), args.workers)
            warm = [probe(study, Path(cache), args.workers) for _ in range(args.repeats)]
            for label, result in [("empty cache", first)] + [(f"warm {i + 1}", w) for i, w in enumerate(warm)]:
                print(f"{study:<18} {label:<12} {result['fit_s']:>7.1f} {result['calibration_s']:>13.1f} {result['refits']:>6d} "
                      f"{ratio(result):>13.2f} {result['divergences']:>4d} {result['max_rhat']:>7.4f}")
            print(f"{study:<18} {'warm median':<12} {statistics.median(w['fit_s'] for w in warm):>7.1f} "
                  f"{statistics.median(w['calibration_s'] for w in warm):>13.1f} {'':>6} {statistics.median(map(ratio, warm)):>13.2f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
