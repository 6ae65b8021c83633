"""Compute planning under the posterior: what to train for a budget, and how sure we are.

Every posterior draw of a law in ``N`` (parameters) and ``D`` (tokens) has its own compute-optimal
allocation. For a budget ``C`` we find, per draw, the ``N*`` minimising the loss on the budget line
``C = flops_per_token(N) * D + 2 N T`` (training, 6N per token by default, plus ``T`` inference tokens
at 2N each), so that every answer - ``N*``, ``D*``, ``L*``, ``D*/N*`` and the local allocation
exponents ``a = dlog N*/dlog C``, ``b = dlog D*/dlog C`` - comes as a distribution.

Laws of the Chinchilla form ``E + A/N**alpha + B/D**beta`` (recognised from the formula) with
C = 6ND have the closed form ``N* = G (C/6)**(beta/(alpha+beta))``, ``G = (alpha A/(beta B))**(1/(alpha+beta))``;
any other law in N and D is optimised numerically over ``log N``, vectorised over draws.

The planning functions take a :class:`~bayescale.fit.Fit` or a ``(law, values)`` pair: a law (or its
catalogue name) with parameter values, scalars for a published point estimate or arrays of draws.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp
from matplotlib.figure import Figure

from .data import FLOPS_PER_PARAMETER_TOKEN, compute
from .errors import ArgumentError, ExtrapolationWarning, PlanError
from .fit import Fit, central_probs
from .laws import Law, resolve_law
from .files import save_figure

Posterior = Fit | tuple[Law | str, Mapping[str, Any]]
GRID = 128  # log N grid points per budget, before golden-section refinement
STEP = 0.01  # step in log C of the central differences giving the allocation exponents
METHODS = ("auto", "closed", "numeric")


@dataclass(frozen=True)
class Cost:
    """Compute of a run of ``N`` parameters on ``D`` tokens: ``flops_per_token(N) * D + 2 N inference_tokens``.

    >>> f"{Cost(inference_tokens=1e12).tokens(1e9, 1e22):.4g}"  # (1e22 - 2e9 * 1e12) / (6 * 1e9)
    '1.333e+12'
    """

    flops_per_token: Callable[[np.ndarray], np.ndarray] | None = None  # None: 6N
    inference_tokens: float = 0.0

    def __post_init__(self):
        if not (np.isfinite(self.inference_tokens) and self.inference_tokens >= 0):
            raise ArgumentError(f"inference_tokens must be a non-negative number, got {self.inference_tokens}")

    @property
    def six_nd(self) -> bool:
        """Whether this is the plain C = 6ND (where the closed form holds)."""
        return self.flops_per_token is None and self.inference_tokens == 0

    def per_token(self, n: np.ndarray) -> np.ndarray:
        return FLOPS_PER_PARAMETER_TOKEN * n if self.flops_per_token is None else self.flops_per_token(n)

    def tokens(self, n: np.ndarray, flops: Any) -> np.ndarray:
        """Training tokens that ``flops`` buys for a model of ``n`` parameters (negative: unaffordable)."""
        return (flops - 2.0 * n * self.inference_tokens) / self.per_token(n)

    def flops(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return self.per_token(n) * d + 2.0 * n * self.inference_tokens


# --------------------------------------------------------------------------- the law's structure


def _symbol(law: Law, name: str) -> sp.Symbol:
    return next(s for s in law.expr.free_symbols if s.name == name)


def chinchilla_terms(law: Law) -> dict[str, sp.Expr] | None:
    """``E, A, alpha, B, beta`` as expressions of the parameters if the law is ``E + A/N**alpha + B/D**beta``.

    >>> terms = chinchilla_terms(resolve_law("chinchilla"))
    >>> {k: str(v) for k, v in terms.items()}
    {'E': 'E', 'A': 'A', 'alpha': 'alpha', 'B': 'B', 'beta': 'beta'}
    >>> chinchilla_terms(resolve_law("kaplan")) is None
    True
    """
    n, d = _symbol(law, "N"), _symbol(law, "D")
    constant, powers = [], {}
    for term in sp.Add.make_args(law.expr):
        inputs = term.free_symbols & {n, d}
        if not inputs:
            constant.append(term)
            continue
        if len(inputs) == 2:
            return None
        x = inputs.pop()
        coef, power = term.as_independent(x, as_Add=False)
        base, exponent = power.as_base_exp()
        if base != x or x in powers:
            return None
        powers[x] = (coef, -exponent)
    if len(powers) != 2:
        return None
    (a, alpha), (b, beta) = powers[n], powers[d]
    return {"E": sp.Add(*constant), "A": a, "alpha": alpha, "B": b, "beta": beta}


def _check_inputs(law: Law) -> None:
    if set(law.input_names) != {"N", "D"}:
        raise PlanError(
            f"law {law.name!r} has inputs {', '.join(law.input_names)}; planning splits compute between parameters N and "
            "tokens D, so it needs a law in exactly N and D (e.g. 'chinchilla')"
        )


# --------------------------------------------------------------------------- optimum per draw


def _expand(value: np.ndarray, ndim: int) -> np.ndarray:
    return np.reshape(value, np.shape(value) + (1,) * (ndim - np.ndim(value)))


def _loss(law: Law, draws: Mapping[str, np.ndarray], n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The law's mean per draw (axis 0) at ``n``, ``d`` (further axes broadcast)."""
    ndim = max(np.ndim(n), np.ndim(d))
    return law.evaluate({"N": n, "D": d, **{p: _expand(v, ndim) for p, v in draws.items()}})


def _loss_on_budget(law: Law, draws, log_n: np.ndarray, flops: np.ndarray, cost: Cost) -> np.ndarray:
    """Loss along the budget line at ``log N``; +inf where the budget buys no tokens or the law is undefined."""
    n = np.exp(log_n)
    with np.errstate(all="ignore"):
        d = cost.tokens(n, _expand(flops, np.ndim(log_n)))
        loss = _loss(law, draws, n, d)
    return np.where((d > 0) & np.isfinite(loss), loss, np.inf)


def _golden(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Elementwise minimiser of a unimodal ``f`` on ``[lo, hi]`` by golden-section search.

    >>> float(_golden(lambda x: (x - 0.3) ** 2, np.array(0.0), np.array(1.0))).__round__(9)
    0.3
    """
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(iterations):
        x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        left = f(x1) < f(x2)
        lo, hi = np.where(left, lo, x1), np.where(left, x2, hi)
    return (lo + hi) / 2.0


def _numeric_n(law: Law, draws, flops: np.ndarray, cost: Cost) -> np.ndarray:
    """N* per draw for budgets ``flops`` (one per draw): a log-N grid from 1 to C parameters, then golden section.

    A minimum at the grid's edge (no interior optimum) gives NaN.
    """
    top = np.log(flops)[:, None]
    log_n = top * np.linspace(0.0, 1.0, GRID)
    k = np.argmin(_loss_on_budget(law, draws, log_n, flops, cost), axis=1)
    centre, step = np.take_along_axis(log_n, k[:, None], 1)[:, 0], top[:, 0] / (GRID - 1)
    best = _golden(lambda x: _loss_on_budget(law, draws, x, flops, cost), centre - step, centre + step)
    return np.where((k > 0) & (k < GRID - 1), np.exp(best), np.nan)


def _closed_n(terms: dict[str, Callable], draws, flops: np.ndarray) -> np.ndarray:
    """N* = G (C/6)**(beta/(alpha+beta)), G = (alpha A/(beta B))**(1/(alpha+beta)); NaN where a term is not decreasing."""
    v = {k: np.asarray(f(**draws), float) * np.ones_like(flops) for k, f in terms.items()}
    decreasing = (v["A"] > 0) & (v["B"] > 0) & (v["alpha"] > 0) & (v["beta"] > 0)
    with np.errstate(all="ignore"):
        total = v["alpha"] + v["beta"]
        g = (v["alpha"] * v["A"] / (v["beta"] * v["B"])) ** (1.0 / total)
        n = g * (flops / 6.0) ** (v["beta"] / total)
    return np.where(decreasing, n, np.nan)


@dataclass(frozen=True)
class _Solver:
    """The compute-optimal N per draw for one law, cost model and method."""

    law: Law
    cost: Cost
    method: str = "auto"

    def __post_init__(self):
        _check_inputs(self.law)
        if self.method not in METHODS:
            raise PlanError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.method == "closed" and not self.closed:
            raise PlanError(
                f"method='closed' needs a law of the form E + A/N**alpha + B/D**beta and C = 6ND without inference; "
                f"law {self.law.name!r} is {self.law.formula!r}" + ("" if self.cost.six_nd else " and the cost model is not 6ND")
            )

    @cached_property
    def _terms(self) -> dict[str, Callable] | None:
        terms = chinchilla_terms(self.law)
        if terms is None:
            return None
        symbols = [_symbol(self.law, p) for p in self.law.param_names]
        return {k: sp.lambdify(symbols, v, "numpy") for k, v in terms.items()}

    @property
    def closed(self) -> bool:
        return self._terms is not None and self.cost.six_nd and self.method != "numeric"

    def n(self, draws, flops: np.ndarray) -> np.ndarray:
        if self.closed:
            return _closed_n(self._terms, {p: draws[p] for p in self.law.param_names}, flops)
        return _numeric_n(self.law, draws, flops, self.cost)

    def point(self, draws, flops: np.ndarray) -> dict[str, np.ndarray]:
        """N*, D*, L*, D*/N* and the local exponents a, b per draw at budgets ``flops`` (one per draw)."""
        n = self.n(draws, flops)
        d = self.cost.tokens(n, flops)
        up, down = (self.n(draws, flops * np.exp(s)) for s in (STEP, -STEP))
        with np.errstate(all="ignore"):
            d_up, d_down = self.cost.tokens(up, flops * np.exp(STEP)), self.cost.tokens(down, flops * np.exp(-STEP))
            return {
                "N": n,
                "D": d,
                "loss": _loss(self.law, draws, n, d),
                "tokens_per_param": d / n,
                "a": np.log(up / down) / (2 * STEP),
                "b": np.log(d_up / d_down) / (2 * STEP),
            }

    def best_loss(self, draws, flops: np.ndarray) -> np.ndarray:
        """L*(C) per draw (NaN where the budget has no interior optimum)."""
        n = self.n(draws, flops)
        with np.errstate(all="ignore"):
            return _loss(self.law, draws, n, self.cost.tokens(n, flops))


# --------------------------------------------------------------------------- posterior draws


def _posterior(fit: Posterior) -> tuple[Law, str | None, dict[Any, dict[str, np.ndarray]]]:
    """The law, the group column (None if unpooled) and per group the flattened draws of every parameter."""
    if isinstance(fit, Fit):
        post = fit.idata.posterior
        flat = {p: post[p].values.reshape(post.sizes["chain"] * post.sizes["draw"], -1) for p in fit.law.param_names}
        groups = fit.groups or [None]
        return fit.law, fit.spec.group, {g: {p: v[:, i if v.shape[1] > 1 else 0] for p, v in flat.items()} for i, g in enumerate(groups)}
    if not (isinstance(fit, tuple) and len(fit) == 2):
        raise PlanError(f"expected a Fit or a (law, values) pair, got {type(fit).__name__}")
    law, values = resolve_law(fit[0]), fit[1]
    missing = set(law.param_names) - set(values)
    if missing:
        raise PlanError(f"values lack {sorted(missing)} of law {law.name!r}")
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(values[p], float)) for p in law.param_names))
    return law, None, {None: dict(zip(law.param_names, arrays))}


def _size(draws: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(draws.values())))


def _positive(name: str, values: Any) -> np.ndarray:
    try:
        array = np.atleast_1d(np.asarray(values, float))
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(f"{name} must be positive finite numbers (a scalar or 1-D), got {values!r}") from None
    bad = array[~(np.isfinite(array) & (array > 0))]
    if array.ndim != 1 or bad.size:
        raise ArgumentError(f"{name} must be positive finite numbers (a scalar or 1-D), got {bad.tolist() or values}")
    return array


FAR_DECADES = 3.0  # budgets this many decades beyond the largest fitted run are planned with a warning


def _warn_if_far(fit: Any, budgets: np.ndarray) -> None:
    """Warn where a budget lies more than ``FAR_DECADES`` beyond the compute of the largest fitted run."""
    if not isinstance(fit, Fit) or not {"N", "D"} <= set(fit.runs):
        return
    far = float(np.log10(budgets.max() / compute(fit.runs["N"], fit.runs["D"]).max()))
    if far > FAR_DECADES:
        warnings.warn(f"a budget of {budgets.max():.3g} FLOP lies {far:.1f} decades beyond the largest fitted run: nothing there "
                      "tests the law, so the plan is the law's extrapolation alone", ExtrapolationWarning, stacklevel=3)


def _check_optimum(n: np.ndarray, flops: float, law: Law) -> None:
    missing = np.isnan(n).mean()
    if missing == 1:
        raise PlanError(
            f"at C = {flops:.3g} FLOP no draw of law {law.name!r} has a compute-optimal N between 1 and C parameters "
            "(the loss keeps falling toward an edge): the budget is outside the law's domain"
        )
    if missing:
        warnings.warn(f"at C = {flops:.3g} FLOP {missing:.1%} of the draws have no interior optimum; they are left out", stacklevel=3)


def _summarize(draws: pd.DataFrame, keys: list[str], quantities: list[str], ci_prob: float) -> pd.DataFrame:
    """Median and central ``ci_prob`` interval of each quantity over draws, per ``keys``."""
    long = draws.melt(id_vars=keys, value_vars=quantities, var_name="quantity")
    probs = _probs(ci_prob)
    table = long.groupby(keys + ["quantity"], sort=False)["value"].quantile(probs).unstack()[probs]
    table.columns = ["median", "lower", "upper"]
    return table


def _probs(ci_prob: float) -> list[float]:
    """The median and the ends of the central ``ci_prob`` interval, as probabilities."""
    lower, median, upper = central_probs(ci_prob)
    return [median, lower, upper]


# --------------------------------------------------------------------------- public verbs


@dataclass(frozen=True, repr=False)
class Plan:
    """A compute plan: ``summary`` (median, lower, upper per budget or target and quantity), ``draws`` (one row
    per posterior draw) and, for target-loss plans, ``p_reach`` (share of draws reaching the target within ``max_flops``).
    """

    summary: pd.DataFrame
    draws: pd.DataFrame
    ci_prob: float
    p_reach: pd.Series | None = None

    def __repr__(self) -> str:
        reach = "" if self.p_reach is None else f"\nP(target reachable): {self.p_reach.to_dict()}"
        return f"compute plan, {self.ci_prob:.0%} central intervals\n{self.summary}{reach}"


def plan(
    fit: Posterior,
    flops: Any = None,
    *,
    target_loss: Any = None,
    inference_tokens: float = 0.0,
    flops_per_token: Callable[[np.ndarray], np.ndarray] | None = None,
    method: str = "auto",
    ci_prob: float = 0.9,
    max_flops: float = 1e30,
) -> Plan:
    """Compute-optimal N*, D*, L*, D*/N* and exponents a, b per posterior draw, for budgets or a target loss.

    ``flops``: budgets (FLOP, scalar or 1-D) including inference (``inference_tokens`` at 2N each);
    ``target_loss``: instead, the cheapest budget reaching each loss (``flops`` per draw, ``p_reach``);
    ``flops_per_token``: training FLOP per token as a function of N (default 6N); ``method``: ``"closed"``,
    ``"numeric"`` or ``"auto"`` (closed form where the law and cost allow). Pooled fits get one plan per group.

    >>> hoffmann = ("chinchilla", {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28})
    >>> summary = plan(hoffmann, flops=5.76e23).summary.loc[5.76e23, "median"]
    >>> print(f"N* = {summary['N']:.4g}, D* = {summary['D']:.4g}, a = {summary['a']:.4f}")
    N* = 3.219e+10, D* = 2.982e+12, a = 0.4516
    """
    _probs(ci_prob)
    if (flops is None) == (target_loss is None):
        raise ArgumentError("give exactly one of flops= (budgets) or target_loss= (losses to reach)")
    law, group, groups = _posterior(fit)
    solver = _Solver(law, Cost(flops_per_token, inference_tokens), method)
    keys = [group] if group else []
    if flops is not None:
        budgets = _positive("flops", flops)
        _warn_if_far(fit, budgets)
        frames = [_frontier(solver, draws, budgets) for draws in groups.values()]
        draws = _stack(frames, group, groups)
        return Plan(_summarize(draws, keys + ["flops"], ["N", "D", "loss", "tokens_per_param", "a", "b"], ci_prob), draws, ci_prob)
    targets = _positive("target_loss", target_loss)
    draws = _stack([_cheapest(solver, draws, targets, _positive("max_flops", max_flops)[0]) for draws in groups.values()], group, groups)
    p_reach = draws["flops"].notna().groupby([draws[k] for k in keys + ["target_loss"]], sort=False).mean().rename("p_reach")
    return Plan(_summarize(draws, keys + ["target_loss"], ["flops", "N", "D", "tokens_per_param"], ci_prob), draws, ci_prob, p_reach)


def _stack(frames: list[pd.DataFrame], group: str | None, groups: dict) -> pd.DataFrame:
    if group:
        frames = [frame.assign(**{group: name}) for frame, name in zip(frames, groups)]
    draws = pd.concat(frames, ignore_index=True)
    return draws[[group, *draws.columns[:-1]]] if group else draws


def _frontier(solver: _Solver, draws, budgets: np.ndarray) -> pd.DataFrame:
    size = _size(draws)
    rows = []
    for c in budgets:
        point = solver.point(draws, np.full(size, c))
        _check_optimum(point["N"], c, solver.law)
        rows.append(pd.DataFrame({"flops": c, "draw": np.arange(size), **point}))
    return pd.concat(rows, ignore_index=True)


def _cheapest(solver: _Solver, draws, targets: np.ndarray, max_flops: float, iterations: int = 64) -> pd.DataFrame:
    """Per draw, the smallest budget whose L* reaches each target (bisection in log C); NaN beyond ``max_flops``."""
    size = _size(draws)
    rows = []
    for target in targets:
        lo, hi = np.zeros(size), np.full(size, np.log(max_flops))
        reached = solver.best_loss(draws, np.exp(hi)) <= target
        for _ in range(iterations):
            mid = (lo + hi) / 2
            ok = solver.best_loss(draws, np.exp(mid)) <= target
            lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
        c = np.where(reached, np.exp(hi), np.nan)
        n = solver.n(draws, c)
        d = solver.cost.tokens(n, c)
        rows.append(pd.DataFrame({"target_loss": target, "draw": np.arange(size), "flops": c, "N": n, "D": d, "tokens_per_param": d / n}))
    return pd.concat(rows, ignore_index=True)


def isoflop(
    fit: Posterior,
    flops: Any,
    *,
    points: int = 41,
    span: float = 30.0,
    inference_tokens: float = 0.0,
    flops_per_token: Callable[[np.ndarray], np.ndarray] | None = None,
    ci_prob: float = 0.9,
) -> pd.DataFrame:
    """IsoFLOP curves: the law's loss (median, central interval over draws) along each budget line, for N from
    the median N* divided by ``span`` to times ``span``; ``optimal`` marks the median N* (the middle point, for odd ``points``).

    >>> curves = isoflop(("chinchilla", {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}), [1e21], points=3)
    >>> curves[["N", "median", "optimal"]].round(3).values.tolist()
    [[60807256.563, 2.742, False], [1824217696.896, 2.329, True], [54726530906.867, 2.689, False]]
    """
    probs = _probs(ci_prob)
    law, group, groups = _posterior(fit)
    cost = Cost(flops_per_token, inference_tokens)
    budgets = _positive("flops", flops)
    optimum = plan(fit, budgets, inference_tokens=inference_tokens, flops_per_token=flops_per_token).summary["median"]
    frames = []
    for name, draws in groups.items():
        rows = []
        for c in budgets:
            centre = optimum.loc[(name, c, "N") if group else (c, "N")]
            n = centre * np.geomspace(1.0 / span, span, points)
            d = cost.tokens(n, c)
            q = np.quantile(_loss(law, draws, n[None, :], d[None, :]), probs, axis=0)
            rows.append(pd.DataFrame({"flops": c, "N": n, "D": d, "tokens_per_param": d / n, "median": q[0], "lower": q[1],
                                      "upper": q[2], "optimal": np.arange(points) == points // 2}))
        frames.append(pd.concat(rows, ignore_index=True))
    return _stack(frames, group, groups)


@dataclass(frozen=True, repr=False)
class Crossover:
    """Where law A overtakes law B: ``table`` per budget (P(A better), L*_A, L*_B and A - B with intervals),
    ``draws`` (per draw, the budget at which A first becomes better; NaN if not in the budget range) and
    ``summary`` (P(A overtakes B in range), median and interval of that budget over the draws where it does).
    """

    table: pd.DataFrame
    draws: pd.DataFrame
    summary: pd.Series

    def __repr__(self) -> str:
        return f"crossover of A over B\n{self.summary.to_string()}\n{self.table}"


def crossover(
    fit_a: Posterior,
    fit_b: Posterior,
    flops: Any = None,
    *,
    group_a: Any = None,
    group_b: Any = None,
    inference_tokens: float = 0.0,
    ci_prob: float = 0.9,
    **renamed: Any,
) -> Crossover:
    """Compare the compute-optimal losses of two fits (or two groups of a pooled fit) over budgets ``flops``
    (default 1e15-1e30 FLOP): P(A better) per budget and the budget where A overtakes B, per draw.

    Draws are paired by index: the joint posterior for two groups of one fit, independent posteriors otherwise.

    >>> a = ("chinchilla", {"E": 1.6, "A": 800.0, "B": 800.0, "alpha": 0.34, "beta": 0.28})
    >>> b = ("chinchilla", {"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.34, "beta": 0.28})
    >>> f"{crossover(a, b).summary['median']:.3g}"
    '1.67e+24'
    """
    q = _probs(ci_prob)
    budgets = np.sort(_positive("flops", np.geomspace(1e15, 1e30, 61) if flops is None else flops))
    for old in renamed:
        hint = f"; it is now {'group_' + old[-1]!r}" if old in ("level_a", "level_b") else ""
        raise ArgumentError(f"crossover() got an unexpected keyword argument {old!r}{hint}")
    sides = [_one_group(f, name) for f, name in ((fit_a, group_a), (fit_b, group_b))]
    size = min(_size(draws) for _, draws in sides)
    (solver_a, draws_a), (solver_b, draws_b) = [
        (_Solver(law, Cost(inference_tokens=inference_tokens)), {p: v[:size] for p, v in draws.items()}) for law, draws in sides
    ]

    def gap(c: np.ndarray) -> np.ndarray:
        return solver_a.best_loss(draws_a, c) - solver_b.best_loss(draws_b, c)

    loss_a, loss_b = ([solver.best_loss(draws, np.full(size, c)) for c in budgets] for solver, draws in ((solver_a, draws_a), (solver_b, draws_b)))
    loss_a, loss_b = np.stack(loss_a, axis=1), np.stack(loss_b, axis=1)
    table = pd.DataFrame({"flops": budgets, "p_a_better": (loss_a < loss_b).mean(0)})
    for name, values in (("loss_a", loss_a), ("loss_b", loss_b), ("diff", loss_a - loss_b)):
        table[[f"{name}_median", f"{name}_lower", f"{name}_upper"]] = np.nanquantile(values, q, axis=0).T
    cross = _first_overtake(gap, loss_a - loss_b, budgets)
    crossing = cross[np.isfinite(cross)]
    quantiles = np.quantile(crossing, q) if crossing.size else np.full(3, np.nan)
    summary = pd.Series({"p_overtake": crossing.size / size, **dict(zip(["median", "lower", "upper"], quantiles))})
    return Crossover(table, pd.DataFrame({"draw": np.arange(size), "flops": cross}), summary)


def _one_group(fit: Posterior, name: Any) -> tuple[Law, dict[str, np.ndarray]]:
    law, group, groups = _posterior(fit)
    if group is None and name is not None:
        raise PlanError(f"group {name!r} given for an unpooled fit")
    if group is not None and name not in groups:
        raise PlanError(f"the fit is pooled over {group!r}; pick a group with group_a=/group_b=, one of {list(groups)}, got {name!r}")
    return law, groups[name]


def _first_overtake(gap: Callable[[np.ndarray], np.ndarray], diff: np.ndarray, budgets: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Per draw, the budget where A - B first turns from positive to non-positive, refined by bisection in log C."""
    turns = (diff[:, :-1] > 0) & (diff[:, 1:] <= 0)
    found = turns.any(1)
    k = np.argmax(turns, 1)
    lo, hi = np.log(budgets[k]), np.log(budgets[np.minimum(k + 1, len(budgets) - 1)])
    for _ in range(iterations):
        mid = (lo + hi) / 2
        better = gap(np.exp(mid)) <= 0
        lo, hi = np.where(better, lo, mid), np.where(better, mid, hi)
    return np.where(found, np.exp(hi), np.nan)


# --------------------------------------------------------------------------- figures


def _by_group(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows without the group) per group of a plan summary; one unlabelled part if unpooled."""
    if summary.index.nlevels == 2:
        return [("", summary)]
    return [(str(name), rows.droplevel(0)) for name, rows in summary.groupby(level=0, sort=False)]


def plot_frontier(result: Plan, path: str | None = None, mark: Any = None, overwrite: bool = False):
    """Three panels over the budgets of a plan: N* and D*, L*, and D*/N*, each median with its band.

    ``mark``: budgets to draw as vertical lines (e.g. the one asked about).
    """
    if "flops" not in result.summary.index.names:
        raise ArgumentError("plot_frontier needs a plan over budgets (flops=...), not a target-loss plan")
    fig = Figure(figsize=(14, 4.2))
    axes = fig.subplots(1, 3)
    panels = [(axes[0], "N", "N* (parameters)"), (axes[0], "D", "D* (tokens)"), (axes[1], "loss", "L*"), (axes[2], "tokens_per_param", "D*/N*")]
    for label, rows in _by_group(result.summary):
        for ax, quantity, name in panels:
            part = rows.xs(quantity, level="quantity")
            line = ax.plot(part.index, part["median"], lw=1.5, label=f"{name} {label}".strip())[0]
            ax.fill_between(part.index, part["lower"], part["upper"], alpha=0.25, color=line.get_color())
    for ax, ylabel, title in zip(axes, ["N*, D*", "loss", "tokens per parameter"], ["compute-optimal allocation", "compute-optimal loss", "tokens per parameter"]):
        ax.set(xscale="log", xlabel="compute C (FLOP)", ylabel=ylabel, title=f"{title}, {result.ci_prob:.0%} bands")
        for c in np.atleast_1d(mark if mark is not None else []):
            ax.axvline(c, color="k", lw=0.8, ls=":")
    axes[0].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=7)
    return _save(fig, path, overwrite)


def plot_isoflop(curves: pd.DataFrame, path: str | None = None, overwrite: bool = False):
    """Loss against N along each budget line of :func:`isoflop`, with bands and the median optimum marked."""
    groups = [c for c in curves.columns if c not in {"flops", "N", "D", "tokens_per_param", "median", "lower", "upper", "optimal"}]
    panels = list(curves.groupby(groups[0], sort=False)) if groups else [("", curves)]
    fig = Figure(figsize=(5.5 * len(panels), 4.2))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (label, rows) in zip(axes[0], panels):
        for c, curve in rows.groupby("flops"):
            line = ax.plot(curve["N"], curve["median"], lw=1.5, label=f"C = {c:.0e}")[0]
            ax.fill_between(curve["N"], curve["lower"], curve["upper"], alpha=0.25, color=line.get_color())
            best = curve[curve["optimal"]]
            ax.plot(best["N"], best["median"], "o", color=line.get_color())
        ax.set(xscale="log", xlabel="parameters N", ylabel="loss", title=f"isoFLOP curves {label}".strip())
        ax.legend(fontsize=7)
    return _save(fig, path, overwrite)


def _save(fig: Figure, path: str | None, overwrite: bool) -> Figure:
    fig.tight_layout()
    if path:
        save_figure(fig, path, overwrite)
    return fig
