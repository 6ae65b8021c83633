import json
from decimal import Decimal, getcontext

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import bayescale as bs
from bayescale.cli import app
from bayescale.planning import chinchilla_terms, isoflop, plot_frontier, plot_isoflop
from bayescale.simulate import isoflop_design

LAW = bs.get_law("chinchilla")
HOFFMANN = LAW.references["hoffmann2022"].values
BESIROGLU = LAW.references["besiroglu2024"].values
QUANTITIES = ["N", "D", "loss", "tokens_per_param", "a", "b"]


def jittered(values: dict, size: int = 200, scale: float = 0.03, seed: int = 0) -> dict:
    """Posterior-like draws: each parameter times a log-normal factor."""
    rng = np.random.default_rng(seed)
    return {k: v * np.exp(scale * rng.standard_normal(size)) for k, v in values.items()}


def test_closed_form_and_numeric_optimum_agree():
    posterior = ("chinchilla", jittered(BESIROGLU))
    budgets = np.logspace(18, 26, 5)
    closed = bs.plan(posterior, flops=budgets, method="closed").draws
    numeric = bs.plan(posterior, flops=budgets, method="numeric").draws
    np.testing.assert_allclose(numeric[QUANTITIES], closed[QUANTITIES], rtol=1e-3)
    draws = posterior[1]
    a = np.tile(draws["beta"] / (draws["alpha"] + draws["beta"]), len(budgets))
    np.testing.assert_allclose(closed["a"], a, rtol=1e-6)
    np.testing.assert_allclose(closed["a"] + closed["b"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(6 * closed["N"] * closed["D"], closed["flops"], rtol=1e-9)


def test_certified_chinchilla_published_values():
    """Hoffmann et al. (2022) Eq. (10) at Gopher's budget, against the closed form in 40-digit decimals."""
    getcontext().prec = 40
    e, big_a, big_b, alpha, beta = (Decimal(str(HOFFMANN[k])) for k in ["E", "A", "B", "alpha", "beta"])
    c6 = Decimal("5.76e23") / 6
    g = ((alpha * big_a) / (beta * big_b)).ln() / (alpha + beta)
    n_star = (g + beta / (alpha + beta) * c6.ln()).exp()
    d_star = c6 / n_star
    loss = e + big_a / (n_star.ln() * alpha).exp() + big_b / (d_star.ln() * beta).exp()
    result = bs.plan(("chinchilla", HOFFMANN), flops=5.76e23).summary.loc[5.76e23, "median"]
    for quantity, exact in [("N", n_star), ("D", d_star), ("loss", loss), ("a", beta / (alpha + beta))]:
        assert result[quantity] == pytest.approx(float(exact), rel=1e-9), quantity
    assert result["N"] == pytest.approx(3.219e10, rel=1e-3)  # 32B parameters, 2.98T tokens: about 93 tokens per parameter
    numeric = bs.plan(("chinchilla", HOFFMANN), flops=5.76e23, method="numeric").summary.loc[5.76e23, "median"]
    assert numeric["N"] == pytest.approx(float(n_star), rel=1e-6)


def test_law_structure_is_read_from_the_formula():
    assert chinchilla_terms(bs.get_law("kaplan")) is None
    custom = bs.law_from_formula(
        "E + A * N**(-alpha) + B / D**beta",
        {k: {"dist": "LogNormal", "mu": 0, "sigma": 1} for k in ["E", "A", "B", "alpha", "beta"]},
    )
    assert chinchilla_terms(custom) is not None
    kaplan = bs.plan(("kaplan", bs.get_law("kaplan").references["kaplan2020"].values), flops=[1e20, 1e24]).summary
    # the Kaplan joint law has no closed form here; along C = 6ND its optimum scales as C**(1 / (1 + alpha_N / alpha_D))
    assert kaplan.xs("a", level="quantity")["median"].to_numpy() == pytest.approx(1 / (1 + 0.076 / 0.103), rel=1e-4)


def test_plan_on_a_fit_gives_intervals_per_quantity(small_fit):
    result = bs.plan(small_fit, flops=[1e21, 5.76e23])
    assert list(result.summary.columns) == ["median", "lower", "upper"]
    assert result.summary.index.names == ["flops", "quantity"]
    assert list(result.summary.loc[5.76e23].index) == QUANTITIES
    assert (result.summary["lower"] < result.summary["median"]).all() and (result.summary["median"] < result.summary["upper"]).all()
    assert len(result.draws) == 2 * small_fit.idata.posterior.sizes["chain"] * small_fit.idata.posterior.sizes["draw"]
    at_gopher = result.summary.loc[5.76e23]
    # the Epoch replication allocates about equally between N and D (a = beta / (alpha + beta) ~ 0.51)
    assert 0.45 < at_gopher.loc["a", "median"] < 0.57 and 5e9 < at_gopher.loc["N", "median"] < 2e11
    # a bigger budget: a bigger, more uncertain optimum
    widths = (result.summary["upper"] / result.summary["lower"]).xs("N", level="quantity")
    assert widths[5.76e23] > widths[1e21]
    assert "compute plan, 90% central intervals" in repr(result)


def test_inference_demand_shifts_to_smaller_models():
    posterior = ("chinchilla", jittered(BESIROGLU))
    plain = bs.plan(posterior, flops=1e24).draws
    serving = bs.plan(posterior, flops=1e24, inference_tokens=2e12).draws
    assert (serving["N"] < plain["N"]).all() and (serving["D"] > plain["D"]).all()
    assert (serving["loss"] > plain["loss"]).all()  # part of the budget pays for inference
    np.testing.assert_allclose(6 * serving["N"] * serving["D"] + 2 * serving["N"] * 2e12, 1e24, rtol=1e-9)


def test_custom_flops_per_token():
    def per_token(n):
        return 6 * n + 1e9  # e.g. attention FLOPs that do not scale with N

    result = bs.plan(("chinchilla", BESIROGLU), flops=1e22, flops_per_token=per_token).draws.iloc[0]
    assert per_token(result["N"]) * result["D"] == pytest.approx(1e22, rel=1e-9)
    plain = bs.plan(("chinchilla", BESIROGLU), flops=1e22).draws.iloc[0]
    assert result["loss"] > plain["loss"]
    with pytest.raises(ValueError, match="method='closed' needs a law of the form .* the cost model is not 6ND"):
        bs.plan(("chinchilla", BESIROGLU), flops=1e22, flops_per_token=per_token, method="closed")


def test_target_loss_gives_the_cheapest_budget_and_its_probability():
    draws = jittered(BESIROGLU, seed=1)
    result = bs.plan(("chinchilla", draws), target_loss=[2.0, 1.83])
    assert result.summary.index.names == ["target_loss", "quantity"]
    assert result.p_reach[2.0] == 1.0
    # below E no budget suffices; just above E the budget is astronomical
    assert 0.3 < result.p_reach[1.83] < (draws["E"] < 1.83).mean()
    assert bs.plan(("chinchilla", draws), target_loss=1.83, max_flops=1e100).p_reach[1.83] == (draws["E"] < 1.83).mean()
    reached = result.draws.dropna(subset=["flops"])
    # each draw's own compute-optimal loss at its cheapest budget is the target
    own = [bs.plan(("chinchilla", {k: v[i] for k, v in draws.items()}), flops=c).draws["loss"].iloc[0]
           for i, c in zip(reached["draw"][:20], reached["flops"][:20])]
    np.testing.assert_allclose(own, reached["target_loss"][:20], rtol=1e-9)


def test_isoflop_curves_bottom_out_at_the_optimum():
    posterior = ("chinchilla", jittered(BESIROGLU))
    curves = isoflop(posterior, flops=[1e19, 1e21], points=21)
    assert list(curves.columns) == ["flops", "N", "D", "tokens_per_param", "median", "lower", "upper", "optimal"]
    assert ((curves["lower"] < curves["median"]) & (curves["median"] < curves["upper"])).all()
    for _, curve in curves.groupby("flops"):
        assert curve["optimal"].sum() == 1 and curve.loc[curve["median"].idxmin(), "optimal"]
    np.testing.assert_allclose(6 * curves["N"] * curves["D"], curves["flops"], rtol=1e-12)
    figure = plot_isoflop(curves)
    assert len(figure.axes[0].lines) == 4


def test_crossover_finds_where_one_law_overtakes_another():
    better_asymptote = ("chinchilla", {**HOFFMANN, "E": 1.6, "A": 800.0, "B": 800.0})
    cheaper_start = ("chinchilla", {**HOFFMANN, "E": 1.8})
    result = bs.crossover(better_asymptote, cheaper_start)
    assert result.summary["p_overtake"] == 1.0
    c = result.summary["median"]
    gap = [bs.plan(f, flops=c).draws["loss"].iloc[0] for f in (better_asymptote, cheaper_start)]
    assert gap[0] == pytest.approx(gap[1], rel=1e-9)
    p = result.table.set_index("flops")["p_a_better"]
    assert (p[p.index < c] == 0).all() and (p[p.index > c] == 1).all()
    reverse = bs.crossover(cheaper_start, better_asymptote)
    assert reverse.summary["p_overtake"] == 0.0 and np.isnan(reverse.draws["flops"]).all()


@pytest.fixture(scope="module")
def pooled_fit(seed_for):
    base, corpora = BESIROGLU, [("web", 1.8), ("code", 1.2)]
    design = isoflop_design(np.geomspace(1e18, 1e21, 6), sizes=6, tokens_per_param=(4, 150))
    runs = pd.concat([bs.simulate(LAW, {**base, "E": e}, design=design, noise=0.01, random_seed=i).assign(corpus=name)
                      for i, (name, e) in enumerate(corpora)])
    return bs.fit(LAW, runs, pool={"E": "corpus"}, chains=4, draws=400, random_seed=seed_for("planning-pooled"), calibrate=False)


def test_pooled_fit_plans_per_group_and_crosses_groups(pooled_fit):
    result = bs.plan(pooled_fit, flops=[1e22])
    assert result.summary.index.names == ["corpus", "flops", "quantity"]
    n = result.summary.xs("N", level="quantity")["median"]
    assert n["code"].iloc[0] == pytest.approx(n["web"].iloc[0], rel=1e-9)  # only E varies by corpus
    loss = result.summary.xs("loss", level="quantity")["median"]
    assert loss["web"].iloc[0] - loss["code"].iloc[0] == pytest.approx(0.6, abs=0.1)
    versus = bs.crossover(pooled_fit, pooled_fit, group_a="code", group_b="web", flops=[1e18, 1e22, 1e26])
    assert (versus.table["p_a_better"] == 1.0).all() and versus.summary["p_overtake"] == 0
    with pytest.raises(ValueError, match=r"pooled over 'corpus'; pick a group with group_a=/group_b=, one of \['code', 'web'\], got None"):
        bs.crossover(pooled_fit, pooled_fit)
    figure = plot_frontier(bs.plan(pooled_fit, flops=np.logspace(19, 24, 6)), mark=1e22)
    assert len(figure.axes[1].lines) == 2 + 1  # a loss line per corpus and the marked budget


def test_errors_name_the_problem():
    chinchilla = ("chinchilla", BESIROGLU)
    with pytest.raises(ValueError, match=r"law 'powerlaw-n' has inputs N; planning splits compute .* needs a law in exactly N and D"):
        bs.plan(("powerlaw-n", {"E": 1.8, "A": 400.0, "alpha": 0.34}), flops=1e22)
    with pytest.raises(ValueError, match=r"flops must be positive finite numbers \(a scalar or 1-D\), got \[0.0, -1.0\]"):
        bs.plan(chinchilla, flops=[1e20, 0.0, -1.0])
    with pytest.raises(ValueError, match="give exactly one of flops= .* or target_loss="):
        bs.plan(chinchilla)
    with pytest.raises(ValueError, match="inference_tokens must be a non-negative number, got -5"):
        bs.plan(chinchilla, flops=1e22, inference_tokens=-5)
    with pytest.raises(ValueError, match=r"at C = 1e\+10 FLOP no draw .* outside the law's domain"):
        bs.plan(chinchilla, flops=1e10, inference_tokens=1e12)  # inference alone costs more than the budget
    with pytest.raises(ValueError, match=r"values lack \['beta'\] of law 'chinchilla'"):
        bs.plan(("chinchilla", {k: v for k, v in BESIROGLU.items() if k != "beta"}), flops=1e22)
    with pytest.raises(ValueError, match="method must be one of"):
        bs.plan(chinchilla, flops=1e22, method="newton")
    with pytest.raises(ValueError, match="ci_prob must be between 0 and 1, got 90"):
        bs.plan(chinchilla, flops=1e22, ci_prob=90)
    with pytest.raises(ValueError, match="group 'web' given for an unpooled fit"):
        bs.crossover(chinchilla, chinchilla, group_a="web")
    with pytest.raises(bs.ArgumentError, match="unexpected keyword argument 'level_a'; it is now 'group_a'"):
        bs.crossover(chinchilla, chinchilla, level_a="web")
    with pytest.raises(ValueError, match="plot_frontier needs a plan over budgets"):
        plot_frontier(bs.plan(chinchilla, target_loss=2.0))
    with pytest.warns(UserWarning, match=r"50.0% of the draws have no interior optimum"):
        bs.plan(("chinchilla", {**BESIROGLU, "alpha": np.array([0.34, -0.1])}), flops=1e22)


runner = CliRunner()


def test_plan_command(small_fit, tmp_path):
    fit_file = tmp_path / "fit.nc"
    small_fit.save(fit_file)
    figure = tmp_path / "frontier.png"
    out = runner.invoke(app, ["plan", str(fit_file), "--flops", "5.76e23", "--flops", "1e24", "--inference-tokens", "2e12",
                              "--figure", str(figure), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    rows = pd.DataFrame(report["summary"])
    assert set(rows["quantity"]) == set(QUANTITIES) and sorted(set(rows["flops"])) == [5.76e23, 1e24]
    assert report["inference_tokens"] == 2e12 and figure.exists() and report["figure"] == str(figure)
    tables = runner.invoke(app, ["plan", str(fit_file), "--target-loss", "2.0"])
    assert tables.exit_code == 0 and "P(target reachable" in tables.output
    neither = runner.invoke(app, ["plan", str(fit_file)])
    assert neither.exit_code == 2 and "give exactly one of --flops or --target-loss" in neither.output
    negative = runner.invoke(app, ["plan", str(fit_file), "--flops", "-1"])
    assert negative.exit_code == 2 and "flops must be positive finite numbers" in negative.output


@pytest.mark.slow
def test_synthetic_planning_recovers_the_true_optimum(seed_for):
    """20 isoFLOP sweeps from a known law, each fitted: the true N* at 10x the largest budget is in the 90% interval in
    >= 15 (a calibrated posterior misses that with probability 1%)."""
    design = isoflop_design(np.geomspace(1e18, 1e21, 8), sizes=8, tokens_per_param=(4, 150))
    truth = bs.plan(("chinchilla", BESIROGLU), flops=1e22).summary.loc[(1e22, "N")]
    covered, base = [], seed_for("planning-recovery")
    for i in range(20):
        runs = bs.simulate(LAW, BESIROGLU, design=design, noise=0.01, random_seed=base + 100 + i)
        result = bs.plan(bs.fit(LAW, runs, chains=4, draws=500, random_seed=base + i, calibrate=False), flops=1e22).summary.loc[(1e22, "N")]
        covered.append(result["lower"] < truth["median"] < result["upper"])
    assert sum(covered) >= 15, covered
