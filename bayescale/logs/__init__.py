"""Researchers' training logs as one long table of runs and steps: :func:`read_runs`, a reader module per source.

The readers import their libraries (tbparse, TensorBoard, MLflow) on first use: ``pip install 'bayescale[logs]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ArgumentError, DataError, MissingFileError
from . import lm_eval, mlflow, tensorboard, tidy, wandb
from .checkpoints import checkpoints
from .points import Options, Points, assemble
from .summary import describe_runs

READERS: dict[str, Callable[[str, Options], Points]] = {
    "tensorboard": tensorboard.read,
    "wandb-csv": wandb.read_csv,
    "wandb-parquet": wandb.read_history,
    "mlflow": mlflow.read,
    "lm-eval": lm_eval.read,
    "tidy": tidy.read,
}
FOLDERS = [("tensorboard", f"**/{tensorboard.PATTERN}"), ("mlflow", "*/meta.yaml"), ("wandb-csv", "*.csv"), ("lm-eval", "**/*.json")]

__all__ = ["READERS", "checkpoints", "describe_runs", "read_runs"]


def read_runs(source: str | os.PathLike[str], *, metric: str | Sequence[str] | None = None, format: str | None = None,
              tokens_per_step: float | None = None, meta: dict | str | os.PathLike[str] | None = None,
              run: str | None = None, bounds: bool = False) -> pd.DataFrame:
    """Read training logs into one long table: a row per run and logged step.

    :param source: a TensorBoard event folder or file, a W&B CSV export (or a folder of them), a W&B history
        ``.parquet``, an MLflow tracking URI (``sqlite:///runs.db``), ``.db`` file or ``mlruns`` folder, an
        lm-evaluation-harness results ``.json`` (or a folder of them), or a tidy ``.csv``/``.parquet``/``.jsonl``
        table with ``step``, optional ``run`` and metric columns.
    :param metric: the metric, or metrics, to read (default: all); one the logs lack raises a :class:`DataError`
        listing those they have.
    :param format: one of ``tensorboard``, ``wandb-csv``, ``wandb-parquet``, ``mlflow``, ``lm-eval``, ``tidy``
        (default: told from the path).
    :param tokens_per_step: tokens seen per step; ``tokens`` is ``step * tokens_per_step``. Without it, a logged
        ``tokens`` metric, else NaN.
    :param meta: run metadata joined as columns (``N``, a group): a dict ``{run: {column: value}}``, a CSV with a
        ``run`` column, or a TOML file of ``[[runs]]`` tables with a ``run`` key.
    :param run: the name of the one run of a source that names none (a history table, a tidy table without a run
        column, event files directly in the folder read); default: the file's or folder's name.
    :param bounds: W&B CSV exports: keep the ``__MIN``/``__MAX`` columns as ``<metric>_min``/``<metric>_max``.
    :return: columns ``run`` (str), ``step``, ``tokens``, one per metric (float64; NaN where a run did not log that
        metric at that step), then ``meta``'s. Non-finite values are dropped and a step logged twice (a resumed run)
        keeps one value, by the source's rule; both counted in a :class:`DataWarning` and in ``.attrs`` (``source``,
        ``format``, ``files``, ``metrics``, ``runs``, ``tokens``, ``duplicates``, ``dropped``, ``meta``).

    How each source names its runs and resolves duplicates is in its module's docstring (``bayescale.logs.tensorboard``,
    ``.wandb``, ``.mlflow``, ``.lm_eval``, ``.tidy``). For the T5 logs of the public data:

    >>> import warnings, bayescale as bs
    >>> with warnings.catch_warnings(action="ignore", category=bs.DataWarning):  # the resumed runs' duplicate steps
    ...     runs = bs.read_runs(bs.data_dir() / "training_logs/t5_pile", tokens_per_step=1e6,
    ...                         metric="training_eval/pile_r_denoiser/cross_ent_loss_per_all_target_tokens",
    ...                         meta={"base": {"N": 247_586_304}, "large": {"N": 783_173_632}, "xl": {"N": 2_849_804_288}})
    >>> runs.groupby("run").size().to_dict()
    {'base': 201, 'large': 201, 'xl': 201}
    >>> list(runs.columns)
    ['run', 'step', 'tokens', 'training_eval/pile_r_denoiser/cross_ent_loss_per_all_target_tokens', 'N']
    """
    source = os.fspath(source)
    if not mlflow.is_uri(source):
        if not Path(source).exists():
            raise MissingFileError(f"no training logs at {source}: it does not exist")
        if Path(source).is_file() and Path(source).stat().st_size == 0:
            raise DataError(f"{source} is empty")
    format = format or _detect_format(source)
    if format not in READERS:
        raise ArgumentError(f"format must be one of {', '.join(READERS)}, got {format!r}")
    if bounds and format != "wandb-csv":
        raise ArgumentError(f"bounds=True applies to W&B CSV exports, not to {format}")
    points = READERS[format](source, Options(run=run, bounds=bounds))
    return assemble(points, source=source, format=format, metric=metric, tokens_per_step=tokens_per_step, meta=meta, run=run)


def _detect_format(source: str) -> str:
    """The format of ``source``, told from its path (a folder: from the files it holds; a CSV: from its header)."""
    if mlflow.is_uri(source):
        return "mlflow"
    path = Path(source)
    if path.is_dir():
        found = next((fmt for fmt, pattern in FOLDERS if next(path.glob(pattern), None)), None)
        if found is None:
            raise DataError(f"{path} holds no training logs: no TensorBoard event files, MLflow store, W&B CSV exports "
                            "or lm-evaluation-harness results")
        return found
    suffix = path.suffix.lower()
    if tensorboard.PATTERN.rstrip("*") in path.name:
        return "tensorboard"
    if suffix in (".db", ".sqlite"):
        return "mlflow"
    if suffix == ".json":
        return "lm-eval"
    if suffix == ".csv":
        return _csv_format(path)
    if suffix in (".parquet", ".pq"):
        return "wandb-parquet" if "_step" in pd.read_parquet(path).columns else "tidy"
    if suffix in tidy.READERS:
        return "tidy"
    raise DataError(f"{path}: cannot tell which training log this is from its name; give format= (one of {', '.join(READERS)})")


def _csv_format(path: Path) -> str:
    columns = list(pd.read_csv(path, nrows=0).columns)
    if "Step" in columns or any(" - " in c for c in columns):
        return "wandb-csv"
    if "step" in columns:
        return "tidy"
    raise DataError(f"{path} has no Step column (a W&B export) or step column (a tidy table); its columns: {columns}")
