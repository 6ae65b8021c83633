"""MLflow tracking stores, read with MLflow's own client: every metric's full history of every run.

The source is a tracking URI (``sqlite:///runs.db``, ``file:///.../mlruns``, a server's ``http://...``), a ``.db``
file or an ``mlruns`` folder. MLflow 3 opens a folder store (``file:``) only when ``MLFLOW_ALLOW_FILE_STORE=true``;
reading one sets it for the read alone (nothing is written). A run is named by its run name, or by its run id
where names are missing or repeat. A step logged twice keeps the later write by timestamp.
"""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

from ..errors import DataError, MissingFileError
from .points import Options, Points, points_frame, requires

LOCAL = ("sqlite:///", "file:")


def is_uri(source: str) -> bool:
    """Whether ``source`` is a tracking URI rather than a path."""
    return "://" in source or source.startswith("file:")


def tracking_uri(source: str) -> str:
    """The tracking URI of ``source``: itself if a URI, else of the ``.db`` file or ``mlruns`` folder at that path."""
    if is_uri(source):
        return source
    path = Path(source).resolve()
    return f"sqlite:///{path}" if path.is_file() else path.as_uri()


def read(source: str, options: Options) -> Points:
    uri = tracking_uri(source)
    local = next((uri.removeprefix(p).removeprefix("//") for p in LOCAL if uri.startswith(p)), None)
    if local is not None and not Path(local).exists():  # MLflow would create an empty store there
        raise MissingFileError(f"MLflow tracking store {local} does not exist")
    with mock.patch.dict(os.environ, {"MLFLOW_ALLOW_FILE_STORE": "true"} if uri.startswith("file:") else {}):
        client = requires("mlflow.tracking").MlflowClient(uri)
        runs = _all_runs(client)
        if not runs:
            raise DataError(f"MLflow tracking store {uri} holds no runs")
        names = [r.info.run_name for r in runs]
        rows = [(name if name and names.count(name) == 1 else r.info.run_id, m.step, m.key, m.value, m.timestamp)
                for r, name in zip(runs, names) for key in r.data.metrics for m in client.get_metric_history(r.info.run_id, key)]
    return Points(points_frame(rows), [uri], None, "the later write by timestamp wins")


def _all_runs(client) -> list:
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs, token = [], None
    while True:
        page = client.search_runs(experiments, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs
