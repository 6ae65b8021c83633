import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
import sympy as sp
from scipy import stats

import bayescale as bs
from bayescale.fit import pointwise_log_likelihood
from bayescale.errors import ModelError
from bayescale.model import Level, ModelSpec, find_pivots
from bayescale.model.builder import build_model, run_table


def test_pivots_are_the_power_law_coefficients():
    assert {k: str(v) for k, v in find_pivots(bs.get_law("chinchilla")).items()} == {
        "A": "-__ref_N*alpha",
        "B": "-__ref_D*beta",
    }
    assert {k: str(v) for k, v in find_pivots(bs.get_law("kaplan")).items()} == {"N_c": "-__ref_N*alpha_N/alpha_D"}


def test_kaplan_level_coordinates_give_the_laws_posterior_density():
    """Kaplan's ``((N_c / N)**(alpha_N / alpha_D) + D_c / D)**alpha_D`` is sampled in its level at the data centre,
    the N term's share and the two slopes there; N_c is pivoted with its power ``alpha_N / alpha_D``. The model's
    density at a point is the plain model's at the same law values times the Jacobian ``1 / alpha_N``."""
    law = bs.get_law("kaplan")
    truth = {"N_c": 6.4e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103}
    runs = bs.simulate(law, truth, n=16, random_seed=0)
    spec = ModelSpec(law, likelihood="normal")
    assert spec.pivot_powers == {"N_c": sp.Symbol("alpha_N", real=True) / sp.Symbol("alpha_D", real=True)}
    model = build_model(spec, runs)
    terms = np.array([truth["alpha_N"] / truth["alpha_D"] * (np.log(truth["N_c"]) - np.mean(np.log(runs.N))),
                      np.log(truth["D_c"]) - np.mean(np.log(runs.D))])
    share = terms[0] - np.logaddexp(*terms)
    coordinates = [truth["alpha_D"] * np.logaddexp(*terms), terms[0] - terms[1], np.log(truth["alpha_N"]) + share,
                   np.log(truth["alpha_D"]) + np.log1p(-np.exp(share))]
    point = {"level_offset": coordinates - model["level_start"].get_value(), "sigma_log__": np.log(0.02)}
    values = model.compile_fn(model.replace_rvs_by_values([model[n] for n in truth]), inputs=model.value_vars, on_unused_input="ignore")(point)
    np.testing.assert_allclose(values, list(truth.values()), rtol=1e-10)
    with pm.Model() as plain:
        params = {n: law.parameters[n].prior.create(n) for n in truth}
        mu = pm.math.log(law.evaluate({"N": runs.N.to_numpy(), "D": runs.D.to_numpy(), **params}, backend="pytensor"))
        pm.Normal("y", mu=mu, sigma=pm.HalfNormal("sigma", 0.1), observed=np.log(runs.loss.to_numpy()))
    plain_point = {"sigma_log__": np.log(0.02), **{f"{n}_log__": np.log(v) for n, v in truth.items()}}
    assert model.compile_logp()(point) == pytest.approx(plain.compile_logp()(plain_point) - np.log(truth["alpha_N"]), rel=1e-10)


def test_pivoted_model_has_the_laws_prior():
    """The shear to the data centre keeps the law's prior on A: log-density in A's units matches LogNormal."""
    law = bs.get_law("tissue-annealing")  # its negative annealing term rules out the level coordinates
    runs = pd.DataFrame({"S1": [1.0, 3.0, 9.0, 15.0], "S2": [0.0, 0.1, 0.2, 0.3], "loss": [3.0, 2.6, 2.3, 2.1]})
    model = build_model(ModelSpec(law), runs)
    point = model.initial_point()
    point["A_centre_offset"] = np.array(0.7)
    outputs = model.replace_rvs_by_values([model["A"], model["alpha"], model["A_centre"]])
    a, alpha, centre = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")(point)
    assert np.log(a) == pytest.approx(centre + alpha * np.mean(np.log(runs.S1)))
    potential = model.compile_fn(model.replace_rvs_by_values([model["A_prior"]])[0], inputs=model.value_vars, on_unused_input="ignore")(point)
    expected = pm.logp(pm.LogNormal.dist(mu=0.0, sigma=1.5), a).eval() + np.log(a)
    assert potential == pytest.approx(expected)


def test_level_coordinates_give_the_laws_posterior_density():
    """Level, shares and slopes are a unit-Jacobian change of variables: the model's log density there equals
    that of the plain model (every parameter its own log-transformed prior) at the same law values."""
    law = bs.get_law("chinchilla")
    runs = bs.simulate(law, n=20, random_seed=0)
    spec = ModelSpec(law)
    assert spec.level == Level("E", ("A", "B"), {"A": "alpha", "B": "beta"})
    model = build_model(spec, runs)
    truth = {"E": 1.7, "A": 300.0, "B": 900.0, "alpha": 0.3, "beta": 0.35, "sigma": 0.02, "nu": 6.0}
    centre = {x: np.mean(np.log(runs[x])) for x in ("N", "D")}
    terms = np.array([np.log(truth["A"]) - truth["alpha"] * centre["N"], np.log(truth["B"]) - truth["beta"] * centre["D"]])
    level = np.logaddexp.reduce([np.log(truth["E"]), *terms])
    slopes = np.log([truth["alpha"], truth["beta"]]) + terms - level
    coordinates = np.concatenate([[level], terms - np.log(truth["E"]), slopes])
    point = {"level_offset": coordinates - model["level_start"].get_value(), "sigma_log__": np.log(0.02), "nu_log__": np.log(6.0)}
    names = list(truth)
    values = model.compile_fn(model.replace_rvs_by_values([model[n] for n in names]), inputs=model.value_vars, on_unused_input="ignore")(point)
    np.testing.assert_allclose(values, list(truth.values()), rtol=1e-10)

    with pm.Model() as plain:
        params = {n: law.parameters[n].prior.create(n) for n in names[:5]}
        mu = pm.math.log(law.evaluate({"N": runs.N.to_numpy(), "D": runs.D.to_numpy(), **params}, backend="pytensor"))
        pm.StudentT("y", nu=pm.Gamma("nu", 2.0, 0.1), mu=mu, sigma=pm.HalfNormal("sigma", 0.1), observed=np.log(runs.loss.to_numpy()))
    plain_point = {f"{n}_log__": np.log(v) for n, v in truth.items()}
    assert model.compile_logp()(point) == pytest.approx(plain.compile_logp()(plain_point), rel=1e-10)


def test_numpy_log_likelihood_equals_pymc(small_fit):
    idata = az.InferenceData(posterior=small_fit.idata.posterior)
    expected = pm.compute_log_likelihood(
        idata, model=build_model(small_fit.spec, small_fit.runs, small_fit.groups, small_fit.centre), progressbar=False
    ).log_likelihood["log_loss"].values
    got = pointwise_log_likelihood(small_fit.spec, small_fit.idata.posterior, small_fit.runs, small_fit.groups)["log_loss"].values
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"likelihood": "laplace"}, "unknown likelihood 'laplace'"),
        ({"pool": {"gamma": "dataset"}}, r"pool names \['gamma'\], which are not parameters"),
        ({"pool": {"alpha": "dataset", "E": "family"}}, "must share one group column"),
        ({"extra_priors": {"tau": bs.Prior("HalfNormal", sigma=1)}}, r"priors given for \['tau'\]"),
    ],
)
def test_bad_model_specs(kwargs, message):
    with pytest.raises(ModelError, match=message):
        ModelSpec(bs.get_law("chinchilla"), **kwargs)


@pytest.mark.parametrize("centered, free", [(("L0",), "L0_offset"), ((), "L0_z")])
def test_pooling_parametrizations_give_the_same_group_values(centered, free):
    law = bs.get_law("tissue-annealing")  # no level coordinates: offsets from the population value
    runs = bs.simulate(law, {"L0": 2.9, "A": 0.5, "alpha": 0.5, "C": 0.5}, n=12, random_seed=0).assign(corpus=["a", "b", "c"] * 4)
    model = build_model(ModelSpec(law, pool={"L0": "corpus"}, centered=centered), runs)
    assert free in {v.name for v in model.free_RVs}
    point = {**model.initial_point(), "L0_sd_log__": np.log(0.5)}
    point[f"{free}"] = np.array([0.2, -0.1, 0.4]) * (0.5 if centered else 1.0)
    outputs = model.replace_rvs_by_values([model["L0"], model["L0_pop"]])
    e, e_pop = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")(point)
    np.testing.assert_allclose(np.log(e), np.log(e_pop) + 0.5 * np.array([0.2, -0.1, 0.4]))


@pytest.mark.parametrize("centered, free", [(("E",), "E_deviation"), ((), "E_deviation_z")])
def test_pooled_level_parameters_split_offsets_into_mean_and_zero_sum_deviations(centered, free):
    """A pooled constant in level coordinates: group values sit at the groups' mean plus deviations that sum to
    zero, and the population value lies sd * mean_z / sqrt(groups) below the groups' mean."""
    law = bs.get_law("chinchilla")
    runs = bs.simulate(law, n=12, random_seed=0).assign(corpus=["a", "b", "c"] * 4)
    model = build_model(ModelSpec(law, pool={"E": "corpus"}, centered=centered), runs)
    assert {free, "E_mean_z"} <= {v.name for v in model.free_RVs}
    point = {**model.initial_point(), "E_sd_log__": np.log(0.5), "E_mean_z": np.array(0.6)}
    deviations = np.array([0.2, -0.1, -0.1]) * (0.5 if centered else 1.0)
    point[f"{free}_zerosum__"] = model.rvs_to_transforms[model[free]].forward(pt.as_tensor(deviations)).eval()
    outputs = model.replace_rvs_by_values([model["E"], model["E_pop"], model["E_z"]])
    e, e_pop, z = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")(point)
    offsets = 0.5 * 0.6 / np.sqrt(3) + 0.5 * np.array([0.2, -0.1, -0.1])
    np.testing.assert_allclose(np.log(e), np.log(e_pop) + offsets)
    np.testing.assert_allclose(z, offsets / 0.5)


@pytest.mark.parametrize("curves", [None, "run"])
def test_every_per_run_vector_is_a_row_of_one_data_matrix(curves):
    """Group codes, run codes, inputs and targets share one length in the graph (:func:`run_table`): with a data
    vector each, PyTensor's rewrites compared their lengths in an order that changed between processes, and the
    compile cache missed the graphs it had not seen."""
    law = bs.get_law("chinchilla")
    runs = bs.simulate(law, n=12, random_seed=0).assign(corpus=["a", "b", "c"] * 4, run=["r0", "r1"] * 6)
    model = build_model(ModelSpec(law, pool={"E": "corpus"}, curves=curves), runs)
    lengths = {v.name: v.get_value().shape for v in model.data_vars if v.get_value().ndim}
    assert [name for name, shape in lengths.items() if len(runs) in shape] == ["runs_table"]
    assert lengths["runs_table"] == (4 + (curves is not None), 12)
    assert list(run_table(ModelSpec(law, pool={"E": "corpus"}), runs, ["a", "b", "c"])) == ["N", "D", "observed target", "group code"]


def test_level_coordinates_per_group_give_the_hierarchical_density():
    """All five Chinchilla parameters pooled, centred: each group has its own level coordinates, and the model's
    log density equals the hierarchy written out by hand (priors on the population values and scales, normal
    group values around them on the log scale, the coefficients' at the data centre, and the likelihood)."""
    law = bs.get_law("chinchilla")
    runs = bs.simulate(law, n=24, random_seed=1).assign(corpus=["a", "b", "c"] * 8)
    spec = ModelSpec(law, pool=dict.fromkeys(["E", "A", "B", "alpha", "beta"], "corpus"), centered=("E", "A", "B", "alpha", "beta"))
    assert spec.level_per_group and not ModelSpec(law, pool={"E": "corpus"}, centered=("E",)).level_per_group
    model = build_model(spec, runs)
    rng = np.random.default_rng(2)
    pop = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.33, "beta": 0.36}
    sd = dict(zip(pop, [0.1, 0.3, 0.2, 0.05, 0.08]))
    groups = {p: v * np.exp(sd[p] * rng.standard_normal(3)) for p, v in pop.items()}
    c = {x: np.mean(np.log(runs[x])) for x in ("N", "D")}
    terms = {"A": np.log(groups["A"]) - groups["alpha"] * c["N"], "B": np.log(groups["B"]) - groups["beta"] * c["D"]}
    level = np.logaddexp.reduce([np.log(groups["E"]), terms["A"], terms["B"]], axis=0)
    coordinates = np.column_stack([level, terms["A"] - np.log(groups["E"]), terms["B"] - np.log(groups["E"]),
                                   np.log(groups["alpha"]) + terms["A"] - level, np.log(groups["beta"]) + terms["B"] - level])
    centre = {"A": np.log(pop["A"]) - pop["alpha"] * c["N"], "B": np.log(pop["B"]) - pop["beta"] * c["D"]}
    point = {"level_offset": coordinates - model["level_start"].get_value(), "sigma_log__": np.log(0.02), "nu_log__": np.log(5.0),
             **{f"{p}_pop_log__": np.log(pop[p]) for p in ("E", "alpha", "beta")}, **{f"{p}_sd_log__": np.log(v) for p, v in sd.items()},
             **{f"{p}_centre_offset": centre[p] - model[f"{p}_centre_start"].get_value() for p in ("A", "B")}}
    values = model.compile_fn(model.replace_rvs_by_values([model[p] for p in pop]), inputs=model.value_vars, on_unused_input="ignore")(point)
    for p, got in zip(pop, values):
        np.testing.assert_allclose(got, groups[p], rtol=1e-10)

    logp = sum(stats.lognorm.logpdf(v, law.parameters[p].prior.kwargs["sigma"], scale=np.exp(law.parameters[p].prior.kwargs["mu"])) + np.log(v)
               for p, v in pop.items())
    logp += sum(stats.halfnorm.logpdf(v, scale=0.5) + np.log(v) for v in sd.values())
    group_logs = {"E": np.log(groups["E"]), "alpha": np.log(groups["alpha"]), "beta": np.log(groups["beta"]), **terms}
    pop_logs = {"E": np.log(pop["E"]), "alpha": np.log(pop["alpha"]), "beta": np.log(pop["beta"]), **centre}
    logp += sum(stats.norm.logpdf(group_logs[p], pop_logs[p], sd[p]).sum() for p in pop)
    idx = pd.Categorical(runs["corpus"], categories=["a", "b", "c"]).codes
    mu = np.log(law.evaluate({"N": runs.N.to_numpy(), "D": runs.D.to_numpy(), **{p: v[idx] for p, v in groups.items()}}))
    logp += stats.t.logpdf(np.log(runs.loss.to_numpy()), 5.0, mu, 0.02).sum()
    logp += stats.halfnorm.logpdf(0.02, scale=0.1) + np.log(0.02) + stats.gamma.logpdf(5.0, 2.0, scale=10.0) + np.log(5.0)
    assert model.compile_logp()(point) == pytest.approx(logp, rel=1e-9)


@pytest.mark.parametrize("prior", [
    bs.Prior("Normal", mu=0, sigma=1), bs.Prior("LogNormal", mu=0, sigma=1), bs.Prior("Gamma", alpha=2, beta=1), bs.Prior("Beta", alpha=2, beta=2),
    bs.Prior("Uniform", lower=-1, upper=3), bs.Prior("TruncatedNormal", mu=0, sigma=1, lower=0.5),
    bs.Prior("TruncatedNormal", mu=0, sigma=1, upper=2.0), bs.Prior("TruncatedNormal", mu=0, sigma=1, lower=0.1, upper=0.9),
], ids=str)
def test_prior_unconstrained_scale_is_pymcs_transform(prior):
    """New groups in prediction move on the scale the fit pooled on: PyMC's default transform, in NumPy."""
    from pymc.distributions.transforms import _default_transform

    x = np.array([0.6, 0.75])
    rv = prior.dist_rv()
    transform = _default_transform(rv.owner.op, rv)
    expected = x if transform is None else transform.forward(pt.as_tensor(x), *rv.owner.inputs).eval()
    np.testing.assert_allclose(prior.to_unconstrained(x), expected, rtol=1e-12)
    np.testing.assert_allclose(prior.from_unconstrained(prior.to_unconstrained(x)), x, rtol=1e-12)
