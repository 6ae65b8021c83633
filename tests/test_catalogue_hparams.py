"""Hyperparameter laws (Power Lines): their shape, their non-loss targets, and the tau_opt table of the benchmark."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.model import ModelSpec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark imports its sibling catalogue_real
_spec = importlib.util.spec_from_file_location("catalogue_hparams", ROOT / "benchmarks" / "catalogue_hparams.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_timescale_depends_on_tokens_per_parameter_only():
    law = bs.get_law("power-lines-tau")
    params = {"c_tau": 44.0, "a_tau": 1.15}
    n, d = np.array([1e8, 1e9]), np.array([2e9, 4e10])
    tau = law.evaluate({"N": n, "D": d, **params})
    np.testing.assert_allclose(law.evaluate({"N": 7.0 * n, "D": 7.0 * d, **params}), tau, rtol=1e-12)
    np.testing.assert_allclose(tau, 44.0 * (d / n) ** -1.15, rtol=1e-12)  # tau_opt = c_tau TPP^m_tau, m_tau = -a_tau


def test_batch_size_ignores_model_size_and_grows_as_a_power_of_data():
    law = bs.get_law("power-lines-batch")
    assert law.input_names == ["D"]
    ratio = law.evaluate({"D": 2e10, "c_B": 30.0, "m_B": 0.45}) / law.evaluate({"D": 1e10, "c_B": 30.0, "m_B": 0.45})
    assert ratio == pytest.approx(2**0.45, rel=1e-12)


@pytest.mark.parametrize("name, target", [("power-lines-tau", "tau"), ("power-lines-batch", "batch_size")])
def test_targets_are_hyperparameter_columns(name, target):
    law = bs.get_law(name)
    assert law.target == target
    with pytest.raises(bs.DataError, match=f"missing column '{target}'"):
        ModelSpec(law).prepare_runs(pd.DataFrame({"N": [1e8, 1e9], "D": [1e9, 1e10], "loss": [3.0, 2.8]}))


def _sweep(model, steps, lrs, best, final=1.0):
    """Final-checkpoint rows with a loss parabola in log LR whose minimum is at ``best``."""
    loss = 3.0 + 0.2 * (np.log(lrs) - np.log(best)) ** 2
    return pd.DataFrame({"model": model, "total_steps": steps, "peak_lr": lrs, "loss": loss, "N": 1e8,
                         "D": steps * 2.0**20, "C": 6e8 * steps * 2.0**20, "portion_steps_elapsed": final})


def test_optimal_timescales_interpolate_a_bracketed_optimum_only():
    lrs = np.array([1e-3, 2e-3, 4e-3])
    checkpoints = pd.concat([
        _sweep("a", 1000, lrs, best=2.6e-3),
        _sweep("a", 1000, lrs, best=2.6e-3).assign(loss=lambda t: t["loss"] + [0.9, 0.1, 0.5]),  # a worse repeat
        _sweep("a", 1000, lrs, best=1e-2, final=0.5).assign(loss=lambda t: t["loss"] - 1),  # unfinished: ignored
        _sweep("b", 500, lrs, best=1e-2),  # best LR at the sweep's edge
        _sweep("c", 500, lrs[:2], best=1.5e-3),  # too few LRs
    ])
    table = bench.optimal_timescales(checkpoints)
    assert table["model"].tolist() == ["a"]
    assert table["lr_opt"][0] == pytest.approx(2.6e-3, rel=1e-9)
    assert table["tau"][0] == pytest.approx(1 / (2.6e-3 * 0.1 * 1000), rel=1e-9)


def test_optimal_timescales_on_misfitting_stay_inside_each_sweep():
    checkpoints = bs.load_dataset("misfitting")
    table = bench.optimal_timescales(checkpoints)
    final = checkpoints[checkpoints["portion_steps_elapsed"] >= 1]
    assert len(table) > 30 and not table.duplicated(["model", "total_steps"]).any()
    for row in table.itertuples():
        sweep = final[(final["model"] == row.model) & (final["total_steps"] == row.total_steps)]
        loss = sweep.groupby("peak_lr")["loss"].min()
        best = loss.idxmin()
        neighbours = loss.index[[loss.index.get_loc(best) - 1, loss.index.get_loc(best) + 1]]
        assert neighbours[0] < row.lr_opt < neighbours[1]
        assert row.D == pytest.approx(row.total_steps * 2.0**20)
