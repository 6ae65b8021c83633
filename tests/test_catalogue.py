"""The law catalogue: published values, schedule-based laws and real-data fits.

Every catalogue law is also compiled (tests/test_laws.py) and recovered from synthetic runs
(tests/test_fit.py).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.transforms import add_schedule_areas

PF_DAY = 8.64e19  # FLOP


def test_catalogue_ships_the_new_laws():
    assert {"kaplan-n", "kaplan-d", "jin-average-params", "tissue-annealing"} <= set(bs.list_laws())


@pytest.mark.parametrize(
    "name, scale_input, scale",
    [("kaplan-n", "N", 8.8e13), ("kaplan-d", "D", 5.4e13), ("kaplan-compute", "C", 3.1e8 * PF_DAY)],
)
def test_kaplan_values_convert_the_papers_scales(name, scale_input, scale):
    """Kaplan et al.'s L = (X_c / X)^alpha is 1 nat at X = X_c and falls by 10**-alpha per decade."""
    law = bs.get_law(name)
    ref = law.references["kaplan2020"].values
    exponent = next(v for k, v in ref.items() if k.startswith("alpha"))
    at = lambda x: float(law.evaluate({scale_input: x, **ref}))  # noqa: E731
    assert at(scale) == pytest.approx(1.0, rel=1e-4)
    assert at(scale / 10) == pytest.approx(10**exponent, rel=1e-4)


def test_random_design_draws_within_each_inputs_range():
    design = bs.simulate("tissue-annealing", {"L0": 2.86, "A": 0.52, "alpha": 0.54, "C": 0.49}, n=200, random_seed=0)
    assert design["S1"].between(0.5, 20.0).all() and design["S2"].between(0.0, 0.3).all()
    assert design["S2"].median() == pytest.approx(0.15, abs=0.03)  # uniform: the range starts at zero
    assert np.log(design["S1"]).median() == pytest.approx(np.log(np.sqrt(0.5 * 20.0)), abs=0.3)  # log-uniform
    law = bs.law_from_formula("E + A / S**alpha", {p: {"dist": "HalfNormal", "sigma": 1} for p in ("E", "A", "alpha")}, inputs=["S"])
    with pytest.raises(ValueError, match=r"law 'custom' gives no range for inputs \['S'\]; add `range = \[low, high\]`"):
        bs.simulate(law, {"E": 1.0, "A": 1.0, "alpha": 0.5}, n=5)


def test_average_parameter_law_is_chinchilla_for_dense_runs():
    dense = {"N": 1e9, "D": 2e10, **bs.get_law("chinchilla").references["besiroglu2024"].values}
    assert bs.get_law("jin-average-params").evaluate(dense) == pytest.approx(bs.get_law("chinchilla").evaluate(dense))


def _schedules():
    """Cosine, WSD and two-stage schedules, logged every 100 steps after a 1000-step warmup."""
    steps = np.arange(1000, 30001, 100)
    frac = (steps - 1000) / 29000
    shapes = {
        "cosine": 3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + np.cos(np.pi * frac)),
        "wsd": np.interp(steps, [1000, 24000, 30000], [3e-4, 3e-4, 3e-5]),
        "two-stage": np.where(steps < 12000, 3e-4, 9e-5),
    }
    log = pd.concat([pd.DataFrame({"run": k, "step": steps, "lr": v}) for k, v in shapes.items()], ignore_index=True)
    return add_schedule_areas(log, initial_area=3e-4 * 1000 / 2)


def test_learning_rate_law_recovers_its_parameters(seed_for, assert_recovers):
    """Tissue et al.'s law on synthetic curves, at the values it takes on the multipower 100M curves.

    The noise (0.2%) is three times that of the real curves' residuals; at 1% the forward-area terms
    are not identified from a few dozen points."""
    law = bs.get_law("tissue-annealing")
    truth = {"L0": 2.86, "A": 0.52, "alpha": 0.54, "C": 0.49}
    design = _schedules().query("S2 > 0").sample(120, random_state=0)[["S1", "S2"]]
    seed = seed_for("tissue-annealing-schedules")
    runs = bs.simulate(law, truth, design=design, noise=0.002, random_seed=seed)
    assert_recovers(bs.fit(law, runs, chains=4, draws=500, random_seed=seed, calibrate=False), truth)


@pytest.mark.slow
def test_learning_rate_law_fitted_on_cosine_predicts_other_schedules(seed_for):
    """Multipower 100M: fit the two cosine curves, predict the WSD and constant ones (S2 = 0) within 1% (median)."""
    curves = bs.load_dataset("multipower")
    curves = add_schedule_areas(curves[curves["model_size"] == "100M"], initial_area=3e-4 * 2160 / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bs.SamplingWarning)
        result = bs.fit("tissue-annealing", curves[curves["schedule"].str.startswith("cosine")], random_seed=seed_for("multipower-cosine"), calibrate=False)
    for schedule in ("wsd_", "constant"):
        held_out = curves[curves["schedule"].str.startswith(schedule)]
        predicted = result.predict(held_out, random_seed=1)["mean_median"].to_numpy()
        error = np.abs(predicted - held_out["loss"].to_numpy()) / held_out["loss"].to_numpy()
        assert np.median(error) < 0.01 and error.max() < 0.03, (schedule, np.median(error), error.max())
