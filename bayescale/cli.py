"""Command line: ``bayescale demo | cache | datasets [fetch] | laws | fit | predict | compare | report | backtest | plan | sweep | runs``.

Every failure is one line on stderr, ``error: ...``, with exit code 2, whatever its cause; ``--debug`` anywhere on
the command line shows the traceback instead (for a bug report).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from . import library_notes
from .errors import ArgumentError, BayescaleError

if TYPE_CHECKING:
    import pandas as pd

USER_ERRORS = (BayescaleError, ValueError, FileNotFoundError, FileExistsError)  # the user's to fix: their message alone


class Commands(TyperGroup):
    """The command group, run so that every failure is one line on stderr with exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        args = [a for a in args if a != "--debug"] or ["--help"]
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _warning_line
                for note in library_notes.NOTES:
                    warnings.filterwarnings("ignore", message=note)
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            code = _report("interrupted")
        except typer.TyperException as err:  # a bad option or argument, as typer words it
            code = _report(err.format_message())
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # a Rust panic from the sampler derives from BaseException, not Exception
            if debug:
                raise
            code = _report(str(err) if isinstance(err, USER_ERRORS) else
                           f"internal error, {type(err).__name__}: {err} (run again with --debug for the traceback)")
        sys.exit(code or 0)


def _warning_line(message, category, *args, **kwargs) -> None:
    """A warning as one line on stderr (``warning: ...``), not Python's file and line."""
    sys.stderr.write(f"warning: {' '.join(str(message).split())}\n")


def _report(message: str) -> int:
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    return 2


app = typer.Typer(cls=Commands, help="Neural scaling laws as Bayesian models, with honest uncertainty. "
                  "Add --debug anywhere to see an error's traceback.", no_args_is_help=True, add_completion=False)
# no console markup: law texts, units and pooled names ("E[web]") hold square brackets that rich would read as tags
console = Console(width=max(120, Console().width), markup=False)


def _fail(message: str) -> None:
    raise ArgumentError(message)


def _table(frame: pd.DataFrame, title: str, index: bool = True) -> Table:
    table = Table(title=title)
    columns = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    for column in columns:
        table.add_column(column, justify="right")
    for key, row in frame.iterrows():
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        table.add_row(*([str(key)] if index else []), *cells)
    return table


PREDICTION_PARTS = {"": "", "law_": "law's mean + its error", "mean_": "law's mean"}  # nested intervals, widest first


def _prediction_table(prediction: pd.DataFrame, title: str) -> Table:
    """``predict``'s output, one row per run: its inputs and other columns, then each interval as ``median [lower, upper]``."""
    parts = [p for p in PREDICTION_PARTS if f"{p}median" in prediction]
    interval_columns = {f"{p}{q}" for p in parts for q in ("lower", "median", "upper")}
    frame = prediction[[c for c in prediction.columns if c not in interval_columns]].copy()
    for p in parts:
        low, mid, high = (prediction[f"{p}{q}"] for q in ("lower", "median", "upper"))
        frame[PREDICTION_PARTS[p] or "predicted"] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for lo, m, hi in zip(low, mid, high)]
    return _table(frame, title, index=False)


def _parse_pairs(text: str, what: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            _fail(f"{what} must look like NAME=VALUE[,NAME=VALUE...], got {text!r}")
        if key.strip() in pairs:
            _fail(f"{what} gives {key.strip()} twice in {text!r}")
        pairs[key.strip()] = value.strip()
    return pairs


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for the figure")] = Path("bayescale-demo"),
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    draws: Annotated[int, typer.Option(help="draws per chain")] = 1000,
    overwrite: Annotated[bool, typer.Option(help="replace the figure of an earlier demo in --out")] = False,
):
    """Simulate runs from Chinchilla's replicated law, fit them with NUTS, predict Chinchilla itself."""
    from .demo import TRUTH, run_demo

    console.print(f"Simulating 80 isoFLOP runs (1e18-1e21 FLOP) from the Chinchilla law ({TRUTH}) and fitting with NUTS ...")
    result, prediction, figure = run_demo(out, random_seed=seed, draws=draws, overwrite=overwrite)
    console.print(str(result.diagnostics))
    console.print(_table(result.summary(), "posterior (law units), 90% central intervals"))
    console.print(_prediction_table(prediction, "loss of a 70B-parameter model on 1.4T tokens (~600x the compute of the largest fitted run)"))
    console.print(f"figure: {figure}")


@app.command()
def cache(clear: Annotated[bool, typer.Option("--clear", help="remove bayescale's compiled models from the cache")] = False):
    """Where compiled models are cached between processes, and how much is there; ``--clear`` empties it."""
    from .compiled import NUMBA_CACHE_PATH, cache_entries, clear_cache

    if clear:
        console.print(f"removed {clear_cache()} files from {NUMBA_CACHE_PATH} (PyTensor's own entries: pytensor-cache purge)")
        return
    entries = cache_entries()
    size = sum(path.stat().st_size for path in entries) / 2**20
    console.print(f"{NUMBA_CACHE_PATH}: {len(entries)} bayescale files, {size:.1f} MiB")


datasets_app = typer.Typer(invoke_without_command=True, add_completion=False)
app.add_typer(datasets_app, name="datasets")
DataDir = Annotated[Optional[Path], typer.Option(help="the data directory (default: $BAYESCALE_DATA, else the user cache)")]


@datasets_app.callback()
def datasets_command(ctx: typer.Context, data_dir: DataDir = None):
    """The public data sets: their files, size, whether they are in the data directory, and where; ``fetch`` downloads them."""
    from .datasets import catalogue
    from .datasets import data_dir as resolve

    if ctx.invoked_subcommand:
        return
    root = resolve(data_dir)
    table = Table(title=f"public data sets in the data directory {root}", caption="mirror or by hand: files derived from the "
                  "source repository's files, not in it (`bayescale datasets fetch NAME` says where to put them)")
    for column in ("name", "files", "size", "cached", "fetched from", "folder"):
        table.add_column(column, justify="right" if column in ("files", "size") else "left", no_wrap=column in ("name", "folder"))
    for row in catalogue(root):
        cached = "yes" if row["cached"] == row["files"] else f"{row['cached']} of {row['files']}" if row["cached"] else "no"
        source = "mirror or by hand" if row["derived"] else "source repository"
        table.add_row(row["name"], str(row["files"]), f"{row['bytes'] / 1e6:.2f} MB", cached, source, row["folder"])
    console.print(table)


@datasets_app.command("fetch")
def datasets_fetch(
    name: Annotated[Optional[str], typer.Argument(help="a data set (see `bayescale datasets`)")] = None,
    every: Annotated[bool, typer.Option("--all", help="every data set whose files can be fetched")] = False,
    mirror: Annotated[Optional[str], typer.Option(help="a copy of the data directory to download from, as URL/FOLDER/FILE (default: $BAYESCALE_DATA_URL)")] = None,
    data_dir: DataDir = None,
):
    """Download data sets' files into the data directory from their source repositories (at the pinned commit) or a mirror, each checked against its sha256."""
    from .datasets import catalogue, fetch, list_datasets
    from .datasets import data_dir as resolve
    from .downloads import mirror_url
    from .errors import DatasetError

    if (name is None) == (not every):
        _fail("give a data set NAME or --all")
    root = resolve(data_dir)
    by_hand = [row["name"] for row in catalogue(root) if row["by_hand"]] if every and not mirror_url(mirror) else []
    for each in list_datasets() if every else [name]:
        if each not in by_hand:
            got = fetch(each, root, mirror)
            done = f"downloaded {len(got)} file{'s' * (len(got) > 1)}" if got else "all files already there"
            console.print(f"{each}: {done}, in {root}")
    if by_hand:
        raise DatasetError(f"not fetched: {', '.join(by_hand)}: their files are built from their source repositories' files, "
                           "not files there; place them by hand (`bayescale datasets fetch NAME` says where) or give --mirror URL")


@app.command()
def laws(name: Annotated[Optional[str], typer.Argument(help="a law to describe")] = None):
    """List the law catalogue (short citations), or describe one law (its full citation, equation, priors, references)."""
    from .laws import get_law, list_laws

    if name is None:
        table = Table(title="scaling-law catalogue")
        table.add_column("name", no_wrap=True)  # a name to type: never cut
        for column in ("title", "inputs", "citation"):
            table.add_column(column)
        for law in map(get_law, list_laws()):
            table.add_row(law.name, law.title, ", ".join(law.input_names), law.short_citation)
        console.print(table)
        return
    law = get_law(name)
    _describe(law)


def _describe(law) -> None:
    """A law's citation, equation, defaults, inputs, every resolved prior and its references."""
    console.print(f"{law.name}: {law.title}\n{law.citation}\n\n  {law.target} = {law.formula}\n  LaTeX: {law.latex}\n"
                  f"  likelihood: {law.likelihood or 'studentt'}; sampler: {law.sampler or 'nutpie'}"
                  + "".join(f"; {k}: {v}" for k, v in law.fit_defaults.items() if k != "sampler") + "\n")
    for key, inp in law.inputs.items():
        console.print(f"  input {key}: {inp.description} [{inp.unit}]")
    for key, param in law.parameters.items():
        console.print(f"  {key} ~ {param.prior}    {param.meaning}")
    for key, ref in law.references.items():
        values = ", ".join(f"{k}={v:g}" for k, v in ref.values.items())
        console.print(f"  reference {key}: {values}  ({ref.source})")


@app.command("fit")
def fit_command(
    out: Annotated[Path, typer.Option(help="netCDF file to write the fit to")],
    law: Annotated[Optional[str], typer.Option(help="a catalogue law by name, or a law file (.toml)")] = None,
    formula: Annotated[Optional[str], typer.Option(help='a law as a formula, e.g. "E + A / N**alpha"; parameters get default priors')] = None,
    data: Annotated[Optional[Path], typer.Option(help="runs as .csv or .parquet")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="a public data set by name instead of --data")] = None,
    logs: Annotated[Optional[str], typer.Option(help="training logs instead of --data: a TensorBoard folder, W&B export, MLflow store or URI, tidy table")] = None,
    metric: Annotated[Optional[str], typer.Option(help="with --logs: the logged metric to fit as the law's target")] = None,
    meta: Annotated[Optional[Path], typer.Option(help="with --logs: run metadata (N, groups) as a TOML file of [[runs]] or a CSV with a run column")] = None,
    tokens_per_step: Annotated[Optional[float], typer.Option(help="with --logs: tokens per step (D = step x this), else a logged tokens metric")] = None,
    final_only: Annotated[bool, typer.Option(help="with --logs: fit each run's last checkpoint only (default: the whole curves, a per-run effect)")] = False,
    curves: Annotated[Optional[str], typer.Option(help="the column naming each checkpoint's run: whole curves with a per-run effect (with --logs: run)")] = None,
    warmup: Annotated[Optional[float], typer.Option(help="with curves: leave out checkpoints before this fraction of each run's tokens (default 0.1)")] = None,
    columns: Annotated[str, typer.Option(help="rename columns: yours=N,other=loss")] = "",
    pool: Annotated[str, typer.Option(help="pool parameters over a group column: alpha=dataset,E=dataset")] = "",
    prior: Annotated[str, typer.Option(help='JSON of prior overrides: {"alpha": {"dist": "LogNormal", "mu": -1, "sigma": 0.3}}')] = "",
    likelihood: Annotated[Optional[str], typer.Option(help="studentt, normal or beta (a target in (0, 1)); default: the law's own, else studentt")] = None,
    sampler: Annotated[Optional[str], typer.Option(help="nutpie or pymc; default: the law's own, else nutpie")] = None,
    chains: Annotated[Optional[int], typer.Option(help="chains (default: the law's own, else 4)")] = None,
    draws: Annotated[Optional[int], typer.Option(help="draws per chain (default: the law's own, else 1000)")] = None,
    tune: Annotated[Optional[int], typer.Option(help="tuning steps per chain (default: the law's own, else 1000)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed")] = None,
    calibrate: Annotated[Optional[bool], typer.Option("--calibrate/--no-calibrate", help="learn the law's error beyond the runs (default: where the runs allow)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace --out if it exists")] = False,
    mlflow: Annotated[Optional[str], typer.Option("--mlflow", metavar="URI", help="also log the fit as a run at this MLflow tracking URI (sqlite:///mlflow.db, http://host:5000)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report instead of tables")] = False,
):
    """Fit a law to runs with NUTS (its extrapolation error learned too) and save the posterior (and log it to MLflow)."""
    from . import datasets
    from .files import output_path
    from .fitting import fit
    from .laws import get_law, law_from_formula
    from .logs import checkpoints, read_runs

    if (law is None) == (formula is None):
        _fail("give exactly one of --law NAME_OR_FILE or --formula TEXT")
    if sum(x is not None for x in (data, dataset, logs)) != 1:
        _fail("give exactly one of --data FILE, --dataset NAME or --logs PATH")
    if logs is None and (metric or meta or tokens_per_step or final_only):
        _fail("--metric, --meta, --tokens-per-step and --final-only apply to --logs")
    if warmup is not None and logs is None and curves is None:
        _fail("--warmup applies to whole curves: give --curves COLUMN or --logs PATH")
    if logs is not None and metric is None:
        _fail("--logs needs --metric NAME, the logged metric to fit (`bayescale runs PATH` lists them)")
    output_path(out, overwrite)
    try:
        priors = json.loads(prior) if prior else None
    except json.JSONDecodeError as err:
        _fail(f"--prior is not valid JSON: {err}")
    if priors is not None and not isinstance(priors, dict):
        _fail(f'--prior must be a JSON object of priors by parameter, e.g. {{"alpha": {{"dist": "LogNormal", "mu": -1, "sigma": 0.3}}}}; got {prior!r}')
    chosen = get_law(law) if law is not None else law_from_formula(formula, name="formula")
    if formula is not None and not as_json:
        console.print(repr(chosen))
    if logs is not None:
        runs = checkpoints(read_runs(logs, metric=metric, tokens_per_step=tokens_per_step, meta=meta), chosen, metric, final_only)
        curves = None if final_only else curves or "run"
    else:
        runs = datasets.load_dataset(dataset) if dataset else data
    result = fit(chosen, runs, priors=priors, pool=_parse_pairs(pool, "--pool"), likelihood=likelihood,
                 columns=_parse_pairs(columns, "--columns"), sampler=sampler, chains=chains, draws=draws,
                 tune=tune, random_seed=seed, progressbar=not as_json and sys.stderr.isatty(), calibrate=calibrate,
                 curves=curves, warmup=warmup)
    result.save(out, overwrite=overwrite)
    run_id = result.log_mlflow(mlflow, run_name=f"{result.law.name} on {dataset or logs or data.name}") if mlflow else None
    summary = result.summary()
    if as_json:
        report = {"law": result.law.name, "runs": len(result.runs), "out": str(out), "diagnostics": result.diagnostics.to_dict(),
                  "timings": result.timings, "summary": summary.to_dict(orient="index"),
                  "calibration": result.calibration.to_dict() if result.calibration else None, "mlflow_run": run_id}
        print(json.dumps(report, indent=2, default=float))
        return
    console.print(str(result.diagnostics))
    console.print(_table(summary, f"{result.law.name}: posterior (law units), 90% central intervals"))
    console.print(str(result.calibration) if result.calibration else "no calibration: predictions beyond the fitted runs carry no law's error")
    console.print(f"saved {out}" + (f"; logged to MLflow at {mlflow} as run {run_id}" if run_id else ""))


@app.command()
def predict(
    fit_file: Annotated[Path, typer.Argument(help="a fit saved by `bayescale fit`")],
    at: Annotated[Optional[list[str]], typer.Option(help="a run, e.g. N=70e9,D=1.4e12 (repeatable)")] = None,
    data: Annotated[Optional[Path], typer.Option(help="runs to predict, .csv or .parquet")] = None,
    ci: Annotated[float, typer.Option(help="central interval probability")] = 0.9,
    seed: Annotated[Optional[int], typer.Option(help="random seed")] = 0,
    trust_python: Annotated[bool, typer.Option(help="allow a fit of a Python law class to import its module")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON records")] = False,
):
    """Predict the loss of new runs with intervals from a saved fit (no sampling: the same seed gives the same numbers)."""
    import pandas as pd

    from .data import read_table
    from .fit import load

    if not at and data is None:
        _fail("give --at N=...,D=... or --data FILE")
    result = load(fit_file, trust_python=trust_python)
    rows = [_parse_pairs(text, "--at") for text in at or []]
    table = read_table(data) if data is not None else pd.DataFrame(rows)
    prediction = result.predict(table, ci_prob=ci, random_seed=seed)
    if as_json:
        print(prediction.to_json(orient="records"))
        return
    console.print(_prediction_table(prediction, f"{result.law.name}: predicted {result.law.target}, {ci:.0%} central intervals"))


@app.command("compare")
def compare_command(
    fit_files: Annotated[list[Path], typer.Argument(help="two or more fits saved by `bayescale fit`, of the same runs")],
    cv: Annotated[str, typer.Option(help="loo (PSIS-LOO) or largest (refit on the smaller runs, score the largest)")] = "loo",
    by: Annotated[Optional[str], typer.Option(help="with --cv largest: order runs by N, D or C (default C where derivable)")] = None,
    holdout: Annotated[float, typer.Option(help="with --cv largest: fraction of the largest runs to hold out")] = 0.2,
    reloo: Annotated[bool, typer.Option(help="score runs with Pareto k > 0.7 by exact refits")] = False,
    workers: Annotated[Optional[int], typer.Option(help="run the refits in this many local worker processes")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="run the refits on the Dask scheduler at this address (tcp://host:8786)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON records")] = False,
):
    """Rank laws fitted to the same runs by PSIS-LOO or by extrapolation to the largest runs."""
    from .compare import compare

    table = compare(_load_fits(fit_files), cv=cv, reloo=reloo, by=by, holdout=holdout, executor=_executor(workers, scheduler))
    if as_json:
        print(table.to_json(orient="index", indent=2))
        return
    title = "PSIS-LOO, best first" if cv == "loo" else f"extrapolation to the largest {holdout:.0%} of runs by {by or 'compute'}, best first"
    console.print(_table(table, title))


@app.command("report")
def report_command(
    fit_files: Annotated[list[Path], typer.Argument(help="two or more fits saved by `bayescale fit`, of the same runs")],
    out: Annotated[Path, typer.Option("-o", "--out", help="report file, .html (self-contained) or .md")],
    by: Annotated[Optional[str], typer.Option(help="order runs by N, D or C for the extrapolation check (default C where derivable)")] = None,
    holdout: Annotated[float, typer.Option(help="fraction of the largest runs to hold out")] = 0.2,
    reloo: Annotated[bool, typer.Option(help="score runs with Pareto k > 0.7 by exact refits")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace --out if it exists")] = False,
    workers: Annotated[Optional[int], typer.Option(help="run the refits in this many local worker processes")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="run the refits on the Dask scheduler at this address (tcp://host:8786)")] = None,
):
    """Write the law-comparison report: rankings, verdict, figures, and each law's equation, priors and posterior."""
    from .report import report

    path = report(_load_fits(fit_files), out, by=by, holdout=holdout, reloo=reloo, overwrite=overwrite, executor=_executor(workers, scheduler))
    console.print(f"report: {path}")


def _executor(workers: int | None, scheduler: str | None):
    """The executor of ``--workers N`` or ``--scheduler ADDRESS`` (at most one), None for this process."""
    if workers is not None and scheduler is not None:
        _fail("give at most one of --workers N and --scheduler ADDRESS")
    if workers is not None and workers < 1:
        _fail(f"--workers must be a positive number of processes, got {workers}")
    return scheduler or workers


def _load_fits(paths: list[Path]) -> dict:
    """Saved fits keyed by file stem (law names may repeat across files)."""
    from .fit import load

    stems = [p.stem for p in paths]
    if len(set(stems)) < len(stems):
        _fail(f"fit files must have distinct names, got {stems}")
    return {p.stem: load(p) for p in paths}


@app.command("backtest")
def backtest_command(
    law: Annotated[str, typer.Option(help="a catalogue law by name, or a law file (.toml)")],
    data: Annotated[Optional[Path], typer.Option(help="runs as .csv or .parquet")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="a public data set by name instead of --data")] = None,
    pool: Annotated[str, typer.Option(help="pool parameters over a group column: E=dataset")] = "",
    by: Annotated[Optional[str], typer.Option(help="order runs by N, D or C (default C where derivable)")] = None,
    folds: Annotated[int, typer.Option(help="number of thresholds")] = 3,
    threshold: Annotated[Optional[list[float]], typer.Option(help="a fold's largest fitted value of --by (repeatable; replaces --folds)")] = None,
    draws: Annotated[Optional[int], typer.Option(help="draws per chain (default: the law's own, else 1000)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    figure: Annotated[Optional[Path], typer.Option(help="calibration figure to write (PNG)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace --figure if it exists")] = False,
    workers: Annotated[Optional[int], typer.Option(help="run the folds in this many local worker processes")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="run the folds on the Dask scheduler at this address (tcp://host:8786)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
):
    """Refit on the runs below successive thresholds and score the larger runs: coverage, CRPS, log score, error."""
    from . import datasets
    from .backtest import backtest
    from .files import output_path

    if (data is None) == (dataset is None):
        _fail("give exactly one of --data FILE or --dataset NAME")
    if figure:
        output_path(figure, overwrite)
    runs = datasets.load_dataset(dataset) if dataset else data
    result = backtest(law, runs, pool=_parse_pairs(pool, "--pool"), by=by, folds=folds, thresholds=threshold, draws=draws, random_seed=seed,
                      executor=_executor(workers, scheduler), study=dataset or str(data))
    if figure:
        result.plot(str(figure), overwrite=overwrite)
    tables = {"summary": result.summary(), "by_distance": result.by_distance(), "calibration": result.calibration_curve()}
    if as_json:
        print(json.dumps({k: json.loads(v.reset_index().to_json(orient="records")) for k, v in tables.items()}, indent=2))
        return
    console.print(_table(tables["summary"], f"{law}: backtest over {len(result.thresholds)} folds by {result.by}, all held-out runs"))
    console.print(_table(tables["by_distance"].reset_index(), "by distance beyond the fitted runs", index=False))
    console.print(_table(tables["calibration"], "observed coverage of central intervals at nominal levels"))


@app.command("plan")
def plan_command(
    fit_file: Annotated[Path, typer.Argument(help="a fit saved by `bayescale fit`, of a law in N and D")],
    flops: Annotated[Optional[list[float]], typer.Option(help="compute budget in FLOP, training plus inference (repeatable)")] = None,
    target_loss: Annotated[Optional[list[float]], typer.Option(help="a loss to reach at the least compute (repeatable)")] = None,
    inference_tokens: Annotated[float, typer.Option(help="tokens to serve, at 2N FLOP each")] = 0.0,
    ci: Annotated[float, typer.Option(help="central interval probability")] = 0.9,
    figure: Annotated[Optional[Path], typer.Option(help="frontier figure (default: FIT_frontier.png beside the fit)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace the figure if it exists")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report instead of tables")] = False,
):
    """Compute-optimal N, D and loss for a budget (or the cheapest budget for a target loss), with intervals."""
    import numpy as np

    from .files import output_path
    from .fit import load
    from .planning import plan, plot_frontier

    if bool(flops) == bool(target_loss):
        _fail("give exactly one of --flops or --target-loss")
    figure = figure or fit_file.with_name(f"{fit_file.stem}_frontier.png")
    result = load(fit_file)
    planned = plan(result, flops, target_loss=target_loss, inference_tokens=inference_tokens, ci_prob=ci)
    output_path(figure, overwrite)  # the budgets checked first, the figure before any file is written
    marks = flops or planned.summary.xs("flops", level="quantity")["median"].dropna().to_numpy()
    if len(marks):
        span = np.geomspace(min(marks) / 100, max(marks) * 10, 25)
        plot_frontier(plan(result, span, inference_tokens=inference_tokens, ci_prob=ci), path=str(figure), mark=marks, overwrite=overwrite)
    summary = planned.summary.reset_index()
    reach = {} if planned.p_reach is None else {str(k): v for k, v in planned.p_reach.items()}
    if as_json:
        report = {"law": result.law.name, "ci_prob": ci, "inference_tokens": inference_tokens, "summary": summary.to_dict(orient="records"),
                  "p_reach": reach or None, "figure": str(figure)}
        print(json.dumps(report, indent=2, default=float))
        return
    console.print(_table(summary, f"{result.law.name}: compute plan, {ci:.0%} central intervals", index=False))
    for key, value in reach.items():
        console.print(f"P(target reachable within 1e30 FLOP) at {key}: {value:.1%}")
    console.print(f"figure: {figure}")


@app.command("sweep")
def sweep_command(
    out: Annotated[Path, typer.Option(help="folder for the fits and the table (a sweep started again there resumes)")],
    laws: Annotated[Optional[str], typer.Option(help="catalogue laws, comma-separated (default: every law whose inputs the runs have)")] = None,
    dataset: Annotated[Optional[list[str]], typer.Option(help="a public data set by name (repeatable)")] = None,
    data: Annotated[Optional[list[Path]], typer.Option(help="runs as .csv or .parquet (repeatable; named by file stem)")] = None,
    group: Annotated[Optional[str], typer.Option(help="fit each value of this column separately")] = None,
    holdout: Annotated[Optional[float], typer.Option(help="also refit without this fraction of the largest runs and score them")] = None,
    draws: Annotated[Optional[int], typer.Option(help="draws per chain (default: each law's own, else 1000)")] = None,
    tune: Annotated[Optional[int], typer.Option(help="tuning steps per chain (default: each law's own, else 1000)")] = None,
    seed: Annotated[int, typer.Option(help="random seed (each task's own comes from it and the task's name)")] = 0,
    workers: Annotated[Optional[int], typer.Option(help="run the fits in this many local worker processes")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="run the fits on the Dask scheduler at this address (tcp://host:8786)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the table as JSON records")] = False,
):
    """Fit every law to every data set (or group), saving each fit to --out as it finishes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .data import read_table
    from .datasets import load_dataset
    from .sweep import sweep

    if not dataset and not data:
        _fail("give at least one --dataset NAME or --data FILE")
    executor = _executor(workers, scheduler)
    studies = {name: load_dataset(name) for name in dataset or []}
    studies.update({path.stem: read_table(path) for path in data or []})
    names = [name.strip() for name in laws.split(",") if name.strip()] if laws else None
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("sweep", total=None, failed=0)

        def progress(row, finished, total):
            nonlocal failed
            failed += row["status"] == "failed"
            bar.update(task, completed=finished, total=total, failed=failed, description=f"{row['law']} on {row['study']}")

        table = sweep(names, studies, out, group=group, holdout=holdout, draws=draws, tune=tune, random_seed=seed,
                      executor=_executor(workers, scheduler), progress=progress)
    if as_json:
        print(table.to_json(orient="records", indent=2))
        return
    shown = [c for c in ["law", "study", "group", "status", "runs", "divergences", "max_rhat", "elpd_loo", "coverage_90", "median_rel_error", "error"] if c in table]
    console.print(_table(table[shown], f"sweep: {len(table)} tasks, table in {out / 'sweep.csv'}", index=False))


@app.command("runs")
def runs_command(
    path: Annotated[str, typer.Argument(help="training logs: a TensorBoard folder, W&B export, MLflow store or URI, lm-eval results, tidy table")],
    metric: Annotated[Optional[list[str]], typer.Option(help="read only this metric (repeatable)")] = None,
    log_format: Annotated[Optional[str], typer.Option("--format", help="tensorboard, wandb-csv, wandb-parquet, mlflow, lm-eval or tidy (default: from the path)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report instead of a table")] = False,
):
    """What the training-log readers find: per run its metrics, steps, first and last step, gaps and duplicates resolved."""
    from .logs import describe_runs, read_runs

    table = read_runs(path, metric=metric or None, format=log_format)
    runs = describe_runs(table)
    if as_json:
        report = {k: table.attrs[k] for k in ("source", "format", "files", "tokens", "duplicates", "dropped")}
        print(json.dumps({**report, "runs": runs.to_dict(orient="index")}, indent=2, default=float))
        return
    shown = runs.assign(metrics=[", ".join(m) for m in runs["metrics"]])
    console.print(_table(shown, f"{path}: {len(runs)} runs ({table.attrs['format']}); duplicates: {table.attrs['duplicates']['rule']}"))
