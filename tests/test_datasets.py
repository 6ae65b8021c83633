"""bayescale.datasets: every public data set loads with canonical columns and provenance."""

import re
from functools import cache

import numpy as np
import pandas as pd
import platformdirs
import pytest

from bayescale import datasets
from bayescale.datasets import DATA_ENV, data_dir, list_datasets, load_dataset

# name -> rows, inputs, main group and its number of levels, (min, max) of N and of loss
EXPECTED = {
    "epoch-chinchilla": (245, ["N", "D", "C"], None, 0, (5.7e7, 1.62e10), (2.07, 5.01)),
    "gadre-overtraining": (95, ["N", "D", "C"], "dataset", 3, (1.05e7, 4.2e8), (2.68, 6.13)),
    "loss-to-loss": (529, ["N", "D", "C"], "corpus", 6, (1.9e7, 1.75e9), (1.13, 3.97)),
    "porian": (1745, ["N", "D", "C"], "config", 15, (3.3e5, 1.0e9), (2.65, 10.09)),
    "misfitting": (4852, ["N", "D", "C"], "run", 263, (5.7e7, 1.19e9), (2.68, 6.43)),
    "multipower": (6265, ["N"], "run", 27, (2.5e7, 4.0e8), (2.61, 4.12)),
    "gemstones": (3850, ["N", "D", "C"], "run", 22, (4.8e7, 2.01e9), (2.49, 4.54)),
    "clark-routing": (4868, ["N"], "run", 195, (1.65e7, 3.69e8), (2.08, 3.56)),
    "laion-clip": (1431, ["N", "D", "C"], "family", 2, (6.2e7, 5.11e8), (0.34, 7.51)),
    "sldbench-data-constrained": (161, ["N", "D", "C"], None, 0, (7.0e6, 3.9e9), (2.57, 8.11)),
    "sldbench-moe": (193, ["N"], "experts", 10, (1.65e7, 3.69e8), (2.08, 3.17)),
    "sldbench-rectified": (504, ["D"], "curve", 42, None, (0.62, 4.39)),
    "sldbench-vocab": (1080, ["N", "C"], None, 0, (3.3e7, 1.13e9), (-5.35, -0.69)),
    "sldbench-lr": (1730, ["N", "D", "C"], None, 0, (2.14e8, 1.08e9), (2.12, 3.16)),
}
PROVENANCE_KEYS = {"repository", "commit", "license", "citation", "files", "caveats"}


@cache
def _load(name: str) -> pd.DataFrame:
    return load_dataset(name)


def test_list_datasets():
    assert list_datasets() == list(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_canonical_columns_and_attrs(name, shared_data):
    rows, inputs, main_group, levels, n_range, loss_range = EXPECTED[name]
    df = _load(name)
    assert len(df) == rows
    assert df.attrs["name"] == name
    assert df.attrs["inputs"] == inputs
    assert df.attrs["target"] in df.columns
    assert PROVENANCE_KEYS <= set(df.attrs["provenance"])
    assert re.fullmatch(r"[0-9a-f]{7,40}", df.attrs["provenance"]["commit"])  # SLDBench's provenance names a short hash
    assert all((shared_data / f).is_file() for f in df.attrs["provenance"]["files"])
    canonical = list(df.attrs["units"])  # the canonical columns come first
    assert canonical == list(df.columns[: len(canonical)])
    assert set(inputs) | {"loss"} <= set(canonical) <= {"N", "D", "C", "loss", "step", "lr"}
    assert ("step" in canonical) == (main_group == "run") and ("lr" in canonical) == (name in ("multipower", "sldbench-lr"))
    for column in canonical:
        assert df[column].dtype == np.float64, column
        assert df[column].notna().all() and (df[column] > 0).all() or (column, name) == ("loss", "sldbench-vocab"), column
    assert ("N" in df) == (n_range is not None)
    assert n_range is None or n_range[0] <= df["N"].min() and df["N"].max() <= n_range[1]
    assert loss_range[0] <= df["loss"].min() and df["loss"].max() <= loss_range[1]
    groups = df.attrs["groups"]
    assert groups[:1] == ([main_group] if main_group else [])
    assert all(df[g].notna().all() for g in groups)
    if main_group:
        assert df[main_group].nunique() == levels
    assert not [c for c in df.columns if c.endswith("_original")]


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if len(e[1]) == 3 and n != "laion-clip"])
def test_compute_is_6nd(name):
    df = _load(name)
    np.testing.assert_allclose(df["C"], 6 * df["N"] * df["D"], rtol=1e-6)


def test_epoch_chinchilla():
    df = _load("epoch-chinchilla")
    assert (df["D"] == df["C"] / (6 * df["N"])).all()
    assert (df["N"] == df["Model Size"]).all() and (df["C"] == df["Training FLOP"]).all()
    assert "5 highest-loss" in df.attrs["provenance"]["caveats"]


def test_gadre_and_loss_to_loss_groups():
    gadre = _load("gadre-overtraining")
    assert (gadre["dataset"] == gadre["dataset_name"]).all()
    assert gadre.groupby("dataset").size().to_dict() == {"c4_original": 31, "rpj": 32, "rw_original": 32}
    assert (gadre["loss"] == gadre["loss_c4_val"]).all()
    l2l = _load("loss-to-loss")
    assert (l2l["corpus"] == l2l["data"]).all()
    assert (l2l["C"] == l2l["iso_flop"]).all() and (l2l["loss"] == l2l["val_loss"]).all()


def test_porian_config():
    df = _load("porian")
    assert "rw/tuned/short/const/standard/val" in set(df["config"])
    assert df.groupby("config").size().between(88, 132).all()
    assert df.groupby("config")["C"].nunique().between(11, 12).all()
    assert df.groupby(["config", "C"]).ngroups == 177  # the isoFLOP curves of optimal_pairs.csv
    assert not df.duplicated(["config", "C", "N"]).any()


def test_curves_have_steps_and_one_run_per_curve():
    gem = _load("gemstones")
    assert (gem.groupby("run").size() == 175).all()
    assert (gem["D"] == gem["step"] * 2048 * 2048).all()
    mp = _load("multipower")
    assert sorted(mp["model_size"].unique()) == ["100M", "25M", "400M"]
    assert mp["schedule"].nunique() == 9 and mp["lr"].between(3e-5, 3e-4 + 1e-12).all()
    for frame in (gem, mp, _load("misfitting")):
        assert frame.groupby("run")["step"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()


def test_misfitting_final_checkpoints():
    df = _load("misfitting")
    final = df[df["portion_steps_elapsed"] >= 1]
    assert len(final) == 263 and final["run"].is_unique
    assert (df["step"] == df["current_steps"]).all()


def test_laion_clip_says_what_is_missing():
    df = _load("laion-clip")
    assert set(df["family"]) == {"clip", "mammut"}
    assert (df["N"] == df["model_mparams"] * 1e6).all()
    assert np.allclose(df["C"], 3e9 * df["gflops"])
    assert "all_results.csv.gz" in df.attrs["provenance"]["missing"]
    assert df.attrs["units"]["D"].startswith("image-text samples")


def test_clashing_original_column_is_renamed():
    study = datasets._Study(
        folder="x", files=("f.csv",), columns={"N": "params", "loss": "L"}, groups={}, provenance={}
    )
    raw = pd.DataFrame({"params": [1, 2], "L": [3.0, 2.0], "N": ["a", "b"]})
    df = datasets._canonical(raw, study)
    assert list(df.columns) == ["N", "loss", "params", "L", "N_original"]
    assert df["N_original"].tolist() == ["a", "b"]


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert data_dir() == tmp_path / "env"
    monkeypatch.delenv(DATA_ENV)
    assert str(data_dir()) == platformdirs.user_cache_dir("bayescale")


def test_unknown_name():
    expected = r"unknown data set 'porain'; known data sets: epoch-chinchilla, .*Did you mean 'porian'\?"
    with pytest.raises(ValueError, match=expected):
        load_dataset("porain")


def _missing(directory, origin: str, relpath: str) -> str:
    return rf"{re.escape(str(directory))} \({origin}\).*expected the file {re.escape(relpath)}.*data_dir=.*{DATA_ENV}"


def test_empty_data_dir_argument(tmp_path):
    expected = _missing(tmp_path, "from the data_dir= argument", "epoch_chinchilla/svg_extracted_data.csv")
    with pytest.raises(FileNotFoundError, match=expected):
        load_dataset("epoch-chinchilla", data_dir=tmp_path)


def test_empty_data_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    file = "gemstones/wandb_dfs/wandb_df_for_fitting_hot_100b+_477.jsonl"
    with pytest.raises(FileNotFoundError, match=_missing(tmp_path, rf"from \${DATA_ENV}", file)):
        load_dataset("gemstones")


def test_missing_data_dir_and_partial_study(tmp_path):
    expected = r"does not exist; expected the file porian_resolving/isoflop_points\.csv"
    with pytest.raises(FileNotFoundError, match=expected):
        load_dataset("porian", data_dir=tmp_path / "absent")
    (tmp_path / "multipower_lr_schedules" / "loss_curve_repo" / "csv_25").mkdir(parents=True)
    file = r"multipower_lr_schedules/loss_curve_repo/csv_25/constant_24000\.csv"
    with pytest.raises(FileNotFoundError, match=rf"lacks the data set's file; expected the file {file}"):
        load_dataset("multipower", data_dir=tmp_path)
