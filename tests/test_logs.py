"""Training-log readers (bs.read_runs): the real T5 TensorBoard logs and W&B exports, counted independently of the
readers; an MLflow store, a W&B history table and lm-eval results written here; damaged inputs, each a named error."""

import json
import math
import shutil
import sys
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import bayescale as bs
from bayescale.cli import app
from bayescale.logs import describe_runs

SIZES = ("base", "large", "xl")
EVAL = "training_eval/pile_r_denoiser"
PARAMS = {"base": 247_586_304, "large": 783_173_632, "xl": 2_849_804_288}  # PROVENANCE.md


def read_warned(*args, **kwargs):
    """``bs.read_runs``, which must warn of the points it left out."""
    with pytest.warns(bs.DataWarning):
        return bs.read_runs(*args, **kwargs)


@pytest.fixture(scope="module")
def logs(shared_data):
    return shared_data / "training_logs"


@pytest.fixture(scope="module")
def t5(logs):
    return read_warned(logs / "t5_pile", tokens_per_step=1e6, meta={k: {"N": v} for k, v in PARAMS.items()})


@pytest.fixture(scope="module")
def raw_t5(logs):
    """Per size, every scalar point of every event file, read with TensorBoard's own loader: {(metric, step): [(wall, value)]}."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    raw = {}
    for size in SIZES:
        points = defaultdict(list)
        for sub in ("train", EVAL):
            for file in sorted((logs / "t5_pile" / size / sub).glob("events.out.tfevents.*")):
                for event in EventFileLoader(str(file)).Load():
                    for v in event.summary.value:
                        if v.metadata.plugin_data.plugin_name == "scalars":
                            points[(f"{sub}/{v.tag}", float(event.step))].append((event.wall_time, float(tensor_util.make_ndarray(v.tensor))))
        raw[size] = points
    return raw


def test_t5_tensorboard_counts_match_the_event_files(t5, raw_t5):
    assert t5.attrs["format"] == "tensorboard" and t5.attrs["runs"] == list(SIZES)
    assert set(t5.attrs["metrics"]) == {metric for size in SIZES for metric, _ in raw_t5[size]}
    assert len(t5.attrs["metrics"]) == 51  # 29 train tags, 22 evaluation tags
    assert not t5.duplicated(["run", "step"]).any()
    assert t5.dtypes["step"] == "float64" and t5.dtypes["tokens"] == "float64" and t5["run"].map(type).eq(str).all()
    for size in SIZES:
        run = t5[t5["run"] == size].set_index("step")
        assert sorted(run.index) == sorted({step for _, step in raw_t5[size]})
        loss = run["train/loss"].dropna()  # PROVENANCE: 2,000,000 steps as 200 points every 10,000 steps
        assert len(loss) == 200 and list(loss.index) == [10_000.0 * k for k in range(1, 201)]
        assert run[f"{EVAL}/loss"].notna().sum() == 201  # evaluation also at step 0
        assert (run["tokens"] == run.index * 1e6).all() and (run["N"] == PARAMS[size]).all()


def test_t5_resumed_runs_keep_the_latest_write(t5, raw_t5):
    """Each (metric, step) written by several files keeps the finite value of the latest wall time; the replaced and
    the non-finite points are counted run by run."""
    for size in SIZES:
        run = t5[t5["run"] == size].set_index("step")
        finite = {key: [p for p in writes if math.isfinite(p[1])] for key, writes in raw_t5[size].items()}
        non_finite = sum(len(writes) for writes in raw_t5[size].values()) - sum(map(len, finite.values()))
        replaced = sum(max(len(writes) - 1, 0) for writes in finite.values())
        assert t5.attrs["duplicates"]["by_run"].get(size, 0) == replaced
        assert t5.attrs["dropped"]["by_run"].get(size, 0) == non_finite
        for (metric, step), writes in finite.items():
            if writes:
                assert run.at[step, metric] == max(writes)[1]
    assert t5.attrs["duplicates"]["by_run"]["large"] > 100  # the large run was resumed ten times
    last = t5[t5["step"] == 2_000_000].set_index("run")[f"{EVAL}/cross_ent_loss_per_all_target_tokens"]
    assert last["base"] > last["large"] > last["xl"] > 0  # PROVENANCE: about 0.90, 0.78, 0.65


def test_one_event_folder_is_one_run(logs):
    train = read_warned(logs / "t5_pile" / "large" / "train", metric="loss", run="large")
    assert list(train.columns) == ["run", "step", "tokens", "loss"] and set(train["run"]) == {"large"}
    assert len(train) == 200 and train["tokens"].isna().all() and train.attrs["tokens"] == "unknown"
    assert len(train.attrs["files"]) == 11
    named = read_warned(logs / "t5_pile" / "large" / "train", metric="loss")
    assert set(named["run"]) == {"train"}


def _wandb_cells(files):
    """The non-blank cells of W&B exports (no __MIN/__MAX), read with pandas alone: run, metric, step, value, file."""
    cells = []
    for index, file in enumerate(files):
        table = pd.read_csv(file)
        columns = [c for c in table.columns if c != "Step" and not c.endswith(("__MIN", "__MAX"))]
        long = table.melt(id_vars="Step", value_vars=columns).dropna(subset="value").assign(file=index)
        long[["run", "metric"]] = long["variable"].str.split(" - ", n=1, expand=True)
        cells.append(long)
    return pd.concat(cells)


def test_wandb_csv_exports_split_runs_and_resolve_repeats(logs):
    files = sorted((logs / "olmo_wandb").glob("*.csv"))
    cells = _wandb_cells(files)
    olmo = read_warned(logs / "olmo_wandb")
    assert olmo.attrs["format"] == "wandb-csv" and len(olmo.attrs["files"]) == 12
    assert sorted(olmo["run"].unique()) == sorted(cells["run"].unique()) and olmo["run"].nunique() == 36
    assert sorted(olmo.attrs["metrics"]) == sorted(cells["metric"].unique()) and len(olmo.attrs["metrics"]) == 10
    unique = cells.drop_duplicates(["run", "metric", "Step"])
    assert int(olmo[olmo.attrs["metrics"]].notna().sum().sum()) == len(unique)
    assert olmo.attrs["duplicates"]["replaced"] == len(cells) - len(unique) > 0  # the same curves in two exports
    assert len(olmo) == len(cells.drop_duplicates(["run", "Step"])) and not olmo.duplicated(["run", "step"]).any()
    one = cells.iloc[123]
    assert olmo.set_index(["run", "step"]).at[(one["run"], float(one["Step"])), one["metric"]] == one["value"]
    assert not any(c.endswith(("__MIN", "__MAX", "_min", "_max")) for c in olmo.columns)


def test_wandb_bounds_and_several_runs_per_export(logs):
    k2_files = sorted((logs / "llm360_wandb" / "K2").glob("*.csv"))
    k2 = bs.read_runs(logs / "llm360_wandb" / "K2", bounds=True)
    cells = _wandb_cells(k2_files)
    assert sorted(k2["run"].unique()) == sorted(cells["run"].unique()) and k2["run"].nunique() == 6
    assert int(k2["lm loss"].notna().sum()) == int((cells["metric"] == "lm loss").sum()) == 10420
    assert {"lm loss_min", "lm loss_max"} <= set(k2.columns) and (k2["lm loss_min"] <= k2["lm loss_max"]).sum() == 10420
    amber = bs.read_runs(logs / "llm360_wandb" / "Amber", metric=["mmlu", "arc"])
    assert set(amber["run"]) == {"downstream_eval"} and list(amber.columns[-2:]) == ["arc", "mmlu"]


def test_tidy_jsonl_counts_nan_and_repeated_steps(logs):
    path = logs / "t5_pile" / "large" / "inference_eval" / "pile_r_denoiser-metrics.jsonl"
    raw = pd.read_json(path, lines=True)
    table = read_warned(path, run="large", tokens_per_step=1e6)
    finite = raw.dropna()
    assert table.attrs["format"] == "tidy" and len(table) == finite["step"].nunique() == 201
    assert table.attrs["dropped"]["non_finite"] == raw["perplexity"].isna().sum() == 4
    assert table.attrs["duplicates"]["replaced"] == len(finite) - finite["step"].nunique()
    assert table.set_index("step")["perplexity"].to_dict() == finite.drop_duplicates("step", keep="last").set_index("step")["perplexity"].to_dict()


def test_tidy_csv_with_logged_tokens_and_meta_files(tmp_path):
    pd.DataFrame({"run": ["a", "a", "b"], "step": [1, 2, 1], "tokens": [10.0, 20, 5], "loss": [3.0, 2.5, 4.0]}).to_csv(tmp_path / "runs.csv", index=False)
    (tmp_path / "meta.toml").write_text('[[runs]]\nrun = "a"\nN = 1e6\n\n[[runs]]\nrun = "b"\nN = 2e6\n')
    table = bs.read_runs(tmp_path / "runs.csv", meta=tmp_path / "meta.toml")
    assert list(table.columns) == ["run", "step", "tokens", "loss", "N"] and table.attrs["tokens"] == "logged"
    assert table["tokens"].tolist() == [10.0, 20, 5] and table["N"].tolist() == [1e6, 1e6, 2e6]
    pd.DataFrame({"run": ["a", "b"], "group": ["x", "y"]}).to_csv(tmp_path / "meta.csv", index=False)
    assert bs.read_runs(tmp_path / "runs.csv", meta=tmp_path / "meta.csv")["group"].tolist() == ["x", "x", "y"]
    with pytest.raises(bs.ArgumentError, match="logs tokens itself"):
        bs.read_runs(tmp_path / "runs.csv", tokens_per_step=4.0)
    with pytest.raises(bs.ArgumentError, match="names its runs itself"):
        bs.read_runs(tmp_path / "runs.csv", run="c")


def test_wandb_history_parquet(tmp_path):
    history = pd.DataFrame({"_step": [0, 1, 2, 3, 1], "_timestamp": [1.0, 2, 3, 4, 5], "_runtime": [0.0, 1, 2, 3, 4],
                            "loss": [4.0, np.nan, 3.0, np.inf, 3.5], "tokens": [0.0, 1e3, 2e3, 3e3, 1e3],
                            "eval/acc": [np.nan, 0.2, np.nan, 0.4, np.nan]})
    history.to_parquet(tmp_path / "run-7x3k.parquet")
    with pytest.warns(bs.DataWarning, match="1 non-finite"):
        table = bs.read_runs(tmp_path / "run-7x3k.parquet", run="small")
    assert table.attrs["format"] == "wandb-parquet" and table.attrs["metrics"] == ["eval/acc", "loss"]
    assert table["step"].tolist() == [0.0, 1, 2, 3] and table["tokens"].tolist() == [0.0, 1e3, 2e3, 3e3]
    assert table.set_index("step")["loss"].tolist()[:3] == [4.0, 3.5, 3.0] and np.isnan(table["loss"].iloc[3])  # the later row of step 1
    assert table.attrs["dropped"]["non_finite"] == 1 and table.attrs["duplicates"]["by_run"] == {"small": 1}  # tokens of step 1 (its first row logged no loss)


def test_mlflow_sqlite_and_file_stores(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)  # MLflow puts artifact folders beside the working directory
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("scaling")
    for name, scale in (("small", 1.0), ("large", 0.5)):
        run_id = client.create_run(experiment, run_name=name).info.run_id
        for step in range(0, 50, 10):
            client.log_metric(run_id, "loss", scale * 4 / (1 + step), step=step, timestamp=1000 + step)
            client.log_metric(run_id, "lr", 1e-3, step=step, timestamp=1000 + step)
        client.log_metric(run_id, "loss", scale, step=20, timestamp=5000)  # a later write of step 20
    with pytest.warns(bs.DataWarning, match="2 duplicate"):
        table = bs.read_runs(uri, meta={"small": {"N": 1e6}, "large": {"N": 1e7}})
    assert table.attrs["format"] == "mlflow" and table.attrs["runs"] == ["large", "small"] and table.attrs["metrics"] == ["loss", "lr"]
    assert table.groupby("run").size().to_dict() == {"large": 5, "small": 5}
    small = table[table["run"] == "small"].set_index("step")
    assert small.at[20.0, "loss"] == 1.0 and small.at[10.0, "loss"] == pytest.approx(4 / 11) and (small["N"] == 1e6).all()
    assert bs.read_runs(tmp_path / "runs.db", metric="lr").shape == (10, 4)

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # writing a file store here; reading sets it itself
    files = MlflowClient(f"file:{tmp_path / 'mlruns'}")
    run_id = files.create_run(files.create_experiment("files"), run_name="tiny").info.run_id
    files.log_metric(run_id, "loss", 2.0, step=3)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    stored = bs.read_runs(tmp_path / "mlruns")
    assert stored.attrs["format"] == "mlflow" and stored[["run", "step", "loss"]].values.tolist() == [["tiny", 3.0, 2.0]]
    with pytest.raises(bs.MissingFileError, match="nowhere.db"):
        bs.read_runs(f"sqlite:///{tmp_path / 'nowhere.db'}")


LM_EVAL = {
    "results": {
        "hellaswag": {"alias": "hellaswag", "acc,none": 0.30, "acc_stderr,none": 0.0046, "acc_norm,none": 0.35, "acc_norm_stderr,none": 0.0048},
        "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.01, "exact_match_stderr,strict-match": 0.003, "exact_match,flexible-extract": 0.02},
    },
    "group_subtasks": {"hellaswag": [], "gsm8k": []},
    "configs": {"hellaswag": {"task": "hellaswag", "num_fewshot": 0}},
    "versions": {"hellaswag": 1.0, "gsm8k": 3.0},
    "n-shot": {"hellaswag": 0, "gsm8k": 5},
    "config": {"model": "hf", "model_args": "pretrained=EleutherAI/pythia-160m,revision=step{step},dtype=float16", "batch_size": "auto",
               "device": "cuda:0", "limit": None, "bootstrap_iters": 100000},
    "git_hash": "4cec66e", "date": 1712345678.9,
}


def test_lm_eval_results(tmp_path):
    folder = tmp_path / "EleutherAI__pythia-160m"
    folder.mkdir()
    for step, scale in ((1000, 0.9), (143000, 1.0)):
        doc = json.loads(json.dumps(LM_EVAL).replace("{step}", str(step)))
        doc["results"]["hellaswag"]["acc,none"] *= scale
        (folder / f"results_2024-04-0{1 + step // 100000}T10-00-00.json").write_text(json.dumps(doc))
    (folder / "notes.json").write_text('{"not": "results"}')
    table = bs.read_runs(tmp_path, metric=["hellaswag/acc", "gsm8k/exact_match/flexible-extract"])
    assert table.attrs["format"] == "lm-eval" and len(table.attrs["files"]) == 2
    assert table[["run", "step", "hellaswag/acc", "gsm8k/exact_match/flexible-extract"]].values.tolist() == [
        ["EleutherAI/pythia-160m", 1000.0, pytest.approx(0.27), 0.02], ["EleutherAI/pythia-160m", 143000.0, 0.30, 0.02]]
    every = bs.read_runs(folder / "results_2024-04-01T10-00-00.json").attrs["metrics"]
    assert sorted(every) == ["gsm8k/exact_match/flexible-extract", "gsm8k/exact_match/strict-match", "gsm8k/exact_match_stderr/strict-match",
                             "hellaswag/acc", "hellaswag/acc_norm", "hellaswag/acc_norm_stderr", "hellaswag/acc_stderr"]


def test_damaged_and_missing_inputs_are_named_errors(logs, tmp_path):
    original = sorted((logs / "t5_pile" / "base" / "train").glob("events.out.tfevents.*"))[0]
    cut = tmp_path / "cut" / "train" / original.name
    cut.parent.mkdir(parents=True)
    cut.write_bytes(original.read_bytes()[: original.stat().st_size // 2])
    with pytest.raises(bs.DataError, match=f"event file {cut} is truncated"):
        bs.read_runs(tmp_path / "cut")
    (tmp_path / "nostep.csv").write_text("step_count,run-1 - loss\n1,2.0\n")
    with pytest.raises(bs.DataError, match=r"nostep.csv is not a W&B CSV export: it has no Step column.*'step_count', 'run-1 - loss'"):
        bs.read_runs(tmp_path / "nostep.csv", format="wandb-csv")
    with pytest.raises(bs.DataError, match=r"nostep.csv is not a W&B CSV export"):  # told from its "<run> - <metric>" column
        bs.read_runs(tmp_path / "nostep.csv")
    (tmp_path / "plain.csv").write_text("when,loss\n1,2.0\n")
    with pytest.raises(bs.DataError, match=r"plain.csv has no Step column \(a W&B export\) or step column.*\['when', 'loss'\]"):
        bs.read_runs(tmp_path / "plain.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(bs.DataError, match=f"{tmp_path / 'empty'} holds no training logs"):
        bs.read_runs(tmp_path / "empty")
    with pytest.raises(bs.DataError, match="no TensorBoard event files"):
        bs.read_runs(tmp_path / "empty", format="tensorboard")
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(bs.DataError, match="blank.csv is empty"):
        bs.read_runs(tmp_path / "blank.csv")
    with pytest.raises(bs.MissingFileError, match="no-such-logs"):
        bs.read_runs(tmp_path / "no-such-logs")
    with pytest.raises(bs.DataError, match=r"base has no metric 'lossy'; it logs: accuracy, .*, pile_r_denoiser/loss, "):
        bs.read_runs(logs / "t5_pile" / "base", metric="lossy")
    with pytest.raises(bs.ArgumentError, match="format must be one of"):
        bs.read_runs(tmp_path, format="comet")


def test_a_missing_reader_library_names_the_extra(logs, monkeypatch):
    monkeypatch.setitem(sys.modules, "tbparse", None)  # import tbparse now raises ImportError
    with pytest.raises(bs.MissingDependencyError, match=r"tbparse.*pip install 'bayescale\[logs\]'"):
        bs.read_runs(logs / "t5_pile" / "base" / "train")


def test_describe_runs_counts_gaps(tmp_path):
    pd.DataFrame({"run": ["a"] * 5 + ["b"] * 2, "step": [0, 10, 20, 50, 60, 5, 5], "loss": [1.0] * 7}).to_csv(tmp_path / "r.csv", index=False)
    summary = describe_runs(read_warned(tmp_path / "r.csv"))
    assert summary.loc["a", ["steps", "first_step", "last_step", "interval", "gaps", "duplicates"]].tolist() == [5, 0.0, 60.0, 10.0, 2, 0]
    assert summary.loc["b", ["steps", "duplicates"]].tolist() == [1, 1] and summary.loc["b", "metrics"] == ["loss"]


def test_runs_command(logs, tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["runs", str(logs / "t5_pile"), "--metric", f"{EVAL}/loss", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["format"] == "tensorboard" and list(report["runs"]) == list(SIZES)
    assert all(r["steps"] == 201 and r["last_step"] == 2_000_000 and r["gaps"] == 0 and r["metrics"] == [f"{EVAL}/loss"] for r in report["runs"].values())
    assert report["duplicates"]["replaced"] == sum(r["duplicates"] for r in report["runs"].values()) > 0
    table = runner.invoke(app, ["runs", str(logs / "olmo_wandb")])
    assert table.exit_code == 0 and "OLMo-7B-run-038" in table.stdout and "36 runs (wandb-csv)" in " ".join(table.stdout.split())
    missing = runner.invoke(app, ["runs", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1 and "nothing: it does not exist" in missing.stderr


def test_fit_command_fits_whole_curves_from_logs(logs, tmp_path):
    meta = tmp_path / "runs.toml"
    meta.write_text("".join(f'[[runs]]\nrun = "{size}"\nN = {n}\n' for size, n in PARAMS.items()))
    out = tmp_path / "t5.nc"
    args = ["fit", "--law", "chinchilla", "--logs", str(logs / "t5_pile"), "--metric", f"{EVAL}/cross_ent_loss_per_all_target_tokens",
            "--meta", str(meta), "--tokens-per-step", "1e6", "--likelihood", "normal", "--chains", "2", "--draws", "150", "--tune", "300",
            "--seed", "1", "--no-calibrate", "--out", str(out), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    fit = bs.load(out)
    assert (fit.spec.curves, fit.spec.warmup, fit.run_names) == ("run", 0.1, list(SIZES))
    # every checkpoint from 10% of the 2M steps on (step 200k included), the rest left out as warm-up
    assert fit.runs.groupby("run").size().to_dict() == {size: 181 for size in SIZES}
    assert fit.runs["D"].min() == 2e11 and "run_sd" in json.loads(result.stdout)["summary"]
