import importlib

import numpy as np
import pytensor.tensor as pt
import pytest
import sympy as sp

import bayescale as bs
from bayescale.laws import LawError, law_from_dict

REQUIRED = {"chinchilla", "kaplan", "powerlaw-n", "powerlaw-d", "powerlaw-compute", "kaplan-compute"}


def test_catalogue_ships_required_laws():
    assert REQUIRED <= set(bs.list_laws())


def _values(law):
    """Reference values, or each prior's median where the paper publishes none."""
    if law.references:
        return dict(next(iter(law.references.values())).values)
    return {p: float(np.exp(v.prior.kwargs["mu"])) for p, v in law.parameters.items()}


@pytest.mark.parametrize("name", bs.list_laws())
def test_law_compiles_and_pytensor_equals_numpy(name):
    law = bs.get_law(name)
    assert law.title and law.citation and law.latex.startswith("L = " if law.target == "loss" else f"{sp.latex(sp.Symbol(law.target))} = ")
    inputs = {x: np.linspace(*spec.range, 7) if spec.range else np.geomspace(1e7, 1e22, 7) for x, spec in law.inputs.items()}
    params = _values(law)
    expected = law.evaluate({**inputs, **params})
    symbolic = {x: pt.dvector(x) for x in law.input_names}
    graph = law.evaluate({**symbolic, **params}, backend="pytensor")
    got = graph.eval({symbolic[x]: inputs[x] for x in law.input_names})
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.all(np.isfinite(expected)) and np.all(expected > 0)


def test_published_chinchilla_value():
    law = bs.get_law("chinchilla")
    ref = law.references["hoffmann2022"].values
    # Hoffmann et al.: E + A/N^alpha + B/D^beta at Chinchilla's own size, computed by hand
    by_hand = 1.69 + 406.4 / 70e9**0.34 + 410.7 / 1.4e12**0.28
    assert law.evaluate({"N": 70e9, "D": 1.4e12, **ref}) == pytest.approx(by_hand, rel=1e-12)


def test_round_trip_through_dict_is_exact():
    law = bs.get_law("kaplan")
    again = law_from_dict(law.to_dict())
    assert again.to_dict() == law.to_dict()


class _Sampled(Exception):
    """Raised by the stand-in sampler below once it has seen which backend a fit chose."""


def test_law_sampler_field_round_trips_and_is_the_fits_default(monkeypatch):
    law = bs.get_law("gemstones-shape")
    assert law.sampler == "pymc" and law_from_dict(law.to_dict()).to_dict() == law.to_dict()
    assert "sampler" not in bs.get_law("chinchilla").to_dict()  # laws without one keep their dicts
    with pytest.raises(LawError, match=r"unknown sampler 'stan'"):
        law_from_dict({**law.to_dict(), "sampler": "stan"})
    chosen = []

    def sample(model, key, sampler, **settings):
        chosen.append((key["sampler"], sampler))
        raise _Sampled

    monkeypatch.setattr(importlib.import_module("bayescale.fit"), "sample", sample)  # bs.fit is the function
    truth = next(iter(law.references.values())).values
    runs = bs.simulate(law, truth, n=40, random_seed=0)
    chinchilla_runs = bs.simulate("chinchilla", n=20, random_seed=0)
    for name, data, kwargs in ((law, runs, {}), (law, runs, {"sampler": "nutpie"}), ("chinchilla", chinchilla_runs, {})):
        with pytest.raises(_Sampled):
            bs.fit(name, data, **kwargs)
    assert chosen == [("pymc", "pymc"), ("nutpie", "nutpie"), ("nutpie", "nutpie")]  # the compile cache is keyed on it too


def test_input_domain_and_range_round_trip_and_are_checked():
    law = bs.get_law("tissue-annealing")
    assert law.domains == {"S1": "positive", "S2": "nonnegative"}
    assert law.inputs["S2"].range == (0.0, 0.3)
    assert law_from_dict(law.to_dict()).to_dict() == law.to_dict()
    spec = law.to_dict()
    for change, message in [
        ({"domain": "real"}, r"input 'S2': input domain 'real' is not one of \('positive', 'nonnegative'\)"),
        ({"domain": "positive"}, r"input 'S2': input range \[0.0, 0.3\] must be finite with low < high and low in the positive domain"),
        ({"range": [1.0]}, r"input range must be two numbers \[low, high\], got \[1.0\]"),
        ({"range": [2.0, 1.0]}, "must be finite with low < high"),
        ({"scale": "log"}, r"input 'S2' has unknown fields \['scale'\]"),
    ]:
        bad = {**spec, "inputs": {**spec["inputs"], "S2": {**spec["inputs"]["S2"], **change}}}
        with pytest.raises(LawError, match=message):
            law_from_dict(bad)


def test_formula_string_law_and_prior_override():
    law = bs.law_from_formula(
        "E + A / C**alpha",
        {"E": {"dist": "HalfNormal", "sigma": 3}, "A": {"dist": "LogNormal", "mu": 5, "sigma": 2},
         "alpha": {"dist": "LogNormal", "mu": -1, "sigma": 0.5}},
    )
    assert law.input_names == ["C"]
    changed = law.with_priors({"alpha": bs.Prior("Gamma", alpha=2, beta=10)})
    assert str(changed.parameters["alpha"].prior) == "Gamma(alpha=2, beta=10)"
    assert str(law.parameters["alpha"].prior) == "LogNormal(mu=-1, sigma=0.5)"


class Saturating(bs.Law):
    """A Python law object: same protocol, its own evaluate."""

    def evaluate(self, values, backend="numpy"):
        xp = np if backend == "numpy" else pt
        return values["E"] + values["A"] * xp.exp(-values["N"] / 1e9)


def test_python_law_object_round_trips():
    law = Saturating(name="saturating", formula="E + A * exp(-N)", inputs={"N": bs.laws.Input()},
                     parameters={"E": bs.laws.Parameter(bs.Prior("HalfNormal", sigma=3)), "A": bs.laws.Parameter(bs.Prior("HalfNormal", sigma=3))})
    again = law_from_dict(law.to_dict())
    assert type(again) is Saturating
    assert again.evaluate({"N": 1e9, "E": 1.0, "A": 1.0}) == pytest.approx(1 + np.exp(-1))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"formula": "E + A / N**alpha"}, r"parameters \['B', 'beta'\] do not appear"),
        ({"formula": "E + A / N**alpha + B / D**beta + Z"}, "unknown name 'Z'"),
        ({"parameters": {}}, "declares no parameters"),
        ({"references": {"x": {"source": "s", "values": {"Q": 1}}}}, r"unknown parameters \['Q'\]"),
    ],
)
def test_bad_law_specs_are_refused(change, message):
    spec = {**bs.get_law("chinchilla").to_dict(), **change}
    with pytest.raises(LawError, match=message):
        law_from_dict(spec)


def test_unknown_law_and_prior_errors():
    with pytest.raises(LawError, match="unknown law 'chinchila'; known laws: .*, chinchilla, "):
        bs.get_law("chinchila")
    with pytest.raises(LawError, match=r"priors given for \['gamma'\]"):
        bs.get_law("chinchilla").with_priors({"gamma": {"dist": "Normal", "mu": 0, "sigma": 1}})
    with pytest.raises(ValueError, match="unknown prior distribution 'Normall'"):
        bs.Prior("Normall", mu=0)
