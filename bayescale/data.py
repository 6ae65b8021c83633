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

import numbers
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
    """A DataFrame from a DataFrame, a dict of equally long columns, or a CSV/Parquet path; column names must be
    distinct strings (rows are named by position where the index repeats a label)."""
    if isinstance(data, pd.DataFrame):
        table = data.copy()
    elif isinstance(data, dict):
        table = _from_columns(data)
    elif isinstance(data, (str, Path)):
        table = _read_file(Path(data))
    else:
        raise DataError(f"data must be a pandas DataFrame, a dict of columns or a .csv/.parquet path, got {type(data).__name__}")
    names = list(table.columns)
    if not all(isinstance(c, str) for c in names):
        raise DataError(f"column names must be strings, got {[c for c in names if not isinstance(c, str)][:3]!r}")
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise DataError(f"column names must be distinct; {repeated} appear more than once in {names}")
    return table if table.index.is_unique else table.reset_index(drop=True)


def _from_columns(data: dict) -> pd.DataFrame:
    columns = {k: _values(v) for k, v in data.items()}
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"the columns of a dict must be equally long, got lengths {lengths}")
    return pd.DataFrame(columns)


def _values(values: Any) -> pd.Series:
    """One column of a dict: a list keeps its values' own types (``[2.5, True]`` is not ``[2.5, 1.0]``)."""
    if isinstance(values, (list, tuple)):
        cells = np.empty(len(values), dtype=object)
        cells[:] = list(values)
        return pd.Series(cells, dtype=None if len(cells) else float).infer_objects()
    array = np.atleast_1d(values)
    if array.ndim != 1:
        raise DataError(f"a column must hold one value per run, got an array of shape {array.shape}")
    return pd.Series(array)


def _read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
    if path.suffix.lower() not in readers:
        raise DataError(f"data file {path} must end in .csv or .parquet, got {path.suffix!r}")
    try:
        return readers[path.suffix.lower()](path)
    except Exception as err:  # pandas and pyarrow raise many types for a damaged file
        raise DataError(f"data file {path} cannot be read as {path.suffix.lower()[1:]}: {type(err).__name__}: {err}") from None


def rename_columns(table: pd.DataFrame, columns: Any) -> pd.DataFrame:
    """``table`` with ``columns`` (a dict: your name -> the law's) renamed, refusing a mapping that would merge two
    columns into one name."""
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise DataError(f"columns= must map your column names to the law's, e.g. {{'params': 'N'}} (strings to strings); got {columns!r}")
    missing = [k for k in columns if k not in table.columns]
    if missing:
        raise DataError(f"columns= maps {missing}, which are not in the data; the data has columns {list(table.columns)}")
    names = [columns.get(c, c) for c in table.columns]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise DataError(f"columns= {columns} renames a column onto {clash}, a name the data already has; drop or rename that column first")
    return table.rename(columns=columns)


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
    if columns is not None:
        table = rename_columns(table, columns)
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
        out[group] = group_labels(table[group], group)
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


def group_codes(column: pd.Series, groups: list[str]) -> np.ndarray:
    """Each run's index in ``groups`` (-1 for a group not among them)."""
    return pd.Categorical(column.astype(str), categories=groups).codes.astype("int64")


def group_labels(values: pd.Series, name: str) -> pd.Series:
    """A group column as text labels: every run needs one, and two different values may not share a label
    (``1`` and ``"1"``, ``1`` and ``1.0``)."""
    bad = values.isna()
    if bad.any():
        raise DataError(f"group column {name!r} row {_label(values.index[bad][0])} is missing; every run needs a group")
    plain = values.map(lambda v: v.item() if isinstance(v, np.generic) else v)
    labels = plain.map(str)
    kinds = plain.map(lambda v: f"{type(v).__name__} {v!r}").groupby(labels).nunique()
    if (kinds > 1).any():
        label = kinds.index[kinds > 1][0]
        found = sorted({repr(x) for x in plain[labels == label]})
        raise DataError(f"group column {name!r} holds different values with one label {label!r} ({', '.join(found)}); use one type of label")
    return labels


NUMERIC_KINDS = "iuf"  # numpy kinds taken as numbers: integers and floats (not booleans, complex numbers or dates)


def _numeric_column(table: pd.DataFrame, name: str, domain: str = "positive", hint: str = "") -> pd.Series:
    values = _as_floats(table[name], name)
    raw = table[name]
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
            raise DataError(f"column {name!r} row {_label(row)} has value {value!r}: {message} ({int(bad.sum())} such rows){advice}")
    return values


def _as_floats(raw: pd.Series, name: str) -> pd.Series:
    """``raw`` as float64: numbers, and text that reads as a number (a CSV's); booleans, complex numbers, dates and
    durations are refused, as is a number too large for a float."""
    if raw.dtype.kind in NUMERIC_KINDS:
        with np.errstate(over="ignore"):
            return raw.astype(float)
    if raw.dtype.kind != "O" and not isinstance(raw.dtype, pd.StringDtype):
        raise DataError(f"column {name!r} holds {raw.dtype} values; it must hold numbers")
    values = pd.Series(np.nan, index=raw.index)
    for row, value in raw.items():
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            continue
        number = _number(value)
        if number is None:
            raise DataError(f"column {name!r} row {_label(row)}: value {value!r} is not a number")
        values[row] = number
    return values


def _number(value: Any) -> float | None:
    """``value`` as a float where it is a real number (or text that reads as one), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (numbers.Real, np.integer, np.floating)):
        try:
            return float(value)
        except OverflowError:
            return float("inf")
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _label(row: Any) -> str:
    """A row label as the user wrote it (``15``, not ``np.int64(15)``)."""
    return repr(row.item() if isinstance(row, np.generic) else row)
