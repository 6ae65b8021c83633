"""Safe parsing of law formulas into sympy expressions.

Formulas are user text, so they are never passed to ``eval`` (``sympy.sympify``
does that). The text is parsed by :mod:`ast`, every node is checked against a
whitelist, and the sympy expression is built from the tree with an explicit
symbol table: ``E``, ``N``, ``S``, ``beta`` and ``gamma`` stay plain symbols
instead of becoming sympy's constants and functions.
"""

from __future__ import annotations

import ast
import math
import warnings
from typing import Any

import sympy as sp

from .errors import FormulaError

FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
    "max": sp.Max,
    "min": sp.Min,
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}


MAX_LENGTH = 2000  # characters of a formula
MAX_NODES = 400  # nodes of its syntax tree (the catalogue's longest law has under 100)
VARIADIC = ("max", "min")  # functions of two or more arguments; every other function takes one


def formula_tree(text: Any) -> ast.Expression:
    """The syntax tree of ``text`` (``^`` read as ``**``), bounded in length and size.

    >>> sorted(n.id for n in ast.walk(formula_tree("E + A / N^alpha")) if isinstance(n, ast.Name))
    ['A', 'E', 'N', 'alpha']
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula of {len(text)} characters is longer than the {MAX_LENGTH} a law may have")
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise FormulaError(f"formula {_shown(text)!r} is not valid: {err.msg}") from None
    except (ValueError, MemoryError, RecursionError) as err:  # a null byte; nesting too deep for the parser
        raise FormulaError(f"formula {_shown(text)!r} cannot be parsed: {type(err).__name__}") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise FormulaError(f"formula {_shown(text)!r} has {nodes} terms and operators, more than the {MAX_NODES} a law may have")
    return tree


def formula_names(text: Any) -> list[str]:
    """The names a formula uses (inputs, parameters and functions), in the order they first appear.

    >>> formula_names("E + A / N**alpha + A")
    ['E', 'A', 'N', 'alpha']
    """
    names = sorted((n.col_offset, n.id) for n in ast.walk(formula_tree(text)) if isinstance(n, ast.Name))
    return list(dict.fromkeys(name for _, name in names))


def parse_formula(text: str, names: list[str]) -> sp.Expr:
    """Parse ``text`` into a sympy expression over the symbols ``names``; arithmetic on numbers alone is done in
    floating point and must stay finite (``E/0``, ``sqrt(-1)``, ``9**9**9`` are refused).

    >>> parse_formula("E + A / N**alpha", ["E", "A", "N", "alpha"])
    A/N**alpha + E
    """
    symbols = {name: sp.Symbol(name, real=True) for name in names}
    expr = _build(formula_tree(text).body, symbols, _shown(text))
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I):
        raise FormulaError(f"formula {_shown(text)!r} is undefined (it simplifies to {expr}): an infinity or an imaginary number")
    return expr


def _shown(text: str) -> str:
    return text if len(text) <= 100 else text[:100] + "..."


def _build(node: ast.AST, symbols: dict[str, sp.Symbol], text: str) -> sp.Expr:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _build(node.left, symbols, text), _build(node.right, symbols, text)
        if isinstance(node.op, ast.Div) and right.is_number and right == 0:
            raise FormulaError(f"formula {text!r} divides by zero: {ast.unparse(node)!r}")
        return _number(_BINARY[type(node.op)], (left, right), node, text)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_build(node.operand, symbols, text))
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        try:
            value = float(node.value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise FormulaError(f"formula {text!r} holds the number {ast.unparse(node)}, too large for a float")
        return sp.Integer(node.value) if isinstance(node.value, int) and abs(node.value) < 2**53 else sp.Float(value)
    if isinstance(node, ast.Name):
        if node.id not in symbols:
            known = ", ".join(sorted(symbols))
            raise FormulaError(f"formula {text!r} uses unknown name {node.id!r}; known names: {known}")
        return symbols[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name = node.func.id
        if name not in FUNCTIONS:
            raise FormulaError(f"formula {text!r} calls {name!r}; allowed functions: {', '.join(sorted(FUNCTIONS))}")
        if (len(node.args) < 2) if name in VARIADIC else (len(node.args) != 1):
            wanted = "two or more arguments" if name in VARIADIC else "one argument"
            raise FormulaError(f"formula {text!r}: {name} takes {wanted}, got {len(node.args)} in {ast.unparse(node)!r}")
        return _number(FUNCTIONS[name], [_build(arg, symbols, text) for arg in node.args], node, text)
    raise FormulaError(f"formula {text!r} contains unsupported syntax: {ast.unparse(node)!r}")


def _number(operation, args, node: ast.AST, text: str) -> sp.Expr:
    """``operation(*args)``; where every argument is a number, computed in floating point (never as sympy's exact
    integers and radicals, which can take minutes) and refused unless finite and real."""
    if not all(a.is_number for a in args):
        return operation(*args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value = complex(operation(*(sp.Float(float(a)) for a in args)).evalf(20))
    except (OverflowError, ZeroDivisionError, ValueError, TypeError, RuntimeWarning):
        value = complex("nan")
    if value.imag != 0 or not math.isfinite(value.real):
        raise FormulaError(f"formula {text!r}: {ast.unparse(node)!r} is not a finite real number")
    return sp.Float(value.real)


# Weakly informative priors for a formula given without them, by the role a parameter plays (see ``roles``).
DEFAULT_PRIORS = {
    "constant": ({"dist": "LogNormal", "mu": 0.5, "sigma": 1.0}, "a positive constant term (an irreducible loss): median 1.6, 95% in 0.2-12"),
    "coefficient": ({"dist": "LogNormal", "mu": 5.0, "sigma": 3.0}, "the coefficient of a power of an input: median 150, 95% in 0.4-5e4"),
    "exponent": ({"dist": "LogNormal", "mu": -1.1, "sigma": 0.7}, "an exponent of an input (write its sign in the formula): median 0.33, 95% in 0.08-1.3"),
    "other": ({"dist": "Normal", "mu": 0.0, "sigma": 2.5}, "any other parameter: Normal(0, 2.5)"),
}


def roles(expr: sp.Expr, inputs: list[str], params: list[str]) -> dict[str, str]:
    """Each parameter's role in ``expr``: ``exponent`` (in the exponent of a power of an input), ``coefficient``
    (a factor of a term holding such a power), ``constant`` (a term of its own, ``E`` or ``-E``), else ``other``.

    >>> expr = parse_formula("E + A / N**alpha + k * exp(c)", ["E", "A", "N", "alpha", "k", "c"])
    >>> roles(expr, ["N"], ["E", "A", "alpha", "k", "c"])
    {'E': 'constant', 'A': 'coefficient', 'alpha': 'exponent', 'k': 'other', 'c': 'other'}
    """
    symbols = {s.name: s for s in expr.free_symbols}
    xs = {symbols[x] for x in inputs if x in symbols}
    found = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and node.base.free_symbols & xs:
            for s in node.exp.free_symbols - xs:
                found.setdefault(s.name, "exponent")
    for node in [expr, *(n for n in sp.preorder_traversal(expr) if isinstance(n, sp.Add))]:
        for term in sp.Add.make_args(node):
            alone = term.as_coeff_Mul()[1]  # a term of its own, with its sign or a number
            if alone.is_Symbol and alone.name in params:
                found.setdefault(alone.name, "constant")
            elif any(f in xs or (isinstance(f, sp.Pow) and f.base in xs) for f in sp.Mul.make_args(term)):
                for factor in sp.Mul.make_args(term):
                    if factor.is_Symbol and factor.name in params:
                        found.setdefault(factor.name, "coefficient")
    return {p: found.get(p, "other") for p in params}
