"""TensorBoard event files, read with tbparse: legacy scalars and TF2 summaries stored as scalar tensors.

Run ids come from the folders: below the folder read, the first folder is the run and any deeper folders prefix
the tag (``t5_pile/base/training_eval/pile_r_denoiser/...`` read from ``t5_pile`` is run ``base``, metric
``training_eval/pile_r_denoiser/loss``); event files directly in the folder read are one run, named ``run=`` or
after that folder. Every point is kept (tbparse stores all events, no reservoir sampling); a step written by several
files (a resumed run) keeps the latest write by wall time.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .points import Options, Points, points_frame, requires

PATTERN = "events.out.tfevents.*"
RULE = "the latest write by wall time wins"


def read(source: str, options: Options) -> Points:
    root = Path(source)
    files = sorted(root.rglob(PATTERN)) if root.is_dir() else [root]
    if not files:
        raise DataError(f"no TensorBoard event files ({PATTERN}) in {root}")
    frames = [_read_file(file, file.parent.relative_to(root).parts if root.is_dir() else ()) for file in files]
    unnamed = root.name if root.is_dir() else root.parent.name
    return Points(pd.concat(frames, ignore_index=True), [str(f) for f in files], unnamed, RULE)


def _read_file(file: Path, folders: tuple[str, ...]) -> pd.DataFrame:
    _check_records(file)
    tbparse = requires("tbparse")
    try:
        with warnings.catch_warnings():  # tbparse's own use of a pandas keyword that pandas deprecates: nothing for a user to do
            warnings.filterwarnings("ignore", message="The inplace keyword")
            reader = tbparse.SummaryReader(str(file), extra_columns={"wall_time"}, event_types={"scalars", "tensors"})
            events = pd.concat([reader.scalars, reader.tensors], ignore_index=True)
    except Exception as err:  # tbparse and protobuf raise many types for a damaged event
        raise DataError(f"event file {file} cannot be read: {type(err).__name__}: {err}") from None
    if events.empty:
        return points_frame([])
    events = events[[np.ndim(v) == 0 for v in events["value"]]]  # scalar summaries; other tensors are not metrics
    prefix = "/".join(folders[1:])
    return points_frame({"run": folders[0] if folders else None, "step": events["step"],
                         "metric": (prefix + "/" if prefix else "") + events["tag"], "value": events["value"],
                         "order": events["wall_time"]})


def _check_records(file: Path) -> None:
    """Every record of ``file`` whole and matching its checksum (TensorBoard's loader stops quietly at a bad one)."""
    stub = requires("tensorboard.compat.tensorflow_stub")
    records = stub.pywrap_tensorflow.PyRecordReader_New(str(file))
    while True:
        try:
            records.GetNext()
        except stub.errors.OutOfRangeError:
            return
        except stub.errors.DataLossError as err:
            raise DataError(f"event file {file} is truncated or corrupt: {err}") from None
