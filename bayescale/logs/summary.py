"""What a read found, run by run: metrics, steps, gaps and duplicates (the ``bayescale runs`` command's table)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .points import BASE_COLUMNS


def describe_runs(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a :func:`~bayescale.logs.read_runs` table: its metrics, number of steps, first and last
    step, usual logging interval (the median step difference), missing steps at that interval, and duplicates resolved.

    >>> import pandas as pd
    >>> describe_runs(pd.DataFrame({"run": ["a"] * 4, "step": [10.0, 20, 30, 60], "tokens": float("nan"), "loss": 1.0}))[["steps", "interval", "gaps"]]
         steps  interval  gaps
    run                       
    a        4      10.0     2
    """
    metrics = [c for c in table.attrs.get("metrics", table.columns) if c not in BASE_COLUMNS]
    replaced = table.attrs.get("duplicates", {}).get("by_run", {})
    rows = {}
    for run, frame in table.groupby("run", sort=True):
        steps = np.sort(frame["step"].dropna().unique())
        interval = float(np.median(np.diff(steps))) if len(steps) > 1 else np.nan
        gaps = int(np.sum(np.maximum(np.round(np.diff(steps) / interval) - 1, 0))) if len(steps) > 1 else 0
        rows[run] = {"metrics": [m for m in metrics if frame[m].notna().any()], "steps": len(frame),
                     "first_step": frame["step"].min(), "last_step": frame["step"].max(), "interval": interval,
                     "gaps": gaps, "duplicates": replaced.get(run, 0)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("run")
