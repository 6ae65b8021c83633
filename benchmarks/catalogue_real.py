"""Catalogue laws fitted to public data: fit time, divergences, R-hat and held-out error.

Run from the repository root with the data sets available (``BAYESCALE_DATA``)::

    python benchmarks/catalogue_real.py

Each case fits one law to part of one data set and predicts the held-out rest with the
posterior median of the law's mean. L(N, D) laws hold out the 20% of runs with the most
compute; the learning-rate law is fitted on the two cosine curves of a model size and
predicts its seven other schedules, the constant ones (annealing area zero) included.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

import bayescale as bs
from bayescale.transforms import add_schedule_areas

WARMUP_AREA = 3e-4 * 2160 / 2  # multipower: linear warmup to 3e-4 over 2160 steps, before the first logged step


@dataclass
class Case:
    law: str
    data: str
    runs: Callable[[], pd.DataFrame]
    split: Callable[[pd.DataFrame], pd.Series]  # True for the fitted rows


def most_compute_held_out(runs: pd.DataFrame) -> pd.Series:
    return runs["C"] < runs["C"].quantile(0.8)


def gadre(dataset: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        runs = bs.load_dataset("gadre-overtraining")
        return runs[runs["dataset"] == dataset].reset_index(drop=True)

    return load


def multipower(size: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        curves = bs.load_dataset("multipower")
        curves = curves[curves["model_size"] == size].reset_index(drop=True)
        return add_schedule_areas(curves, initial_area=WARMUP_AREA)

    return load


def cosine_fitted(runs: pd.DataFrame) -> pd.Series:
    return runs["schedule"].str.startswith("cosine")


CASES = [
    Case("chinchilla", "epoch-chinchilla", lambda: bs.load_dataset("epoch-chinchilla"), most_compute_held_out),
    Case("kaplan", "epoch-chinchilla", lambda: bs.load_dataset("epoch-chinchilla"), most_compute_held_out),
    *(Case(law, f"gadre-overtraining ({d})", gadre(d), most_compute_held_out)
      for d in ("c4_original", "rpj", "rw_original") for law in ("chinchilla", "kaplan")),
    *(Case("tissue-annealing", f"multipower ({size})", multipower(size), cosine_fitted)
      for size in ("25M", "100M", "400M")),
]


def relative_errors(result: bs.Fit, new: pd.DataFrame) -> np.ndarray:
    """Relative error of the posterior-median mean (``Fit.predict``, no calibration needed) on ``new`` rows."""
    predicted = result.predict(new, random_seed=1, extrapolation=False)["mean_median"].to_numpy()
    observed = new[result.law.target].to_numpy(float)
    return np.abs(predicted - observed) / observed


def fit_row(law: str, data: str, result: bs.Fit, seconds: float, runs: pd.DataFrame, fitted: pd.Series,
            held_out: pd.DataFrame | None = None) -> dict[str, object]:
    """The columns every catalogue benchmark prints for one fit: sizes, time, diagnostics, held-out error
    (on ``held_out``, by default the runs not fitted)."""
    held_out = runs[~fitted] if held_out is None else held_out
    d, error = result.diagnostics, relative_errors(result, held_out)
    return {
        "law": law,
        "data": data,
        "runs fitted": int(fitted.sum()),
        "runs held out": len(held_out),
        "fit s": round(seconds, 1),
        "divergences": d.divergences,
        "max R-hat": round(d.max_rhat, 4),
        "held-out median rel. error": round(float(np.median(error)), 4),
        "held-out max rel. error": round(float(error.max()), 4),
    }


def run_case(case: Case) -> dict[str, object]:
    runs = case.runs()
    fitted = case.split(runs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.SamplingWarning)
        result = bs.fit(case.law, runs[fitted], random_seed=1, calibrate=False)
    return fit_row(case.law, case.data, result, time.perf_counter() - start, runs, fitted)


def main() -> None:
    table = pd.DataFrame([run_case(case) for case in CASES])
    print(table.to_markdown(index=False))


if __name__ == "__main__":
    main()
