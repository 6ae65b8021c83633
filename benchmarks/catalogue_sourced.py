"""Laws sourced from their authors' code, fitted to public data: fit time, divergences, R-hat, held-out error.

Run from the repository root with the data sets available (``BAYESCALE_DATA``)::

    python benchmarks/catalogue_sourced.py

``gemstones-shape`` and ``bian-aspect`` are fitted to the Gemstones loss curves (22 constant-LR runs,
every 10th checkpoint: 20B to 340B tokens); ``bian-aspect`` takes the aspect ratio ``R = width / depth``.
Each is fitted twice: once holding out the last 20% of the tokens (D > 0.8 x 350B) of every run, once
holding out the three largest models (N > 1.5e9: 2048x27, 1536x50, 3072x12). ``porian-lr`` is fitted to
the optimal peak learning rates of the ``misfitting`` sweeps (one per model and step budget, see
``catalogue_hparams.optimal_timescales``), holding out the two largest models (400M, 1B). Held-out rows
are predicted with the posterior median of the law's mean. ``rectified-finetune`` and ``porian-batch``
have no stored data set (fine-tuning curves, batch-size sweeps) and are only checked on synthetic runs.

``gemstones-shape`` declares ``sampler = "pymc"`` (a dense mass matrix), its fits' default: its constant E
trades off against the width, depth and parameter terms (posterior correlations about 0.9; 22
architectures barely separate them), and nutpie's low-rank adaptation leaves R-hat at 1.013-1.04 there.
"""

from __future__ import annotations

import time
import warnings

import pandas as pd
from catalogue_hparams import optimal_timescales  # the script's folder is on sys.path
from catalogue_real import fit_row

import bayescale as bs

CHECKPOINT_STRIDE = 10  # every 10th logged checkpoint (every 4770 steps, 20B tokens)


def gemstones_runs() -> pd.DataFrame:
    """Every ``CHECKPOINT_STRIDE``-th checkpoint of the Gemstones curves, with ``R = width / depth``."""
    curves = bs.load_dataset("gemstones")
    thinned = curves[(curves["step"] // 477) % CHECKPOINT_STRIDE == 0]
    return thinned.assign(R=thinned["width"] / thinned["depth"]).reset_index(drop=True)


def learning_rate_runs() -> pd.DataFrame:
    """Optimal peak learning rate ``lr`` per (model, step budget) of the misfitting sweeps."""
    return optimal_timescales(bs.load_dataset("misfitting")).rename(columns={"lr_opt": "lr"})


def cases() -> list[tuple[str, str, pd.DataFrame, pd.Series]]:
    """(law, description, runs, rows to fit) for each benchmark fit."""
    gem, lrs = gemstones_runs(), learning_rate_runs()
    last_tokens = gem["D"] <= 0.8 * gem["D"].max()
    small_models = gem["N"] < 1.5e9
    return [
        ("gemstones-shape", "gemstones, last 20% of tokens held out", gem, last_tokens),
        ("gemstones-shape", "gemstones, 3 largest models held out", gem, small_models),
        ("bian-aspect", "gemstones, last 20% of tokens held out", gem, last_tokens),
        ("bian-aspect", "gemstones, 3 largest models held out", gem, small_models),
        ("porian-lr", "misfitting lr optima, 400M and 1B held out", lrs, lrs["N"] < 4e8),
    ]


def main() -> None:
    rows = []
    for law, description, runs, fitted in cases():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bs.SamplingWarning)
            result = bs.fit(law, runs[fitted], chains=4, draws=1000, random_seed=1, calibrate=False)
        rows.append({
            **fit_row(law, description, result, time.perf_counter() - start, runs, fitted),
            "sampler": result.settings["sampler"],
            "posterior medians": ", ".join(f"{p}={v:.3g}" for p, v in result.summary()["median"][result.law.param_names].items()),
        })
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
