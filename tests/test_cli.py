import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from bayescale.cli import _table, app, console

runner = CliRunner()


def test_laws_lists_and_describes():
    out = runner.invoke(app, ["laws"])
    assert out.exit_code == 0 and "chinchilla" in out.output and "kaplan" in out.output
    one = runner.invoke(app, ["laws", "chinchilla"])
    assert one.exit_code == 0
    assert "E + A / N**alpha + B / D**beta" in one.output and "besiroglu2024" in one.output and "LogNormal" in one.output
    bad = runner.invoke(app, ["laws", "chinchila"])
    assert bad.exit_code == 2 and "unknown law 'chinchila'" in bad.output
    shape = runner.invoke(app, ["laws", "gemstones-shape"]).output  # square brackets print as written, not as markup
    assert "[hidden units]" in shape and "x = [width, depth, params, tokens]" in shape and "sampler: pymc" in shape
    routed = " ".join(runner.invoke(app, ["laws", "clark-routed"]).output.split())  # where the formula and values were read
    assert "example.ipynb cell 4" in routed and "Table 3" in routed and "clark2022_hash" in routed
    listed = " ".join(runner.invoke(app, ["laws"]).output.split())
    assert all(name in listed for name in ("muennighoff-data-constrained", "diloco-exponent", "panferov-compressed", "hernandez-transfer"))


def test_tables_keep_pooled_names():
    with console.capture() as captured:
        console.print(_table(pd.DataFrame({"median": [1.8]}, index=["E[web]"]), "pooled [E]"))
    assert "E[web]" in captured.get() and "pooled [E]" in captured.get()


@pytest.fixture(scope="module")
def saved_fit(tmp_path_factory, epoch_runs, seed_for):
    folder = tmp_path_factory.mktemp("cli")
    epoch_runs[["N", "C", "loss"]].to_csv(folder / "runs.csv", index=False)
    fit_file = folder / "fit.nc"
    out = runner.invoke(app, ["fit", "--law", "chinchilla", "--data", str(folder / "runs.csv"), "--out", str(fit_file),
                              "--json", "--draws", "400", "--seed", str(seed_for("cli-fit"))])
    assert out.exit_code == 0, out.output
    return folder, fit_file, json.loads(out.stdout)


def test_fit_json_report(saved_fit):
    _, fit_file, report = saved_fit
    assert report["law"] == "chinchilla" and report["runs"] == 245 and fit_file.exists()
    assert report["diagnostics"]["divergences"] == 0
    assert 1.7 < report["summary"]["E"]["median"] < 1.9


def test_predict_from_saved_fit(saved_fit):
    _, fit_file, _ = saved_fit
    at = ["--at", "N=70e9,D=1.4e12", "--at", "N=1e9,D=2e10"]
    out = runner.invoke(app, ["predict", str(fit_file), *at, "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert len(rows) == 2 and rows[0]["lower"] < rows[0]["median"] < rows[0]["upper"]
    table = runner.invoke(app, ["predict", str(fit_file), *at]).output  # each interval as median [lower, upper]
    row = rows[0]
    for part in ("", "law_", "mean_"):
        assert f"{row[part + 'median']:.4g} [{row[part + 'lower']:.4g}, {row[part + 'upper']:.4g}]" in table
    assert "law's mean + its error" in table


def test_cli_errors_are_clear(saved_fit):
    folder, fit_file, _ = saved_fit
    again = runner.invoke(app, ["fit", "--law", "chinchilla", "--data", str(folder / "runs.csv"), "--out", str(fit_file)])
    assert again.exit_code == 2 and "already exists; pass overwrite=True (CLI: --overwrite)" in again.output
    bad_at = runner.invoke(app, ["predict", str(fit_file), "--at", "N70e9"])
    assert bad_at.exit_code == 2 and "--at must look like NAME=VALUE" in bad_at.output
    missing = runner.invoke(app, ["predict", str(fit_file), "--at", "N=70e9"])
    assert missing.exit_code == 2 and "missing column 'D'" in missing.output
    no_data = runner.invoke(app, ["fit", "--law", "chinchilla", "--out", str(folder / "x.nc")])
    assert no_data.exit_code == 2 and "give exactly one of --data FILE, --dataset NAME or --logs PATH" in no_data.output


def test_backtest_command_scores_thresholds_and_writes_a_figure(saved_fit):
    folder, _, _ = saved_fit
    figure = folder / "calibration.png"
    out = runner.invoke(app, ["backtest", "--law", "chinchilla", "--data", str(folder / "runs.csv"), "--threshold", "3e20",
                              "--draws", "300", "--figure", str(figure), "--json"])
    assert out.exit_code == 0, out.output
    tables = json.loads(out.stdout)
    summary = {row["method"]: row for row in tables["summary"]}
    assert summary["plain"]["n"] == summary["calibrated"]["n"] == 63  # Epoch runs above 3e20 FLOP
    assert summary["calibrated"]["width_90"] > summary["plain"]["width_90"] and figure.stat().st_size > 10_000
    assert {row["method"] for row in tables["calibration"]} == {"plain", "calibrated"}
    bad = runner.invoke(app, ["backtest", "--law", "chinchilla", "--data", str(folder / "runs.csv"), "--threshold", "1e23"])
    assert bad.exit_code == 2 and "no run has C above 1e+23" in bad.output


def test_fit_stores_the_calibration_and_predict_is_identical_across_calls(saved_fit):
    import bayescale as bs

    _, fit_file, report = saved_fit
    assert report["calibration"] is not None and bs.load(fit_file).calibration is not None
    at = ["--at", "N=70e9,D=1.4e12", "--json", "--seed", "4"]
    first, second = (runner.invoke(app, ["predict", str(fit_file), *at]) for _ in range(2))
    assert first.exit_code == second.exit_code == 0 and first.output == second.output
    assert json.loads(first.stdout)[0]["law_upper"] > json.loads(first.stdout)[0]["mean_upper"]


def test_fit_a_law_file_and_a_formula_end_to_end(saved_fit, tmp_path):
    folder, _, _ = saved_fit
    from bayescale.laws import catalogue_dir

    law_file = tmp_path / "my.toml"
    law_file.write_text((catalogue_dir() / "chinchilla.toml").read_text().replace('name = "chinchilla"', 'name = "my-chinchilla"'))
    out = runner.invoke(app, ["fit", "--law", str(law_file), "--data", str(folder / "runs.csv"), "--out", str(tmp_path / "a.nc"),
                              "--json", "--draws", "200", "--seed", "1", "--no-calibrate"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["law"] == "my-chinchilla" and json.loads(out.stdout)["calibration"] is None
    out = runner.invoke(app, ["fit", "--formula", "E + A / N**alpha + B / D**beta", "--data", str(folder / "runs.csv"),
                              "--out", str(tmp_path / "b.nc"), "--draws", "200", "--seed", "1", "--no-calibrate"])
    assert out.exit_code == 0, out.output
    assert "alpha ~ LogNormal(mu=-1.1, sigma=0.7) default prior for an exponent" in " ".join(out.output.split()) and "saved" in out.output
    both = runner.invoke(app, ["fit", "--law", "chinchilla", "--formula", "E + A / N**alpha", "--data", "x.csv", "--out", "y.nc"])
    assert both.exit_code == 2 and "give exactly one of --law NAME_OR_FILE or --formula TEXT" in both.output
    law_file.write_text(law_file.read_text().replace("formula =", "formla ="))
    bad = runner.invoke(app, ["fit", "--law", str(law_file), "--data", str(folder / "runs.csv"), "--out", str(tmp_path / "c.nc")])
    assert bad.exit_code == 2 and "my.toml has unknown fields ['formla']; did you mean 'formula'" in " ".join(bad.output.split())


def test_sweep_command_fits_every_law_resumes_and_rejects_bad_workers(saved_fit, tmp_path):
    folder = saved_fit[0]
    args = ["sweep", "--laws", "powerlaw-n,kaplan-n", "--data", str(folder / "runs.csv"), "--out", str(tmp_path / "sweep"),
            "--draws", "100", "--tune", "100", "--json"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [(r["law"], r["study"], r["status"]) for r in rows] == [("powerlaw-n", "runs", "done"), ("kaplan-n", "runs", "done")]
    again = json.loads(runner.invoke(app, args).stdout)
    assert [r["status"] for r in again] == ["resumed", "resumed"]
    assert (tmp_path / "sweep" / "sweep.csv").is_file()
    for bad, message in [(["--workers", "0"], "--workers must be a positive number"),
                         (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "at most one of --workers N and --scheduler")]:
        out = runner.invoke(app, args + bad)
        assert out.exit_code == 2 and message in out.output and "Traceback" not in out.output


def _bad_arguments(folder, fit_file):
    csv, out = str(folder / "runs.csv"), str(folder / "new.nc")
    fit = ["fit", "--law", "chinchilla", "--data", csv, "--out", out]
    (folder / "broken.parquet").write_bytes(b"PAR1 not really")
    (folder / "broken.nc").write_bytes(fit_file.read_bytes()[:5000])
    (folder / "taken.png").write_bytes(b"a figure the user keeps")
    priors = ['[1, 2]', '[]', '{bad json', '{"alpha": {"dist": "Normal", "sd": 1}}', '{"alpha": {"dist": "Normal", "mu": NaN, "sigma": 1}}',
              '{"alpha": {"dist": "HalfNormal", "sigma": -1}}', '{"alpha": {"dist": "Gamma"}}', '{"alpha": 3}', '{"nothere": {"dist": "Normal"}}']
    return [
        *([*fit, "--prior", p] for p in priors),
        *([*fit, option, value] for option, value in [("--draws", "0"), ("--draws", "3"), ("--seed", "-1"), ("--chains", "0"), ("--draws", "-5"), ("--tune", "0"), ("--draws", "abc"),
                                                      ("--columns", "x"), ("--columns", "nope=N"), ("--pool", "E=nope"), ("--likelihood", "bogus"),
                                                      ("--sampler", "bogus"), ("--bogus", "1")]),
        [*fit, "--curves", "nope"],
        [*fit, "--warmup", "0.2"],
        [*fit, "--metric", "loss"],
        ["fit", "--law", "chinchilla", "--logs", str(folder / "no-logs"), "--metric", "loss", "--out", out],
        ["fit", "--law", "chinchilla", "--logs", str(folder), "--out", out],
        ["fit", "--law", "chinchilla", "--data", csv, "--out", str(folder / "nodir" / "o.nc")],
        ["fit", "--law", "chinchilla", "--data", csv, "--out", str(fit_file)],
        ["fit", "--law", "chinchilla", "--formula", "E + N", "--data", csv, "--out", out],
        *(["fit", "--formula", f, "--data", csv, "--out", out] for f in ["E/0", "9**9**9 * E + N", "E + ", "__import__('os')", "exp(N, E)"]),
        ["fit", "--law", "chinchilla", "--data", str(folder / "broken.parquet"), "--out", out],
        ["fit", "--law", "chinchilla", "--data", str(folder / "runs.txt"), "--out", out],
        ["fit", "--law", "chinchilla", "--dataset", "no-such-study", "--out", out],
        ["predict", str(fit_file), "--at", "N=1e9,D=2e10,N=5"],
        ["predict", str(fit_file), "--at", "N=abc,D=1e10"],
        ["predict", str(fit_file), "--at", "N=-1,D=1e10"],
        ["predict", str(fit_file), "--at", "N=1e9,D=2e10", "--ci", "1.5"],
        ["predict", str(folder / "missing.nc"), "--at", "N=1e9,D=2e10"],
        ["predict", str(folder / "broken.nc"), "--at", "N=1e9,D=2e10"],
        ["predict", str(fit_file)],
        ["predict", str(fit_file), "--at", "N=1e9,D=2e10", "--seed", "-1"],
        ["plan", str(fit_file), "--flops", "-1"],
        ["plan", str(fit_file), "--flops", "abc"],
        ["plan", str(fit_file), "--flops", "1e22", "--target-loss", "2"],
        ["plan", str(fit_file), "--flops", "1e22", "--figure", str(folder / "taken.png")],
        ["plan", str(fit_file), "--flops", "1e22", "--figure", str(folder / "nodir" / "f.png")],
        ["plan", str(fit_file), "--flops", "1e22", "--ci", "0"],
        ["backtest", "--law", "chinchilla", "--data", csv, "--folds", "0"],
        ["backtest", "--law", "chinchilla", "--data", csv, "--figure", str(folder / "taken.png")],
        ["backtest", "--law", "chinchilla", "--data", csv, "--threshold", "1e23"],
        ["compare", str(fit_file)],
        ["compare", str(fit_file), str(folder / "missing.nc")],
        ["report", str(fit_file), str(fit_file), "--out", str(folder / "report.txt")],
        ["sweep", "--out", str(folder / "sweep"), "--dataset", "epoch-chinchilla", "--workers", "0"],
        ["sweep", "--out", str(folder / "sweep"), "--laws", "nope", "--dataset", "epoch-chinchilla"],
        ["laws", "nope"],
        ["frobnicate"],
        ["demo", "--draws", "0"],
    ]


def test_every_bad_argument_is_one_line_on_stderr_with_exit_code_2(saved_fit):
    folder, fit_file, _ = saved_fit
    kept = fit_file.read_bytes()
    for args in _bad_arguments(folder, fit_file):
        result = runner.invoke(app, args)
        lines = result.stderr.splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, result.exit_code, result.stderr, result.output)
        assert "Traceback" not in result.output and "internal error" not in lines[0], (args, lines)
    assert fit_file.read_bytes() == kept and (folder / "taken.png").read_bytes() == b"a figure the user keeps"
    assert not (folder / "new.nc").exists()


def test_debug_shows_the_traceback():
    result = runner.invoke(app, ["laws", "nope", "--debug"])
    assert result.exit_code == 1 and isinstance(result.exception, LookupError | ValueError)


def test_library_notes_at_import_are_not_shown_but_other_warnings_are(monkeypatch):
    import warnings

    from bayescale import laws
    from bayescale.errors import LawError

    def noisy_law(name):
        warnings.warn("ArviZ is undergoing a major refactor to improve flexibility", FutureWarning)
        warnings.warn("PyTensor could not link to a BLAS installation.", UserWarning)
        warnings.warn("the law's own note", UserWarning)
        raise LawError(f"unknown law {name!r}")

    monkeypatch.setattr(laws, "get_law", noisy_law)
    result = runner.invoke(app, ["laws", "nope"])
    assert result.exit_code == 2 and result.stderr.splitlines() == ["warning: the law's own note", "error: unknown law 'nope'"]


def test_no_command_writes_over_a_file_without_overwrite(saved_fit, tmp_path):
    folder, fit_file, _ = saved_fit
    csv = str(folder / "runs.csv")
    frontier, other, page = tmp_path / "frontier.png", tmp_path / "other.nc", tmp_path / "report.html"
    other.write_bytes(fit_file.read_bytes())
    assert runner.invoke(app, ["plan", str(fit_file), "--flops", "1e22", "--figure", str(frontier)]).exit_code == 0
    default = fit_file.with_name(f"{fit_file.stem}_frontier.png")
    kept = (frontier, default, tmp_path / "demo_fit.png", page)
    for path in kept:
        path.write_bytes(b"mine")
    for args in (["plan", str(fit_file), "--flops", "1e22", "--figure", str(frontier)], ["plan", str(fit_file), "--flops", "1e22"],
                 ["demo", "--out", str(tmp_path), "--draws", "10"], ["backtest", "--law", "chinchilla", "--data", csv, "--figure", str(frontier)],
                 ["report", str(fit_file), str(other), "--out", str(page)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "already exists" in result.stderr, (args, result.output)
    assert {path.read_bytes() for path in kept} == {b"mine"}
    again = runner.invoke(app, ["plan", str(fit_file), "--flops", "1e22", "--figure", str(frontier), "--overwrite"])
    assert again.exit_code == 0 and frontier.read_bytes()[:4] == b"\x89PNG"
