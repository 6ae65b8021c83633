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
    with pytest.raises(bs.UntrustedCodeError, match="is the Python class .*Saturating; loading it imports that module .* trust_python=True"):
        law_from_dict(law.to_dict())
    again = law_from_dict(law.to_dict(), trust_python=True)
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


def _write(path, spec):
    lines = []
    for key, value in spec.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {value!r}".replace("'", '"'))
    for table in ("inputs", "parameters"):
        for name, entry in spec.get(table, {}).items():
            lines.append(f"[{table}.{name}]")
            lines += [f"{k} = {v}" if isinstance(v, str) and v.startswith("{") else f'{k} = "{v}"' for k, v in entry.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = {
    "schema": 1, "name": "two-term", "formula": "E + A / N**alpha",
    "inputs": {"N": {"unit": "parameters"}},
    "parameters": {p: {"prior": prior} for p, prior in [("E", '{ dist = "LogNormal", mu = 0.5, sigma = 0.5 }'),
                                                         ("A", '{ dist = "LogNormal", mu = 6.0, sigma = 2.0 }'),
                                                         ("alpha", '{ dist = "LogNormal", mu = -1.1, sigma = 0.5 }')]},
}


def test_law_files_are_read_by_path_with_a_versioned_strict_schema(tmp_path):
    law = bs.get_law(_write(tmp_path / "two-term.toml", GOOD))
    assert law.name == "two-term" and law.input_names == ["N"] and law.to_dict()["schema"] == 1
    assert bs.get_law(str(tmp_path / "two-term.toml")).to_dict() == law.to_dict()
    cases = [
        ({**GOOD, "likelyhood": "beta"}, r"two-term.toml has unknown fields \['likelyhood'\]; did you mean 'likelihood'"),
        ({k: v for k, v in GOOD.items() if k != "formula"}, r"two-term.toml: missing 'formula'"),
        ({**GOOD, "schema": 2}, r"two-term.toml: schema 2 is not a law-file version this bayescale reads \(it reads schema = 1\)"),
        ({k: v for k, v in GOOD.items() if k != "schema"}, r"two-term.toml: missing 'schema' \(write schema = 1 at its top\)"),
        ({**GOOD, "inputs": {"N": {"units": "parameters"}}}, r"two-term.toml: input 'N' has unknown fields \['units'\]; did you mean 'unit'"),
        ({**GOOD, "python": "os:system"}, r"two-term.toml is the Python class os:system; loading it imports that module"),
    ]
    for spec, message in cases:
        path = _write(tmp_path / "two-term.toml", spec)
        with pytest.raises(LawError, match=message):
            bs.get_law(path)
    with pytest.raises(LawError, match="no law file at"):
        bs.get_law(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("name = [")
    with pytest.raises(LawError, match="broken.toml is not valid TOML"):
        bs.get_law(tmp_path / "broken.toml")


def test_every_catalogue_file_validates_against_the_json_schema():
    import json
    import tomllib

    import jsonschema

    from bayescale.laws import KEYS, catalogue_dir

    schema = json.loads((catalogue_dir() / "law.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in bs.list_laws():
        with (catalogue_dir() / f"{name}.toml").open("rb") as fh:
            spec = tomllib.load(fh)
        errors = [e.message for e in validator.iter_errors(spec)]
        assert not errors, (name, errors)
    # the schema and the reader agree on every table's keys
    assert set(schema["properties"]) == set(KEYS["law"])
    assert set(schema["properties"]["inputs"]["additionalProperties"]["properties"]) == set(KEYS["input"])
    assert set(schema["properties"]["parameters"]["additionalProperties"]["properties"]) == set(KEYS["parameter"])
    assert set(schema["properties"]["references"]["additionalProperties"]["properties"]) == set(KEYS["reference"])
    assert not validator.is_valid({**json.loads(json.dumps(bs.get_law("chinchilla").to_dict())), "likelyhood": "beta"})


def test_a_formula_without_priors_gets_documented_defaults_by_role():
    law = bs.law_from_formula("E + A / N**alpha + B / D**beta")
    assert law.input_names == ["N", "D"]
    shown = repr(law)
    for name, prior in [("E", "LogNormal(mu=0.5, sigma=1)"), ("A", "LogNormal(mu=5, sigma=3)"), ("alpha", "LogNormal(mu=-1.1, sigma=0.7)")]:
        assert f"  {name} ~ {prior}    default prior for" in shown
    assert "default prior for the coefficient of a power of an input" in law.parameters["B"].meaning
    assert str(bs.law_from_formula("E + k * exp(-c * N)").parameters["c"].prior) == "Normal(mu=0, sigma=2.5)"
    with pytest.raises(LawError, match=r"priors given for \['gamma'\], which formula 'E \+ A / N\*\*alpha' does not use"):
        bs.law_from_formula("E + A / N**alpha", {"gamma": {"dist": "Normal", "mu": 0, "sigma": 1}})
    with pytest.raises(bs.FormulaError, match="a formula must be a string, got int"):
        bs.law_from_formula(3)
