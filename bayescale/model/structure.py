"""The structure of a law's formula, read symbolically (pure sympy): which coefficients can be sampled at the
data's centre (pivots), and whether the law is a constant plus power laws (level coordinates).

A positive coefficient ``P`` that multiplies powers of inputs in one additive term (``A / N**alpha`` in
Chinchilla), or an exponential of one input (``k * exp(-gamma * L)`` in Gadre et al.'s downstream law), is a
*pivot*: it is sampled as the log of that term's power-law part at the data's centre, because ``log A`` and
``alpha`` are otherwise correlated at -0.98 or worse. A law that is a positive constant plus such terms has a
:class:`Level` structure, and Kaplan's joint law a :class:`PowerLevel` one (see :mod:`bayescale.model.coordinates`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

from ..laws import Law


def ref_symbol(name: str) -> sp.Symbol:
    """The symbol of input ``name``'s log at the data centre in a pivot's shift."""
    return sp.Symbol(f"__ref_{name}", real=True)


def find_pivots(law: Law) -> dict[str, sp.Expr]:
    """Positive coefficients ``P`` of terms ``P**power * prod(X_i ** e_i) * exp(c * X_j) * rest`` of the formula's sum,
    or of a sum inside it where an exponent parameter enters the shift (``rest`` free of ``P``, which appears nowhere
    else; ``power`` 1 unless ``P`` sits in a power of a product, as in Kaplan's ``(N_c / N)**(alpha_N / alpha_D)``),
    with the log of the term's power-law part at the centre less ``power * log P``: ``sum(e_i * log X_ref_i) + c *
    exp(log X_ref_j)`` (see :func:`pivot_powers`).

    >>> from bayescale.laws import get_law
    >>> find_pivots(get_law("gadre-downstream"))
    {'k': -gamma*exp(__ref_L)}
    >>> sorted(find_pivots(get_law("bian-aspect")))  # the terms of both factors of the product
    ['A', 'B', 'gamma']
    >>> find_pivots(get_law("kaplan"))
    {'N_c': -__ref_N*alpha_N/alpha_D}
    """
    return {name: shift for name, (shift, _) in _pivot_terms(law).items()}


def pivot_powers(law: Law) -> dict[str, sp.Expr]:
    """The power of each pivot ``P`` in its term where it is not 1: the term's log at the centre is
    ``power * log P + shift``.

    >>> from bayescale.laws import get_law
    >>> pivot_powers(get_law("kaplan")), pivot_powers(get_law("chinchilla"))
    ({'N_c': alpha_N/alpha_D}, {})
    """
    return {name: power for name, (_, power) in _pivot_terms(law).items() if power != 1}


def _pivot_terms(law: Law) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    params = {n: sp.Symbol(n, real=True) for n in law.param_names}
    sums = [law.expr] + [node for node in sp.preorder_traversal(law.expr) if isinstance(node, sp.Add) and node is not law.expr]
    pivots = {}
    for node in sums:
        for term in sp.Add.make_args(node):
            coefs, shift, _ = _power_part(term, law)
            if len(coefs) != 1 or shift == 0:
                continue
            (name, power), = coefs.items()
            if (shift.free_symbols | power.free_symbols) & {params[name]}:
                continue
            if node is not law.expr and not shift.free_symbols & set(params.values()):
                continue  # inside a sum within the formula, only a shift with an exponent decorrelates anything
            alone = law.expr.count(params[name]) == 1  # the coefficient is this factor of this term only
            if law.parameters[name].prior.positive and alone:
                pivots[name] = (shift, power)
    return pivots


def _power_part(term: sp.Expr, law: Law) -> tuple[dict[str, sp.Expr], sp.Expr, bool]:
    """A term's parameter factors (each with its power), the log of its power-law factors at the centre, and whether
    it has no other factors. A power of a product (``(N_c / N)**e``, ``e`` free of inputs) counts as its factors'
    powers."""
    inputs = {sp.Symbol(n, real=True) for n in law.input_names}
    coefs, shift, pure = {}, sp.Integer(0), True
    for factor, outer in _factors(term, inputs):
        if factor.is_Number:
            continue
        if factor.is_Symbol and factor.name in law.parameters:
            coefs[factor.name] = outer
            continue
        base, exponent = factor.as_base_exp()
        rate, x = factor.args[0].as_independent(*inputs, as_Add=False) if isinstance(factor, sp.exp) else (0, None)
        if base in inputs and not (exponent.free_symbols & inputs):
            shift += outer * exponent * ref_symbol(base.name)
        elif x in inputs and outer == 1:
            shift += rate * sp.exp(ref_symbol(x.name))
        else:
            pure = False
    return coefs, shift, pure


def _factors(term: sp.Expr, inputs: set[sp.Symbol]) -> list[tuple[sp.Expr, sp.Expr]]:
    """``term``'s factors with the power each is raised to: a power of a product, whose exponent is free of inputs,
    is split into its factors."""
    out = []
    for factor in sp.Mul.make_args(term):
        base, exponent = factor.as_base_exp()
        if isinstance(factor, sp.Pow) and isinstance(base, sp.Mul) and not exponent.free_symbols & inputs:
            out += [(f, exponent) for f in sp.Mul.make_args(base)]
        else:
            out.append((factor, sp.Integer(1)))
    return out


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


@dataclass(frozen=True)
class PowerLevel:
    """A law ``((P / X)**(e / a) + Q / Y)**a`` (Kaplan et al.'s joint law): its outer exponent ``a``, the powered
    term's coefficient ``P`` and exponent ``e``, the other term's coefficient ``Q`` and input ``Y``."""

    outer: str
    coef: str
    exponent: str
    other: str
    other_input: str

    @property
    def names(self) -> tuple[str, ...]:
        return self.outer, self.coef, self.exponent, self.other


def find_power_level(law: Law) -> PowerLevel | None:
    """The :class:`PowerLevel` structure of ``law``, if it has it (positive parameters, two distinct inputs).

    >>> from bayescale.laws import get_law
    >>> find_power_level(get_law("kaplan"))
    PowerLevel(outer='alpha_D', coef='N_c', exponent='alpha_N', other='D_c', other_input='D')
    """
    expr, symbol = law.expr, {n: sp.Symbol(n, real=True) for n in [*law.param_names, *law.input_names]}
    positive = [n for n, p in law.parameters.items() if p.prior.positive]
    if not (isinstance(expr, sp.Pow) and expr.exp.is_Symbol and expr.exp.name in positive and len(expr.base.args) == 2):
        return None
    a = expr.exp.name
    for p, e, q in itertools.permutations([n for n in positive if n != a], 3):
        for x, y in itertools.permutations(law.input_names, 2):
            form = ((symbol[p] / symbol[x]) ** (symbol[e] / symbol[a]) + symbol[q] / symbol[y]) ** symbol[a]
            if form == expr:
                return PowerLevel(a, p, e, q, y)
    return None
