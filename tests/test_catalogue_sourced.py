"""Laws read in their authors' code: each formula against that code, and stored fitted values against the data."""

import json

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.model import ModelSpec

VOCAB = 50304  # Gemstones vocabulary (gemstone-scaling-laws plotters/plotting_utils.py VOCAB_OURS)


def _inputs(law, runs):
    return {x: runs[x].to_numpy(float) for x in law.input_names}


def _param_counter(width, depth):
    """plotting_utils.param_counter: GQA attention (head 128, 2 queries per group), GEGLU MLP, input and output embeddings."""
    heads = width // 128
    attention = width * (heads + 2 * (heads // 2)) * 128 + 128 * heads * width
    return (attention + 3 * width * 4 * width + 2 * width) * depth + 2 * VOCAB * width + width


def test_gemstones_parameter_count_is_the_one_the_authors_fitted():
    runs = bs.load_dataset("gemstones")
    np.testing.assert_array_equal(runs["N"].to_numpy(), _param_counter(runs["width"], runs["depth"]).to_numpy())


@pytest.mark.parametrize("reference, subset", [("mcleish2025", "hot_100b+"), ("mcleish2025_cooldown", "cool_end")])
def test_gemstones_references_are_the_authors_fits(shared_data, reference, subset):
    """plotting_utils.our_pred_func: exp(e) + sum_i exp(c_i - alpha_i log x_i), x = (width, depth, params, tokens)."""
    fit = json.loads((shared_data / "gemstones" / "parameters_delta-4" /
                      f"approach_3_width_depth_parameters_grid_search_0_{subset}.json").read_text())
    exponents, log_coefficients = np.array(fit["exponents"]["0"]), np.array(fit["coefficients"]["0"])
    runs = bs.load_dataset("gemstones").iloc[::25]
    x = runs[["width", "depth", "N", "D"]].to_numpy(float)
    authors = np.exp(log_coefficients - exponents * np.log(x)).sum(axis=1) + np.exp(fit["irreducible_error"]["0"])
    law = bs.get_law("gemstones-shape")
    np.testing.assert_allclose(law.evaluate({**_inputs(law, runs), **law.references[reference].values}), authors, rtol=1e-3)


def test_gemstones_reference_reproduces_the_curves_it_was_fitted_to():
    runs = bs.load_dataset("gemstones").query("step % 2385 == 0")  # the authors' hot_100b+ subset
    law = bs.get_law("gemstones-shape")
    predicted = law.evaluate({**_inputs(law, runs), **law.references["mcleish2025"].values})
    assert np.median(np.abs(predicted / runs["loss"] - 1)) < 0.003


def test_rectified_law_is_the_authors_transform():
    """fit_law.our_law_transform: log L = log((A - E) / (1 + exp(beta log D + B')) + E)."""
    A, B_prime, beta, E = 4.3, -5.1, 0.46, 1.07
    D = np.geomspace(200, 1.6e6, 9)
    authors = np.exp(np.log((A - E) / (1 + np.exp(beta * np.log(D) + B_prime)) + E))
    law = bs.get_law("rectified-finetune")
    ours = law.evaluate({"D": D, "B": (A - E) * np.exp(-B_prime), "D_l": np.exp(-B_prime), "beta": beta, "E": E})
    np.testing.assert_allclose(ours, authors, rtol=1e-12)


def test_rectified_law_has_a_pre_power_and_a_power_phase():
    law = bs.get_law("rectified-finetune")
    params = {"B": 564.0, "D_l": 166.0, "beta": 0.455, "E": 1.07}
    tiny = law.evaluate({"D": np.array([1e-12]), **params})
    assert tiny[0] == pytest.approx(params["B"] / params["D_l"] + params["E"], rel=1e-6)  # zero-shot loss
    D = np.array([1e12, 1e13])
    slope = np.diff(np.log(law.evaluate({"D": D, **params}) - params["E"])) / np.diff(np.log(D))
    assert slope[0] == pytest.approx(-params["beta"], rel=1e-3)


def test_bian_law_is_the_authors_func():
    """fit_scaling_laws_shape.func: (E + A / N^alpha + B / D^alpha) * (1 + gamma * (dim / height)^eta)."""
    A, B, E, alpha, gamma, eta = 140.0, 167.0, 1.76, 0.26, 4.1e-4, 0.77
    N, D = np.array([7.9e7, 1.4e9]), np.array([1.6e9, 2.9e10])
    dim, height = np.array([640.0, 2048.0]), np.array([3.0, 24.0])
    authors = (E + A / np.power(N, alpha) + B / np.power(D, alpha)) * (1 + gamma * np.power(dim / height, eta))
    law = bs.get_law("bian-aspect")
    ours = law.evaluate({"N": N, "D": D, "R": dim / height, "A": A, "B": B, "E": E, "alpha": alpha, "gamma": gamma, "eta": eta})
    np.testing.assert_allclose(ours, authors, rtol=1e-12)


@pytest.mark.parametrize("name, target", [("porian-lr", "lr"), ("porian-batch", "batch_size")])
def test_porian_laws_predict_hyperparameter_columns(name, target):
    law = bs.get_law(name)
    assert law.target == target and law.input_names == ["N"]
    with pytest.raises(bs.DataError, match=f"missing column '{target}'"):
        ModelSpec(law).prepare_runs(pd.DataFrame({"N": [1e8, 1e9], "loss": [3.0, 2.8]}))
