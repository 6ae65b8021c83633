"""The structure of a law's formula, read symbolically (pure sympy): which coefficients can be sampled at the
data's centre (pivots), and whether the law is a constant plus power laws (level coordinates).

A positive coefficient ``P`` that multiplies powers of inputs in one additive term (``A / N**alpha`` in
Chinchilla), or an exponential of one input (``k * exp(-gamma * L)`` in Gadre et al.'s downstream law), is a
*pivot*: it is sampled as the log of that term's power-law part at the data's centre, because ``log A`` and
``alpha`` are otherwise correlated at -0.98 or worse. A law that is a positive constant plus such terms has a
:class:`Level` structure (see :mod:`bayescale.model.coordinates`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..laws import Law


def ref_symbol(name: str) -> sp.Symbol:
    """The symbol of input ``name``'s log at the data centre in a pivot's shift."""
    return sp.Symbol(f"__ref_{name}", real=True)


def find_pivots(law: Law) -> dict[str, sp.Expr]:
    """Positive coefficients ``P`` of terms ``P * prod(X_i ** e_i) * exp(c * X_j) * rest`` of the formula's sum, or of
    a sum inside it where an exponent parameter enters the shift (``rest`` free of ``P``, which appears nowhere
    else), with the log of the term's power-law part at the centre less ``log P``: ``sum(e_i * log X_ref_i) + c *
    exp(log X_ref_j)``.

    >>> from bayescale.laws import get_law
    >>> find_pivots(get_law("gadre-downstream"))
    {'k': -gamma*exp(__ref_L)}
    >>> sorted(find_pivots(get_law("bian-aspect")))  # the terms of both factors of the product
    ['A', 'B', 'gamma']
    """
    params = {n: sp.Symbol(n, real=True) for n in law.param_names}
    sums = [law.expr] + [node for node in sp.preorder_traversal(law.expr) if isinstance(node, sp.Add) and node is not law.expr]
    pivots = {}
    for node in sums:
        for term in sp.Add.make_args(node):
            coefs, shift, _ = _power_part(term, law)
            if len(coefs) != 1 or shift == 0 or params[coefs[0]] in shift.free_symbols:
                continue
            if node is not law.expr and not shift.free_symbols & set(params.values()):
                continue  # inside a sum within the formula, only a shift with an exponent decorrelates anything
            name = coefs[0]
            alone = law.expr.count(params[name]) == 1  # the coefficient is this factor of this term only
            if law.parameters[name].prior.positive and alone:
                pivots[name] = shift
    return pivots


def _power_part(term: sp.Expr, law: Law) -> tuple[list[str], sp.Expr, bool]:
    """A term's parameter factors, the log of its power-law factors at the centre, and whether it has no other factors."""
    inputs = {sp.Symbol(n, real=True) for n in law.input_names}
    coefs, shift, pure = [], sp.Integer(0), True
    for factor in sp.Mul.make_args(term):
        if factor.is_Number:
            continue
        if factor.is_Symbol and factor.name in law.parameters:
            coefs.append(factor.name)
            continue
        base, exponent = factor.as_base_exp()
        rate, x = factor.args[0].as_independent(*inputs, as_Add=False) if isinstance(factor, sp.exp) else (0, None)
        if base in inputs and not (exponent.free_symbols & inputs):
            shift += exponent * ref_symbol(base.name)
        elif x in inputs:
            shift += rate * sp.exp(ref_symbol(x.name))
        else:
            pure = False
    return coefs, shift, pure


@dataclass(frozen=True)
class Level:
    """A law ``K + sum_k P_k * prod(X ** e)``: its constant ``K``, the coefficients ``P_k`` of its terms, and for
    each term with a single input the exponent parameter whose slope is sampled instead (``{"A": "alpha"}``)."""

    constant: str
    terms: tuple[str, ...]
    slopes: dict[str, str]


def find_level(law: Law, pivots: dict[str, sp.Expr]) -> Level | None:
    """The :class:`Level` structure of ``law`` when it is a positive constant plus positive pivoted terms.

    >>> from bayescale.laws import get_law
    >>> law = get_law("chinchilla")
    >>> find_level(law, find_pivots(law))
    Level(constant='E', terms=('A', 'B'), slopes={'A': 'alpha', 'B': 'beta'})
    """
    positive = {n for n, p in law.parameters.items() if p.prior.positive}
    terms = sp.Add.make_args(law.expr)
    constants = [t for t in terms if t.is_Symbol and t.name in positive]
    if len(constants) != 1:
        return None
    others = [t for t in terms if t is not constants[0]]
    coefs = []
    for term in others:
        names = [p for p in pivots if sp.Symbol(p, real=True) in term.free_symbols]
        pure = _power_part(term, law)[2]
        if len(names) != 1 or not pure or term.as_coeff_Mul()[0] <= 0 or constants[0] in term.free_symbols:
            return None
        coefs.append(names[0])
    if not coefs:
        return None
    slopes = {}
    for coef, term in zip(coefs, others):
        refs = [s for s in pivots[coef].free_symbols if s.name.startswith("__ref_")]
        if len(refs) != 1:
            continue
        _, exponent = sp.expand(pivots[coef] / refs[0]).as_coeff_Mul()
        alone = all(exponent not in t.free_symbols for t in terms if t is not term)
        if exponent.is_Symbol and exponent.name in positive and alone:
            slopes[coef] = exponent.name
    return Level(constants[0].name, tuple(coefs), slopes)
