"""Whole training curves with a per-run random effect (``bs.fit(..., curves="run")``): the model, its prediction at
fitted and new runs, the fit file, bad input, and a simulation-based check that its intervals are calibrated."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest

import bayescale as bs
from bayescale.errors import DataError, ModelError
from bayescale.fit import model_spec, pointwise_log_likelihood
from bayescale.model.builder import build_model

TRUTH = {"E": 1.7, "A": 400.0, "alpha": 0.34, "B": 2000.0, "beta": 0.28}
RUN_SD, SIGMA = 0.02, 0.003


def simulated_curves(seed: int, runs: int = 8, points: int = 30) -> pd.DataFrame:
    """Chinchilla curves of ``runs`` model sizes (10, 20 or 40 tokens per parameter at the end, in turn, so that the
    runs' sizes and lengths are not one line), each run off the law by its own log-normal offset (sd ``RUN_SD``) at
    every checkpoint, plus checkpoint noise (sd ``SIGMA``)."""
    rng = np.random.default_rng(seed)
    law = bs.get_law("chinchilla")
    tables = []
    for r, n in enumerate(np.geomspace(5e7, 5e9, runs)):
        tokens = np.geomspace(0.1, 1, points) * (10, 20, 40)[r % 3] * n
        mean = law.evaluate({"N": n, "D": tokens, **TRUTH})
        loss = mean * np.exp(RUN_SD * rng.standard_normal() + SIGMA * rng.standard_normal(points))
        tables.append(pd.DataFrame({"run": f"r{r}", "N": n, "D": tokens, "loss": loss}))
    return pd.concat(tables, ignore_index=True)


def late(runs: pd.DataFrame) -> pd.Series:
    """The last 20% of each run's tokens: the held-out checkpoints."""
    return runs["D"] >= 0.8 * runs.groupby("run")["D"].transform("max")


def fit_curves(runs, seed, **kwargs):
    return bs.fit("chinchilla", runs, curves="run", warmup=0.0, likelihood="normal", random_seed=seed, calibrate=False, **kwargs)


@pytest.fixture(scope="module")
def curve_fit(seed_for):
    runs = simulated_curves(seed_for("curve_fit"))
    # E, A and alpha mix slowly along their ridge on 8 short curves: at 1000 draws, R-hat 1.015 on 1 of 6 seeds
    return fit_curves(runs[~late(runs)], seed_for("curve_fit"), draws=2000), runs


def test_the_model_and_its_numpy_log_likelihood_agree(curve_fit):
    fit, _ = curve_fit
    assert fit.diagnostics.divergences == 0 and fit.diagnostics.max_rhat <= 1.01, str(fit.diagnostics)
    assert "run_sd" in fit.summary().index and fit.run_names == [f"r{r}" for r in range(8)]
    model = build_model(fit.spec, fit.runs, fit.groups, fit.centre)
    expected = pm.compute_log_likelihood(az.InferenceData(posterior=fit.idata.posterior), model=model, progressbar=False)
    got = pointwise_log_likelihood(fit.spec, fit.idata.posterior, fit.runs, fit.groups)["log_loss"].values
    np.testing.assert_allclose(got, expected.log_likelihood["log_loss"].values, rtol=1e-9, atol=1e-9)


def test_a_fitted_run_keeps_its_offset_and_a_new_run_draws_one(curve_fit):
    fit, runs = curve_fit
    offsets = fit.idata.posterior["run_offset"].values.reshape(-1, 8)
    far = runs[late(runs)].groupby("run").tail(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ExtrapolationWarning)
        known = fit.predict(far, random_seed=0)
        unnamed = fit.predict(far.drop(columns="run"), random_seed=0)
    # the same inputs without the run's name: a run of its own, whose mean lacks the fitted offset
    ratio = known["mean_median"].to_numpy() / unnamed["mean_median"].to_numpy()
    np.testing.assert_allclose(np.log(ratio), np.median(offsets, axis=0), atol=2e-3)
    width = lambda p: (p["upper"] - p["lower"]) / p["median"]  # noqa: E731
    assert (width(unnamed) > 3 * width(known)).all()  # a new run's offset (sd ~0.02) dwarfs a checkpoint's noise
    assert (unnamed["law_upper"] - unnamed["law_lower"] > unnamed["mean_upper"] - unnamed["mean_lower"]).all()


def test_the_fit_file_keeps_the_curves_and_predicts_the_same(curve_fit, tmp_path):
    fit, runs = curve_fit
    loaded = bs.load(fit.save(tmp_path / "curves.nc"))
    assert (loaded.spec.curves, loaded.spec.warmup) == ("run", 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ExtrapolationWarning)
        pd.testing.assert_frame_equal(loaded.predict(runs, random_seed=3), fit.predict(runs, random_seed=3))


def test_warmup_checkpoints_are_left_out_before_validation():
    runs = simulated_curves(0, runs=4, points=12)
    runs.loc[runs.groupby("run").head(1).index, "D"] = 0.0  # a first checkpoint at zero tokens, as logs have
    spec = model_spec("chinchilla", curves="run", warmup=0.2)
    kept = spec.without_warmup(runs)
    assert len(kept) == 4 * 8 and (kept.groupby("run")["D"].min() >= 0.2 * kept.groupby("run")["D"].max()).all()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"curves": "seed"}, DataError, "curves='seed' names the column of each checkpoint's run"),
        ({"curves": "run", "likelihood": "beta"}, ModelError, "a per-run effect"),
        ({"curves": "run", "warmup": 1.0}, ModelError, r"warmup is the fraction .* in \[0, 1\)"),
        ({"curves": "N"}, ModelError, "is an input or the target"),
        ({"curves": "run", "pool": {"E": "run"}}, ModelError, "also the pooling column"),
        ({"priors": {"run_sd": {"dist": "HalfNormal", "sigma": 0.1}}}, ModelError, r"priors given for \['run_sd'\]"),
    ],
)
def test_bad_curve_fits_are_refused(kwargs, error, message):
    runs = simulated_curves(0, runs=4, points=6)
    with pytest.raises(error, match=message):
        bs.fit("chinchilla", runs, draws=50, tune=50, chains=1, calibrate=False, **kwargs)


@pytest.mark.slow
def test_run_effect_intervals_are_calibrated_on_simulated_curves(seed_for, assert_recovers):
    """Curves simulated with shared run noise: the held-out late checkpoints' 90% intervals cover at the nominal rate
    over repeated fits, ``run_sd`` is recovered, and the i.i.d. model, which must spread the run offsets over every
    checkpoint's noise, is several times wider."""
    inside, recovered = [], []
    for replicate in range(3):
        seed = seed_for(f"run_effect/{replicate}")
        runs = simulated_curves(seed, runs=12)
        fit = fit_curves(runs[~late(runs)], seed, draws=2000)  # at 1000, R-hat reached 1.0101 on 1 of 9 sets
        assert_recovers(fit, {**TRUTH, "run_sd": RUN_SD, "sigma": SIGMA})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bs.ExtrapolationWarning)
            held = fit.predict(runs[late(runs)])
        y = runs[late(runs)]["loss"].to_numpy()
        inside.append((y >= held["lower"]) & (y <= held["upper"]))
        recovered.append(fit.summary().loc["run_sd", "lower"] <= RUN_SD <= fit.summary().loc["run_sd", "upper"])
    coverage = np.concatenate(inside).mean()
    assert 0.78 <= coverage <= 0.98, coverage  # 108 checkpoints of 36 runs: a binomial sd of 0.03 around 0.9
    assert sum(recovered) >= 2
    iid = bs.fit("chinchilla", runs[~late(runs)], likelihood="normal", draws=500, random_seed=seed, calibrate=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ExtrapolationWarning)
        plain = iid.predict(runs[late(runs)])
    assert ((plain["upper"] - plain["lower"]) / plain["median"]).median() > 2 * ((held["upper"] - held["lower"]) / held["median"]).median()
