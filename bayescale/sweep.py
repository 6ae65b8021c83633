"""Fit every law to every study (or every group of a study) at once, on any executor, resumable.

:func:`sweep` builds one task per (law, study, group), runs them on an executor (:mod:`bayescale.executors`) and
saves each fit to a folder as it finishes, with its row of the table beside it (``<task>.json``). A sweep
started again on the same folder reads the finished rows back and runs only what is missing (failed tasks
included), so a crash or an interrupt costs only the fits that were running.
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ArgumentError, OverwriteError, SamplingWarning
from .executors import Job, executor_for
from .validation import LeaveLargestOut, task_seed

ROW_FORMAT = 1  # version of the row files a sweep folder holds


@dataclass(frozen=True)
class SweepTask:
    """One fit of a sweep: ``law`` on the runs of ``study`` (its ``group`` only, where the sweep is by group)."""

    law: Any  # a Law
    study: str
    group: str | None
    runs: pd.DataFrame = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)  # model options, sampler settings, seed, holdout

    @property
    def name(self) -> str:
        return f"{self.law.name} on {self.study}" + (f" [{self.group}]" if self.group is not None else "")

    @property
    def slug(self) -> str:
        """The task's file name in the sweep folder (``law__study[__group]``, safe characters only)."""
        parts = [self.law.name, self.study] + ([self.group] if self.group is not None else [])
        return "__".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p) for p in parts)

    def identity(self) -> dict[str, Any]:
        """What a finished row must match to be reused: the task and its options (not the runs' values)."""
        return {"law": self.law.name, "study": self.study, "group": self.group, "runs": len(self.runs), "options": self.options}


def sweep(
    laws: Sequence[Any] | None,
    datasets: Sequence[str] | Mapping[str, pd.DataFrame],
    out: str | Path | None = None,
    *,
    group: str | None = None,
    holdout: float | None = None,
    likelihood: str | None = None,
    executor: Any = None,
    random_seed: int = 0,
    progress: Callable[[dict[str, Any], int, int], None] | None = None,
    data_dir: Any = None,
    **settings: Any,
) -> pd.DataFrame:
    """Fit each of ``laws`` (catalogue names; None: every catalogue law whose inputs and target the runs have) to
    each of ``datasets`` (public data-set names, or a mapping of names to run tables), or to each of their ``group``
    values separately; return one row per task: ``law``, ``study``, ``group``, ``status`` (done, resumed from
    ``out``, failed with its ``error``, or skipped with the reason), ``runs``, the diagnostics (``divergences``,
    ``max_rhat``, ``min_ess_bulk``), PSIS-LOO (``elpd_loo``, ``p_loo``, ``bad_k``), ``seconds`` and ``path``.

    ``holdout`` (a fraction) adds a leave-largest-out check per task: refit without the largest runs and score them
    (``held_out``, ``coverage_50``, ``coverage_90``, ``width_90``, ``median_rel_error``, ``crps``). ``settings`` are
    sampler settings of :func:`bayescale.fit`; each task's seed comes from ``random_seed`` and the task's name.
    ``executor`` runs the tasks (see :func:`bayescale.executors.executor_for`); ``out``, a folder, keeps the fits
    (``<law>__<study>[__<group>].nc``) and makes the sweep resumable; ``progress(row, finished, total)`` is called
    for each task as it finishes (and for each resumed one first).

    >>> import bayescale as bs
    >>> runs = bs.simulate("powerlaw-n", {"E": 1.8, "A": 400.0, "alpha": 0.34}, n=30, random_seed=0)
    >>> table = sweep(["powerlaw-n", "kaplan"], {"simulated": runs}, draws=100, tune=100)
    >>> table[["law", "status"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'law': 'powerlaw-n', 'status': 'done'},
     {'law': 'kaplan', 'status': 'skipped'}]
    >>> table.loc[1, "error"]
    "the runs have no column 'D'"
    """
    if holdout is not None and not 0 < holdout < 1:
        raise ArgumentError(f"holdout is the fraction of the largest runs to hold out, between 0 and 1; got {holdout}")
    options = {"likelihood": likelihood, "holdout": holdout, "random_seed": random_seed, **settings}
    tasks, skipped = plan_tasks(laws, _load(datasets, data_dir), group, options)
    folder = _folder(out)
    rows: dict[int, dict[str, Any]] = {}
    jobs, pending = [], []
    for i, task in enumerate(tasks):
        saved = _saved_row(folder, task) if folder else None
        if saved is not None:
            rows[i] = {**saved, "status": "resumed"}
        else:
            pending.append(i)
            jobs.append(Job(run_task, task, task.name, task.law.name))
    if progress is not None:
        for n, i in enumerate(sorted(rows), 1):
            progress(rows[i], n, len(tasks))
    with executor_for(executor) as runner:
        for j, fit_and_row, error in runner.outcomes(jobs):
            task = tasks[pending[j]]
            if error is None:
                fitted, row = fit_and_row
                if folder:  # a fit file without its row is this sweep's own, cut short: replaced
                    row["path"] = str(fitted.save(folder / f"{task.slug}.nc", overwrite=True))
                    _write_row(folder, task, row)
            else:
                row = {**_blank(task), "status": "failed", "error": f"{type(error).__name__}: {error}"}
            rows[pending[j]] = row
            if progress is not None:
                progress(row, len(rows), len(tasks))
    table = pd.DataFrame([rows[i] for i in range(len(tasks))] + skipped)
    if folder:
        table.to_csv(folder / "sweep.csv", index=False)
    return table


def plan_tasks(laws: Sequence[Any] | None, studies: dict[str, pd.DataFrame], group: str | None,
               options: dict[str, Any]) -> tuple[list[SweepTask], list[dict[str, Any]]]:
    """The sweep's tasks, and a row for each (law, study) pair that cannot be fitted (a column it lacks)."""
    from .laws import get_law, list_laws

    chosen = [get_law(name) if isinstance(name, str) else name for name in (laws if laws is not None else list_laws())]
    if not chosen:
        raise ArgumentError("a sweep needs at least one law")
    tasks, skipped = [], []
    for study, runs in studies.items():
        if group is not None and group not in runs:
            raise ArgumentError(f"cannot sweep by group {group!r}: study {study!r} has columns {list(runs.columns)}")
        for law in chosen:
            missing = [c for c in law.input_names + [law.target] if c not in runs]
            if missing:
                if laws is not None:
                    skipped.append({"law": law.name, "study": study, "group": None, "status": "skipped",
                                    "error": f"the runs have no column {', '.join(map(repr, missing))}"})
                continue
            parts = [(None, runs)] if group is None else [(str(g), part) for g, part in runs.groupby(group, sort=True)]
            for value, part in parts:
                name = f"{law.name} on {study}" + (f" [{value}]" if value is not None else "")
                seeded = {**options, "random_seed": task_seed(options["random_seed"], name)}
                tasks.append(SweepTask(law, study, value, part.reset_index(drop=True), seeded))
    if not tasks and not skipped:
        raise ArgumentError(f"no catalogue law has its inputs and target among the columns of {sorted(studies)}")
    return tasks, skipped


def run_task(task: SweepTask) -> tuple[Any, dict[str, Any]]:
    """Fit one task (and its leave-largest-out check); the fit and its row of the table."""
    from .compare import score_held_out, loo
    from .fit import fit_spec, model_spec
    from .scoring import CI_PROBS, summarize_scores
    from .validation import refit_and_score

    start = time.perf_counter()
    options = dict(task.options)
    holdout = options.pop("holdout")
    spec = model_spec(task.law, likelihood=options.pop("likelihood"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)  # in the row's diagnostics
        fitted = fit_spec(spec, task.runs, **options)
        d = fitted.diagnostics
        elpd = loo(fitted)
        row = {**_blank(task), "status": "done", "runs": len(fitted.runs), "divergences": d.divergences,
               "max_rhat": d.max_rhat, "min_ess_bulk": d.min_ess_bulk, "elpd_loo": float(elpd.elpd_loo), "p_loo": float(elpd.p_loo),
               "bad_k": int((elpd.pareto_k.values > 0.7).sum())}
        if holdout is not None:
            split, = LeaveLargestOut(holdout).splits(fitted.runs, spec.law.input_names)
            seed = options["random_seed"]
            score = partial(score_held_out, ci_probs=CI_PROBS, random_seed=seed, extrapolation=False)
            result, = refit_and_score(spec, fitted.runs, [split], score, options, seed, study=task.study)
            summary = summarize_scores(result.score)
            row.update({"held_out": int(summary["n"]), "coverage_50": summary["coverage_50"], "coverage_90": summary["coverage_90"],
                        "width_90": summary["width_90"], "median_rel_error": summary["median_rel_error"], "crps": summary["crps"],
                        "holdout_divergences": result.fit.diagnostics.divergences})
    row["seconds"] = time.perf_counter() - start
    return fitted, row


def _blank(task: SweepTask) -> dict[str, Any]:
    return {"law": task.law.name, "study": task.study, "group": task.group}


def _load(datasets: Sequence[str] | Mapping[str, pd.DataFrame], data_dir: Any) -> dict[str, pd.DataFrame]:
    from .datasets import load_dataset

    if isinstance(datasets, Mapping):
        studies = {str(k): v for k, v in datasets.items()}
    elif isinstance(datasets, str):
        studies = {datasets: load_dataset(datasets, data_dir)}
    else:
        studies = {name: load_dataset(name, data_dir) for name in datasets}
    if not studies:
        raise ArgumentError("a sweep needs at least one data set")
    for name, runs in studies.items():
        if not isinstance(runs, pd.DataFrame):
            raise ArgumentError(f"data set {name!r} must be a pandas DataFrame of runs, got {type(runs).__name__}")
    return studies


def _folder(out: str | Path | None) -> Path | None:
    if out is None:
        return None
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ArgumentError(f"a sweep's out must be a folder; {folder} is a file")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _saved_row(folder: Path, task: SweepTask) -> dict[str, Any] | None:
    """The finished row of ``task`` in ``folder``, None if it has none; an error if the folder holds this task
    under other options (nothing saved is replaced silently)."""
    path = folder / f"{task.slug}.json"
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
        identity, row = saved["task"], saved["row"]
    except (ValueError, KeyError, TypeError):
        return None  # a row file cut short by the interrupt: the task runs again and replaces it
    if identity != json.loads(json.dumps(task.identity(), default=str)):
        raise OverwriteError(
            f"{path} holds {task.name} fitted with other options ({identity.get('options')}); sweep into another folder, "
            "or remove the file to refit it"
        )
    if not (folder / f"{task.slug}.nc").is_file():
        return None
    return row


def _write_row(folder: Path, task: SweepTask, row: dict[str, Any]) -> None:
    path = folder / f"{task.slug}.json"
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps({"format": ROW_FORMAT, "task": task.identity(), "row": row}, default=str, indent=1))
    tmp.replace(path)
