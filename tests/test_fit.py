import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.diagnostics import diagnose

NEW = pd.DataFrame({"N": [70e9, 1e9], "D": [1.4e12, 2e10]})
COLUMNS = ["N", "D", "distance", "error_from", "lower", "median", "upper", "law_lower", "law_median", "law_upper", "mean_lower", "mean_median", "mean_upper"]


def test_small_fit_is_clean_and_in_law_units(small_fit):
    d = small_fit.diagnostics
    assert d.divergences == 0 and d.max_rhat <= 1.01 and d.ok, str(d)
    table = small_fit.summary(ci_prob=0.9)
    assert list(table.columns) == ["mean", "sd", "median", "lower", "upper", "r_hat", "ess_bulk", "ess_tail"]
    assert list(table.index) == ["E", "A", "B", "alpha", "beta", "sigma", "nu"]
    # the Epoch replication (Besiroglu et al. 2024, 240 runs, Huber): E 1.82, alpha 0.348, beta 0.366
    assert 1.75 < table.loc["E", "median"] < 1.86
    assert 0.32 < table.loc["alpha", "median"] < 0.37
    assert 0.33 < table.loc["beta", "median"] < 0.39
    assert (table["lower"] < table["median"]).all() and (table["median"] < table["upper"]).all()
    assert d.low_chains == ()


def test_chains_stuck_in_a_weaker_mode_are_named(small_fit):
    """Two chains shifted to a lower log density, as a second mode leaves them: the diagnostics name them."""
    idata = small_fit.idata.copy()
    stats = idata.sample_stats
    shift = np.where(stats["chain"].values[:, None] >= 2, 25.0, 0.0)
    idata.sample_stats = stats.assign(logp=stats["logp"] - shift)
    d = diagnose(idata, small_fit.var_names)
    assert d.low_chains == (2, 3) and 20 < d.low_chains_gap < 30 and not d.ok
    assert any("chain(s) 2, 3 sit where the log density is up to" in p for p in d.problems)


def test_predict_has_stable_columns_and_nested_intervals(small_fit):
    out = small_fit.predict(NEW, ci_prob=0.9, random_seed=3)
    assert list(out.columns) == COLUMNS
    assert (out["lower"] < out["law_lower"]).all() and (out["law_upper"] < out["upper"]).all()
    assert (out["law_lower"] <= out["mean_lower"]).all() and (out["mean_upper"] <= out["law_upper"]).all()
    # 70B on 1.4T is 1.7 decades of compute beyond the fitted runs and carries the law's own error; 1B on 20B is inside
    assert out["distance"][0] == pytest.approx(np.log10(6 * 70e9 * 1.4e12 / small_fit.runs.eval("6 * N * D").max()))
    assert out["distance"][1] == 0 and out["law_lower"][1] == out["mean_lower"][1]
    assert (out["law_upper"] - out["law_lower"])[0] > 1.5 * (out["mean_upper"] - out["mean_lower"])[0]
    assert small_fit.calibration is not None and small_fit.calibration.backtest_runs > 100
    assert (out["mean_lower"] < out["mean_median"]).all() and (out["mean_median"] < out["mean_upper"]).all()
    # extrapolating 50x beyond the data is less certain than interpolating
    width = out["mean_upper"] - out["mean_lower"]
    assert width[0] > 2 * width[1]
    with pytest.raises(ValueError, match="ci_prob must be between 0 and 1"):
        small_fit.predict(NEW, ci_prob=90)
    with pytest.raises(bs.DataError, match=r"missing column 'D' \(needed: N, D\)"):
        small_fit.predict(NEW[["N"]])


def test_save_load_gives_identical_predictions(small_fit, tmp_path):
    path = tmp_path / "chinchilla.nc"
    assert small_fit.calibration is not None  # the learned extrapolation error travels with the fit
    small_fit.save(path)
    loaded = bs.load(path)
    assert loaded.law.to_dict() == small_fit.law.to_dict()
    assert loaded.calibration == small_fit.calibration and loaded.settings == small_fit.settings
    pd.testing.assert_frame_equal(loaded.predict(NEW, random_seed=5), small_fit.predict(NEW, random_seed=5))
    pd.testing.assert_frame_equal(loaded.summary(), small_fit.summary())
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        small_fit.save(path)
    (tmp_path / "chinchilla.nc.partial").write_text("the user's own file")  # the name a temporary file once took
    small_fit.save(path, overwrite=True)
    assert (tmp_path / "chinchilla.nc.partial").read_text() == "the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chinchilla.nc", "chinchilla.nc.partial"]  # no temporary file left
    with pytest.raises(bs.MissingFileError, match="the folder .*nowhere does not exist"):
        small_fit.save(tmp_path / "nowhere" / "fit.nc")


def test_a_column_named_like_the_files_dimensions_is_kept(small_fit, tmp_path):
    from bayescale.storage import read_fit_file, write_fit_file

    runs = small_fit.runs.assign(run=[f"r{i}" for i in range(len(small_fit.runs))], row=1.0)
    _, loaded, _ = read_fit_file(write_fit_file(tmp_path / "fit.nc", small_fit.idata, runs, small_fit._metadata()))
    pd.testing.assert_frame_equal(loaded, runs)


def test_load_refuses_corrupt_and_foreign_files(tmp_path, small_fit):
    corrupt = tmp_path / "corrupt.nc"
    corrupt.write_bytes(b"not a netcdf file at all")
    with pytest.raises(bs.FitFileError, match="is not a readable netCDF fit file"):
        bs.load(corrupt)
    foreign = tmp_path / "foreign.nc"
    small_fit.idata.posterior.to_netcdf(foreign)  # a netCDF file without our format marker
    with pytest.raises(bs.FitFileError, match="is not a bayescale fit"):
        bs.load(foreign)
    with pytest.raises(FileNotFoundError, match="no fit file at"):
        bs.load(tmp_path / "missing.nc")


def test_too_few_runs_and_unknown_group(epoch_runs):
    with pytest.raises(ValueError, match="has 7 parameters; fitting it needs more runs than that, got 6"):
        bs.fit("chinchilla", epoch_runs.head(6))
    with pytest.raises(bs.DataError, match="group column 'dataset' is not in the data"):
        bs.fit("chinchilla", epoch_runs, pool={"E": "dataset"})


TRUTH = {
    "powerlaw-n": {"E": 1.8, "A": 400.0, "alpha": 0.34},
    "powerlaw-d": {"E": 1.8, "A": 2000.0, "alpha": 0.36},
    "powerlaw-compute": {"E": 1.7, "A": 3000.0, "alpha": 0.16},
    "jin-average-params": {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.36},
    "tissue-annealing": {"L0": 2.86, "A": 0.52, "alpha": 0.54, "C": 0.49},  # its fit to the multipower 100M curves
    "loss-to-loss": {"V": 1.35, "S": 0.645, "kappa": 1.75, "Ex": 0.5},  # its fit to loss-to-loss fineweb -> starcoder (benchmarks/catalogue_curves.py)
    "multi-power": {"L0": 2.651, "A": 0.601, "alpha": 0.453, "B": 437.9, "h": 2.46e-3, "beta": 0.598, "gamma": 0.655},  # the MultiPowerLaw README's 100M fit, its C as h
    "farseer": {"E": 2.31, "sE": -0.06, "gamma": -0.17, "B": 73700.0, "sB": 0.54, "beta": -0.05, "A": 0.54, "sA": 0.04, "alpha": -0.25},  # its fit to epoch-chinchilla (benchmarks/catalogue_lm.py)
    "power-lines-tau": {"c_tau": 44.0, "a_tau": 1.15},  # its fit to misfitting (benchmarks/catalogue_hparams.py)
    "power-lines-batch": {"c_B": 30.0, "m_B": 0.45},  # illustrative: 0.1M-3M-token batches over D = 1e8..1e11 tokens
    "rectified-finetune": {"B": 564.0, "D_l": 166.0, "beta": 0.455, "E": 1.07},  # its fit to the curve in the authors' README
    "porian-lr": {"c_lr": 2.09, "a_lr": 0.329},  # log-log fit to the authors' tuned LRs (make_paper.ipynb params_lr_map)
    "porian-batch": {"c_bs": 7.0e-4, "b_bs": 0.666},  # same for their tuned batch sizes (params_bs_map, sequences)
    "bian-aspect": {"E": 1.76, "A": 140.0, "B": 167.0, "alpha": 0.26, "gamma": 4.1e-4, "eta": 0.77},  # its gemstones fit (benchmarks/catalogue_sourced.py)
    "gadre-downstream": {"epsilon": 0.85, "k": 2.6, "gamma": 0.78},  # its fit to the RefinedWeb runs' 17-task error (benchmarks/downstream.py)
    # illustrative, losses of 2.3-3.5 nats over the paper's 35M-2.4B, at 1e9 parameters: V = 2.47, S = 0.212 (the DiLoCo forms' constants are not published):
    "diloco-offset": {"V": 2.47, "S": 0.212, "alpha": 0.218, "beta": 0.02},
    "diloco-exponent": {"V": 2.47, "S": 0.212, "alpha": 0.218, "beta": -0.0005},
    "diloco-additive": {"V": 2.47, "S": 0.212, "alpha": 0.218, "B": 0.1, "beta": 0.5},
    "panferov-compressed": {"V": 2.865, "S_N": 0.196, "alpha": 0.18, "S_D": 0.0978, "beta": 0.26, "F": 0.37, "C": 1.24},  # Table 3 (OLMo2) with A = 30, B = 150 (made up)
    "hernandez-finetune": {"N_C": 6.4e13, "alpha_N": 0.076, "alpha_D": 0.103, "D_ratio": 4.745e4, "alpha": 0.18, "beta": 0.38},  # Kaplan's and the text-to-Python values
}


@pytest.mark.parametrize("name", bs.list_laws())
def test_parameter_recovery(name, seed_for, assert_recovers):
    """Synthetic runs from known values, at a seed derived from the law's name: every parameter recovered (within
    the posterior's family-wise 99.9% range), sampling clean."""
    law = bs.get_law(name)
    truth = TRUTH.get(name) or next(iter(law.references.values())).values
    seed = seed_for(name)
    runs = bs.simulate(law, truth, n=60, noise=0.01, random_seed=seed)
    assert_recovers(bs.fit(law, runs, chains=4, random_seed=seed, calibrate=False), truth)  # draws: the law's own, else 1000


def test_partial_pooling_and_unseen_groups(tmp_path, seed_for, assert_recovers):
    law = bs.get_law("chinchilla")
    base = law.references["besiroglu2024"].values
    corpora = [("web", 1.8), ("code", 1.2), ("books", 2.1)]
    seed = seed_for("pooled-corpora")
    runs = pd.concat(
        [bs.simulate(law, {**base, "E": e}, n=40, noise=0.01, random_seed=seed + i).assign(corpus=name)
         for i, (name, e) in enumerate(corpora)]
    )
    result = bs.fit(law, runs, pool={"E": "corpus"}, chains=4, draws=500, random_seed=seed, calibrate=False)
    assert result.diagnostics.ok, str(result.diagnostics)
    table = result.summary(ci_prob=0.98)
    assert {"E[books]", "E[code]", "E[web]", "E_pop", "E_sd"} <= set(table.index)
    truth = {**{k: v for k, v in base.items() if k != "E"}}
    assert_recovers(result, truth)
    groups = result.idata.posterior["E"]
    for name, e in corpora:
        assert abs(float(np.log(groups.sel(corpus=name)).mean()) - np.log(e)) < 4 * float(np.log(groups.sel(corpus=name)).std()), name
    new = pd.DataFrame({"N": [1e9, 1e9], "D": [2e10, 2e10], "corpus": ["web", "unseen"]})
    out = result.predict(new, random_seed=1)
    width = out["upper"] - out["lower"]
    assert width[1] > 3 * width[0]  # a new corpus is drawn from the population of corpora
    result.save(tmp_path / "pooled.nc")
    pd.testing.assert_frame_equal(bs.load(tmp_path / "pooled.nc").predict(new, random_seed=1), out)


def test_pooling_an_exponent_needs_its_coefficient(epoch_runs):
    with pytest.raises(ValueError, match=r"pooling \['alpha'\] needs 'A' pooled too"):
        bs.fit("chinchilla", epoch_runs.assign(g="x"), pool={"alpha": "g"})


def _refuse(*args, **kwargs):
    raise AssertionError("a sampler ran inside predict")


def test_predict_never_samples_never_changes_the_fit_and_honours_its_seed(small_fit, monkeypatch):
    import importlib

    import nutpie
    import pymc as pm

    for module, name in [(importlib.import_module("bayescale.fit"), "sample"), (importlib.import_module("bayescale.sampling"), "sample"),
                         (nutpie, "sample"), (pm, "sample"), (pm, "sample_posterior_predictive")]:
        monkeypatch.setattr(module, name, _refuse)
    calibration, posterior = small_fit.calibration, small_fit.idata.posterior.copy(deep=True)
    first, again = small_fit.predict(NEW, random_seed=7), small_fit.predict(NEW, random_seed=7)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(small_fit.predict(NEW, random_seed=8))
    assert small_fit.calibration is calibration and small_fit.idata.posterior.equals(posterior)
    plain = bs.Fit(small_fit.spec, small_fit.idata, small_fit.runs, small_fit.groups, small_fit.centre)  # no calibration
    with pytest.warns(bs.ExtrapolationWarning, match=r"predicts up to 1.66 decades beyond its fitted runs without a calibration"):
        out = plain.predict(NEW, random_seed=7)
    assert plain.calibration is None and (out["law_upper"] == out["mean_upper"]).all()
    assert (out["mean_median"] == first["mean_median"]).all()  # the law's mean does not depend on the calibration


def test_calibrate_returns_a_new_fit_and_fit_calibrates_at_fit_time(small_fit, epoch_runs):
    plain = bs.Fit(small_fit.spec, small_fit.idata, small_fit.runs, small_fit.groups, small_fit.centre, settings=small_fit.settings)
    calibrated = bs.calibrate(plain)
    assert plain.calibration is None and calibrated is not plain and calibrated.idata is plain.idata
    assert calibrated.calibration == small_fit.calibration  # the same refits, seeded from the fit's own seed
    assert bs.fit("chinchilla", epoch_runs, draws=200, random_seed=2, calibrate=False).calibration is None
    with pytest.raises(bs.ArgumentError, match="calibrate must be True, False or None"):
        bs.fit("chinchilla", epoch_runs, calibrate="yes")
    with pytest.raises(AttributeError, match="Fit.levels is now Fit.groups"):
        small_fit.levels
