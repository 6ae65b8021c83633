"""Many fits on other executors: local worker processes and a real Dask LocalCluster give the sequential results;
a killed worker, an interrupted sweep, a failing task, an unreachable scheduler and a worker without bayescale."""

import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.executors import Job, LocalProcesses, executor_for, run_all

distributed = pytest.importorskip("distributed", reason="the Dask tests need the dask extra: pip install 'bayescale[dask]'")

SETTINGS = {"draws": 150, "tune": 150}
VARYING = ["seconds", "path", "status"]  # how long a task took and where it was saved, not what it found


@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster: two worker processes of one thread each, closed after the module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        with distributed.Client(local) as client:
            yield client


@pytest.fixture(scope="module")
def studies(seed_for):
    """Two simulated studies in N and D (small, so that refits are quick)."""
    truth = {"E": 1.7, "A": 400.0, "alpha": 0.34, "B": 410.0, "beta": 0.28}
    out = {}
    for name in ("small", "other"):
        sizes = np.geomspace(3e7, 3e9, 6)
        runs = pd.DataFrame({"N": np.repeat(sizes, 4), "D": np.tile([2e9, 8e9, 3e10, 1e11], 6)})
        out[name] = bs.simulate("chinchilla", truth, design=runs, noise=0.01, random_seed=seed_for(name))
    return out


def _comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=[c for c in VARYING if c in table]).reset_index(drop=True)


@pytest.fixture(scope="module")
def sequential_sweep(studies, tmp_path_factory):
    return bs.sweep(["powerlaw-n", "powerlaw-d"], studies, tmp_path_factory.mktemp("sequential"), holdout=0.25, random_seed=3, **SETTINGS)


def test_backtest_on_a_dask_cluster_matches_the_sequential_run(cluster, studies):
    runs = studies["small"]
    here = bs.backtest("powerlaw-n", runs, folds=2, span=(0.6, 0.8), random_seed=4, **SETTINGS)
    there = bs.backtest("powerlaw-n", runs, folds=2, span=(0.6, 0.8), random_seed=4, executor=cluster, **SETTINGS)
    pd.testing.assert_frame_equal(here.runs, there.runs, check_exact=True)
    assert here.runs["method"].nunique() == 2 and len(here.runs) > 0


def test_sweep_on_a_dask_cluster_matches_the_sequential_sweep(cluster, studies, sequential_sweep, tmp_path):
    assert (sequential_sweep["status"] == "done").all() and len(sequential_sweep) == 4
    assert set(sequential_sweep.columns) >= {"elpd_loo", "max_rhat", "divergences", "coverage_90", "median_rel_error"}
    on_cluster = bs.sweep(["powerlaw-n", "powerlaw-d"], studies, tmp_path, holdout=0.25, random_seed=3, executor=cluster, **SETTINGS)
    pd.testing.assert_frame_equal(_comparable(sequential_sweep), _comparable(on_cluster), check_exact=True)
    assert sorted(p.name for p in tmp_path.glob("*.nc")) == sorted(f"{law}__{s}.nc" for law in ("powerlaw-d", "powerlaw-n") for s in studies)
    saved = bs.load(tmp_path / "powerlaw-n__small.nc")
    assert saved.diagnostics.divergences == on_cluster.set_index(["law", "study"]).loc[("powerlaw-n", "small"), "divergences"]


def test_a_worker_killed_during_a_sweep_does_not_lose_it(cluster, studies, sequential_sweep, tmp_path):
    killed = []

    def kill_a_busy_worker(row, finished, total):
        if killed:
            return
        busy = [worker for worker, keys in cluster.processing().items() if keys]
        if busy:
            pid = cluster.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(busy[0])

    table = bs.sweep(["powerlaw-n", "powerlaw-d"], studies, tmp_path, holdout=0.25, random_seed=3, executor=cluster,
                     progress=kill_a_busy_worker, **SETTINGS)
    assert killed, "no worker was busy when the first task finished"
    pd.testing.assert_frame_equal(_comparable(sequential_sweep), _comparable(table), check_exact=True)
    cluster.wait_for_workers(2, timeout=120)  # the nanny restarts the killed one for the next tests


def test_an_interrupted_sweep_resumes_and_skips_finished_fits(studies, sequential_sweep, tmp_path):
    def interrupt_after_the_first(row, finished, total):
        if row["status"] == "done":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bs.sweep(["powerlaw-n", "powerlaw-d"], studies, tmp_path, holdout=0.25, random_seed=3, progress=interrupt_after_the_first, **SETTINGS)
    assert len(list(tmp_path.glob("*.json"))) == 1
    statuses = []
    table = bs.sweep(["powerlaw-n", "powerlaw-d"], studies, tmp_path, holdout=0.25, random_seed=3,
                     progress=lambda row, finished, total: statuses.append(row["status"]), **SETTINGS)
    assert statuses == ["resumed", "done", "done", "done"]
    pd.testing.assert_frame_equal(_comparable(sequential_sweep), _comparable(table), check_exact=True)
    with pytest.raises(bs.OverwriteError, match="other options"):  # a finished fit is never replaced by one of other settings
        bs.sweep(["powerlaw-n"], studies, tmp_path, holdout=0.25, random_seed=4, **SETTINGS)


def test_a_failing_task_is_named_and_the_sweep_keeps_the_others(cluster, studies, tmp_path):
    tiny = studies["small"].head(3)  # fewer runs than the law has parameters
    table = bs.sweep(["powerlaw-n", "powerlaw-d"], {"small": studies["small"], "tiny": tiny}, tmp_path, executor=cluster, **SETTINGS)
    rows = table.set_index(["law", "study"])
    assert (rows.loc[[("powerlaw-n", "small"), ("powerlaw-d", "small")], "status"] == "done").all()
    assert rows.loc[("powerlaw-n", "tiny"), "status"] == "failed"
    assert "needs more runs than that, got 3" in rows.loc[("powerlaw-n", "tiny"), "error"]
    assert sorted(p.name for p in tmp_path.glob("*.nc")) == ["powerlaw-d__small.nc", "powerlaw-n__small.nc"]
    with pytest.raises(bs.TaskError, match=r"powerlaw-n on tiny, fold 0: .* ModelError: .*needs more runs"):
        bs.backtest("powerlaw-n", studies["small"].head(8), thresholds=[4e7], executor=cluster, study="tiny", **SETTINGS)


def test_an_unreachable_scheduler_is_a_clear_error():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(bs.ExecutorError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 2 s"):
            with executor_for("tcp://127.0.0.1:9"):
                pass


def test_a_worker_without_bayescale_is_named(tmp_path):
    """A real worker process whose Python finds every installed package but bayescale."""
    site = Path(sysconfig.get_paths()["purelib"])
    farm = tmp_path / "site"
    farm.mkdir()
    for entry in site.iterdir():
        if not entry.name.lower().startswith(("bayescale", "_bayescale", "__editable__")) and entry.suffix != ".pth":
            (farm / entry.name).symlink_to(entry)
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None) as local, distributed.Client(local) as client:
        env = {**os.environ, "PYTHONPATH": str(farm)}
        worker = subprocess.Popen([sys.executable, "-S", "-m", "distributed.cli.dask_worker", local.scheduler_address, "--nthreads", "1", "--no-nanny"],
                                  env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=60)
            with pytest.raises(bs.ExecutorError, match=rf"lack bayescale {bs.__version__} .*not installed"):
                with executor_for(client):
                    pass
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def _die_once(marker: str) -> int:
    """Kill this worker process the first time (the marker file not yet there), return its pid after."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(1)
    return os.getpid()


def test_local_workers_rerun_the_task_of_a_dead_process_and_keep_compile_directories_apart(tmp_path):
    runner = LocalProcesses(2)
    try:
        outcomes = sorted(runner.outcomes([Job(_die_once, str(tmp_path / "marker"), "dies once"), Job(abs, -2, "abs")]))
        assert [(i, error) for i, _, error in outcomes] == [(0, None), (1, None)]
        assert outcomes[0][1] not in (os.getpid(), None) and outcomes[1][1] == 2
        assert (tmp_path / "marker").read_text() == "died"
        directories = [directory for _, directory in runner._slots]
        assert len(set(directories)) == 2
        assert len({(directory / "numba").resolve() for directory in directories}) == 1  # one numba cache: a model compiles once
    finally:
        runner.close()


def _on_exit_write(path: str) -> int:
    """Register an exit handler that writes ``path`` in this worker process, return the process's id."""
    import atexit

    atexit.register(Path(path).write_text, "ran")
    return os.getpid()


def test_local_workers_skip_only_the_exit_collection_and_still_run_every_exit_handler(tmp_path):
    marker = tmp_path / "exit handler"
    runner = LocalProcesses(1)
    try:
        assert next(runner.outcomes([Job(_on_exit_write, str(marker), "in a worker")]))[1] != os.getpid()
    finally:
        runner.close()  # waits for the worker to end
    assert marker.read_text() == "ran"
    script = ("import atexit, gc; from bayescale.workers import skip_exit_collection; "
              "atexit.register(lambda: print(gc.get_freeze_count() > 0)); skip_exit_collection(); cycle = []; cycle.append(cycle)")
    frozen = [subprocess.run([sys.executable, "-c", text], capture_output=True, text=True, check=True).stdout.strip()
              for text in (script, script.replace(" skip_exit_collection();", ""))]
    assert frozen == ["True", "False"]  # gc.freeze ran at exit, before the handler registered ahead of it


def test_a_slot_made_before_the_numba_cache_was_shared_joins_it(tmp_path):
    from bayescale.workers import _with_shared_numba_cache

    old = tmp_path / "slot-0" / "numba"
    old.mkdir(parents=True)
    (old / "entry.nbi").write_text("compiled alone")
    (tmp_path / "numba").mkdir()
    (tmp_path / "numba" / "shared.nbi").write_text("compiled by another slot")
    for _ in range(2):  # and taking the slot again keeps the link
        slot = _with_shared_numba_cache(tmp_path / "slot-0", tmp_path / "numba")
        assert (slot / "numba").resolve() == (tmp_path / "numba").resolve()
        assert sorted(p.name for p in (slot / "numba").iterdir()) == ["shared.nbi"]


def test_local_workers_give_the_sequential_results(studies):
    here = bs.backtest("powerlaw-n", studies["other"], folds=2, span=(0.6, 0.8), random_seed=5, **SETTINGS)
    there = bs.backtest("powerlaw-n", studies["other"], folds=2, span=(0.6, 0.8), random_seed=5, executor=2, **SETTINGS)
    pd.testing.assert_frame_equal(here.runs, there.runs, check_exact=True)


def test_run_all_names_the_first_failing_task_and_finishes_the_rest():
    done = []
    jobs = [Job(done.append, 1, "first"), Job(abs, "x", "second"), Job(done.append, 3, "third")]
    with pytest.raises(bs.TaskError, match="^second: TypeError"):
        run_all(jobs)
    assert done == [1, 3]
    with pytest.raises(bs.ArgumentError, match="executor must be"):
        run_all(jobs, executor="not an address".split())


def test_any_concurrent_futures_executor_runs_the_jobs_in_order():
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        assert run_all([Job(abs, -value, str(value)) for value in range(6)], pool) == list(range(6))
        with pytest.raises(bs.TaskError, match="^x: TypeError"):
            run_all([Job(abs, "x", "x")], pool)
