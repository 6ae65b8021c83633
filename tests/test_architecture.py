"""The package's shape: its public names, its errors, no import cycles, and imports that stay light."""

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import bayescale as bs
from bayescale import errors

PACKAGE = Path(bs.__file__).parent
PUBLIC = [
    "ExecutorError", "TaskError", "sweep",
    "ArgumentError", "Backtest", "BayescaleError", "BayescaleWarning", "Calibration", "ComparisonError", "Crossover", "DataError",
    "DatasetError", "DataWarning", "Diagnostics", "Extrapolation", "ExtrapolationWarning", "Fit", "FitFileError", "FormulaError", "Law", "LawError",
    "LeaveLargestOut", "LeaveOneGroupOut", "Likelihood", "MissingDependencyError", "MissingFileError", "ModelError", "OutputError", "OverwriteError", "Plan", "PlanError", "Prior",
    "RollingOrigins", "SamplingWarning", "Thresholds", "UntrustedCodeError", "average_predictions", "backtest", "calibrate", "compare",
    "crossover", "data_dir", "fit", "get_law", "get_likelihood", "isoflop", "law_from_formula", "list_datasets", "list_laws", "load",
    "load_dataset", "pareto_k", "plan", "plot_fit", "plot_frontier", "plot_isoflop", "read_runs", "refit_and_score", "report", "simulate",
    "validate_extrapolation",
]


def test_public_api_is_the_intended_list():
    assert bs.__all__ == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(bs, name) is not None
    assert callable(bs.fit) and callable(bs.simulate) and callable(bs.report) and callable(bs.compare) and callable(bs.backtest)
    assert bs.__version__ == "0.1.0"


def test_every_error_and_warning_is_a_package_one():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(classes) >= 15
    for cls in classes:
        assert issubclass(cls, (bs.BayescaleError, bs.BayescaleWarning)), cls
    raised = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
                raised.add((node.exc.func.id, path.name))
    protocol = {"NotImplementedError", "AttributeError"}  # an abstract method; attribute access (Fit.levels, the lazy package)
    builtin = {(name, file) for name, file in raised if name in dir(__builtins__) and name not in protocol}
    assert not builtin, f"raise a named bayescale error instead of {sorted(builtin)}"


def _imports(path: Path) -> set[str]:
    """The bayescale modules ``path`` imports, at module level or inside functions."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bayescale")}
    return found - {module}


def test_no_import_cycles():
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p for p in PACKAGE.rglob("*.py")}
    graph = {m: {t for t in _imports(p) if t in modules and t != "bayescale"} for m, p in modules.items()}
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in state:
                visit(target)
        state[node] = "done"
        path.pop()

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert "bayescale.fit" not in graph["bayescale.storage"] and "bayescale.model.spec" not in graph["bayescale.laws"]


PROBE = """
import json, sys
import matplotlib
matplotlib.use("svg")
import bayescale as bs
from bayescale.cli import app
from typer.testing import CliRunner
runner = CliRunner()
help_ok = runner.invoke(app, ["--help"]).exit_code == 0 and runner.invoke(app, ["laws"]).exit_code == 0
laws_ok = runner.invoke(app, ["laws", "chinchilla"]).exit_code == 0
light = {m: m in sys.modules for m in ("pymc", "pytensor", "nutpie", "arviz", "matplotlib.pyplot")}
plan = bs.plan(("chinchilla", bs.get_law("chinchilla").references["besiroglu2024"].values), flops=[1e21, 1e22])
bs.plot_frontier(plan)
print(json.dumps({"help": help_ok and laws_ok, "light": light, "backend": matplotlib.get_backend()}))
"""


def test_help_and_laws_import_no_sampler_and_figures_leave_the_backend_alone():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["help"]
    assert not any(result["light"].values()), result["light"]
    assert result["backend"] == "svg"
