"""Safe parsing of law formulas into sympy expressions.

Formulas are user text, so they are never passed to ``eval`` (``sympy.sympify``
does that). The text is parsed by :mod:`ast`, every node is checked against a
whitelist, and the sympy expression is built from the tree with an explicit
symbol table: ``E``, ``N``, ``S``, ``beta`` and ``gamma`` stay plain symbols
instead of becoming sympy's constants and functions.
"""

from __future__ import annotations

import ast

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


def parse_formula(text: str, names: list[str]) -> sp.Expr:
    """Parse ``text`` into a sympy expression over the symbols ``names``.

    >>> parse_formula("E + A / N**alpha", ["E", "A", "N", "alpha"])
    A/N**alpha + E
    """
    symbols = {name: sp.Symbol(name, real=True) for name in names}
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise FormulaError(f"formula {text!r} is not valid: {err.msg}") from None
    return _build(tree.body, symbols, text)


def _build(node: ast.AST, symbols: dict[str, sp.Symbol], text: str) -> sp.Expr:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_build(node.left, symbols, text), _build(node.right, symbols, text))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_build(node.operand, symbols, text))
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sp.Float(node.value) if isinstance(node.value, float) else sp.Integer(node.value)
    if isinstance(node, ast.Name):
        if node.id not in symbols:
            known = ", ".join(sorted(symbols))
            raise FormulaError(f"formula {text!r} uses unknown name {node.id!r}; known names: {known}")
        return symbols[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id not in FUNCTIONS:
            raise FormulaError(
                f"formula {text!r} calls {node.func.id!r}; allowed functions: {', '.join(sorted(FUNCTIONS))}"
            )
        return FUNCTIONS[node.func.id](*(_build(arg, symbols, text) for arg in node.args))
    raise FormulaError(f"formula {text!r} contains unsupported syntax: {ast.unparse(node)!r}")


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
