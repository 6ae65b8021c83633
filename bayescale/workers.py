"""What makes a process a bayescale worker: its own PyTensor compile directory, its chains in one thread, a quick exit.

PyTensor's compile cache is not safe for several processes writing at once, so each worker process gets a
numbered slot under the user cache (``workers/slot-N``), held by a file lock while the process lives and kept,
warm, for the next run. The numba cache inside each slot (where the compiled models are) is one folder shared by
all slots (``workers/numba``): numba and :mod:`bayescale.compiled` write and check their entries safely when several
processes compile the same model at once, so a model compiled by one worker loads in every other.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .settings import THREADS_ENV

_SLOT_LOCK: Any = None  # the open lock file that holds this process's compile-directory slot


def take_slot() -> tuple[Any, Path]:
    """A compile directory no other live process uses: the first numbered slot under the user cache whose lock file
    this process can lock (kept locked while the returned handle is open; the directory stays, warm, for the next)."""
    import platformdirs

    root = Path(platformdirs.user_cache_dir("bayescale")) / "workers"
    root.mkdir(parents=True, exist_ok=True)
    slot = 0
    while True:
        lock = open(root / f"slot-{slot}.lock", "a")
        if _try_lock(lock):
            return lock, _with_shared_numba_cache(root / f"slot-{slot}", root / "numba")
        lock.close()
        slot += 1


def _with_shared_numba_cache(directory: Path, shared: Path) -> Path:
    """``directory``, its ``numba`` folder (PyTensor's numba cache) a link to ``shared``. A slot made before the
    folder was shared has a numba folder of its own: that cache (only compiled code, rebuilt on demand) is dropped
    for the link, so every slot loads what any other compiled."""
    shared.mkdir(parents=True, exist_ok=True)
    directory.mkdir(exist_ok=True)
    link = directory / "numba"
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link, ignore_errors=True)
    if not link.exists() and not link.is_symlink():
        with contextlib.suppress(OSError):  # no symbolic links here (Windows without the right): the slot compiles alone
            link.symlink_to(shared, target_is_directory=True)
    return directory


def worker_environment(directory: Path) -> dict[str, str]:
    """The environment of a worker process: its own PyTensor compile directory, its chains in one thread."""
    flags = ",".join(f for f in [os.environ.get("PYTENSOR_FLAGS", ""), f"base_compiledir={directory}"] if f)
    return {"PYTENSOR_FLAGS": flags, THREADS_ENV: "1"}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def skip_exit_collection() -> None:
    """At this worker process's exit, spare it the garbage collector's last passes over every object it holds
    (1.4 s of a 1.5 s exit in a process holding PyMC and a compiled model, while the caller waits for its workers
    to stop): the objects alive then are frozen out of the collector's reach. Every exit handler still runs and
    objects are still freed by their reference counts. Registered once, however often it is called."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def prepare_worker() -> Path | None:
    """Make this process (a Dask worker) a bayescale worker: chains in one thread, a quick exit
    (:func:`skip_exit_collection`) and, where PyTensor is not yet imported here, a compile directory of its own
    (:func:`take_slot`). Returns that directory, or None where it keeps PyTensor's default (then start the workers
    with ``PYTENSOR_FLAGS=base_compiledir=...`` each)."""
    global _SLOT_LOCK
    os.environ[THREADS_ENV] = "1"
    skip_exit_collection()
    if "pytensor" in sys.modules or _SLOT_LOCK is not None:
        return None
    _SLOT_LOCK, directory = take_slot()
    os.environ.update(worker_environment(directory))
    return directory


def _try_lock(handle: Any) -> bool:
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): every slot counts as free, one process per run
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
