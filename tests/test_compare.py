import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

import bayescale as bs
from bayescale.cli import app
from bayescale.compare import loo
from bayescale.simulate import isoflop_design

LAWS = ["chinchilla", "kaplan", "powerlaw-compute"]
DESIGN = isoflop_design(np.geomspace(1e18, 1e21, 7), sizes=9)


def _fits(truth_law, reference, seed):
    runs = bs.simulate(truth_law, reference, design=DESIGN, noise=0.01, random_seed=seed)
    return {name: bs.fit(name, runs, draws=500, random_seed=seed + 1, calibrate=False) for name in LAWS}


@pytest.fixture(scope="module")
def chinchilla_world(seed_for):
    return _fits("chinchilla", "besiroglu2024", seed_for("chinchilla-world"))


@pytest.fixture(scope="module")
def epoch_pair(epoch_runs, seed_for):
    return {name: bs.fit(name, epoch_runs, draws=300, random_seed=seed_for("epoch-pair"), calibrate=False) for name in ["chinchilla", "powerlaw-compute"]}


@pytest.mark.slow
def test_chinchilla_data_ranks_chinchilla_first_by_loo_and_extrapolation(chinchilla_world):
    table = bs.compare(chinchilla_world)
    assert list(table.columns[:7]) == ["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight"]
    assert table.index[0] == "chinchilla"
    for name in ["kaplan", "powerlaw-compute"]:
        assert table.loc[name, "elpd_diff"] > 2 * table.loc[name, "dse"], table  # separated by more than 2 SE
    assert table.loc["chinchilla", "weight"] > 0.9
    ext = bs.compare(chinchilla_world, cv="largest", by="C", holdout=0.2)
    assert ext["n"].eq(9).all()  # the largest budget's isoFLOP sweep is held out
    # one budget's runs share one extrapolation error, so only the misspecified law's failure is certain there
    assert ext.index[-1] == "kaplan" and ext.loc["kaplan", "median_rel_error"] == ext["median_rel_error"].max(), ext
    assert ext.loc["chinchilla", "median_rel_error"] < 0.02 and ext.loc["chinchilla", "coverage_90"] >= 4 / 9


@pytest.mark.slow
def test_kaplan_data_flips_the_ranking(seed_for):
    fits = _fits("kaplan", "kaplan2020", seed_for("kaplan-world"))
    table = bs.compare(fits)
    assert table.index[0] == "kaplan", table
    assert table.loc["chinchilla", "elpd_diff"] > 2 * table.loc["chinchilla", "dse"]
    assert bs.compare(fits, cv="largest").index[0] == "kaplan"


def test_extrapolation_scores_and_model_averaging(chinchilla_world):
    ext = bs.validate_extrapolation(chinchilla_world, by="N", holdout=0.25)
    assert ext.by == "N" and ext.threshold < chinchilla_world["chinchilla"].runs["N"].max()
    for name, scores in ext.scores.items():
        assert (scores["N"] > ext.threshold).all() and len(scores) == ext.table.loc[name, "n"]
        assert (scores["lower_90"] < scores["upper_90"]).all() and (scores["lower_50"] >= scores["lower_90"]).all()
        assert len(ext.refits[name].runs) == len(DESIGN) - len(scores)  # the refit never saw the held-out runs
    assert "covered" in ext.verdict()
    new = pd.DataFrame({"N": [70e9], "D": [1.4e12]})
    only = bs.average_predictions(chinchilla_world, new, weights={"chinchilla": 1.0, "kaplan": 0.0, "powerlaw-compute": 0.0})
    single = chinchilla_world["chinchilla"].predict(new, random_seed=0)
    assert only["median"][0] == pytest.approx(single["median"][0], rel=2e-3)
    mixed = bs.average_predictions(chinchilla_world, new, weights={"chinchilla": 0.5, "kaplan": 0.5})
    kaplan = chinchilla_world["kaplan"].predict(new, random_seed=0)
    low, high = sorted([single["median"][0], kaplan["median"][0]])
    assert low < mixed["median"][0] < high  # the mixture sits between the two laws
    assert (mixed["upper"] - mixed["lower"])[0] > (single["upper"] - single["lower"])[0]
    with pytest.raises(ValueError, match="weights must be non-negative"):
        bs.average_predictions(chinchilla_world, new, weights={"farseer": 1.0})


def test_reloo_replaces_bad_pareto_k_by_an_exact_refit():
    runs = bs.simulate("powerlaw-n", {"E": 1.8, "A": 400.0, "alpha": 0.34}, n=30, noise=0.01, random_seed=4)
    runs.loc[5, "loss"] *= 1.3  # one wild run under a normal likelihood
    result = bs.fit("powerlaw-n", runs, likelihood="normal", draws=500, random_seed=2)
    k = bs.pareto_k(result)
    assert k.index[0] == 5 and k["pareto_k"].iloc[0] > 0.7 and (k["pareto_k"].iloc[1:] < 0.7).all()
    approx, exact = loo(result), loo(result, reloo=True)
    assert exact.attrs["refitted"] == 1 and not exact.warning
    # the refit without run 5 finds it far less probable than importance sampling claimed
    assert exact.loo_i.values[5] < approx.loo_i.values[5] - 5
    np.testing.assert_allclose(np.delete(exact.loo_i.values, 5), np.delete(approx.loo_i.values, 5))


def test_bad_comparisons_are_refused(chinchilla_world, epoch_pair):
    one = chinchilla_world["chinchilla"]
    with pytest.raises(bs.ComparisonError, match="at least 2 fits, got 1"):
        bs.compare([one])
    with pytest.raises(bs.ComparisonError, match="several fits of the same law"):
        bs.compare([one, one])
    shifted = bs.Fit(one.spec, one.idata, one.runs.assign(loss=one.runs["loss"] * 1.01), one.groups, one.centre)
    with pytest.raises(bs.ComparisonError, match="fitted to different data: run 0 has loss .* \\(63 runs differ\\)"):
        bs.compare({"synthetic": one, "shifted": shifted})
    with pytest.raises(bs.ComparisonError, match="has 245 runs but 'synthetic' has 63"):
        bs.compare({"synthetic": one, "epoch": epoch_pair["chinchilla"]})
    bare = bs.Fit(one.spec, one.idata.copy(), one.runs, one.groups, one.centre)
    del bare.idata.log_likelihood
    with pytest.raises(bs.ComparisonError, match="fit 'bare' has no log_likelihood group"):
        bs.compare({"bare": bare, "kaplan": chinchilla_world["kaplan"]})
    with pytest.raises(ValueError, match="unknown cv 'kfold'"):
        bs.compare(chinchilla_world, cv="kfold")
    with pytest.raises(ValueError, match="holdout is the fraction of runs to hold out"):
        bs.compare(chinchilla_world, cv="largest", holdout=20)
    with pytest.raises(ValueError, match="cannot order runs by 'steps'"):
        bs.compare(chinchilla_world, cv="largest", by="steps")


def _screenshot(html, png):
    """Render the report in headless Chromium; CI sets BAYESCALE_REQUIRE_CHROMIUM so a missing browser fails there."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("BAYESCALE_REQUIRE_CHROMIUM"):
            pytest.fail("headless Chromium is required (BAYESCALE_REQUIRE_CHROMIUM is set) but not installed")
        pytest.skip("Chromium is not installed: the report's screenshot was not taken (apt-get install chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={png.parent / 'chromium-profile'}"]
    subprocess.run([browser, *flags, "--window-size=1300,2400", f"--screenshot={png}", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)


def test_report_on_real_data_renders_as_html_and_markdown(epoch_pair, tmp_path):
    html = bs.report(epoch_pair, tmp_path / "report.html")
    text = html.read_text()
    assert text.count("data:image/png;base64,") >= 4 + 2  # four figures and two equations, embedded
    for needle in ["PSIS-LOO prefers", "Extrapolation prefers", "of 49 held-out runs", "Ranking by PSIS-LOO", "elpd_loo",
                   "coverage_90", "Hoffmann et al. 2022", "LogNormal", "r_hat", "245 runs"]:
        assert needle in text, needle
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        bs.report(epoch_pair, html)
    md = bs.report(epoch_pair, tmp_path / "report.md")
    assert "![extrapolation](report_files/extrapolation.png)" in md.read_text()
    assert (tmp_path / "report_files" / "extrapolation.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="must end in .html or .md"):
        bs.report(epoch_pair, tmp_path / "report.pdf")
    artifacts = Path(os.environ.get("BAYESCALE_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    png = artifacts / "report-screenshot.png"
    _screenshot(html, png)
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape == (2400, 1300) and pixels.std() > 10  # a rendered page, not a blank one


def test_cli_compare_and_report(epoch_pair, tmp_path):
    paths = []
    for name, result in epoch_pair.items():
        paths.append(tmp_path / f"{name}.nc")
        result.save(paths[-1])
    runner = CliRunner()
    out = runner.invoke(app, ["compare", *map(str, paths), "--json"])
    assert out.exit_code == 0, out.output
    table = json.loads(out.stdout)
    assert table["chinchilla"]["rank"] == 0 and table["powerlaw-compute"]["elpd_diff"] > 0
    out = runner.invoke(app, ["compare", str(paths[0])])
    assert out.exit_code == 2 and "at least 2 fits, got 1" in out.output
    out = runner.invoke(app, ["report", *map(str, paths), "-o", str(tmp_path / "r.md")])
    assert out.exit_code == 0 and (tmp_path / "r.md").is_file(), out.output
    out = runner.invoke(app, ["report", *map(str, paths), "-o", str(tmp_path / "r.md")])
    assert out.exit_code == 2 and "already exists" in out.output
