"""Weights & Biases exports: the wide "Export CSV" of a panel, and a run's history table as Parquet.

An export CSV has ``Step``, then ``<run> - <metric>`` columns, each with ``__MIN`` and ``__MAX`` companions (the
range W&B drew when it sampled the curve); the run is the text before the first `` - ``. Blank cells are steps a run
did not log, not points; the companions are left out, or kept as ``<metric>_min``/``<metric>_max`` with
``bounds=True``. A folder of exports is read in name order (W&B names them by export time), a later file winning
a step two files share. A history table has ``_step`` and one column per metric (W&B's own ``_`` columns left out);
its empty cells are steps where that metric was not logged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError
from .points import Options, Points, numbers, points_frame

BOUNDS = {"__MIN": "_min", "__MAX": "_max"}


def read_csv(source: str, options: Options) -> Points:
    root = Path(source)
    files = sorted(root.glob("*.csv")) if root.is_dir() else [root]
    if not files:
        raise DataError(f"no W&B CSV exports (*.csv) in {root}")
    frames = [_export_points(file, index, options.bounds) for index, file in enumerate(files)]
    return Points(pd.concat(frames, ignore_index=True), [str(f) for f in files], None, "the later export file wins")


def _export_points(file: Path, index: int, bounds: bool) -> pd.DataFrame:
    table = pd.read_csv(file, dtype=str, keep_default_na=False)  # blank cells stay "" (not logged), "NaN" stays text
    if "Step" not in table:
        raise DataError(f"{file} is not a W&B CSV export: it has no Step column (its columns: {list(table.columns)})")
    cells = table.melt(id_vars="Step", var_name="column", value_name="text")
    cells = cells[cells["text"].str.strip() != ""]
    suffix = cells["column"].str[-5:]
    bound = suffix.isin(list(BOUNDS))
    if not bounds:
        cells, suffix, bound = cells[~bound], suffix[~bound], bound[~bound]
    column = cells["column"].where(~bound, cells["column"].str[:-5])
    parts = column.str.partition(" - ")
    named = parts[1] != ""
    metric = parts[2].where(named, parts[0]) + suffix.where(bound, "").map(lambda s: BOUNDS.get(s, ""))
    return points_frame({"run": parts[0].where(named, None), "step": numbers(cells["Step"], file, "Step"),
                         "metric": metric, "value": pd.to_numeric(cells["text"], errors="coerce"), "order": index})


def read_history(source: str, options: Options) -> Points:
    file = Path(source)
    table = pd.read_parquet(file)
    if "_step" not in table:
        raise DataError(f"{file} is not a W&B history table: it has no _step column (its columns: {list(table.columns)})")
    metrics = [c for c in table.columns if not c.startswith("_") and pd.api.types.is_numeric_dtype(table[c])]
    order = table["_timestamp"] if "_timestamp" in table else pd.Series(range(len(table)), index=table.index)
    cells = table.assign(_order=order).melt(id_vars=["_step", "_order"], value_vars=metrics, var_name="metric").dropna(subset="value")
    frame = points_frame({"run": None, "step": numbers(cells["_step"], file, "_step"), "metric": cells["metric"],
                          "value": cells["value"], "order": cells["_order"]})
    return Points(frame, [str(file)], file.stem, "the latest row by _timestamp wins")
