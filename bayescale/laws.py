"""Scaling laws as data: load, validate and compile a law specification.

A law is a formula over named inputs (``N``, ``D``, ``C`` ...) and parameters,
each parameter with a default prior and a meaning. The catalogue lives in
``models/<name>.toml``; a law can also be written as a formula string or as a
:class:`Law` subclass overriding :meth:`Law.evaluate`. One sympy expression
serves PyTensor (sampling), NumPy (prediction) and LaTeX (display).
"""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytensor.tensor as pt
import sympy as sp

from .formula import FUNCTIONS, FormulaError, parse_formula
from .priors import Prior

_PYTENSOR = {
    "exp": pt.exp,
    "log": pt.log,
    "sqrt": pt.sqrt,
    "tanh": pt.tanh,
    "Max": pt.maximum,
    "Min": pt.minimum,
}
_NUMPY_EXTRA = {"Max": np.maximum, "Min": np.minimum}


class LawError(ValueError):
    """A law specification that is missing fields or is inconsistent."""


DOMAINS = ("positive", "nonnegative")


@dataclass(frozen=True)
class Input:
    """One input column of a law, e.g. ``N`` in parameters.

    ``domain`` is ``"positive"`` (the default) or ``"nonnegative"`` for inputs that can be zero
    (an annealing area on a constant schedule); ``range`` is a typical ``(low, high)`` that
    :func:`bayescale.simulate.random_design` draws from (N, D and C have defaults there).

    >>> Input("learning rate x steps", domain="nonnegative", range=[0, 0.5]).range
    (0.0, 0.5)
    """

    unit: str = ""
    description: str = ""
    domain: str = "positive"
    range: tuple[float, float] | None = None

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise LawError(f"input domain {self.domain!r} is not one of {DOMAINS}")
        if self.range is None:
            return
        try:
            low, high = (float(x) for x in self.range)
        except (TypeError, ValueError):
            raise LawError(f"input range must be two numbers [low, high], got {self.range!r}") from None
        if not 0.0 <= low < high < np.inf or (low == 0.0 and self.domain == "positive"):
            raise LawError(f"input range {list(self.range)!r} must be finite with low < high and low in the {self.domain} domain")
        object.__setattr__(self, "range", (low, high))

    def to_dict(self) -> dict[str, Any]:
        spec = {"unit": self.unit, "description": self.description, "domain": self.domain}
        return spec | ({"range": list(self.range)} if self.range else {})


@dataclass(frozen=True)
class Parameter:
    """One law parameter: its default prior and what it means."""

    prior: Prior
    meaning: str = ""


@dataclass(frozen=True)
class Reference:
    """Published parameter values for a law, with their source."""

    source: str
    values: dict[str, float]


@dataclass(frozen=True, eq=False)
class Law:
    """A scaling law: a formula for the target over inputs and parameters."""

    name: str
    formula: str
    inputs: dict[str, Input]
    parameters: dict[str, Parameter]
    title: str = ""
    citation: str = ""
    target: str = "loss"
    references: dict[str, Reference] = field(default_factory=dict)
    likelihood: str | None = None  # the default noise model of a fit (bayescale.model.LIKELIHOODS); None: studentt
    sampler: str | None = None  # the default NUTS backend of a fit (bayescale.sampling.SAMPLERS); None: nutpie

    def __post_init__(self):
        from .model import LIKELIHOODS
        from .sampling import SAMPLERS

        for option, known in (("likelihood", LIKELIHOODS), ("sampler", SAMPLERS)):
            value = getattr(self, option)
            if value is not None and value not in known:
                raise LawError(f"law {self.name!r}: unknown {option} {value!r}; use one of {known}")
        if not self.inputs:
            raise LawError(f"law {self.name!r} declares no inputs")
        if not self.parameters:
            raise LawError(f"law {self.name!r} declares no parameters")
        clash = set(self.inputs) & set(self.parameters)
        if clash:
            raise LawError(f"law {self.name!r}: {sorted(clash)} are both inputs and parameters")
        for ref in self.references.values():
            unknown = set(ref.values) - set(self.parameters)
            if unknown:
                raise LawError(f"law {self.name!r}: reference {ref.source!r} gives unknown parameters {sorted(unknown)}")
        self.check()

    def check(self) -> None:
        """Parse the formula and check that it uses every parameter."""
        try:
            expr = self.expr
        except FormulaError as err:
            raise LawError(f"law {self.name!r}: {err}") from None
        used = {s.name for s in expr.free_symbols}
        unused = set(self.parameters) - used
        if unused:
            raise LawError(f"law {self.name!r}: parameters {sorted(unused)} do not appear in the formula {self.formula!r}")

    @property
    def param_names(self) -> list[str]:
        return list(self.parameters)

    @property
    def input_names(self) -> list[str]:
        return list(self.inputs)

    @property
    def domains(self) -> dict[str, str]:
        """Each input's domain, ``"positive"`` or ``"nonnegative"`` (what :func:`bayescale.data.prepare_runs` checks)."""
        return {name: x.domain for name, x in self.inputs.items()}

    @cached_property
    def expr(self) -> sp.Expr:
        """The formula as a sympy expression."""
        return parse_formula(self.formula, self.input_names + self.param_names)

    @cached_property
    def _symbols(self) -> list[sp.Symbol]:
        by_name = {s.name: s for s in self.expr.free_symbols}
        return [by_name.get(n, sp.Symbol(n, real=True)) for n in self.input_names + self.param_names]

    @cached_property
    def _numpy_fn(self):
        return sp.lambdify(self._symbols, self.expr, modules=[_NUMPY_EXTRA, "numpy"])

    @cached_property
    def _pytensor_fn(self):
        return sp.lambdify(self._symbols, self.expr, modules=[_PYTENSOR])

    def evaluate(self, values: dict[str, Any], backend: str = "numpy") -> Any:
        """The law's mean at ``values`` (inputs and parameters by name), with broadcasting.

        >>> law = get_law("chinchilla")
        >>> round(float(law.evaluate({"N": 1e9, "D": 2e10, **law.references["hoffmann2022"].values})), 4)
        2.58
        """
        fn = {"numpy": self._numpy_fn, "pytensor": self._pytensor_fn}[backend]
        return fn(*(values[n] for n in self.input_names + self.param_names))

    @property
    def short_citation(self) -> str:
        """The citation's authors, year, title and venue: up to its arXiv id, else up to its first parenthesis.

        >>> get_law("chinchilla").short_citation
        'Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, arXiv:2203.15556'
        """
        match = re.match(r"(.*?arXiv:\s?\d{4}\.\d{4,5})", self.citation)
        return match.group(1) if match else self.citation.split(" (")[0]

    @property
    def latex(self) -> str:
        """The law as a LaTeX equation, ``L = ...`` for a loss and the target's symbol otherwise.

        >>> get_law("porian-lr").latex
        'lr = N^{- a_{lr}} c_{lr}'
        """
        target = "L" if self.target == "loss" else sp.latex(sp.Symbol(self.target))
        return f"{target} = {sp.latex(self.expr)}"

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict specification that :func:`law_from_dict` rebuilds exactly."""
        spec = {
            "name": self.name,
            "title": self.title,
            "citation": self.citation,
            "formula": self.formula,
            "target": self.target,
            "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
            "parameters": {k: {"meaning": v.meaning, "prior": v.prior.to_dict()} for k, v in self.parameters.items()},
            "references": {k: {"source": v.source, "values": dict(v.values)} for k, v in self.references.items()},
        }
        spec.update({k: v for k, v in (("likelihood", self.likelihood), ("sampler", self.sampler)) if v})
        if type(self) is not Law:
            spec["python"] = f"{type(self).__module__}:{type(self).__qualname__}"
        return spec

    def with_priors(self, priors: dict[str, Any]) -> Law:
        """A copy of the law with some default priors replaced."""
        unknown = set(priors) - set(self.parameters)
        if unknown:
            raise LawError(f"priors given for {sorted(unknown)}, which are not parameters of law {self.name!r} ({', '.join(self.parameters)})")
        params = {
            k: Parameter(Prior.from_dict(priors[k]), v.meaning) if k in priors else v for k, v in self.parameters.items()
        }
        spec = self.to_dict()
        return type(self)(**{**_fields_from_dict(spec), "parameters": params})

    def __repr__(self) -> str:
        priors = "\n".join(f"  {k} ~ {v.prior}" for k, v in self.parameters.items())
        return f"Law {self.name!r}: {self.target} = {self.formula}\n{priors}"


def _fields_from_dict(spec: dict[str, Any]) -> dict[str, Any]:
    missing = {"name", "formula", "inputs", "parameters"} - set(spec)
    if missing:
        raise LawError(f"law specification is missing {sorted(missing)}")
    try:
        params = {
            k: Parameter(Prior.from_dict(v["prior"]), v.get("meaning", "")) for k, v in spec["parameters"].items()
        }
    except (KeyError, TypeError) as err:
        raise LawError(f"law {spec['name']!r}: every parameter needs a prior table ({err})") from None
    except ValueError as err:
        raise LawError(f"law {spec['name']!r}: {err}") from None
    return {
        "name": spec["name"],
        "formula": spec["formula"],
        "title": spec.get("title", ""),
        "citation": spec.get("citation", ""),
        "target": spec.get("target", "loss"),
        "inputs": {k: _input(spec["name"], k, v) for k, v in spec["inputs"].items()},
        "parameters": params,
        "references": {k: Reference(v["source"], {p: float(x) for p, x in v["values"].items()}) for k, v in spec.get("references", {}).items()},
        "likelihood": spec.get("likelihood"),
        "sampler": spec.get("sampler"),
    }


def _input(law: str, name: str, spec: dict[str, Any]) -> Input:
    unknown = set(spec) - {"unit", "description", "domain", "range"}
    if unknown:
        raise LawError(f"law {law!r}: input {name!r} has unknown fields {sorted(unknown)}; known: unit, description, domain, range")
    try:
        return Input(**spec)
    except LawError as err:
        raise LawError(f"law {law!r}: input {name!r}: {err}") from None


def law_from_dict(spec: dict[str, Any]) -> Law:
    """Rebuild a law from :meth:`Law.to_dict` output (a TOML table has the same shape)."""
    cls = Law
    if "python" in spec:
        module, _, qualname = spec["python"].partition(":")
        try:
            cls = getattr(importlib.import_module(module), qualname)
        except (ImportError, AttributeError) as err:
            raise LawError(f"law {spec.get('name')!r} is the Python class {spec['python']}, which cannot be imported: {err}") from None
    return cls(**_fields_from_dict(spec))


def catalogue_dir() -> Path:
    """Folder of the shipped ``models/*.toml`` files (inside the wheel or the source tree)."""
    packaged = resources.files("bayescale") / "models"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "models"


def list_laws() -> list[str]:
    """Names of the laws in the catalogue."""
    return sorted(p.stem for p in catalogue_dir().glob("*.toml"))


def get_law(name: str) -> Law:
    """Load a catalogue law by name.

    >>> get_law("chinchilla").formula
    'E + A / N**alpha + B / D**beta'
    """
    path = catalogue_dir() / f"{name}.toml"
    if not path.is_file():
        raise LawError(f"unknown law {name!r}; known laws: {', '.join(list_laws())}")
    with path.open("rb") as fh:
        spec = tomllib.load(fh)
    if spec.get("name") != name:
        raise LawError(f"{path} declares name {spec.get('name')!r}, expected {name!r}")
    return law_from_dict(spec)


def law_from_formula(formula: str, priors: dict[str, Any], inputs: list[str] | None = None, name: str = "custom") -> Law:
    """A law from a formula string; every non-input name needs a prior.

    >>> law = law_from_formula("E + A / N**alpha", {"E": {"dist": "HalfNormal", "sigma": 3},
    ...     "A": {"dist": "LogNormal", "mu": 5, "sigma": 2}, "alpha": {"dist": "LogNormal", "mu": -1, "sigma": 0.5}})
    >>> law.input_names
    ['N']
    """
    params = {k: Parameter(Prior.from_dict(v)) for k, v in priors.items()}
    if inputs is None:
        known = ["N", "D", "C"]
        try:
            names = {n.id for n in ast.walk(ast.parse(formula.replace("^", "**"), mode="eval")) if isinstance(n, ast.Name)}
        except SyntaxError as err:
            raise LawError(f"formula {formula!r} is not valid: {err.msg}") from None
        inputs = [n for n in known if n in names]
        unknown = names - set(inputs) - set(params) - set(FUNCTIONS)
        if unknown:
            raise LawError(f"formula {formula!r} uses {sorted(unknown)}, which are neither inputs (N, D, C) nor parameters with a prior")
    return Law(name=name, formula=formula, inputs={n: Input() for n in inputs}, parameters=params)


def resolve_law(law: str | Law, priors: dict[str, Any] | None = None) -> Law:
    """A catalogue name or a Law, with optional prior overrides."""
    if isinstance(law, str):
        law = get_law(law)
    elif not isinstance(law, Law):
        raise LawError(f"law must be a catalogue name or a Law, got {type(law).__name__}")
    return law.with_priors(priors) if priors else law
