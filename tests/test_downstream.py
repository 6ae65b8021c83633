"""The Beta likelihood for a bounded target (an error rate) and Gadre et al.'s downstream-error law."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import scoringrules
from scipy import stats

import bayescale as bs
from bayescale.errors import ExtrapolationWarning
from bayescale.likelihoods import BETA
from bayescale.fit import model_spec, pointwise_log_likelihood
from bayescale.laws import LawError, law_from_dict
from bayescale.model.builder import build_model
from bayescale.scoring import score_fit, score_runs

TRUTH = {"epsilon": 0.85, "k": 2.3, "gamma": 0.75}
NOISE = 0.01  # the target's sd at mean 1/2: phi = 1 / (4 noise^2) - 1
PHI = 1 / (4 * NOISE**2) - 1


@pytest.fixture(scope="module")
def runs(seed_for):
    return bs.simulate("gadre-downstream", TRUTH, n=40, noise=NOISE, random_seed=seed_for("downstream-runs"))


@pytest.fixture(scope="module")
def beta_fit(runs, seed_for):
    return bs.fit("gadre-downstream", runs, chains=4, draws=500, random_seed=seed_for("downstream-fit"))


def test_beta_density_equals_scipy_and_pymc():
    y, mu, phi = np.array([0.02, 0.5, 0.93]), np.array([0.05, 0.6, 0.9]), np.array([20.0, 300.0, 4000.0])
    expected = stats.beta.logpdf(y, mu * phi, (1 - mu) * phi)
    np.testing.assert_allclose(BETA.logpdf(y, mu, {"phi": phi}), expected, rtol=1e-12)
    np.testing.assert_allclose(pm.logp(pm.Beta.dist(alpha=mu * phi, beta=(1 - mu) * phi), y).eval(), expected, rtol=1e-10)


def test_law_likelihood_field_round_trips_and_is_the_fits_default():
    law = bs.get_law("gadre-downstream")
    assert law.likelihood == "beta" and law.to_dict()["likelihood"] == "beta"
    assert law_from_dict(law.to_dict()).to_dict() == law.to_dict()
    assert "likelihood" not in bs.get_law("chinchilla").to_dict()  # laws without one keep their dicts
    assert model_spec(law).likelihood == "beta" and model_spec(law, likelihood="studentt").likelihood == "studentt"
    assert model_spec("chinchilla").likelihood == "studentt"
    assert model_spec(law).noise_names == ["phi"]
    with pytest.raises(LawError, match=r"unknown likelihood 'betta'"):
        law_from_dict({**law.to_dict(), "likelihood": "betta"})


def test_beta_fit_recovers_the_law_and_its_precision(beta_fit):
    d = beta_fit.diagnostics
    assert d.divergences == 0 and d.max_rhat <= 1.01, str(d)
    assert beta_fit.spec.likelihood == "beta" and "likelihood: beta on error" in repr(beta_fit)
    table = beta_fit.summary(ci_prob=0.98)
    for param, value in {**TRUTH, "phi": PHI}.items():
        assert table.loc[param, "lower"] < value < table.loc[param, "upper"], (param, value, table.loc[param].to_dict())


def test_pointwise_log_likelihood_equals_pymc(beta_fit):
    idata = az.InferenceData(posterior=beta_fit.idata.posterior)
    model = build_model(beta_fit.spec, beta_fit.runs, beta_fit.groups, beta_fit.centre)
    expected = pm.compute_log_likelihood(idata, model=model, progressbar=False).log_likelihood["target"].values
    got = pointwise_log_likelihood(beta_fit.spec, beta_fit.idata.posterior, beta_fit.runs, beta_fit.groups)["target"].values
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    assert "target" in beta_fit.idata.log_likelihood


def test_predictions_stay_in_the_unit_interval_and_save_load(beta_fit, tmp_path):
    new = pd.DataFrame({"L": [2.5, 4.0, 6.5, 9.0]})  # 9 nats lies beyond the fitted losses: no calibration for beta
    with pytest.warns(ExtrapolationWarning, match="learned on log target, which a beta likelihood does not observe"):
        out = beta_fit.predict(new, random_seed=2)
    wide = beta_fit.predict(new, random_seed=2, ci_prob=0.98)
    assert beta_fit.calibration is None
    assert ((0 < out["lower"]) & (out["upper"] < 1)).all()
    assert (out["lower"] < out["mean_lower"]).all() and (out["mean_upper"] < out["upper"]).all()
    expected = TRUTH["epsilon"] - TRUTH["k"] * np.exp(-TRUTH["gamma"] * new["L"])
    np.testing.assert_allclose(out["mean_median"][:3], expected[:3], atol=0.012)  # inside the fitted losses
    assert ((wide["mean_lower"] < expected) & (expected < wide["mean_upper"])).all()  # and beyond them
    beta_fit.save(tmp_path / "beta.nc")
    loaded = bs.load(tmp_path / "beta.nc")
    assert loaded.spec.likelihood == "beta" and loaded.law.likelihood == "beta"
    pd.testing.assert_frame_equal(loaded.predict(new[:2], random_seed=2), beta_fit.predict(new[:2], random_seed=2))


def test_a_law_mean_outside_the_unit_interval_is_flagged(beta_fit):
    with pytest.warns(UserWarning, match=r"its mean leaves \(0, 1\) in 100.0% of the draws at rows \[0\]"):
        _, draws = beta_fit.sample_predictive(pd.DataFrame({"L": [0.5]}), random_seed=1)
    assert np.all((draws.new_run >= 0) & (draws.new_run < 1e-3))


def test_scores_use_the_target_itself(beta_fit, runs):
    rng = np.random.default_rng(0)
    observed, draws = runs["error"].to_numpy()[:5], rng.beta(60, 40, size=(2000, 5))
    scores = score_runs(observed, draws, crps_scale=BETA.crps_scale)
    np.testing.assert_allclose(scores["crps"], scoringrules.crps_ensemble(observed, draws.T, m_axis=-1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        held_out = score_fit(beta_fit, runs[:5], random_seed=1)
    assert np.isfinite(held_out["lpd"]).all() and held_out["crps"].lt(0.02).all()


@pytest.mark.parametrize("value, row", [(1.2, 2), (0.0, 2), (-0.1, 2)])
def test_targets_outside_the_unit_interval_are_refused(runs, value, row):
    bad = runs.copy()
    bad.loc[row, "error"] = value
    with pytest.raises(bs.DataError, match=rf"column 'error' row {row} has value {value!r}: must lie strictly between 0 and 1"):
        bs.fit("gadre-downstream", bad)
    with pytest.raises(ValueError, match=r"law 'gadre-downstream' has mean .* at run 0, outside \(0, 1\)"):
        bs.simulate("gadre-downstream", TRUTH, design=pd.DataFrame({"L": [0.5, 3.0]}))


def test_loo_refuses_to_compare_a_beta_fit_with_a_log_target_fit(beta_fit, runs, seed_for):
    log_target = bs.fit("gadre-downstream", runs, likelihood="normal", chains=4, draws=500, random_seed=seed_for("downstream-normal"))
    with pytest.raises(bs.ComparisonError, match="a normal likelihood and 'beta' a beta one: their log likelihoods are densities"):
        bs.compare({"beta": beta_fit, "normal": log_target})
