"""Each likelihood object: its density against scipy and PyMC, its draws' moments, its target domain, and a real
fit of the raw-target Normal on a negative target."""

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats

import bayescale as bs
from bayescale.likelihoods import BETA, LIKELIHOODS, NORMAL, NORMAL_RAW, STUDENTT

NOISE = {"sigma": np.array([0.01, 0.05, 0.3]), "nu": np.array([1.5, 4.0, 30.0]), "phi": np.array([20.0, 300.0, 4000.0])}
MU = {"log": np.array([-0.3, 0.0, 1.2]), "target": np.array([0.05, 0.6, 0.9])}
Y = {"log": np.array([-0.25, 0.1, 0.7]), "target": np.array([0.02, 0.5, 0.93])}


def _scipy(name, y, mu):
    sigma, nu, phi = NOISE["sigma"], NOISE["nu"], NOISE["phi"]
    return {
        "studentt": stats.t.logpdf(y, df=nu, loc=mu, scale=sigma),
        "normal": stats.norm.logpdf(y, mu, sigma),
        "normal-raw": stats.norm.logpdf(y, mu, sigma),
        "beta": stats.beta.logpdf(y, mu * phi, (1 - mu) * phi),
    }[name]


@pytest.mark.parametrize("name", list(LIKELIHOODS))
def test_log_density_equals_scipy_and_the_pymc_node(name):
    family = LIKELIHOODS[name]
    scale = "target" if name == "beta" else "log"
    y, mu = Y[scale], MU[scale]
    noise = {k: NOISE[k] for k in family.noise}
    expected = _scipy(name, y, mu)
    np.testing.assert_allclose(family.logpdf(y, mu, noise), expected, rtol=1e-10)
    with pm.Model():
        node = family.node("y", pm.Data("mu", mu), {k: pm.Data(k, v) for k, v in noise.items()}, observed=y)
    np.testing.assert_allclose(pm.logp(node, y).eval(), expected, rtol=1e-8)


@pytest.mark.parametrize("name", list(LIKELIHOODS))
def test_draws_have_the_noise_models_moments(name):
    family, rng = LIKELIHOODS[name], np.random.default_rng(0)
    mu = 0.3 if name == "beta" else 1.5
    noise = {"sigma": 0.2, "nu": 30.0, "phi": 50.0}
    draws = family.draw(np.full(200_000, mu), {k: noise[k] for k in family.noise}, rng)
    variance = {"studentt": 0.04 * 30 / 28, "normal": 0.04, "normal-raw": 0.04, "beta": mu * (1 - mu) / 51}[name]
    sd = np.sqrt(variance)
    assert draws.mean() == pytest.approx(mu, abs=4 * sd / np.sqrt(len(draws)))
    assert draws.std() == pytest.approx(sd, rel=0.01)


def test_scales_links_and_domains():
    assert [lik.log_target for lik in (STUDENTT, NORMAL, NORMAL_RAW, BETA)] == [True, True, False, False]
    assert STUDENTT.scale == NORMAL.scale == "log" and NORMAL_RAW.scale == BETA.scale == "target"
    np.testing.assert_allclose(NORMAL.to_target(NORMAL.observe([2.0, 3.0])), [2.0, 3.0])
    np.testing.assert_allclose(NORMAL_RAW.observe([-1.5, 0.0]), [-1.5, 0.0])
    assert BETA.location(np.array([-0.2, 1.4])).tolist() == [1e-9, 1 - 1e-9]
    assert NORMAL_RAW.describe("loss") == "normal-raw on loss" and STUDENTT.describe("loss") == "studentt on log loss"
    with pytest.raises(bs.ModelError, match=r"unknown likelihood 'laplace'; use one of \('studentt', 'normal', 'normal-raw', 'beta'\)"):
        bs.get_likelihood("laplace")


@pytest.mark.parametrize(
    "likelihood, value, message",
    [
        ("studentt", -0.5, "must be positive"),
        ("normal", 0.0, "must be positive"),
        ("beta", 1.0, "must lie strictly between 0 and 1"),
        ("normal-raw", np.inf, "is infinite"),
    ],
)
def test_each_likelihood_checks_its_targets_domain(likelihood, value, message):
    runs = bs.simulate("powerlaw-n", {"E": 0.2, "A": 0.5, "alpha": 0.3}, n=12, random_seed=0, likelihood="normal")
    runs.loc[3, "loss"] = value
    with pytest.raises(bs.DataError, match=rf"column 'loss' row 3 has value {value!r}: {message}"):
        bs.fit("powerlaw-n", runs, likelihood=likelihood)


@pytest.fixture(scope="module")
def vocabulary_runs(shared_data):
    """Tao et al.'s largest model at the median vocabulary (SLDBench training split): its unigram-normalized loss
    against training characters, negative in every row."""
    runs = pd.read_csv(shared_data / "sldbench" / "vocab_scaling_law" / "train.csv")
    runs = runs[(runs["vocab_size"] == runs["vocab_size"].median()) & (runs["N"] == runs["N"].max())]
    return runs.rename(columns={"num_characters": "D"})


def test_raw_target_normal_fits_a_negative_target(vocabulary_runs, seed_for):
    runs = vocabulary_runs
    assert (runs["loss"] < 0).all() and len(runs) == 20
    law = bs.law_from_formula("B / D**beta - E", name="unigram-normalized")
    assert law.parameters["E"].prior.positive  # the floor's magnitude; its sign is in the formula
    with pytest.raises(bs.DataError, match=r"must be positive \(20 such rows\); the 'studentt' likelihood models the log of "
                       r"'loss': a target that can be zero or negative needs likelihood='normal-raw'"):
        bs.fit(law, runs)  # the default Student-t on the log target cannot take a negative loss
    fitted = bs.fit(law, runs, likelihood="normal-raw", draws=500, random_seed=seed_for("vocabulary"))
    d = fitted.diagnostics
    assert d.divergences == 0 and d.max_rhat <= 1.01, str(d)
    assert fitted.calibration is None and "normal-raw on loss" in repr(fitted)
    inside = fitted.predict(runs, random_seed=1)
    observed = runs["loss"].to_numpy()
    assert np.median(np.abs(inside["median"] - observed)) < 0.02
    assert ((inside["lower"] <= observed) & (observed <= inside["upper"])).mean() >= 0.8
    table = fitted.summary()
    assert (inside["median"] < 0).all() and table.loc["sigma", "median"] < 0.02 and 5.2 < table.loc["E", "median"] < 5.7
    with pytest.warns(bs.ExtrapolationWarning, match="which a normal-raw likelihood does not observe"):
        far = fitted.predict(pd.DataFrame({"D": [runs["D"].max() * 10]}), random_seed=1)
    assert far["upper"][0] - far["lower"][0] > inside["upper"].iloc[-1] - inside["lower"].iloc[-1]
