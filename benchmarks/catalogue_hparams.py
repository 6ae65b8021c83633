"""Hyperparameter laws fitted to public data: fit time, divergences, R-hat, held-out error, exponent.

Run from the repository root with the data sets available (``BAYESCALE_DATA``)::

    python benchmarks/catalogue_hparams.py

Only ``power-lines-tau`` has public data here. ``misfitting`` sweeps the peak learning rate
eta at a fixed AdamW weight decay (lambda = 0.1) and batch (B = 2^20 tokens), so each
(model, step budget) gives one optimal timescale tau_opt = B / (eta_opt lambda D) =
1 / (eta_opt lambda steps) (see :func:`optimal_timescales`). Power Lines tunes lambda at a
muP-fixed eta instead; here eta also sets the update size, so the fitted exponent is not
expected to match the paper's. The 20% of points with the most compute are held out and
predicted with the posterior median of the law's mean. No stored data set records batch
sizes, so ``power-lines-batch`` is only checked on synthetic runs (tests/test_fit.py).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from catalogue_real import fit_row  # the script's folder is on sys.path

import bayescale as bs

WEIGHT_DECAY = 0.1  # misfitting PROVENANCE.md: AdamW weight decay of every run


def optimal_timescales(checkpoints: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, total_steps) of ``misfitting`` whose best peak LR lies inside its sweep.

    The final-checkpoint loss (the best of repeats) is taken per peak LR; a parabola in log LR
    through the best LR and its two neighbours gives ``lr_opt``; a best LR at either end of the
    sweep (optimum not bracketed) or a sweep of fewer than three LRs gives no row. Returns
    ``model, N, D, C, total_steps, lr_opt, tau`` with ``tau = 1 / (lr_opt * WEIGHT_DECAY * total_steps)``.
    """
    final = checkpoints[checkpoints["portion_steps_elapsed"] >= 1]
    rows = []
    for (model, steps), runs in final.groupby(["model", "total_steps"]):
        loss = runs.groupby("peak_lr")["loss"].min()
        best = int(np.argmin(loss.to_numpy()))
        if not 0 < best < len(loss) - 1:
            continue
        a, b, _ = np.polyfit(np.log(loss.index[best - 1 : best + 2]), loss.to_numpy()[best - 1 : best + 2], 2)
        lr_opt = float(np.exp(-b / (2 * a)))
        rows.append({"model": model, "N": runs["N"].iloc[0], "D": runs["D"].iloc[0], "C": runs["C"].iloc[0],
                     "total_steps": steps, "lr_opt": lr_opt, "tau": 1.0 / (lr_opt * WEIGHT_DECAY * steps)})
    return pd.DataFrame(rows)


def main() -> None:
    runs = optimal_timescales(bs.load_dataset("misfitting"))
    fitted = runs["C"] < runs["C"].quantile(0.8)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.SamplingWarning)
        result = bs.fit("power-lines-tau", runs[fitted], random_seed=1, calibrate=False)
    table = result.summary(ci_prob=0.9)
    row = {
        **fit_row("power-lines-tau", "misfitting (tau_opt from the peak-LR sweeps)", result, time.perf_counter() - start, runs, fitted),
        "a_tau (90%)": "{median:.3f} [{lower:.3f}, {upper:.3f}]".format(**table.loc["a_tau"]),
        "c_tau (90%)": "{median:.3g} [{lower:.3g}, {upper:.3g}]".format(**table.loc["c_tau"]),
        "sigma": round(table.loc["sigma", "median"], 3),
    }
    print(pd.DataFrame([row]).to_markdown(index=False))


if __name__ == "__main__":
    main()
