"""Logging a fit to MLflow: a real tracking store (SQLite) in a temporary folder, read back with MLflow's client."""

import json
import sys
import warnings

import pytest
import xarray as xr
from typer.testing import CliRunner

import bayescale as bs
from bayescale.cli import app
from bayescale.compare import loo
from bayescale.errors import SamplingWarning

mlflow = pytest.importorskip("mlflow")
FAST = {"chains": 2, "draws": 100, "tune": 200}


@pytest.fixture(scope="module")
def logged(tmp_path_factory, epoch_runs, seed_for):
    """A small fit, a deep copy of its draws, the store's URI and the id of the run it was logged as."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder}/mlflow.db"
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        warnings.simplefilter("ignore", SamplingWarning)  # few draws: the diagnostics are logged, not judged
        warnings.simplefilter("ignore", bs.ExtrapolationWarning)  # the figure's band beyond the runs, uncalibrated
        fit = bs.fit("chinchilla", epoch_runs, calibrate=False, random_seed=seed_for("mlflow-fit"), **FAST)
        before = fit.idata.copy()
        patch.chdir(folder)  # the store keeps artifacts in ./mlruns
        run_id = fit.log_mlflow(uri, experiment="scaling", run_name="epoch")
    return fit, before, uri, run_id, folder


def test_run_holds_settings_summary_and_diagnostics(logged):
    fit, _, uri, run_id, _ = logged
    client = mlflow.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "epoch"
    assert client.get_experiment(run.info.experiment_id).name == "scaling"
    assert run.data.params == {"law": "chinchilla", "likelihood": "studentt", "pool": "none", "curves": "none", "runs": str(len(fit.runs)), "groups": "0",
                               "calibrated": "False", "sampler": "nutpie", "chains": "2", "draws": "100", "tune": "200",
                               "target_accept": "0.95", "random_seed": str(fit.settings["random_seed"])}
    metrics, summary, d = run.data.metrics, fit.summary(ci_prob=0.9), fit.diagnostics
    for name in fit.var_names:
        assert metrics[f"{name}_median"] == summary.loc[name, "median"]
        assert metrics[f"{name}_q05"] == summary.loc[name, "lower"] and metrics[f"{name}_q95"] == summary.loc[name, "upper"]
    assert metrics["divergences"] == d.divergences and metrics["max_rhat"] == d.max_rhat and metrics["min_bfmi"] == d.min_bfmi
    assert metrics["min_ess_bulk"] == d.min_ess_bulk and metrics["min_ess_tail"] == d.min_ess_tail
    assert metrics["elpd_loo"] == pytest.approx(float(loo(fit).elpd_loo))
    assert run.data.tags["bayescale.version"] == bs.__version__ and run.data.tags["bayescale.citation"] == fit.law.citation


def test_artifacts_are_the_fit_file_and_its_figure(logged, tmp_path):
    fit, _, uri, run_id, _ = logged
    client = mlflow.MlflowClient(uri)
    assert sorted(a.path for a in client.list_artifacts(run_id)) == ["chinchilla.nc", "figures"]
    assert [a.path for a in client.list_artifacts(run_id, "figures")] == ["figures/fit.png"]
    figure = client.download_artifacts(run_id, "figures/fit.png", str(tmp_path))
    assert open(figure, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    loaded = bs.load(client.download_artifacts(run_id, "chinchilla.nc", str(tmp_path)))
    new = fit.runs.head(5)  # within the fitted runs: no extrapolation warning
    assert loaded.predict(new, random_seed=1).equals(fit.predict(new, random_seed=1))


def test_logging_leaves_the_fit_unchanged(logged):
    fit, before, _, _, _ = logged
    assert fit.idata.groups() == before.groups()
    for group in before.groups():
        xr.testing.assert_identical(fit.idata[group], before[group])
    assert fit.calibration is None and fit.settings["draws"] == 100


def test_cli_fit_logs_to_mlflow(logged, seed_for, monkeypatch):
    _, _, uri, _, folder = logged
    monkeypatch.chdir(folder)
    out = CliRunner().invoke(app, ["fit", "--law", "chinchilla", "--dataset", "epoch-chinchilla", "--out", str(folder / "cli.nc"), "--json",
                                   "--no-calibrate", "--seed", str(seed_for("mlflow-cli")), *(f"--{k}={v}" for k, v in FAST.items()), "--mlflow", uri])
    assert out.exit_code == 0, out.output
    run = mlflow.MlflowClient(uri).get_run(json.loads(out.stdout)["mlflow_run"])
    assert run.info.run_name == "chinchilla on epoch-chinchilla" and run.data.params["law"] == "chinchilla"
    assert mlflow.MlflowClient(uri).get_experiment(run.info.experiment_id).name == "bayescale"


def test_missing_mlflow_names_the_extra(logged, monkeypatch):
    fit, _, uri, _, _ = logged
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(bs.MissingDependencyError, match=r"pip install 'bayescale\[logs\]'"):
        fit.log_mlflow(uri)


def test_a_tracker_that_refuses_is_a_clear_error(logged, tmp_path, monkeypatch):
    fit = logged[0]
    with pytest.raises(bs.OutputError, match="cannot log the fit to MLflow at foo://nowhere: .*unsupported URI"):
        fit.log_mlflow("foo://nowhere", figures=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    store = f"file:{tmp_path}/mlruns"
    with pytest.raises(bs.OutputError, match=f"at {store}: MLflow 3 refuses file stores; use a database store"):
        fit.log_mlflow(store, figures=False)
