"""Run tables: read, rename, derive and validate the data a law is fitted to.

Columns use the papers' symbols: ``N`` (parameters), ``D`` (training tokens),
``C`` (training FLOPs) and ``loss`` (the target). Other names are mapped with
``columns={"params": "N"}``. When a law needs one of N, D, C and the table has
the other two, it is derived from ``C = 6 N D``. Inputs must be positive unless
their domain is ``"nonnegative"`` (``domains=law.domains``); the target must be
positive, strictly between 0 and 1 where its domain is ``"unit"`` (a beta likelihood's error rate or
accuracy), or any finite number where it is ``"real"`` (a Normal likelihood on the raw target). Every error
names the column, the row and the offending value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

FLOPS_PER_PARAMETER_TOKEN = 6.0  # training compute C = 6 N D (forward and backward pass): the one place it is written


def compute(n: Any, d: Any) -> Any:
    """Training compute ``C = 6 N D`` of ``n`` parameters on ``d`` tokens.

    >>> compute(1e9, 2e10)
    1.2e+20
    """
    return FLOPS_PER_PARAMETER_TOKEN * n * d


DERIVATIONS = {
    "D": (("N", "C"), lambda t: t["C"] / (FLOPS_PER_PARAMETER_TOKEN * t["N"]), "D = C / (6 N)"),
    "C": (("N", "D"), lambda t: compute(t["N"], t["D"]), "C = 6 N D"),
    "N": (("C", "D"), lambda t: t["C"] / (FLOPS_PER_PARAMETER_TOKEN * t["D"]), "N = C / (6 D)"),
}


def read_table(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a dict of columns, or a CSV/Parquet path."""
    if isinstance(data, pd.DataFrame):
        return data.copy()
    if isinstance(data, dict):
        return pd.DataFrame({k: np.atleast_1d(v) for k, v in data.items()})
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise DataError(f"data file {path} does not exist")
        readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
        if path.suffix.lower() not in readers:
            raise DataError(f"data file {path} must end in .csv or .parquet, got {path.suffix!r}")
        return readers[path.suffix.lower()](path)
    raise DataError(f"data must be a pandas DataFrame, a dict of columns or a .csv/.parquet path, got {type(data).__name__}")


def prepare_runs(
    data: Any,
    inputs: list[str],
    target: str | None = "loss",
    groups: list[str] = (),
    columns: dict[str, str] | None = None,
    domains: dict[str, str] | None = None,
    hints: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Validated table with the law's ``inputs``, the ``target`` (if given) and ``groups``; ``hints`` adds to the error
    for a column outside its domain what to do about it.

    ``domains`` maps inputs that may be zero to ``"nonnegative"``, a fraction to ``"unit"`` (strictly inside
    (0, 1)) and a target that may take any sign to ``"real"``; every other column must be positive.

    >>> prepare_runs(pd.DataFrame({"N": [1e8, 1e9], "C": [6e17, 6e19], "loss": [3.1, 2.6]}), ["N", "D"])["D"].tolist()
    [1000000000.0, 10000000000.0]
    >>> prepare_runs({"S2": [0.0, 0.1], "loss": [3.0, 2.9]}, ["S2"], domains={"S2": "nonnegative"})["S2"].tolist()
    [0.0, 0.1]
    """
    domains = domains or {}
    table = read_table(data)
    if columns:
        missing = [k for k in columns if k not in table.columns]
        if missing:
            raise DataError(f"columns= maps {missing}, which are not in the data; the data has columns {list(table.columns)}")
        table = table.rename(columns=columns)
    if table.empty:
        raise DataError("the data has no rows")
    numeric = list(inputs) + ([target] if target else [])
    for name in numeric:
        if name not in table.columns:
            _derive(table, name, numeric, target)
    out = pd.DataFrame(index=table.index)
    for name in numeric:
        out[name] = _numeric_column(table, name, domains.get(name, "positive"), (hints or {}).get(name, ""))
    for group in groups:
        if group not in table.columns:
            raise DataError(f"group column {group!r} is not in the data; the data has columns {list(table.columns)}")
        values = table[group]
        bad = values.isna()
        if bad.any():
            raise DataError(f"group column {group!r} row {values.index[bad][0]!r} is missing; every run needs a group")
        out[group] = values.astype(str)
    return out.reset_index(drop=True)


def _derive(table: pd.DataFrame, name: str, numeric: list[str], target: str | None) -> None:
    if name in DERIVATIONS and name != target:
        sources, formula, text = DERIVATIONS[name]
        if all(s in table.columns for s in sources):
            parts = {s: _numeric_column(table, s) for s in sources}
            table[name] = formula(parts)
            return
        hint = f", or give {' and '.join(sources)} to derive {text}"
    else:
        hint = ""
    raise DataError(
        f"missing column {name!r} (needed: {', '.join(numeric)}); the data has columns {list(table.columns)}; "
        f"rename yours with columns={{'your_name': {name!r}}}{hint}"
    )


def _numeric_column(table: pd.DataFrame, name: str, domain: str = "positive", hint: str = "") -> pd.Series:
    raw = table[name]
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    not_number = values.isna() & raw.notna()
    if not_number.any():
        row = values.index[not_number][0]
        raise DataError(f"column {name!r} row {row!r}: value {raw[row]!r} is not a number")
    bounds = {
        "positive": (values <= 0, "must be positive"),
        "nonnegative": (values < 0, "must be non-negative"),
        "unit": ((values <= 0) | (values >= 1), "must lie strictly between 0 and 1 (a beta likelihood models a fraction such as an error rate)"),
        "real": (pd.Series(False, index=values.index), ""),
    }
    outside, bound = bounds[domain]
    checks = [
        (values.isna(), "is missing (NaN); drop or fill such runs before fitting", ""),
        (~np.isfinite(values) & values.notna(), "is infinite; values must be finite", ""),
        (outside, bound, hint and f"; {hint}"),
    ]
    for bad, message, advice in checks:
        if bad.any():
            row = values.index[bad][0]
            value = raw[row].item() if hasattr(raw[row], "item") else raw[row]
            raise DataError(f"column {name!r} row {row!r} has value {value!r}: {message} ({int(bad.sum())} such rows){advice}")
    return values
