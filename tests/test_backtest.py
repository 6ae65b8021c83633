import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayescale as bs
from bayescale.extrapolation import KAPPA_PRIOR_SD, Calibration
from bayescale.scales import distance
from bayescale.simulate import isoflop_design

DESIGN = isoflop_design(np.geomspace(1e18, 1e22, 9), sizes=8)
BROKEN = bs.law_from_formula(
    "E + A/N**alpha + B/D**beta * (1 + D/Db)**(-gamma)",
    {k: {"dist": "HalfNormal", "sigma": 1.0} for k in ["E", "A", "alpha", "B", "beta", "Db", "gamma"]},
    name="broken-data-term",
)


@pytest.fixture(scope="module")
def broken_runs(seed_for):
    """Runs whose data term bends down beyond D = 1e10 tokens (it falls as D^-(beta + 0.5) far beyond the bend)."""
    truth = {**bs.get_law("chinchilla").references["besiroglu2024"].values, "Db": 1e10, "gamma": 0.5}
    return bs.simulate(BROKEN, truth, design=DESIGN, noise=0.01, random_seed=seed_for("broken-backtest"))


@pytest.fixture(scope="module")
def broken_backtest(broken_runs, seed_for):
    """Chinchilla fitted to the bent runs: misspecified on purpose."""
    return bs.backtest("chinchilla", broken_runs, folds=2, draws=500, random_seed=seed_for("broken-backtest"))


@pytest.mark.slow
def test_learned_extrapolation_error_restores_coverage_of_a_misspecified_law(broken_backtest):
    summary = broken_backtest.summary()
    plain, calibrated = summary.loc["plain"], summary.loc["calibrated"]
    assert plain["coverage_90"] < 0.8  # the plain posterior is over-confident beyond the fitted runs
    assert calibrated["coverage_90"] > plain["coverage_90"]
    assert abs(calibrated["coverage_90"] - 0.9) < abs(plain["coverage_90"] - 0.9)
    assert calibrated["elpd"] > plain["elpd"]  # better log score, not just wider
    assert calibrated["median_rel_error"] == pytest.approx(plain["median_rel_error"], abs=0.002)  # wider, not moved
    assert calibrated["width_90"] < 3 * plain["width_90"]


@pytest.mark.slow
def test_the_literature_prior_widens_far_out_intervals_of_a_misspecified_law(broken_backtest, broken_runs):
    """At 10x and more beyond each fold, with the same rolling-origin refits, the error prior learned across public
    studies gives wider intervals than the default half-normal and covers at least as many of the bent runs."""
    inside, width = {"literature": [], "half-normal": []}, {"literature": [], "half-normal": []}
    for fitted, threshold in zip(broken_backtest.fits, broken_backtest.thresholds):
        far = broken_runs[broken_runs.eval("6 * N * D") >= 10 * threshold]
        for name, calibrated in [("literature", bs.calibrate(fitted, prior="literature")), ("half-normal", fitted)]:
            out = calibrated.predict(far, random_seed=0)
            inside[name] += ((out["lower"] <= far["loss"].to_numpy()) & (far["loss"].to_numpy() <= out["upper"])).tolist()
            width[name] += (out["upper"] - out["lower"]).tolist()
    assert len(inside["literature"]) >= 20 and np.mean(inside["literature"]) >= np.mean(inside["half-normal"]), inside
    assert np.median(width["literature"]) > 1.2 * np.median(width["half-normal"]), width


def test_backtest_folds_and_tables(broken_backtest):
    bt = broken_backtest
    assert bt.by == "C" and bt.thresholds == pytest.approx([1e20, 1e21])
    runs = bt.runs
    assert set(runs["method"]) == {"plain", "calibrated"} and set(runs["fold"]) == {0, 1}
    assert (runs["ratio"] > 1).all() and (runs["distance"] > 0).all()
    assert (runs.groupby(["method", "fold"]).size().unstack().loc["plain"] == [32, 16]).all()
    for fitted, threshold in zip(bt.fits, bt.thresholds):
        assert fitted.runs.eval("6 * N * D").max() <= threshold * (1 + 1e-9)  # folds never see the held-out runs
        assert isinstance(fitted.calibration, Calibration)
    curve = bt.calibration_curve()
    assert list(curve.columns) == pytest.approx(list(np.arange(0.1, 1.0, 0.1)))
    assert (np.diff(curve.to_numpy(), axis=1) >= 0).all()  # coverage grows with the nominal level
    assert set(bt.by_distance().index.get_level_values("ratio_bin")) <= {"≤2×", "≤5×", "≤10×", "≤20×", ">20×"}


def test_decomposition_and_calibration_storage(broken_backtest, tmp_path):
    fitted = broken_backtest.fits[1]
    new = pd.DataFrame({"N": [1e9, 7e10], "D": [2e10, 1.4e12]})
    out = fitted.predict(new, random_seed=1)
    assert out["distance"][0] == 0 and out["distance"][1] > 2
    widths = {k: (out[f"{k}upper"] - out[f"{k}lower"]).to_numpy() for k in ["mean_", "law_", ""]}
    assert widths["law_"][0] == widths["mean_"][0]  # inside the fitted range the law's error is not added
    assert widths["mean_"][1] < widths["law_"][1] < widths[""][1]
    plain = fitted.predict(new, random_seed=1, extrapolation=False)
    assert (plain["law_upper"] == plain["mean_upper"]).all()
    fitted.save(tmp_path / "fold.nc")
    assert bs.load(tmp_path / "fold.nc").calibration == fitted.calibration


def test_small_pieces_and_errors():
    assert distance(pd.DataFrame({"N": [5.0, 50.0]}), {"N": 10.0}).tolist() == [0.0, pytest.approx(np.log10(5))]
    runs = bs.simulate("chinchilla", "besiroglu2024", design=DESIGN, noise=0.01, random_seed=1)
    with pytest.raises(ValueError, match="folds must be a positive number"):
        bs.backtest("chinchilla", runs, folds=0)
    with pytest.raises(ValueError, match="span must be two fractions"):
        bs.backtest("chinchilla", runs, folds=2, span=(0.5, 1.5))
    with pytest.raises(ValueError, match="cannot order runs by 'steps'"):
        bs.backtest("chinchilla", runs, by="steps")
    with pytest.raises(ValueError, match="give the runs to backtest on"):
        bs.backtest("chinchilla")


@pytest.mark.slow
def test_extrapolation_error_shrinks_when_the_law_is_right(seed_for):
    """Eight isoFLOP sweeps drawn exactly from the Chinchilla law (1% log-normal noise), each
    backtested at one fold 10x beyond the fit: the calibrated intervals still cover nominally and are barely
    wider than the plain posterior's, and the learned growth of the law's error falls well below its prior
    (four origins cannot rule out a small growth, so it does not reach zero)."""
    law = bs.get_law("chinchilla")
    design = isoflop_design(np.geomspace(1e18, 1e21, 7), sizes=8)
    parts, kappas = [], []
    base = seed_for("exact-law-backtests")
    for i in range(8):
        runs = bs.simulate(law, "besiroglu2024", design=design, noise=0.01, random_seed=base + 100 + i)
        result = bs.backtest(law, runs, thresholds=[1e20], draws=500, random_seed=base + i)
        parts.append(result.runs)
        kappas.append(result.fits[0].calibration.quantiles().loc["kappa", 0.5])
    runs = pd.concat(parts)
    summary = runs.groupby("method").agg(cov50=("inside_50", "mean"), cov90=("inside_90", "mean"), width=("width_90", "median"))
    print(summary)
    plain, calibrated = summary.loc["plain"], summary.loc["calibrated"]
    assert 0.8 <= calibrated["cov90"] <= 0.99 and 0.35 <= calibrated["cov50"] <= 0.7, summary
    assert calibrated["width"] < 1.5 * plain["width"], summary
    prior_median = stats.halfnorm.median(scale=KAPPA_PRIOR_SD)
    assert np.median(kappas) < 0.75 * prior_median, (kappas, prior_median)
