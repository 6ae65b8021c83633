"""How far a run lies beyond others: the size columns runs are ordered by, and distances in decades.

A law's runs are ordered by ``by``: compute C where it can be derived from the law's inputs (C = 6ND),
else the law's first input. Distances beyond the fitted runs are the largest ``log10(x / max)`` over the
law's inputs (and C for laws in N and D); spans are the decades a set of runs covers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import DERIVATIONS


def scales(table: pd.DataFrame, inputs: list[str]) -> pd.DataFrame:
    """The columns distances are measured on: the law's inputs, and compute C = 6ND for laws in N and D.

    >>> scales(pd.DataFrame({"N": [1e9], "D": [2e10]}), ["N", "D"])["C"].tolist()
    [1.2e+20]
    """
    out = table[list(inputs)].astype(float)
    sources, formula, _ = DERIVATIONS["C"]
    if "C" not in out and all(s in out for s in sources):
        out["C"] = formula(out)
    return out


def default_by(inputs: list[str]) -> str:
    """The column runs are ordered by: compute where it can be derived from the inputs, else the first input.

    >>> default_by(["N", "D"]), default_by(["S1", "S2"])
    ('C', 'S1')
    """
    return "C" if "C" in inputs or {"N", "D"} <= set(inputs) else inputs[0]


def span(values: np.ndarray) -> float:
    """Decades covered by the positive ``values``.

    >>> span(np.array([0.0, 1e18, 1e20]))
    2.0
    """
    positive = np.asarray(values, float)[np.asarray(values) > 0]
    return float(np.log10(positive.max() / positive.min())) if positive.size else 0.0


def distance(table: pd.DataFrame, maxima: dict[str, float]) -> np.ndarray:
    """Decades beyond the fitted runs: the largest ``log10(x / max)`` over the columns of ``maxima``, at least 0.

    >>> distance(pd.DataFrame({"N": [1e9, 1e11], "C": [1e20, 1e21]}), {"N": 1e10, "C": 1e20}).tolist()
    [0.0, 1.0]
    """
    with np.errstate(divide="ignore"):  # inputs that may be zero (schedule areas) are never beyond the data at 0
        decades = [np.log10(table[c].to_numpy(float) / m) for c, m in maxima.items() if m > 0]
    return np.maximum(0.0, np.max(decades, axis=0))
