"""Generated inputs for the fuzz tests, each with the verdict a correct package must reach on it.

A run table is built column by column from a *kind* (a valid number type, or one of the ways a column goes
wrong); the table is valid exactly when every column the law needs is of a valid kind and its structure (names,
``columns=`` mapping, group labels, row count) is sound. ``BAYESCALE_FUZZ`` sets the cases per test (500 by
default, the CI profile; 10000 is the long profile, by hand).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CASES = int(os.environ.get("BAYESCALE_FUZZ", "500"))
PROFILE = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))

VALID_KINDS = ("float", "int", "float32", "text_number", "nullable_int")
INVALID_KINDS = ("nan", "inf", "zero", "negative", "bool", "datetime", "timedelta", "complex", "text", "huge_int",
                 "none", "list_cell", "object_bool")


def column(kind: str, n: int, rng: np.random.Generator) -> Any:
    """``n`` values of ``kind``; an invalid kind spoils one value (or the whole column for a wrong type)."""
    good = np.exp(rng.uniform(-3, 30, n))
    at = int(rng.integers(n))
    if kind == "float":
        return good
    if kind == "int":
        return rng.integers(1, 10**12, n)
    if kind == "float32":
        return np.minimum(good, 1e30).astype(np.float32)
    if kind == "text_number":
        return np.array([repr(float(v)) for v in good], dtype=object)
    if kind == "nullable_int":
        return pd.array(rng.integers(1, 10**6, n), dtype="Int64")
    spoiled = good.astype(object)
    if kind in ("nan", "inf", "zero", "negative"):
        spoiled = good.copy()
        spoiled[at] = {"nan": np.nan, "inf": np.inf, "zero": 0.0, "negative": -good[at]}[kind]
        return spoiled
    if kind == "bool":
        return np.ones(n, dtype=bool)
    if kind == "object_bool":
        spoiled[at] = True
        return spoiled
    if kind == "datetime":
        return pd.date_range("2024-01-01", periods=n)
    if kind == "timedelta":
        return pd.to_timedelta(np.arange(1, n + 1), unit="D")
    if kind == "complex":
        return good + 1j
    spoiled[at] = {"text": "abc", "huge_int": 10**400, "none": None, "list_cell": [1, 2]}[kind]
    return spoiled


@dataclass
class Case:
    """A generated input and whether a correct package accepts it (``reason`` says why not)."""

    data: Any
    columns: Any = None
    pool: dict[str, str] | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.reason


@st.composite
def run_tables(draw, target: bool = True, min_runs: int = 8, options: bool = True) -> Case:
    """A run table for a law in N and D (target ``loss`` if ``target``), with ``options`` a ``columns=`` mapping
    and pooling over a group ``g`` (or neither: predict takes the law's own names and the fit's groups)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([0, 1, 3]) | st.integers(min_runs, min_runs + 6))
    reasons = []
    if n < min_runs:
        reasons.append("too few runs")
    needed = ["N", "D"] + (["loss"] if target else [])
    kinds = {}
    for name in needed:
        kinds[name] = draw(st.sampled_from(VALID_KINDS) | st.sampled_from(INVALID_KINDS))
    derive_d = draw(st.integers(0, 3)) == 0
    columns = {}
    for name, kind in kinds.items():
        if name == "D" and derive_d:
            columns["C"] = column(kind if kind in INVALID_KINDS else "float", n, rng) if n else []
            if kind in INVALID_KINDS:
                reasons.append(f"C {kind}")
            continue
        if n and draw(st.integers(0, 15)) == 0:
            reasons.append(f"{name} missing")
            continue
        columns[name] = column(kind, n, rng) if n else np.array([], dtype=float)
        if kind in INVALID_KINDS and n:
            reasons.append(f"{name} {kind}")
    if n:
        columns["note"] = np.array([f"run {i}" for i in range(n)], dtype=object)
    pool = None
    if options and draw(st.integers(0, 2)) == 0:
        pool = {"E": "g"}
        labels = draw(st.sampled_from(["text", "int", "mixed", "nan", "clash", "absent"]))
        pairs = {"text": ["a", "b"], "int": [1, 2], "mixed": [1, "b"], "nan": ["a", None], "clash": [1, "1"]}
        if labels == "absent":
            reasons.append("group column missing")
        elif n:
            columns["g"] = np.array([pairs[labels][i % 2] for i in range(n)], dtype=object)
            if labels in ("nan", "clash") and n > 1:
                reasons.append(f"group labels {labels}")
    mapping = None
    rename = draw(st.sampled_from(["none", "none", "good", "onto_existing", "unknown", "list", "not_str"])) if options else "none"
    if rename == "good" and "N" in columns:
        columns["params"] = columns.pop("N")
        mapping = {"params": "N"}
    elif rename == "onto_existing" and "N" in columns and "note" in columns:
        mapping = {"note": "N"}
        reasons.append("columns= onto an existing name")
    elif rename == "unknown":
        mapping = {"nowhere": "N"}
        reasons.append("columns= names a missing column")
    elif rename == "list":
        mapping = ["N"]
        reasons.append("columns= not a dict")
    elif rename == "not_str" and "N" in columns:
        mapping = {"N": 5}
        reasons.append("columns= maps to a non-string")
    layout = draw(st.sampled_from(["frame", "frame", "dict", "duplicate_names", "duplicate_index", "ragged", "int_name"]))
    if layout == "dict":
        data = {k: list(v) for k, v in columns.items()}
    elif layout == "ragged" and columns:
        data = {k: list(v) for k, v in columns.items()}
        key = next(iter(data))
        data[key] = data[key] + data[key][:1]
        reasons.append("ragged columns")
    else:
        data = pd.DataFrame(columns)
        if layout == "duplicate_names" and len(data.columns) > 1:
            data.columns = [data.columns[0]] * 2 + list(data.columns[2:])
            reasons.append("duplicated column names")
        elif layout == "duplicate_index":
            data.index = [7] * len(data)
        elif layout == "int_name":
            data[0] = 1.0
            reasons.append("a column named by a number")
    return Case(data, mapping, pool, "; ".join(reasons))


LEAVES = ["E", "A", "B", "N", "D", "alpha", "beta", "k", "0", "1", "2", "2.5", "9", "1e9", "1e308", "-1", "0.0"]
HOSTILE = ["9**9**9", "exp(exp(1e9))", "E/0", "sqrt(-1)", "zoo", "oo", "I", "nan", "log(0)", "__import__('os').system('x')",
           "open('f')", "E.real", "lambda: E", "[E]", "E if N else A", "(E := 1)", "f'{E}'", "E\x00", "exp()", "max(E)",
           "1" + "0" * 400, "(" * 300 + "N" + ")" * 300, "+".join(["N"] * 3000), "N" + "**N" * 500, "E; A", "N @ A",
           "E // A", "E % A", "E < A", "not E", "~E", "E and A", "sigmoid(E, A)", "log(E, 2)", "1j*E", "True*E"]
FUNCTION_NAMES = ["exp", "log", "sqrt", "tanh", "sigmoid", "max", "min", "eval", "sin"]


def formulas():
    """Formula strings: grammar-built expressions over law-like names and numbers, hostile texts, any text; and
    things that are not strings."""
    leaf = st.sampled_from(LEAVES)

    def extend(children):
        binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "^"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        call = st.tuples(st.sampled_from(FUNCTION_NAMES), st.lists(children, min_size=0, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})")
        return binary | call | children.map(lambda c: f"-{c}")

    grammar = st.recursive(leaf, extend, max_leaves=25)
    return grammar | st.sampled_from(HOSTILE) | st.text(max_size=60) | st.sampled_from([None, 5, 2.5, b"E + N", ["E"], {"E": 1}])


def corruptions(original: bytes, cases: int, seed: int = 0):
    """``cases`` damaged copies of a fit file's bytes: truncated, bytes flipped, a block zeroed (a name for each)."""
    rng = np.random.default_rng(seed)
    for i in range(cases):
        data = bytearray(original)
        how = ("truncated", "flipped", "zeroed")[i % 3]
        if how == "truncated":
            data = data[: int(rng.integers(0, len(data)))]
        elif how == "flipped":
            for at in rng.integers(0, len(data), int(rng.integers(1, 9))):
                data[at] ^= 1 << int(rng.integers(8))
        else:
            at, size = int(rng.integers(0, len(data))), int(rng.choice([16, 512, 4096]))
            data[at : at + size] = bytes(min(size, len(data) - at))
        yield f"{how} {i}", bytes(data)


PRIOR_DISTS = ["Normal", "LogNormal", "HalfNormal", "StudentT", "Gamma", "Beta", "Uniform", "TruncatedNormal", "Exponential", "Bogus", 3, None]
PRIOR_KEYS = ["mu", "sigma", "nu", "alpha", "beta", "lower", "upper", "lam", "sd", 7]
PRIOR_VALUES = st.sampled_from([0.0, 1.0, 0.5, -1.0, 3, float("nan"), float("inf"), True, "1", None, [1.0], 1e308])

# what each distribution takes: its arguments' allowed values, and the argument sets it needs (any one)
REAL_ARG, POSITIVE_ARG, UNIT_ARG = (lambda v: True), (lambda v: v > 0), (lambda v: 0 < v < 1)
PRIOR_RULES = {
    "Normal": ({"mu": REAL_ARG, "sigma": POSITIVE_ARG}, [set()]),
    "LogNormal": ({"mu": REAL_ARG, "sigma": POSITIVE_ARG}, [set()]),
    "HalfNormal": ({"sigma": POSITIVE_ARG}, [set()]),
    "StudentT": ({"nu": POSITIVE_ARG, "mu": REAL_ARG, "sigma": POSITIVE_ARG}, [{"nu"}]),
    "Gamma": ({"alpha": POSITIVE_ARG, "beta": POSITIVE_ARG, "mu": POSITIVE_ARG, "sigma": POSITIVE_ARG}, [{"alpha", "beta"}, {"mu", "sigma"}]),
    "Beta": ({"alpha": POSITIVE_ARG, "beta": POSITIVE_ARG, "mu": UNIT_ARG, "sigma": POSITIVE_ARG}, [{"alpha", "beta"}, {"mu", "sigma"}]),
    "Uniform": ({"lower": REAL_ARG, "upper": REAL_ARG}, [set()]),
    "TruncatedNormal": ({"mu": REAL_ARG, "sigma": POSITIVE_ARG, "lower": REAL_ARG, "upper": REAL_ARG}, [set()]),
    "Exponential": ({"lam": POSITIVE_ARG}, [{"lam"}]),
}


@st.composite
def priors(draw) -> tuple[Any, bool]:
    """A prior as a user writes it (a dict, or something else) and whether a correct package takes it."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([[], "Normal", 3, None, {"mu": 0}])), False
    dist = draw(st.sampled_from(PRIOR_DISTS))
    args = draw(st.dictionaries(st.sampled_from(PRIOR_KEYS), PRIOR_VALUES, max_size=4))
    spec = {"dist": dist, **args}
    if dist not in PRIOR_RULES:
        return spec, False
    allowed, needed = PRIOR_RULES[dist]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in args.values())
    valid = (numbers and set(args) <= set(allowed) and all(allowed[k](v) for k, v in args.items())
             and any(n <= set(args) for n in needed) and args.get("lower", -np.inf) < args.get("upper", np.inf))
    return spec, valid


CLI_OPTIONS = {
    "--law": st.sampled_from(["chinchilla", "kaplan", "nope", "", "../etc/passwd.toml"]),
    "--formula": st.sampled_from(["E + A / N**alpha + B / D**beta", "E/0", "9**9**9", "E +", "exp()", "N" * 3000]),
    "--columns": st.sampled_from(["", "x", "C=N", "nope=N", "N=D", "loss=loss,loss=N"]),
    "--pool": st.sampled_from(["", "E=nope", "alpha=x", "=", "E"]),
    "--prior": st.sampled_from(["", "[]", "{}", "{bad", '{"alpha": 3}', '{"alpha": {"dist": "Normal", "sd": 1}}',
                                '{"alpha": {"dist": "HalfNormal", "sigma": -1}}', '{"nope": {"dist": "Normal"}}']),
    "--draws": st.sampled_from(["0", "-5", "abc", "1e3", "10", str(2**70)]),
    "--chains": st.sampled_from(["0", "-1", "2", "x"]),
    "--tune": st.sampled_from(["0", "5", "-3"]),
    "--likelihood": st.sampled_from(["studentt", "bogus", "beta", "normal-raw"]),
    "--sampler": st.sampled_from(["nutpie", "pymc", "stan"]),
    "--seed": st.sampled_from(["1", "-1", "x", str(2**80)]),
}


@st.composite
def fit_arguments(draw, data: str, out: str) -> list[str]:
    """``bayescale fit`` arguments: a random choice of options and values, good and bad."""
    args = ["fit"]
    if draw(st.booleans()):
        args += ["--data", draw(st.sampled_from([data, data + ".missing", "runs.txt"]))]
    if draw(st.integers(0, 4)):
        args += ["--out", draw(st.sampled_from([out, out + "/nodir/x.nc", "/"]))]
    for option in draw(st.lists(st.sampled_from(sorted(CLI_OPTIONS)), max_size=5, unique=True)):
        args += [option, draw(CLI_OPTIONS[option])]
    return args
