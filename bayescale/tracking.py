"""Logging a fit to an MLflow experiment: its model and sampler settings as params, its posterior summary,
diagnostics and PSIS-LOO as metrics, the saved fit and its figure as artifacts.

MLflow is imported on first use (``pip install 'bayescale[logs]'``); nothing here changes the fit.
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import arviz as az

from . import __version__
from .errors import OutputError
from .extras import requires
from .plots import plot_fit

QUANTILES = {"median": "median", "lower": "q05", "upper": "q95"}  # summary columns (90% central interval) and metric suffixes
SETTINGS = ("sampler", "chains", "draws", "tune", "target_accept", "random_seed")


def log_fit(fit: Any, tracking_uri: str | None = None, *, experiment: str = "bayescale", run_name: str | None = None,
            figures: bool = True) -> str:
    """Log ``fit`` as a new run of ``experiment`` (created if missing) at ``tracking_uri`` (default: MLflow's own,
    ``$MLFLOW_TRACKING_URI``); the run's id. A tracker that cannot be reached or refuses is an :class:`OutputError`."""
    mlflow = _mlflow()
    entities = mlflow.entities
    uri = tracking_uri or mlflow.get_tracking_uri()
    tags = {"bayescale.version": __version__, **({"bayescale.citation": fit.law.citation} if fit.law.citation else {})}
    stamp = int(time.time() * 1000)
    record = {"metrics": [entities.Metric(k, v, stamp, 0) for k, v in metrics(fit).items()],
              "params": [entities.Param(k, str(v)) for k, v in params(fit).items()]}
    with tempfile.TemporaryDirectory(prefix="bayescale-mlflow-") as folder:
        files = [(fit.save(Path(folder) / f"{fit.law.name}.nc"), None)]
        if figures:
            plot_fit(fit, Path(folder) / "fit.png")
            files.append((Path(folder) / "fit.png", "figures"))
        try:
            return _record(mlflow.MlflowClient(uri), experiment, run_name, tags, record, files)
        except Exception as err:  # MLflow, SQLAlchemy and HTTP clients raise many types for a bad or unreachable store
            raise OutputError(_refused(uri, err)) from None


def _record(client: Any, experiment: str, run_name: str | None, tags: dict[str, str], record: dict[str, list], files: list) -> str:
    """A new run of ``experiment`` (created if missing) holding ``record`` (its metrics and params) and ``files``
    (path, artifact folder); finished, or marked failed when logging stops part way."""
    found = client.get_experiment_by_name(experiment)
    run_id = client.create_run(found.experiment_id if found else client.create_experiment(experiment), run_name=run_name, tags=tags).info.run_id
    try:
        client.log_batch(run_id, **record)
        for path, folder in files:
            client.log_artifact(run_id, str(path), folder)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id)
    return run_id


def params(fit: Any) -> dict[str, Any]:
    """The model (law, likelihood, pooling, whole curves), its data (runs, groups) and the sampler settings."""
    pool = ",".join(f"{p}={g}" for p, g in fit.spec.pool.items()) or "none"
    curves = {"curves": fit.spec.curves, "warmup": fit.spec.warmup} if fit.spec.curves else {"curves": "none"}
    return {"law": fit.law.name, "likelihood": fit.spec.likelihood, "pool": pool, **curves, "runs": len(fit.runs), "groups": len(fit.groups),
            "calibrated": fit.calibration is not None, **{k: fit.settings.get(k) for k in SETTINGS}}


def metrics(fit: Any) -> dict[str, float]:
    """Each reported parameter's median and 5% / 95% quantiles (``alpha_median``, ``alpha_q05``), the diagnostics
    and, where the fit holds its log likelihood, PSIS-LOO (``elpd_loo``, ``p_loo``)."""
    summary = fit.summary(ci_prob=0.9)
    out = {f"{_key(name)}_{suffix}": float(row[column]) for name, row in summary.iterrows() for column, suffix in QUANTILES.items()}
    d = fit.diagnostics
    out.update(divergences=d.divergences, max_rhat=d.max_rhat, min_ess_bulk=d.min_ess_bulk, min_ess_tail=d.min_ess_tail, min_bfmi=d.min_bfmi)
    if "log_likelihood" in fit.idata.groups():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pareto k warnings: the estimate is logged as PSIS-LOO gives it
            elpd = az.loo(fit.idata)  # not compare.loo: compare imports fit, which imports this module
        out.update(elpd_loo=float(elpd.elpd_loo), p_loo=float(elpd.p_loo))
    return out


def _key(name: str) -> str:
    """A summary row's name as MLflow allows it in a metric's.

    >>> _key("E[web]")
    'E_web'
    """
    return re.sub(r"[^\w\-. /]+", "_", name).strip("_")


def _mlflow() -> Any:
    requires("mlflow.entities", "logging a fit to MLflow")
    return requires("mlflow", "logging a fit to MLflow")


def _refused(uri: str, err: Exception) -> str:
    """The one-line error of a tracker at ``uri`` that raised ``err``."""
    message = str(getattr(err, "message", None) or err).strip()
    if "MLFLOW_ALLOW_FILE_STORE" in message:
        return (f"cannot log the fit to MLflow at {uri}: MLflow 3 refuses file stores; use a database store "
                "(sqlite:///path/mlflow.db) or set MLFLOW_ALLOW_FILE_STORE=true")
    return f"cannot log the fit to MLflow at {uri}: {type(err).__name__}: {message.splitlines()[0][:300] if message else 'no message'}"
