"""What every reader hands over (the points of a log, one row per logged value) and how they become one table."""

from __future__ import annotations

import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import extras
from ..errors import ArgumentError, DataError, DataWarning, MissingFileError

POINT_COLUMNS = ["run", "step", "metric", "value", "order"]  # order: which of two points of one step is the later write
BASE_COLUMNS = ["run", "step", "tokens"]


class Points(NamedTuple):
    """A reader's points (``POINT_COLUMNS``; ``run`` None where the source does not name the run), the files read,
    the name of an unnamed run, and how duplicate steps are resolved."""

    frame: pd.DataFrame
    files: list[str]
    unnamed: str | None
    rule: str


@dataclass(frozen=True)
class Options:
    """The reader options of :func:`~bayescale.logs.read_runs` (each reader uses those that apply to it)."""

    run: str | None = None
    bounds: bool = False


def requires(module: str) -> Any:
    """``module``, imported on first use; missing, a :class:`MissingDependencyError` that names the extra."""
    return extras.requires(module, "reading training logs")


def points_frame(rows: Any) -> pd.DataFrame:
    """A points frame from rows or columns (``POINT_COLUMNS``), with float steps, values and orders."""
    frame = pd.DataFrame(rows, columns=POINT_COLUMNS)
    return frame.astype({"step": "float64", "value": "float64", "order": "float64"})


def numbers(values: pd.Series, file: Any, column: str) -> pd.Series:
    """The column ``column`` of ``file`` as floats; a cell that is no number raises a :class:`DataError`."""
    parsed = pd.to_numeric(values, errors="coerce")
    if parsed.isna().any():
        raise DataError(f"{file}: {column} holds values that are not numbers: {sorted(map(str, values[parsed.isna()].unique()))[:5]}")
    return parsed.astype("float64")


def assemble(points: Points, *, source: str, format: str, metric: Any, tokens_per_step: float | None, meta: Any,
             run: str | None) -> pd.DataFrame:
    """One row per run and step: ``run``, ``step``, ``tokens``, a column per metric, then the metadata columns."""
    frame = _named(points, run)
    frame = _select(frame, metric, source)
    frame, dropped = _count_drop(frame, ~np.isfinite(frame["value"]))
    frame = frame.sort_values("order", kind="stable")
    frame, replaced = _count_drop(frame, frame.duplicated(["run", "metric", "step"], keep="last"))
    wide = frame.set_index(["run", "step", "metric"])["value"].unstack("metric").reset_index().rename_axis(columns=None)
    metrics = [m for m in wide.columns if m not in ("run", "step")]
    logged = "tokens" in metrics
    wide.insert(2, "tokens", _tokens(wide, tokens_per_step, logged))
    metrics = [m for m in metrics if m != "tokens"]
    table = _join_meta(wide[BASE_COLUMNS + metrics], meta)
    table.attrs = {
        "source": source, "format": format, "files": points.files, "metrics": metrics, "runs": sorted(table["run"].unique()),
        "tokens": "logged" if logged else (f"step x {tokens_per_step:g}" if tokens_per_step else "unknown"),
        "duplicates": {"rule": points.rule, "replaced": int(sum(replaced.values())), "by_run": replaced},
        "dropped": {"non_finite": int(sum(dropped.values())), "by_run": dropped},
        "meta": None if meta is None else (str(meta) if isinstance(meta, (str, Path)) else "dict"),
    }
    counts = [f"{sum(dropped.values())} non-finite values dropped {dropped}"] if dropped else []
    counts += [f"{sum(replaced.values())} duplicate points replaced {replaced} ({points.rule})"] if replaced else []
    if counts:
        warnings.warn(f"{source}: {'; '.join(counts)}; counts in .attrs", DataWarning, stacklevel=3)
    return table


def _named(points: Points, run: str | None) -> pd.DataFrame:
    frame = points.frame
    unnamed = frame["run"].isna()
    if run is not None and not unnamed.all():
        raise ArgumentError(f"run={run!r} names the run of a source that holds one unnamed run; this source names its "
                            f"runs itself: {sorted(frame['run'].dropna().unique())[:10]}")
    return frame.assign(run=frame["run"].where(~unnamed, run or points.unnamed).astype(str))


def _select(frame: pd.DataFrame, metric: Any, source: str) -> pd.DataFrame:
    if frame.empty:
        raise DataError(f"{source} holds no logged values")
    if metric is None:
        return frame
    wanted = [metric] if isinstance(metric, str) else list(metric)
    available = sorted(frame["metric"].unique())
    missing = [m for m in wanted if m not in available]
    if missing:
        raise DataError(f"{source} has no metric {', '.join(map(repr, missing))}; it logs: {', '.join(available)}")
    return frame[frame["metric"].isin([*wanted, "tokens"])]


def _count_drop(frame: pd.DataFrame, drop: pd.Series) -> tuple[pd.DataFrame, dict[str, int]]:
    """``frame`` without the rows of ``drop``, and how many each run lost."""
    counts = frame.loc[drop, "run"].value_counts().sort_index()
    return frame[~drop], {str(k): int(v) for k, v in counts.items()}


def _tokens(wide: pd.DataFrame, tokens_per_step: float | None, logged: bool) -> pd.Series:
    if tokens_per_step is not None:
        if logged:
            raise ArgumentError("the source logs tokens itself; tokens_per_step would replace them: leave it out")
        if not tokens_per_step > 0:
            raise ArgumentError(f"tokens_per_step must be a positive number, got {tokens_per_step!r}")
        return wide["step"] * float(tokens_per_step)
    return wide.pop("tokens") if logged else pd.Series(np.nan, index=wide.index)


def _join_meta(table: pd.DataFrame, meta: Any) -> pd.DataFrame:
    if meta is None:
        return table
    info = _meta_table(meta)
    clash = sorted(set(info.columns) & set(table.columns))
    if clash:
        raise ArgumentError(f"meta columns {clash} would replace columns read from the logs")
    return table.join(info, on="run")


def _meta_table(meta: Any) -> pd.DataFrame:
    """Run metadata indexed by run id: from a dict ``{run: {column: value}}``, a CSV with a ``run`` column or a TOML
    file of ``[[runs]]`` tables, each with a ``run`` key."""
    if isinstance(meta, dict):
        return pd.DataFrame.from_dict(meta, orient="index").rename(index=str)
    if not isinstance(meta, (str, Path)):
        raise ArgumentError(f"meta must be a dict {{run: {{column: value}}}} or a .toml/.csv path, got {type(meta).__name__}")
    path = Path(meta)
    if not path.is_file():
        raise MissingFileError(f"metadata file {path} does not exist")
    if path.suffix.lower() not in (".toml", ".csv"):
        raise ArgumentError(f"metadata file {path} must end in .toml or .csv")
    rows = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.DataFrame(tomllib.loads(path.read_text()).get("runs", []))
    if "run" not in rows:
        raise DataError(f"metadata file {path} needs a run column ([[runs]] tables with a run key in TOML); it has {list(rows.columns)}")
    rows = rows.astype({"run": str})
    if rows["run"].duplicated().any():
        raise DataError(f"metadata file {path} lists runs more than once: {sorted(rows.loc[rows['run'].duplicated(), 'run'].unique())}")
    return rows.set_index("run")
