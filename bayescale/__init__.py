"""bayescale: neural scaling laws as Bayesian models, with honest uncertainty.

The public names below load on first use, so ``import bayescale`` (and the command line's ``--help`` and
``laws``) stay fast and import neither PyMC nor ArviZ until a fit or a saved fit needs them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from .library_notes import stamp_arviz_notice

__version__ = "0.1.0"
stamp_arviz_notice()  # before any process of ours imports ArviZ, whose own stamp write races (see library_notes)

_HOMES = {  # each public name and the module that defines it
    "Backtest": "backtest",
    "backtest": "backtest",
    "Calibration": "extrapolation",
    "calibrate": "calibration",
    "ComparisonError": "errors",
    "Extrapolation": "compare",
    "average_predictions": "compare",
    "compare": "compare",
    "pareto_k": "compare",
    "validate_extrapolation": "compare",
    "ArgumentError": "errors",
    "BayescaleError": "errors",
    "BayescaleWarning": "errors",
    "DataError": "errors",
    "DatasetError": "errors",
    "DataWarning": "errors",
    "ExecutorError": "errors",
    "ExtrapolationWarning": "errors",
    "FitFileError": "errors",
    "FormulaError": "errors",
    "LawError": "errors",
    "MissingDependencyError": "errors",
    "MissingFileError": "errors",
    "ModelError": "errors",
    "OutputError": "errors",
    "OverwriteError": "errors",
    "PlanError": "errors",
    "SamplingWarning": "errors",
    "TaskError": "errors",
    "UntrustedCodeError": "errors",
    "data_dir": "datasets",
    "list_datasets": "datasets",
    "load_dataset": "datasets",
    "Diagnostics": "diagnostics",
    "Fit": "fit",
    "load": "fit",
    "fit": "fitting",
    "Law": "laws",
    "get_law": "laws",
    "law_from_formula": "laws",
    "list_laws": "laws",
    "read_runs": "logs",
    "Likelihood": "likelihoods",
    "get_likelihood": "likelihoods",
    "Crossover": "planning",
    "Plan": "planning",
    "crossover": "planning",
    "isoflop": "planning",
    "plan": "planning",
    "plot_frontier": "planning",
    "plot_isoflop": "planning",
    "plot_fit": "plots",
    "Prior": "priors",
    "report": "report",
    "simulate": "simulate",
    "sweep": "sweep",
    "LeaveLargestOut": "validation",
    "LeaveOneGroupOut": "validation",
    "RollingOrigins": "validation",
    "Thresholds": "validation",
    "refit_and_score": "validation",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'bayescale' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


class _Package(types.ModuleType):
    """The package module, keeping its public functions ``fit``, ``compare``, ``backtest``, ``report`` and
    ``simulate`` when their same-named submodules load (those stay importable by path, e.g.
    ``from bayescale.simulate import isoflop_design``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _HOMES:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
