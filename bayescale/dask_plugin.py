"""The Dask worker plugin that makes every worker of a cluster a bayescale worker (imported only with Dask)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from .workers import prepare_worker


class WorkerSetup(WorkerPlugin):
    """Runs :func:`~bayescale.workers.prepare_worker` on every worker, those that join later included."""

    idempotent = True

    def setup(self, worker: Any) -> None:
        prepare_worker()
