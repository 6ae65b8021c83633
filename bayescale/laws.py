"""Scaling laws as data: load, validate and compile a law specification.

A law is a formula over named inputs (``N``, ``D``, ``C`` ...) and parameters,
each parameter with a default prior and a meaning. The catalogue lives in
``models/<name>.toml``; a law can also be written as a formula string or as a
:class:`Law` subclass overriding :meth:`Law.evaluate`. One sympy expression
serves PyTensor (sampling), NumPy (prediction) and LaTeX (display).
"""

from __future__ import annotations

import difflib
import importlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from .errors import FormulaError, LawError, UntrustedCodeError
from .formula import DEFAULT_PRIORS, FUNCTIONS, formula_names, parse_formula, roles
from .likelihoods import LIKELIHOODS
from .priors import Prior
from .settings import SAMPLERS

SCHEMA = 1  # the version of the law-file format; models/law.schema.json describes it
KEYS = {  # the keys a law file may hold, per table
    "law": ("schema", "name", "title", "citation", "formula", "target", "likelihood", "sampler", "target_accept", "draws", "tune",
            "inputs", "parameters", "references", "python"),
    "input": ("unit", "description", "domain", "range"),
    "parameter": ("meaning", "prior"),
    "reference": ("source", "values"),
}
REQUIRED = ("name", "formula", "inputs", "parameters")
FIT_DEFAULTS = ("sampler", "target_accept", "draws", "tune")  # sampler settings a law may declare for its fits
_NUMPY_EXTRA = {"Max": np.maximum, "Min": np.minimum}
DOMAINS = ("positive", "nonnegative")


def _pytensor_functions() -> dict[str, Any]:
    import pytensor.tensor as pt

    def of_floats(fn):  # log(10) in a formula: PyTensor would take 10 as int8 (or 10.0 as float32) and compute in float32
        return lambda *args: fn(*(pt.constant(a, dtype="float64") if isinstance(a, (int, float)) else a for a in args))

    functions = {"exp": pt.exp, "log": pt.log, "sqrt": pt.sqrt, "tanh": pt.tanh, "Max": pt.maximum, "Min": pt.minimum}
    return {name: of_floats(fn) for name, fn in functions.items()}


def state_without_caches(obj: Any) -> dict[str, Any]:
    """``obj``'s attributes without its cached properties (compiled functions do not pickle; they are rebuilt on
    first use), so that laws and models travel to worker processes."""
    cached = {name for cls in type(obj).__mro__ for name, value in vars(cls).items() if isinstance(value, cached_property)}
    return {k: v for k, v in obj.__dict__.items() if k not in cached}


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
    likelihood: str | None = None  # the default noise model of a fit (bayescale.likelihoods.LIKELIHOODS); None: studentt
    sampler: str | None = None  # the default NUTS backend of a fit (bayescale.settings.SAMPLERS); None: nutpie
    target_accept: float | None = None  # the default NUTS target acceptance of a fit; None: bayescale.settings.DEFAULTS
    draws: int | None = None  # the default draws per chain of a fit (a slowly mixing posterior needs more); None: DEFAULTS
    tune: int | None = None  # the default tuning steps per chain; None: DEFAULTS

    def __post_init__(self):
        for option, known in (("likelihood", tuple(LIKELIHOODS)), ("sampler", SAMPLERS)):
            value = getattr(self, option)
            if value is not None and value not in known:
                raise LawError(f"law {self.name!r}: unknown {option} {value!r}; use one of {known}")
        if self.target_accept is not None and not 0 < self.target_accept < 1:
            raise LawError(f"law {self.name!r}: target_accept must lie strictly between 0 and 1, got {self.target_accept!r}")
        for option in ("draws", "tune"):
            value = getattr(self, option)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise LawError(f"law {self.name!r}: {option} must be a positive whole number, got {value!r}")
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

    def __getstate__(self) -> dict[str, Any]:
        return state_without_caches(self)

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
        return sp.lambdify(self._symbols, self.expr, modules=[_pytensor_functions()])

    @property
    def fit_defaults(self) -> dict[str, Any]:
        """The sampler settings this law declares for its fits (``sampler``, ``target_accept``, ``draws``, ``tune``)."""
        return {k: getattr(self, k) for k in FIT_DEFAULTS if getattr(self, k) is not None}

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
            "schema": SCHEMA,
            "name": self.name,
            "title": self.title,
            "citation": self.citation,
            "formula": self.formula,
            "target": self.target,
            "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
            "parameters": {k: {"meaning": v.meaning, "prior": v.prior.to_dict()} for k, v in self.parameters.items()},
            "references": {k: {"source": v.source, "values": dict(v.values)} for k, v in self.references.items()},
        }
        spec.update({k: v for k, v in (("likelihood", self.likelihood), *self.fit_defaults.items()) if v})
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
        return type(self)(**{**_fields_from_dict(spec, f"law {self.name!r}"), "parameters": params})

    def __repr__(self) -> str:
        priors = "\n".join(f"  {k} ~ {v.prior}" + (f"    {v.meaning}" if v.meaning else "") for k, v in self.parameters.items())
        return f"Law {self.name!r}: {self.target} = {self.formula}\n{priors}"


def _check_keys(table: Any, kind: str, where: str) -> None:
    """Refuse a table that is not a table, or holds a key of no law-file field (with a did-you-mean hint)."""
    if not isinstance(table, dict):
        raise LawError(f"{where}: expected a table of {', '.join(KEYS[kind])}, got {type(table).__name__} {table!r}")
    known = KEYS[kind]
    unknown = [str(k) for k in table if k not in known]
    if unknown:
        close = {k: difflib.get_close_matches(k, known, n=1) for k in unknown}
        hints = [f"did you mean {c[0]!r} for {k!r}?" for k, c in close.items() if c]
        hint = f"; {' '.join(hints)}" if hints else f"; known: {', '.join(known)}"
        raise LawError(f"{where} has unknown fields {sorted(unknown)}{hint}")


def _fields_from_dict(spec: dict[str, Any], where: str) -> dict[str, Any]:
    _check_keys(spec, "law", where)
    missing = [k for k in REQUIRED if k not in spec]
    if missing:
        raise LawError(f"{where}: missing {', '.join(repr(k) for k in missing)} (a law needs {', '.join(REQUIRED)})")
    if spec.get("schema", SCHEMA) != SCHEMA:
        raise LawError(f"{where}: schema {spec['schema']!r} is not a law-file version this bayescale reads (it reads schema = {SCHEMA})")
    for kind, table in (("input", "inputs"), ("parameter", "parameters"), ("reference", "references")):
        if not isinstance(spec.get(table, {}), dict):
            raise LawError(f"{where}: {table!r} must be a table of named {kind}s, got {spec[table]!r}")
        for name, entry in spec.get(table, {}).items():
            _check_keys(entry, kind, f"{where}: {kind} {name!r}")
    params = {}
    for k, v in spec["parameters"].items():
        if "prior" not in v:
            raise LawError(f"{where}: parameter {k!r} needs a prior, e.g. prior = {{ dist = \"LogNormal\", mu = 0.0, sigma = 1.0 }}")
        try:
            params[k] = Parameter(Prior.from_dict(v["prior"]), v.get("meaning", ""))
        except ValueError as err:
            raise LawError(f"{where}: parameter {k!r}: {err}") from None
    references = {}
    for k, v in spec.get("references", {}).items():
        try:
            references[k] = Reference(v["source"], {p: float(x) for p, x in v["values"].items()})
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise LawError(f"{where}: reference {k!r} needs a source and a table of numeric values ({type(err).__name__}: {err})") from None
    return {
        "name": spec["name"],
        "formula": spec["formula"],
        "title": spec.get("title", ""),
        "citation": spec.get("citation", ""),
        "target": spec.get("target", "loss"),
        "inputs": {k: _input(where, k, v) for k, v in spec["inputs"].items()},
        "parameters": params,
        "references": references,
        "likelihood": spec.get("likelihood"),
        **{k: spec.get(k) for k in FIT_DEFAULTS},
    }


def _input(where: str, name: str, spec: dict[str, Any]) -> Input:
    try:
        return Input(**spec)
    except LawError as err:
        raise LawError(f"{where}: input {name!r}: {err}") from None


def law_from_dict(spec: dict[str, Any], trust_python: bool = False, where: str | None = None) -> Law:
    """Rebuild a law from :meth:`Law.to_dict` output or a law file's table (``where`` names it in errors).

    A specification naming a Python class (``python = "module:Class"``) imports that module, which runs its
    code: it is refused unless ``trust_python`` is True.
    """
    where = where or (f"law {spec.get('name')!r}" if isinstance(spec, dict) else "law")
    _check_keys(spec, "law", where)
    cls = Law
    if "python" in spec:
        if not trust_python:
            raise UntrustedCodeError(
                f"{where} is the Python class {spec['python']}; loading it imports that module and runs its code, so it is "
                "refused: pass trust_python=True if you trust where it came from"
            )
        module, _, qualname = str(spec["python"]).partition(":")
        try:
            cls = getattr(importlib.import_module(module), qualname)
        except (ImportError, AttributeError) as err:
            raise LawError(f"{where} is the Python class {spec['python']}, which cannot be imported: {err}") from None
        if not (isinstance(cls, type) and issubclass(cls, Law)):
            raise LawError(f"{where} names {spec['python']}, which is not a Law class")
    return cls(**_fields_from_dict(spec, where))


def catalogue_dir() -> Path:
    """Folder of the shipped ``models/*.toml`` files (inside the wheel or the source tree)."""
    packaged = resources.files("bayescale") / "models"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "models"


def list_laws() -> list[str]:
    """Names of the laws in the catalogue."""
    return sorted(p.stem for p in catalogue_dir().glob("*.toml"))


def read_law_file(path: str | Path, trust_python: bool = False) -> Law:
    """A law from a TOML file (``schema = 1``; see ``models/law.schema.json``)."""
    path = Path(path)
    if not path.is_file():
        raise LawError(f"no law file at {path}")
    try:
        with path.open("rb") as fh:
            spec = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise LawError(f"law file {path} is not valid TOML: {err}") from None
    if "schema" not in spec:
        raise LawError(f"law file {path}: missing 'schema' (write schema = {SCHEMA} at its top)")
    return law_from_dict(spec, trust_python=trust_python, where=f"law file {path}")


def get_law(name: str | Path, trust_python: bool = False) -> Law:
    """A catalogue law by name, or a law file by path (``.toml``).

    >>> get_law("chinchilla").formula
    'E + A / N**alpha + B / D**beta'
    """
    if isinstance(name, Path) or str(name).endswith(".toml"):
        return read_law_file(name, trust_python)
    path = catalogue_dir() / f"{name}.toml"
    if not path.is_file():
        close = difflib.get_close_matches(str(name), list_laws(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise LawError(f"unknown law {name!r}; known laws: {', '.join(list_laws())}{hint}; or give the path of a .toml law file")
    law = read_law_file(path)
    if law.name != name:
        raise LawError(f"{path} declares name {law.name!r}, expected {name!r}")
    return law


def law_from_formula(
    formula: str,
    priors: dict[str, Any] | None = None,
    inputs: list[str] | None = None,
    name: str = "custom",
    domains: dict[str, str] | None = None,
    target: str = "loss",
    likelihood: str | None = None,
) -> Law:
    """A law from a formula string over inputs (default: those of N, D, C it uses) and parameters.

    ``domains`` maps inputs that may be zero to ``"nonnegative"`` (a data-mixture proportion; the others must be
    positive); ``target`` names the fitted column and ``likelihood`` its scale (``"normal-raw"`` for a target of any
    sign, ``"beta"`` for one in (0, 1); default studentt on the log).

    Parameters without a prior in ``priors`` get a weakly informative default by their role in the formula
    (``bayescale.formula.DEFAULT_PRIORS``: a constant term, the coefficient or the exponent of a power of an
    input, anything else), named in each parameter's meaning and printed with the law.

    >>> print(law_from_formula("E + A / N**alpha", {"E": {"dist": "HalfNormal", "sigma": 3}}))
    Law 'custom': loss = E + A / N**alpha
      E ~ HalfNormal(sigma=3)
      A ~ LogNormal(mu=5, sigma=3)    default prior for the coefficient of a power of an input: median 150, 95% in 0.4-5e4
      alpha ~ LogNormal(mu=-1.1, sigma=0.7)    default prior for an exponent of an input (write its sign in the formula): median 0.33, 95% in 0.08-1.3
    """
    priors = dict(priors or {})
    names = formula_names(formula)
    if inputs is None:
        inputs = [n for n in ("N", "D", "C") if n in names]
    params = [n for n in names if n not in inputs and n not in FUNCTIONS]
    unknown = set(priors) - set(params)
    if unknown:
        raise LawError(f"priors given for {sorted(unknown)}, which formula {formula!r} does not use as parameters ({', '.join(params)})")
    if not params:
        raise LawError(f"formula {formula!r} has no parameters besides its inputs {inputs}")
    role = roles(parse_formula(formula, list(inputs) + params), list(inputs), params)
    parameters = {}
    for p in params:
        if p in priors:
            parameters[p] = Parameter(Prior.from_dict(priors[p]))
        else:
            prior, text = DEFAULT_PRIORS[role[p]]
            parameters[p] = Parameter(Prior.from_dict(prior), f"default prior for {text}")
    domains = {} if domains is None else domains
    if not isinstance(domains, dict) or set(domains) - set(inputs):
        raise LawError(f"domains= names {sorted(set(domains) - set(inputs))}, which are not inputs of formula {formula!r} (inputs: {inputs})")
    return Law(name=name, formula=formula, inputs={n: Input(domain=domains.get(n, "positive")) for n in inputs}, parameters=parameters,
               target=target, likelihood=likelihood)


def resolve_law(law: str | Path | Law, priors: dict[str, Any] | None = None) -> Law:
    """A catalogue name, a law file's path or a Law, with optional prior overrides."""
    if isinstance(law, (str, Path)):
        law = get_law(law)
    elif not isinstance(law, Law):
        raise LawError(f"law must be a catalogue name, a .toml path or a Law, got {type(law).__name__}")
    return law.with_priors(priors) if priors else law
