"""Tables that are long already: CSV, Parquet or JSON lines with a ``step`` column, an optional ``run`` column and
one column per metric. Every cell is a point (an empty or NaN cell counts as a dropped non-finite value); a step a
run logs twice keeps its later row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError
from .points import Options, Points, numbers, points_frame

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet,
           ".jsonl": lambda path: pd.read_json(path, lines=True), ".ndjson": lambda path: pd.read_json(path, lines=True)}


def read(source: str, options: Options) -> Points:
    file = Path(source)
    if file.suffix.lower() not in READERS:
        raise DataError(f"{file}: a tidy table must be one of {', '.join(READERS)}")
    try:
        table = READERS[file.suffix.lower()](file)
    except ValueError as err:  # pandas' word for a file it cannot parse
        raise DataError(f"{file} cannot be read as {file.suffix[1:]}: {err}") from None
    if "step" not in table:
        raise DataError(f"{file} has no step column (its columns: {list(table.columns)})")
    metrics = [c for c in table.columns if c not in ("run", "step", "order")]
    table = table.assign(order=range(len(table)))
    cells = table.melt(id_vars=[c for c in ("run", "step", "order") if c in table], value_vars=metrics, var_name="metric")
    frame = points_frame({"run": cells["run"] if "run" in cells else None, "step": numbers(cells["step"], file, "step"),
                          "metric": cells["metric"], "value": _values(cells, file), "order": cells["order"]})
    return Points(frame, [str(file)], file.stem, "the later row wins")


def _values(cells: pd.DataFrame, file: Path) -> pd.Series:
    values = pd.to_numeric(cells["value"], errors="coerce")
    text = values.isna() & cells["value"].notna() & ~cells["value"].astype(str).str.lower().isin(["nan", "inf", "-inf"])
    if text.any():
        raise DataError(f"{file}: metric columns must hold numbers; {sorted(cells.loc[text, 'metric'].unique())} hold text "
                        f"such as {cells.loc[text, 'value'].iloc[0]!r}")
    return values
