"""How fast bayescale starts: ``import bayescale`` and ``bayescale --help``, this checkout against a baseline.

Each measurement is a fresh Python process, repeated (median reported, min and max beside it), alternating
between this checkout and the baseline so that machine load hits both alike. The baseline is another checkout
of the repository (``--baseline PATH``, e.g. ``git worktree add /tmp/base <commit>``), imported by putting it
first on ``PYTHONPATH``. Also reports whether each imports PyMC, ArviZ and pyplot, and its module count.

    python benchmarks/import_time.py --baseline /tmp/base --repeats 5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PROBES = {
    "import bayescale": "import bayescale",
    "bayescale --help": "import sys; sys.argv = ['bayescale', '--help']\nfrom bayescale.cli import app\ntry:\n    app()\nexcept SystemExit:\n    pass",
    "bayescale laws": "import sys; sys.argv = ['bayescale', 'laws']\nfrom bayescale.cli import app\ntry:\n    app()\nexcept SystemExit:\n    pass",
}
REPORT = "\nimport json, sys\nprint(json.dumps({m: m in sys.modules for m in ('pymc', 'arviz', 'matplotlib.pyplot')} | {'modules': len(sys.modules)}), file=sys.stderr)"


def run(checkout: Path, code: str) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code + REPORT], env=env, capture_output=True, text=True, cwd=checkout)
    elapsed = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{checkout}: {out.stderr}")
    return elapsed, json.loads(out.stderr.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    checkouts = {"this checkout": HERE} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    for checkout in checkouts.values():  # warm the bytecode and compile caches once
        run(checkout, "import bayescale")
    print(f"{'probe':<18} {'checkout':<14} {'median s':>9} {'min s':>7} {'max s':>7}  imports")
    rows = {}
    for probe, code in PROBES.items():
        times, loaded = {name: [] for name in checkouts}, {}
        for _ in range(args.repeats):
            for name, checkout in checkouts.items():
                elapsed, loaded[name] = run(checkout, code)
                times[name].append(elapsed)
        for name in checkouts:
            heavy = ", ".join(m for m, v in loaded[name].items() if v is True) or "no PyMC, ArviZ or pyplot"
            t = times[name]
            rows[(probe, name)] = statistics.median(t)
            print(f"{probe:<18} {name:<14} {statistics.median(t):9.2f} {min(t):7.2f} {max(t):7.2f}  {heavy}; {loaded[name]['modules']} modules")
        if args.baseline:
            print(f"{'':<18} {'ratio':<14} {rows[(probe, 'this checkout')] / rows[(probe, 'baseline')]:9.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
