"""lm-evaluation-harness results files (``results_<time>.json``), one file or a folder of them.

A file's run is the model it evaluated (``pretrained=`` of ``config.model_args``, else ``config.model``) and its step
the checkpoint's (``revision=step<N>``, as Pythia's and OLMo's checkpoints are named; NaN when the revision names
none). Each ``results.<task>["<metric>,<filter>"]`` value is the metric ``<task>/<metric>`` (``/<filter>`` appended
unless the filter is ``none``). A folder's files are read in name order, a later one winning a step they share.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .points import Options, Points, points_frame

STEP = re.compile(r"(?:^|\D)step[-_]?(\d+)")


def read(source: str, options: Options) -> Points:
    root = Path(source)
    files = sorted(f for f in root.rglob("*.json") if _is_results(f)) if root.is_dir() else [root]
    if not files:
        raise DataError(f"no lm-evaluation-harness results files (JSON with a 'results' key) in {root}")
    frames = [_file_points(file, index) for index, file in enumerate(files)]
    return Points(pd.concat(frames, ignore_index=True), [str(f) for f in files], root.stem, "the later results file wins")


def _load(file: Path) -> dict:
    try:
        return json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{file} is not valid JSON: {err}") from None


def _is_results(file: Path) -> bool:
    return isinstance(doc := _load(file), dict) and "results" in doc


def _file_points(file: Path, index: int) -> pd.DataFrame:
    doc = _load(file)
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise DataError(f"{file} is not an lm-evaluation-harness results file: it has no 'results' table")
    config = doc.get("config") or {}
    args = config.get("model_args") or {}
    if isinstance(args, str):
        args = dict(item.partition("=")[::2] for item in args.split(",") if item)
    step = STEP.search(str(args.get("revision", "")))
    rows = [(args.get("pretrained") or config.get("model"), float(step.group(1)) if step else np.nan,
             _metric_name(task, key), pd.to_numeric(value, errors="coerce"), index)
            for task, scores in doc["results"].items() for key, value in scores.items() if key != "alias"]
    return points_frame(rows)


def _metric_name(task: str, key: str) -> str:
    metric, _, kind = key.partition(",")
    return f"{task}/{metric}" + (f"/{kind}" if kind and kind != "none" else "")
