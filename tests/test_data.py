import numpy as np
import pandas as pd
import pytest

from bayescale.data import DataError, prepare_runs

RUNS = pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [2e9, 4e9, 8e9], "loss": [3.2, 3.0, 2.8]})


def test_compute_and_tokens_are_derived_from_6ND():
    with_c = prepare_runs(RUNS.drop(columns="D").assign(C=6 * RUNS.N * RUNS.D), ["N", "D"])
    np.testing.assert_allclose(with_c["D"], RUNS["D"])
    with_n = prepare_runs(RUNS, ["C"])
    np.testing.assert_allclose(with_n["C"], 6 * RUNS.N * RUNS.D)


def test_big_integer_columns_do_not_overflow():
    runs = pd.DataFrame({"N": [4_000_000_000], "D": [8_000_000_000_000], "loss": [2.0]})
    assert prepare_runs(runs, ["C"])["C"].iloc[0] == pytest.approx(6 * 4e9 * 8e12)


def test_column_mapping_and_files(tmp_path):
    renamed = RUNS.rename(columns={"N": "params", "loss": "val_loss"})
    out = prepare_runs(renamed, ["N", "D"], columns={"params": "N", "val_loss": "loss"})
    assert list(out.columns) == ["N", "D", "loss"]
    RUNS.to_csv(tmp_path / "runs.csv", index=False)
    RUNS.to_parquet(tmp_path / "runs.parquet")
    for name in ("runs.csv", "runs.parquet"):
        pd.testing.assert_frame_equal(prepare_runs(tmp_path / name, ["N", "D"]), RUNS)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.drop(columns="D"), r"missing column 'D' \(needed: N, D, loss\).*give N and C to derive D = C / \(6 N\)"),
        (lambda t: t.assign(loss=[3.2, np.nan, 2.8]), r"column 'loss' row 1 has value nan: is missing \(NaN\)"),
        (lambda t: t.assign(N=[1e8, -2e8, 0.0]), r"column 'N' row 1 has value -200000000.0: must be positive \(2 such rows\)"),
        (lambda t: t.assign(D=["2e9", "lots", "8e9"]), r"column 'D' row 1: value 'lots' is not a number"),
        (lambda t: t.assign(N=[1e8, np.inf, 4e8]), r"column 'N' row 1 has value inf: is infinite"),
        (lambda t: t.iloc[:0], "the data has no rows"),
    ],
)
def test_bad_runs_name_column_row_and_value(edit, message):
    with pytest.raises(DataError, match=message):
        prepare_runs(edit(RUNS.copy()), ["N", "D"])


def test_group_and_mapping_errors(tmp_path):
    with pytest.raises(DataError, match="group column 'dataset' is not in the data"):
        prepare_runs(RUNS, ["N", "D"], groups=["dataset"])
    with pytest.raises(DataError, match=r"group column 'g' row 2 is missing"):
        prepare_runs(RUNS.assign(g=["a", "b", None]), ["N", "D"], groups=["g"])
    with pytest.raises(DataError, match=r"columns= maps \['params'\], which are not in the data"):
        prepare_runs(RUNS, ["N", "D"], columns={"params": "N"})
    with pytest.raises(DataError, match="must end in .csv or .parquet"):
        (tmp_path / "runs.txt").write_text("N\n1\n")
        prepare_runs(tmp_path / "runs.txt", ["N"])


def test_nonnegative_inputs_may_be_zero_but_not_negative():
    runs = pd.DataFrame({"S1": [1.0, 2.0, 3.0], "S2": [0.0, 0.1, 0.2], "loss": [3.0, 2.9, 2.8]})
    domains = {"S2": "nonnegative"}
    assert prepare_runs(runs, ["S1", "S2"], domains=domains)["S2"].tolist() == [0.0, 0.1, 0.2]
    with pytest.raises(DataError, match=r"column 'S2' row 0 has value 0.0: must be positive \(1 such rows\)"):
        prepare_runs(runs, ["S1", "S2"])
    with pytest.raises(DataError, match=r"column 'S2' row 2 has value -0.2: must be non-negative"):
        prepare_runs(runs.assign(S2=[0.0, 0.1, -0.2]), ["S1", "S2"], domains=domains)
    with pytest.raises(DataError, match=r"column 'loss' row 1 has value 0.0: must be positive"):
        prepare_runs(runs.assign(loss=[3.0, 0.0, 2.8]), ["S1", "S2"], domains=domains)
