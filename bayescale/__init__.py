"""bayescale: neural scaling laws as Bayesian models, with honest uncertainty."""

__version__ = "0.1.0"

from .backtest import Backtest, backtest
from .compare import ComparisonError, Extrapolation, average_predictions, compare, pareto_k, validate_extrapolation
from .data import DataError
from .datasets import data_dir, list_datasets, load_dataset
from .diagnostics import Diagnostics, SamplingWarning
from .extrapolation import Calibration, ExtrapolationWarning
from .fit import Fit, fit
from .laws import Law, LawError, get_law, law_from_formula, list_laws
from .planning import Crossover, Plan, crossover, isoflop, plan
from .priors import Prior
from .report import report
from .simulate import simulate
from .storage import FitFileError, load

__all__ = [
    "Backtest",
    "Calibration",
    "ComparisonError",
    "Crossover",
    "DataError",
    "Extrapolation",
    "ExtrapolationWarning",
    "Diagnostics",
    "Fit",
    "FitFileError",
    "Law",
    "LawError",
    "Plan",
    "Prior",
    "SamplingWarning",
    "average_predictions",
    "backtest",
    "compare",
    "crossover",
    "data_dir",
    "fit",
    "get_law",
    "isoflop",
    "law_from_formula",
    "list_datasets",
    "list_laws",
    "load",
    "load_dataset",
    "pareto_k",
    "plan",
    "report",
    "simulate",
    "validate_extrapolation",
]
