"""Curve laws: the multi-power law's binned learning-rate history, and the loss-to-loss law's parametrization.

Both laws are also compiled (tests/test_laws.py) and recovered from synthetic runs (tests/test_fit.py);
benchmarks/catalogue_curves.py fits them to the public data.
"""

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.data import DataError
from bayescale.transforms import add_multipower_inputs, multipower_inputs, multipower_loss_drop

WARMUP_AREA = 3e-4 * 2160 / 2  # multipower: linear warmup to 3e-4 over 2160 steps, before the first logged step
# the MultiPowerLaw README's fit to its 100M curves, its C = 2.132 written as h
MPL = {"L0": 2.651, "A": 0.601, "alpha": 0.453, "B": 437.9, "h": 2.46e-3, "beta": 0.598, "gamma": 0.655}


def _law_and_exact(log: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The multi-power law on the binned inputs of ``log``, and the same law with the exact per-step sum."""
    law = bs.get_law("multi-power")
    binned = law.evaluate({**{x: log[x].to_numpy() for x in law.input_names}, **MPL})
    drop = multipower_loss_drop(log["step"], log["lr"], **{k: MPL[k] for k in ("B", "h", "beta", "gamma")})
    return binned, MPL["L0"] + MPL["A"] / log["S1"].to_numpy() ** MPL["alpha"] - drop


def test_one_decrease_per_bin_is_exact():
    """A schedule that drops twice, logged every step: each bin holds one decrease, so the bins are the exact sum."""
    steps = np.arange(0, 3000)
    lr = np.where(steps < 1000, 3e-4, np.where(steps < 2000, 1e-4, 3e-5))
    log = add_multipower_inputs(pd.DataFrame({"run": "a", "step": steps, "lr": lr}), initial_area=WARMUP_AREA)
    binned, exact = _law_and_exact(log)
    assert MPL["L0"] + MPL["A"] / log["S1"].iloc[-1] ** MPL["alpha"] - exact[-1] > 0.1  # the decreases matter
    np.testing.assert_allclose(binned, exact, rtol=1e-12)


@pytest.mark.parametrize("schedule", ["cosine_72000", "wsdld_20000_24000", "wsdcon_3"])
def test_binned_history_is_within_half_a_millinat_of_the_exact_sum(schedule):
    """On real schedules (every logged step of the multipower 100M curves) the 5 age bins move the law by < 5e-4 nats."""
    curves = bs.load_dataset("multipower")
    log = add_multipower_inputs(curves[(curves["model_size"] == "100M") & (curves["schedule"] == schedule)], initial_area=WARMUP_AREA)
    binned, exact = _law_and_exact(log)
    assert np.abs(binned - exact).max() < 5e-4


def test_multipower_inputs_refuse_rising_or_zero_rates_and_name_the_run():
    log = pd.DataFrame({"run": ["a"] * 3 + ["b"] * 3, "step": [0, 1, 2] * 2, "lr": [1.0, 0.5, 0.5, 1.0, 0.5, 0.7]})
    with pytest.raises(DataError, match=r"run 'b': lr must not increase: row 2 has 0.7 after 0.5"):
        add_multipower_inputs(log)
    with pytest.raises(DataError, match="lr row 1 has value 0: the multi-power law needs positive learning rates"):
        multipower_inputs([0, 1], [1.0, 0.0])
    with pytest.raises(DataError, match="step must increase strictly: row 1 has 0 after 0"):
        multipower_loss_drop([0, 0], [1.0, 1.0], B=1.0, h=1.0, beta=1.0, gamma=1.0)
    with pytest.raises(DataError, match=r"missing column 'lr'"):
        add_multipower_inputs(log.drop(columns="lr"))


def test_loss_to_loss_is_the_papers_shifted_power_law():
    """V and S are the predicted loss and its slope at Lx = 3; K and Ey follow as the citation says."""
    law = bs.get_law("loss-to-loss")
    p = {"V": 1.35, "S": 0.645, "kappa": 1.75, "Ex": 0.5}
    K = p["S"] / p["kappa"] * (3 - p["Ex"]) ** (1 - p["kappa"])
    Ey = p["V"] - p["S"] / p["kappa"] * (3 - p["Ex"])
    lx = np.linspace(1.5, 4.5, 7)
    np.testing.assert_allclose(law.evaluate({"Lx": lx, **p}), K * (lx - p["Ex"]) ** p["kappa"] + Ey, rtol=1e-12)
    at3 = law.evaluate({"Lx": np.array([3 - 1e-6, 3.0, 3 + 1e-6]), **p})
    assert at3[1] == pytest.approx(p["V"]) and (at3[2] - at3[0]) / 2e-6 == pytest.approx(p["S"], rel=1e-6)
    # an Ex above some observed Lx (or above 3) keeps the law finite rather than NaN
    assert np.isfinite(law.evaluate({"Lx": lx, **p, "Ex": 3.5})).all()
