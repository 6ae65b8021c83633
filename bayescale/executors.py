"""Where many independent fits run: in this process, in local worker processes, or on a Dask cluster.

Every many-fit loop (backtest folds, calibration origins, leave-largest-out comparisons, the literature bank,
sweeps) hands its tasks to :func:`executor_for`, which accepts

- ``None`` (or ``1``): one after another in this process;
- an ``int`` N > 1: N local worker processes (``spawn``ed, no Dask needed);
- a ``dask.distributed.Client``, or a scheduler address such as ``"tcp://10.0.0.5:8786"`` (``pip install bayescale[dask]``);
- any :class:`concurrent.futures.Executor` (a process pool of your own, or another engine's adapter).

Results never depend on where a task ran: each task's seed comes from its identity (see
:func:`bayescale.validation.task_seed`) and compiled models give the same floating-point results in every
process (no fast-math; see :mod:`bayescale.sampling`). Workers do not fight: each worker process has its own
PyTensor compile directory (a numbered slot under the user cache, held by a file lock and kept warm for the
next run), samples its chains in one thread (``BAYESCALE_SAMPLER_THREADS=1``) since the tasks share the cores,
and each worker runs one task at a time, of the model it compiled last where one is left (:func:`dispatch`; on Dask
a soft restriction, so that a lost worker's tasks move elsewhere). A task whose worker dies is run again (by Dask's
scheduler, up to its ``allowed-failures``; in a new process for local workers, up to ``RETRIES`` times); a task
that raises is reported by name (:class:`TaskError`), not retried: the same seed would raise again.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ArgumentError, ExecutorError, TaskError
from .workers import environment, skip_exit_collection, take_slot, worker_environment

RETRIES = 2  # times a local worker's task is run again when its process dies
SHARE_AFTER = 8  # jobs of one model left before an idle worker compiles it too, to help (with an empty cache a compile costs ~15 refits)
SHARE_WARM = 2  # the same where the model is in its host's disk cache already (loaded in ~0.5 s, a third of a refit)


@dataclass(frozen=True)
class Job:
    """One task: ``fn(arg)``, called ``name`` in errors, and ``affinity``: tasks that share it (one model) are best
    run by one worker, which then compiles that model once."""

    fn: Callable[[Any], Any]
    arg: Any
    name: str
    affinity: str = ""


Outcome = tuple[int, Any, BaseException | None]  # a job's position, its result, or the error it raised


class InProcess:
    """Jobs run one after another in this process."""


    def outcomes(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        for i, job in enumerate(jobs):
            try:
                yield i, job.fn(job.arg), None
            except Exception as error:  # reported per job by the caller, with the job's name
                yield i, None, error


class FuturesExecutor:
    """Jobs submitted to a :class:`concurrent.futures.Executor` the caller owns (it is not shut down here)."""


    def __init__(self, executor: cf.Executor):
        self.executor = executor

    def outcomes(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        futures = {self.executor.submit(job.fn, job.arg): i for i, job in enumerate(jobs)}
        for future in cf.as_completed(futures):
            error = future.exception()
            yield futures[future], None if error else future.result(), error


class LocalProcesses:
    """``workers`` local processes, each its own single-process pool, so that a model's jobs can be sent to the
    worker that compiled it; a pool whose process died is replaced and its unfinished jobs run again. This process
    holds each worker's compile-directory slot and starts the worker with it in its environment (a spawned worker
    imports the caller's main module, and with it PyTensor, before any code of ours runs there)."""


    def __init__(self, workers: int):
        self.workers = workers
        self._pools: list[cf.ProcessPoolExecutor | None] = [None] * workers
        self._slots = [take_slot() for _ in range(workers)]

    def _pool(self, slot: int) -> cf.ProcessPoolExecutor:
        if self._pools[slot] is None:
            self._start([slot])
        return self._pools[slot]

    def _start(self, slots: list[int]) -> None:
        """Start the worker processes of ``slots`` at once, each with its own environment (set while it spawns)."""
        started = []
        for slot in slots:
            pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=skip_exit_collection)
            with environment(worker_environment(self._slots[slot][1])):
                started.append(pool.submit(os.getpid))  # the process starts here, with that environment
            self._pools[slot] = pool
        cf.wait(started)

    def outcomes(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        self._start([slot for slot, pool in enumerate(self._pools) if pool is None])
        tries = [0] * len(jobs)

        def submit(i: int, worker: int) -> Any:
            pool = self._pool(worker)
            future = pool.submit(jobs[i].fn, jobs[i].arg)
            future.pool = pool  # which process it ran in, to replace that one if it dies
            return future

        def finished(pending: set) -> set:
            return cf.wait(pending, return_when=cf.FIRST_COMPLETED)[0]

        def retry(i: int, worker: int, future: Any) -> bool:
            if not isinstance(future.exception(), cf.process.BrokenProcessPool) or tries[i] >= RETRIES:
                return False
            tries[i] += 1
            if self._pools[worker] is future.pool:  # the first of its jobs to see the dead process replaces it
                future.pool.shutdown(wait=False)
                self._pools[worker] = None
            return True

        yield from dispatch(jobs, self.workers, submit, finished, retry)

    def close(self) -> None:
        for pool in self._pools:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        for lock, _ in self._slots:
            lock.close()


class DaskExecutor:
    """Jobs on a Dask cluster through ``client``: named keys, and a model's jobs sent preferably (not only) to one
    worker."""


    def __init__(self, client: Any):
        from .dask_plugin import WorkerSetup  # imports Dask

        self.client = client
        check_workers(client)
        client.register_plugin(WorkerSetup(), name="bayescale-worker-setup")

    def outcomes(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        from dask.base import tokenize
        from distributed import wait

        info = self.client.scheduler_info()["workers"]
        workers = sorted(info)
        hosts = [info[address].get("host", address) for address in workers]
        token = tokenize(os.getpid(), id(jobs), [job.name for job in jobs])

        def submit(i: int, worker: int) -> Any:  # preferably there; anywhere if that worker is lost
            return self.client.submit(jobs[i].fn, jobs[i].arg, key=f"{jobs[i].name} ({token}-{i})", pure=False,
                                      workers=[workers[worker]], allow_other_workers=True)

        def finished(pending: set) -> set:
            return set(wait(list(pending), return_when="FIRST_COMPLETED").done)

        yield from dispatch(jobs, len(workers), submit, finished, lambda i, worker, future: False, host=hosts.__getitem__)


def dispatch(jobs: Sequence[Job], workers: int, submit: Callable, finished: Callable, retry: Callable,
             host: Callable[[int], str] = lambda worker: "") -> Iterator[Outcome]:
    """Run ``jobs`` on ``workers``, one at a time on each: a free worker takes a job of the affinity it ran last,
    else of the affinity with most jobs left that no busy worker holds, else helps the busiest affinity if enough of
    its jobs are left to pay for compiling its model there: :data:`SHARE_WARM` once a job of it has finished on the
    worker's ``host(worker)`` (whose disk cache then holds the model), else :data:`SHARE_AFTER`. ``submit(i, worker)``
    starts job ``i`` and returns its future, ``finished(futures)`` waits for some to finish, ``retry(i, worker,
    future)`` says whether a failed job runs again.

    >>> import concurrent.futures as cf
    >>> done = []
    >>> def submit(i, worker):
    ...     done.append((i, worker)); future = cf.Future(); future.set_result(i); return future
    >>> jobs = [Job(abs, i, f"job {i}", affinity="a" if i < 4 else "b") for i in range(5)]
    >>> last_first = lambda pending: {max(pending, key=lambda future: future.result())}
    >>> [i for i, _, _ in dispatch(jobs, 2, submit, last_first, lambda *_: False)]
    [4, 0, 2, 3, 1]
    >>> done  # worker 1 waits while model a is in no disk cache, and helps with it once a job of a has finished
    [(0, 0), (4, 1), (1, 1), (2, 0), (3, 0)]
    """
    left: dict[str, list[int]] = {}
    for i, job in enumerate(jobs):
        left.setdefault(job.affinity or job.name, []).append(i)
    last: dict[int, str] = {}
    warm: set[tuple[str, str]] = set()  # (host, affinity) where a job of that affinity has finished
    running: dict[Any, tuple[int, int, str]] = {}
    idle = list(range(workers))

    def fill() -> None:
        for worker in list(idle):
            held = {a for _, w, a in running.values() if w != worker}
            choice = next((a for a in [last.get(worker)] if a in left), None)
            free = [a for a in left if a not in held]
            if choice is None and free:
                choice = max(free, key=lambda a: len(left[a]))
            if choice is None and left:
                busiest = max(left, key=lambda a: len(left[a]))
                enough = SHARE_WARM if (host(worker), busiest) in warm else SHARE_AFTER
                choice = busiest if len(left[busiest]) >= enough else None
            if choice is None:
                continue
            i = left[choice].pop(0)
            if not left[choice]:
                del left[choice]
            running[submit(i, worker)] = (i, worker, choice)
            last[worker] = choice
            idle.remove(worker)

    fill()
    while running:
        for future in finished(set(running)):
            i, worker, affinity = running.pop(future)
            idle.append(worker)
            if future.exception() is not None and retry(i, worker, future):
                left.setdefault(affinity, []).insert(0, i)
                continue
            error = future.exception()
            if error is None:
                warm.add((host(worker), affinity))
            yield i, None if error else future.result(), error
        fill()


def run_all(jobs: Sequence[Job], executor: Any = None) -> list[Any]:
    """Every job's result in order, run by ``executor`` (see :func:`executor_for`); when jobs raise, the others
    still finish and the first in order is raised as a :class:`TaskError` naming it.

    >>> run_all([Job(abs, -2, "a"), Job(abs, 3, "b")])
    [2, 3]
    >>> run_all([Job(abs, "x", "the task called x")])
    Traceback (most recent call last):
    ...
    bayescale.errors.TaskError: the task called x: TypeError: bad operand type for abs(): 'str'
    """
    results: list[Any] = [None] * len(jobs)
    errors: dict[int, BaseException] = {}
    with executor_for(executor) as runner:
        for i, result, error in runner.outcomes(jobs):
            if error is None:
                results[i] = result
            else:
                errors[i] = error
    if errors:
        first = min(errors)
        others = f" (and {len(errors) - 1} other tasks: {', '.join(jobs[i].name for i in sorted(errors)[1:4])}...)" if len(errors) > 1 else ""
        raise TaskError(jobs[first].name + others, errors[first]) from errors[first]
    return results


@contextlib.contextmanager
def executor_for(executor: Any = None) -> Iterator[Any]:
    """The runner for ``executor`` (see the module's text); what it starts here (processes, a Dask client from an
    address) is closed on leaving, what the caller passed in is left running."""
    if executor is None or (isinstance(executor, int) and not isinstance(executor, bool) and executor == 1):
        yield InProcess()
    elif isinstance(executor, int) and not isinstance(executor, bool):
        if executor < 1:
            raise ArgumentError(f"workers must be a positive number of processes, got {executor}")
        runner = LocalProcesses(executor)
        try:
            yield runner
        finally:
            runner.close()
    elif isinstance(executor, str):
        client = connect(executor)
        try:
            yield DaskExecutor(client)
        finally:
            client.close()
    elif isinstance(executor, cf.Executor):
        yield FuturesExecutor(executor)
    elif "distributed" in sys.modules and isinstance(executor, sys.modules["distributed"].Client):
        yield DaskExecutor(executor)
    else:
        raise ArgumentError(
            f"executor must be None, a number of worker processes, a Dask Client or scheduler address, or a "
            f"concurrent.futures.Executor; got {executor!r}"
        )


def connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address``, or an :class:`ExecutorError` saying why there is none (waiting
    Dask's ``distributed.comm.timeouts.connect``)."""
    try:
        import dask
        from distributed import Client
    except ImportError as error:
        raise ExecutorError("running on a Dask scheduler needs the dask extra: pip install 'bayescale[dask]'") from error
    timeout = dask.utils.parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as error:
        raise ExecutorError(f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s: {error}") from error


def check_workers(client: Any) -> None:
    """Every worker of ``client`` has this version of bayescale installed, or an :class:`ExecutorError` naming
    the workers that do not (asked with the standard library alone, which a worker without bayescale has too)."""
    import importlib.metadata

    from . import __version__

    if not client.scheduler_info()["workers"]:
        raise ExecutorError(f"the Dask cluster at {client.scheduler.address} has no workers")
    versions = client.run(importlib.metadata.version, "bayescale", on_error="return")
    wrong = {worker: version for worker, version in versions.items() if version != __version__}
    if wrong:
        listed = ", ".join(f"{w} ({v if isinstance(v, str) else 'not installed'})" for w, v in sorted(wrong.items()))
        raise ExecutorError(f"these Dask workers lack bayescale {__version__} (install the same version there): {listed}")
