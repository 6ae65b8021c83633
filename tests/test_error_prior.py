"""The law's error across the literature: the shipped prior, its learning, its update by a fit's own backtests,
leave-one-study-out folds and the support column of predictions."""

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import literature
from bayescale.calibration import resolve_prior
from bayescale.error_prior import PRIOR_FILE, ErrorPrior, default_prior, learn_prior, read_prior
from bayescale.extrapolation import KAPPA_GRID, TAU_GRID, discrepancy_posterior
from bayescale.likelihoods import NORMAL


def test_shipped_prior_loads_and_matches_the_settings_it_was_learned_from():
    prior = default_prior()
    assert prior == read_prior(PRIOR_FILE) and resolve_prior("literature") is prior
    assert resolve_prior(None) is None and resolve_prior("half-normal") is None
    made = prior.provenance
    assert len(made["studies"]) >= 10 and set(made["studies"]) <= set(literature.SETTINGS)
    assert made["origins"] == list(literature.BANK_ORIGINS)
    for name in made["studies"]:  # the file is current: learned from these very settings and data commits
        setting = literature.SETTINGS[name]
        assert made["settings"][name] == {"dataset": setting.dataset, "law": setting.law, "pool": setting.pool,
                                          "source": {k: bs.load_dataset(setting.dataset).attrs["provenance"][k] for k in ("repository", "commit")}}
    weights = np.exp(prior.log_weights())
    assert weights.shape == (len(TAU_GRID), len(KAPPA_GRID)) and weights.sum() == pytest.approx(1, abs=1e-6)
    with pytest.raises(bs.ArgumentError, match="prior must be 'half-normal' .* or an ErrorPrior; got 'flat'"):
        resolve_prior("flat")


def test_learn_prior_recovers_the_population_of_study_errors():
    """Thirty studies, each pinning its own kappa (a sharp likelihood), kappas log-normal around 0.04: the learned
    population's median and spread are those of the draws."""
    rng = np.random.default_rng(5)
    kappas, taus = np.exp(rng.normal(np.log(0.04), 0.5, 30)), np.exp(rng.normal(np.log(0.01), 0.3, 30))
    tau, kappa = np.meshgrid(TAU_GRID, KAPPA_GRID, indexing="ij")
    grids = {f"s{i}": -0.5 * ((kappa - k) / 0.003) ** 2 - 0.5 * ((tau - t) / 0.002) ** 2 for i, (k, t) in enumerate(zip(kappas, taus))}
    prior = learn_prior(grids, "decades", 1.0, {"note": "synthetic"})
    assert np.exp(prior.kappa_log_mean) == pytest.approx(np.exp(np.log(kappas).mean()), rel=0.15)
    assert prior.kappa_log_sd == pytest.approx(np.log(kappas).std(), abs=0.15)
    assert np.exp(prior.tau_log_mean) == pytest.approx(np.exp(np.log(taus).mean()), rel=0.25)
    assert prior.provenance["studies"] == sorted(grids) and prior.provenance["note"] == "synthetic"


def _records(kappa: float, origins: int, rng: np.random.Generator) -> list[dict]:
    """Backtest records of a law off by a slope ``kappa`` per decade (shared by each origin's later runs), exact
    parameters, 1% normal noise on log loss."""
    out = []
    for _ in range(origins):
        d = np.linspace(0.1, 1.5, 12)
        truth = np.log(2.0) + rng.normal(0, 0.01, d.size)
        mu = np.log(2.0) - kappa * rng.standard_normal() * d
        out.append({"log_y": truth, "mu": np.tile(mu, (300, 1)) + rng.normal(0, 0.002, (300, d.size)),
                    "noise": {"sigma": np.full(300, 0.01)}, "d": d, "span": 1.0, "value": 10 ** d, "threshold": 1.0})
    return out


def test_a_study_with_strong_evidence_moves_away_from_the_prior_and_a_small_one_leans_on_it():
    prior = ErrorPrior("decades", 1.0, np.log(0.01), 0.5, np.log(0.02), 0.5)

    def kappa_median(weights):
        marginal = weights.reshape(len(TAU_GRID), len(KAPPA_GRID)).sum(axis=0)
        return KAPPA_GRID[np.searchsorted(np.cumsum(marginal), 0.5)]

    alone = discrepancy_posterior([], NORMAL, prior.log_weights(), "decades", 1.0)
    np.testing.assert_allclose(alone, np.exp(prior.log_weights()).ravel() / np.exp(prior.log_weights()).sum())
    strong = discrepancy_posterior(_records(0.15, 12, np.random.default_rng(1)), NORMAL, prior.log_weights(), "decades", 1.0)
    weak = discrepancy_posterior(_records(0.15, 1, np.random.default_rng(1)), NORMAL, prior.log_weights(), "decades", 1.0)
    assert kappa_median(alone) == pytest.approx(0.02, abs=0.005)
    assert 0.1 < kappa_median(strong) < 0.22  # twelve origins overrule a prior centred 7x lower
    assert kappa_median(alone) <= kappa_median(weak) < kappa_median(strong)


def test_leave_one_study_out_never_learns_from_the_study_it_scores(monkeypatch):
    rng = np.random.default_rng(2)
    studies = {}
    for name, kappa in [("a", 0.01), ("b", 0.05), ("c", 0.1)]:
        records = _records(kappa, 3, rng)
        for i, r in enumerate(records):  # origins at thresholds 1, 10, 100: later origins see earlier ones' runs
            r["threshold"], r["value"] = 10.0**i, 10.0**i * r["value"]
        studies[name] = literature.Study(name, records, "normal")
    seen = []
    real = literature.learn_prior
    monkeypatch.setattr(literature, "learn_prior", lambda grids, *a, **k: seen.append(sorted(grids)) or real(grids, *a, **k))
    scores = literature.leave_one_study_out(studies, "decades", 1.0)
    assert seen == [["b", "c"], ["a", "c"], ["a", "b"]]
    assert set(scores["method"]) == set(literature.METHODS) and (scores["ratio"] > 1).all()
    # origin j is calibrated on the earlier origins' runs at or below its threshold only
    assert scores.groupby("origin")["own_origins"].max().tolist() == [0, 1, 2]
    table = literature.summarize(scores, "study")
    assert table.loc["c", ("plain", "coverage_90")] < table.loc["c", ("literature", "coverage_90")]
    assert literature.ratio_bins(pd.Series([1.5, 3.0, 150.0])).astype(str).tolist() == ["<=2x", "2-5x", ">100x"]


def test_records_round_trip_as_plain_arrays(tmp_path):
    records = _records(0.05, 2, np.random.default_rng(3))
    literature.save_records(records, "normal", tmp_path / "r.npz")
    back, likelihood = literature.load_records(tmp_path / "r.npz")
    assert likelihood == "normal" and len(back) == 2
    for a, b in zip(records, back):
        np.testing.assert_array_equal(a["mu"], b["mu"])
        np.testing.assert_array_equal(a["noise"]["sigma"], b["noise"]["sigma"])
        assert b["span"] == a["span"] and b["threshold"] == a["threshold"]
    with pytest.raises(FileNotFoundError, match="no backtest records"):
        literature.load_records(tmp_path / "missing.npz")


def test_predict_says_where_each_runs_error_comes_from(small_fit):
    calibration = small_fit.calibration
    assert calibration.prior == "half-normal" and calibration.reach > 0
    top = small_fit.runs.loc[small_fit.runs.eval("N * D").idxmax()]
    near = 10 ** (calibration.reach / 4)
    new = pd.DataFrame({"N": [top["N"] / 10, top["N"] * near, top["N"] * 100], "D": [top["D"] / 10, top["D"] * near, top["D"] * 100]})
    with pytest.warns(bs.ExtrapolationWarning, match=r"farther than its own backtests reached .* rests on the prior \(half-normal\)"):
        out = small_fit.predict(new, random_seed=0)
    assert out["error_from"].tolist() == ["fitted range", "own backtests", "prior"]
    plain = small_fit.predict(new, random_seed=0, extrapolation=False)
    assert plain["error_from"].tolist() == ["fitted range", "none (plain posterior)", "none (plain posterior)"]


def test_without_rolling_origins_the_calibration_is_the_prior_alone(small_fit):
    """No origins (as for runs too few or too narrow for them): the calibration is the literature prior itself, and
    predictions beyond the runs say so."""
    calibrated = bs.calibrate(small_fit, origins=(), prior="literature")
    prior = np.exp(default_prior().log_weights()).ravel()
    assert calibrated.calibration.refits == 0 and calibrated.calibration.reach == 0
    np.testing.assert_allclose(calibrated.calibration.weights, prior / prior.sum())
    assert "across 11 public study settings" in str(calibrated.calibration)
    with pytest.warns(bs.ExtrapolationWarning, match="rests on the prior"):
        out = calibrated.predict(pd.DataFrame({"N": [1e11], "D": [2e12]}), random_seed=0)
    assert out["error_from"].tolist() == ["prior"] and (out["law_upper"] > out["mean_upper"]).all()
