"""Fuzz tests: every generated input ends in a valid result or a named package error, never another exception,
and nothing invalid is accepted (the verdicts come from :mod:`fuzzing`). ``BAYESCALE_FUZZ=10000`` is the long run."""

from __future__ import annotations

import json
import re
import time
import warnings
from unittest import mock

import arviz as az
import numpy as np
import pandas as pd
import pytest
import sympy as sp
import xarray as xr
from fuzzing import CASES, PROFILE, Case, corruptions, fit_arguments, formulas, priors, run_tables
from hypothesis import given
from hypothesis import strategies as st

import bayescale as bs


class Reached(Exception):
    """Raised in place of building the model: the inputs passed every check."""


def outcome(call) -> str:
    try:
        call()
    except Reached:
        return "accepted"
    except bs.BayescaleError as err:
        return f"refused: {err}"
    return "accepted"


def check(case: Case, verdict: str) -> None:
    if verdict.startswith("refused") and case.valid:
        pytest.fail(f"a valid input was refused: {verdict}\n{case}")
    if verdict == "accepted" and not case.valid:
        pytest.fail(f"an invalid input ({case.reason}) was accepted\n{case}")


@PROFILE
@given(run_tables())
def test_fit_takes_valid_run_tables_and_names_what_is_wrong_with_the_others(case):
    with mock.patch("bayescale.fit.build_model", side_effect=Reached):
        check(case, outcome(lambda: bs.fit("chinchilla", case.data, columns=case.columns, pool=case.pool)))


@PROFILE
@given(case=run_tables(target=False, min_runs=1, options=False))
def test_predict_takes_valid_run_tables_and_names_what_is_wrong_with_the_others(small_fit, case):
    def call():
        table = small_fit.predict(case.data, random_seed=0, extrapolation=False)
        assert np.isfinite(table[["lower", "median", "upper"]].to_numpy()).all()
        assert (table["lower"] <= table["upper"]).all()
    check(case, outcome(call))


@PROFILE
@given(formulas())
def test_a_formula_is_a_law_or_a_named_error_within_a_second(text):
    start = time.perf_counter()
    try:
        law = bs.law_from_formula(text)
    except bs.LawError:
        pass
    else:
        expr = law.expr
        assert not expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I), expr
    assert time.perf_counter() - start < 1.0, text


NEW_RUNS = pd.DataFrame({"N": [4e8, 7e10], "D": [8e9, 1.4e12]})
EDITS = {  # what a careless or hostile hand changes in a saved fit, each must be refused
    "formula with N and D swapped": lambda a: a.update(bayescale_spec=a["bayescale_spec"].replace('N**alpha', 'D**alpha')),
    "likelihood switched": lambda a: a.update(bayescale_spec=a["bayescale_spec"].replace('"studentt"', '"normal"')),
    "calibration span zeroed": lambda a: a.update(bayescale_calibration=re.sub(r'"span": [0-9.e+-]+', '"span": 0', a["bayescale_calibration"])),
    "spec null": lambda a: a.update(bayescale_spec="null"),
    "deep JSON": lambda a: a.update(bayescale_spec="[" * 100000 + "]" * 100000),
    "checksum removed": lambda a: a.pop("bayescale_checksum"),
    "version changed": lambda a: a.update(bayescale_version="0.0.1"),
}


@pytest.fixture(scope="module")
def small_file(small_fit, tmp_path_factory):
    """A fit file of 25 draws per chain (the small fit's first), so that a thousand damaged copies load quickly."""
    path = tmp_path_factory.mktemp("fuzz") / "fit.nc"
    bs.Fit(small_fit.spec, small_fit.idata.isel(draw=slice(0, 25)), small_fit.runs, small_fit.groups, small_fit.centre,
           small_fit.timings, small_fit.settings, small_fit.calibration).save(path)
    return path, bs.load(path).predict(NEW_RUNS, random_seed=0)


def loads_the_same_or_is_refused(path, expected) -> str:
    try:
        loaded = bs.load(path)
        got = loaded.predict(NEW_RUNS, random_seed=0)
    except bs.FitFileError:
        return "refused"
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    return "same"


def test_a_damaged_fit_file_is_refused_or_loads_unchanged(small_file, tmp_path):
    path, expected = small_file
    outcomes = []
    for name, data in corruptions(path.read_bytes(), CASES):
        damaged = tmp_path / "damaged.nc"
        damaged.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bs.ExtrapolationWarning)
            try:
                outcomes.append(loads_the_same_or_is_refused(damaged, expected))
            except AssertionError as err:
                pytest.fail(f"{name}: a damaged file loaded and predicted differently: {err}")
    print(f"damaged fit files: {outcomes.count('refused')} refused, {outcomes.count('same')} loaded unchanged, of {len(outcomes)}")
    assert outcomes.count("refused") > 0.75 * len(outcomes)  # most damage is seen (the rest fell where nothing is read)


@pytest.mark.parametrize("edit", [None, *EDITS])
def test_an_edited_fit_file_is_refused(small_file, tmp_path, edit):
    path, expected = small_file
    idata = az.from_netcdf(str(path))
    idata.load()
    if edit is None:  # the control: the file written again as it was loads as it was
        idata.to_netcdf(str(tmp_path / "same.nc"))
        assert loads_the_same_or_is_refused(tmp_path / "same.nc", expected) == "same"
        return
    before = dict(idata.posterior.attrs)
    EDITS[edit](idata.posterior.attrs)
    assert dict(idata.posterior.attrs) != before
    idata.to_netcdf(str(tmp_path / "edited.nc"))
    with pytest.raises(bs.FitFileError):
        bs.load(tmp_path / "edited.nc")


def test_a_posterior_edited_by_hand_is_refused_and_a_foreign_file_is_named(small_file, tmp_path):
    path, _ = small_file
    idata = az.from_netcdf(str(path))
    idata.load()
    idata.posterior["alpha"] = idata.posterior["alpha"] * 2
    idata.to_netcdf(str(tmp_path / "edited.nc"))
    with pytest.raises(bs.FitFileError, match="damaged or edited after it was saved"):
        bs.load(tmp_path / "edited.nc")
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(tmp_path / "foreign.nc")
    with pytest.raises(bs.FitFileError, match="is not a bayescale fit"):
        bs.load(tmp_path / "foreign.nc")


def test_a_fit_file_naming_python_code_never_runs_it_untrusted(small_file, tmp_path, monkeypatch):
    from bayescale.storage import CHECKSUM, checksum

    path, _ = small_file
    (tmp_path / "canary_law.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').write('imported')\nLaw = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    idata = az.from_netcdf(str(path))
    idata.load()
    spec = json.loads(idata.posterior.attrs["bayescale_spec"])
    spec["law"]["python"] = "canary_law:Law"
    idata.posterior.attrs["bayescale_spec"] = json.dumps(spec)
    idata.posterior.attrs[CHECKSUM] = checksum(idata)  # crafted with a checksum that matches
    idata.to_netcdf(str(tmp_path / "crafted.nc"))
    with pytest.raises(bs.UntrustedCodeError, match="trust_python=True"):
        bs.load(tmp_path / "crafted.nc")
    assert not (tmp_path / "ran").exists()
    with pytest.raises(bs.FitFileError, match="is not a Law"):  # trusted, the module runs, but what it names must be a law
        bs.load(tmp_path / "crafted.nc", trust_python=True)


def test_chains_that_cannot_start_name_the_terms_and_the_values():
    import pymc as pm
    import pytensor.tensor as pt

    from bayescale.sampling import require_finite_start
    from bayescale.starts import Starts

    with pm.Model() as model:
        x = pm.Normal("x", 0.0, 1.0)
        pm.Normal("y", mu=pt.log(x - 5.0), sigma=1.0, observed=[1.0])
    with pytest.raises(bs.ModelError, match=r"not finite at the starting point .* in y \(nan\); there x=0.0"):
        require_finite_start(model, Starts(None, (), 8, 0))
    require_finite_start(model, Starts(None, (), 8, 1))  # a converged start is a finite one


def test_a_learned_error_at_the_end_of_its_grid_is_said():
    from bayescale.calibration import _warn_at_grid_edge
    from bayescale.extrapolation import KAPPA_GRID, TAU_GRID

    weights = np.zeros((len(TAU_GRID), len(KAPPA_GRID)))
    weights[3, 10] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_at_grid_edge(weights.ravel(), "inside")
    weights[-1, 10] = 1.0
    with pytest.warns(bs.ExtrapolationWarning, match=r"at the end of its grid \(50% of the posterior at tau = 0.1"):
        _warn_at_grid_edge(weights.ravel() / 2, "edge")


def test_a_formula_declares_inputs_that_may_be_zero_and_its_target():
    law = bs.law_from_formula("E + A * (p + 0.1)**(-a)", inputs=["p"], domains={"p": "nonnegative"}, target="error", likelihood="normal-raw")
    runs = pd.DataFrame({"p": [0.0, 0.2, 0.5], "error": [-0.1, 0.2, 0.3]})
    from bayescale.fit import model_spec

    spec = model_spec(law)
    assert spec.prepare_runs(runs)["p"].tolist() == [0.0, 0.2, 0.5]
    with pytest.raises(bs.DataError, match=r"column 'p' row 1 has value -0.2: must be non-negative"):
        spec.prepare_runs(runs.assign(p=[0.0, -0.2, 0.5]))
    with pytest.raises(bs.LawError, match="domains= names \\['q'\\]"):
        bs.law_from_formula("E + A * p", inputs=["p"], domains={"q": "nonnegative"})


def test_a_plan_far_beyond_the_fitted_runs_says_so(small_fit):
    with pytest.warns(bs.ExtrapolationWarning, match="decades beyond the largest fitted run"):
        bs.plan(small_fit, flops=1e300)


@PROFILE
@given(priors())
def test_a_prior_is_taken_exactly_when_its_distribution_takes_its_arguments(case):
    spec, valid = case
    try:
        prior = bs.Prior.from_dict(spec)
    except bs.ArgumentError:
        assert not valid, f"a valid prior was refused: {spec}"
    else:
        assert valid, f"an invalid prior was taken: {spec}"
        assert prior.to_dict() == {k: float(v) if k != "dist" else v for k, v in spec.items()}


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, epoch_runs):
    folder = tmp_path_factory.mktemp("cli-fuzz")
    epoch_runs[["N", "D", "loss"]].to_csv(folder / "runs.csv", index=False)
    return str(folder / "runs.csv"), str(folder / "out.nc")


@PROFILE
@given(data=st.data())
def test_every_fit_command_line_reaches_the_sampler_or_fails_in_one_line(cli_files, data):
    from typer.testing import CliRunner

    from bayescale.cli import app

    args = data.draw(fit_arguments(*cli_files))
    with mock.patch("bayescale.fit.build_model", side_effect=Reached):
        result = CliRunner().invoke(app, args)
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, result.output)
    if "internal error" in lines[0]:
        assert "Reached" in lines[0], (args, lines)  # the only one allowed: the patched sampler, reached with valid options
