import numpy as np
import pandas as pd
import pytest

from bayescale.data import DataError
from bayescale.transforms import add_schedule_areas, average_parameter_count, schedule_areas


def test_constant_schedule_has_linear_forward_area_and_no_annealing_area():
    s1, s2 = schedule_areas(np.arange(0, 1000, 100), np.full(10, 3e-4), initial_area=0.5)
    np.testing.assert_allclose(s1, 0.5 + 3e-4 * (np.arange(0, 1000, 100) + 1))
    np.testing.assert_array_equal(s2, 0.0)


def test_one_drop_decays_as_the_paper_momentum():
    """A drop of size delta at step k: m_t = delta * lambda**(t-k), so S2(t) = delta * (1 - lambda**(t-k+1)) / (1 - lambda)."""
    steps = np.arange(0, 2001)
    lr = np.where(steps < 1000, 1e-3, 4e-4)
    decay, delta = 0.99, 6e-4
    _, s2 = schedule_areas(steps, lr, decay=decay)
    after = steps[1000:] - 1000
    np.testing.assert_allclose(s2[1000:], delta * (1 - decay ** (after + 1)) / (1 - decay), rtol=1e-10)
    np.testing.assert_array_equal(s2[:1000], 0.0)


def test_sparse_log_of_a_linear_schedule_equals_the_full_log():
    every = np.arange(0, 5001)
    lr = np.interp(every, [0, 2000, 5000], [1e-3, 1e-3, 1e-4])
    logged = every[::250]
    dense = schedule_areas(every, lr)
    sparse = schedule_areas(logged, lr[::250])
    for full, part in zip(dense, sparse):
        np.testing.assert_allclose(part, full[::250], rtol=1e-12)


def test_areas_are_computed_per_run():
    one = pd.DataFrame({"step": [0, 10, 20], "lr": [1.0, 1.0, 0.5]})
    both = pd.concat([one.assign(run="a"), one.assign(run="b", lr=[2.0, 2.0, 2.0])], ignore_index=True)
    out = add_schedule_areas(both, decay=0.0)
    alone = add_schedule_areas(one.assign(run="a"), decay=0.0)
    np.testing.assert_allclose(out.loc[:2, ["S1", "S2"]], alone[["S1", "S2"]])
    np.testing.assert_allclose(out.loc[3:, "S1"], [2.0, 22.0, 42.0])
    assert (out.loc[3:, "S2"] == 0).all()


@pytest.mark.parametrize(
    "step, lr, kwargs, message",
    [
        ([0, 5, 5], [1, 1, 1], {}, r"step must increase strictly: row 2 has 5 after 5"),
        ([0, 1.5], [1, 1], {}, "step must hold whole optimizer steps"),
        ([0, 1], [1, -1], {}, r"lr row 1 has value -1: learning rates must be non-negative"),
        ([0, 1], [1, np.nan], {}, r"lr row 1 has value nan: values must be finite"),
        ([0, 1, 2], [1, 1], {}, "step and lr must have the same length, got 3 and 2"),
        ([0, 1], [1, 1], {"decay": 1.0}, r"decay must be in \[0, 1\), got 1.0"),
        ([0, 1], [1, 1], {"initial_area": -1}, "initial_area must be non-negative"),
    ],
)
def test_schedule_input_errors_name_the_problem(step, lr, kwargs, message):
    with pytest.raises(DataError, match=message):
        schedule_areas(step, lr, **kwargs)


def test_per_run_errors_name_the_run_and_column():
    log = pd.DataFrame({"run": ["a", "a", "b", "b"], "step": [0, 1, 3, 2], "lr": [1.0] * 4})
    with pytest.raises(DataError, match=r"run 'b': step must increase strictly"):
        add_schedule_areas(log)
    with pytest.raises(DataError, match=r"missing column 'lr'"):
        add_schedule_areas(log.drop(columns="lr"))


def test_average_parameter_count():
    assert average_parameter_count([0, 100], [7e8, 7e8]) == pytest.approx(7e8)
    # pruned from 100% to 25% of 1e9 parameters linearly between 25% and 75% of training
    steps, counts = [0, 250, 750, 1000], [1e9, 1e9, 2.5e8, 2.5e8]
    assert average_parameter_count(steps, counts) == pytest.approx((250 * 1e9 + 500 * 6.25e8 + 250 * 2.5e8) / 1000)
    with pytest.raises(DataError, match=r"n_params row 1 has value 0: parameter counts must be positive"):
        average_parameter_count([0, 1], [5.0, 0.0])
    with pytest.raises(DataError, match="at least 2"):
        average_parameter_count([0], [5.0])
