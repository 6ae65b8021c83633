"""Critical-batch-size laws of Zhang et al. (2024): their published values reproduce the authors' notebook outputs.

All numbers below were printed by github.com/hlzhang109/critical-batch-size plots/chinchilla.ipynb (cells 14 and 16).
"""

import numpy as np
import pytest

import bayescale as bs

SIZES_M = np.array([85.0, 151.0, 302.0, 604.0, 1200.0])  # the notebook's scaling_law_model_sizes, millions of parameters
PUBLISHED_CBS = np.array([745.3201466381583, 955.1582414387951, 1393.726947253441, 1888.5221009346358, 2533.4108017868743])
BATCHES = 2.0 ** np.arange(6, 15)  # 64 ... 16384 sequences
STEPS_85M = np.array([46000, 23000, 13282, 7000, 3840, 2528, 1917, 1600, 1600])  # measured steps to loss 3.42


def _critical_batch_size(values):
    """The notebook's rule: the root B of E_min - 5 S_min B + 5 S_min 1.2 256 = 0."""
    return values["E_min"] / (5.0 * values["S_min"]) + 1.2 * 256


def test_step_fits_give_the_published_critical_batch_sizes():
    law = bs.get_law("zhang-steps-batch")
    cbs = [_critical_batch_size(ref.values) for ref in law.references.values()]
    np.testing.assert_allclose(cbs, PUBLISHED_CBS, rtol=1e-9)


def test_step_law_follows_the_measured_steps_of_the_85M_model():
    law = bs.get_law("zhang-steps-batch")
    steps = law.evaluate({"B": BATCHES, **law.references["zhang2024_85M"].values})
    np.testing.assert_allclose(steps, STEPS_85M, rtol=0.1)
    assert np.all(np.diff(steps) < 0)


@pytest.mark.parametrize("size_m, forecast", [(85, 746.2871281420781), (1200, 2578.1882129770333), (6000, 5478.063434672182)])
def test_size_law_reproduces_the_forecast_table(size_m, forecast):
    law = bs.get_law("zhang-cbs-chinchilla")
    cbs = law.evaluate({"N": np.array([size_m * 1e6]), **law.references["zhang2024"].values})
    np.testing.assert_allclose(cbs, [forecast], rtol=1e-9)


def test_size_law_is_the_log_log_fit_of_the_published_critical_batch_sizes():
    slope, intercept = np.polyfit(np.log(SIZES_M * 1e6), np.log(PUBLISHED_CBS), 1)
    reference = bs.get_law("zhang-cbs-chinchilla").references["zhang2024"].values
    assert slope == pytest.approx(reference["b_N"], rel=1e-6)
    assert np.exp(intercept) == pytest.approx(reference["c_B"], rel=1e-5)
