"""Build the PyMC model of a law: priors, partial pooling, robust likelihood.

This is the one place a PyMC model is built, for fitting and for prediction.

Reparametrization for NUTS: a positive coefficient ``P`` that multiplies
powers of inputs in one additive term (``A / N**alpha`` in Chinchilla), or an
exponential of one input (``k * exp(-gamma * L)`` in Gadre et al.'s downstream
law), is sampled as ``P_centre``, the log of that term at the data's centre (the
mean of ``log N``; for the exponential the geometric mean of ``L``), because
``log A`` and ``alpha`` are otherwise correlated at -0.98 or worse. A law that is
a positive constant plus such terms (``E + A / N**alpha + B / D**beta``) goes
further, because the constant trades off against the
exponents along a curved ridge when the runs span little range: it is sampled
as what the runs pin down, the log target at the centre (the *level*), each
term's log share of it relative to the constant, and each term's slope (its
exponent times its share: the derivative of the log target in the log input).
Every change of variables here has unit Jacobian, so the law's own priors are
added back as potentials: the posterior is the one the priors define, in the
law's units. Pooled parameters vary on the prior's own unconstrained scale:
``value_g = f(f⁻¹(pop) + offset_g)`` with ``f`` the PyMC transform (log for
positive parameters); the offsets are centred by default (scaling-law groups
usually hold many runs each), non-centred on request. A pooled coefficient's
offset applies to its term at the data centre. A pooled parameter in level
coordinates has them describe the groups' geometric mean, with zero-sum group
deviations around it and the population value an exact normal step away; when
the constant, terms and slope exponents are all pooled and centred, each group
gets its own level coordinates instead and the population is a normal prior on
the groups' values (every group then has its own ridge to cross).

The likelihood choice fixes the scale the target is observed on: ``studentt`` and ``normal`` put the noise on
the log target around the log of the law (a multiplicative error), ``beta`` observes a bounded target in (0, 1)
itself (an error rate or accuracy) as ``Beta(mu * phi, (1 - mu) * phi)`` around the law's mean ``mu``, with
precision ``phi``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import sympy as sp
from pymc.distributions.distribution import support_point
from pymc.distributions.transforms import _default_transform

from .data import prepare_runs
from .laws import Law
from .priors import Prior

POSITIVE = {"LogNormal", "HalfNormal", "HalfStudentT", "HalfCauchy", "Gamma", "InverseGamma", "Exponential", "Weibull"}
NOISE = {"studentt": ("sigma", "nu"), "normal": ("sigma",), "beta": ("phi",)}  # each likelihood's noise parameters
LIKELIHOODS = tuple(NOISE)
NOISE_PRIORS = {
    "sigma": Prior("HalfNormal", sigma=0.1),
    "nu": Prior("Gamma", alpha=2.0, beta=0.1),
    # Beta precision: y's sd at mean 1/2 is 0.5 / sqrt(1 + phi), 0.015 at the median e^7 and 0.003-0.07 within 2 sd
    "phi": Prior("LogNormal", mu=7.0, sigma=1.5),
}
BOUND = 1e-9  # a Beta mean is kept this far inside (0, 1), where a law leaves it (the likelihood is then tiny)
POOL_SD_PRIOR = Prior("HalfNormal", sigma=0.5)


class ModelError(ValueError):
    """A model specification that cannot be built (bad pooling, likelihood, priors)."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything that defines a model's structure, apart from the data."""

    law: Law
    likelihood: str | None = None  # None: the law's own (``Law.likelihood``), else studentt
    pool: dict[str, str] = field(default_factory=dict)
    extra_priors: dict[str, Prior] = field(default_factory=dict)
    centered: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "likelihood", self.likelihood or self.law.likelihood or "studentt")
        if self.likelihood not in LIKELIHOODS:
            raise ModelError(f"unknown likelihood {self.likelihood!r}; use one of {LIKELIHOODS}")
        unknown = set(self.pool) - set(self.law.parameters)
        if unknown:
            raise ModelError(
                f"pool names {sorted(unknown)}, which are not parameters of law {self.law.name!r} "
                f"({', '.join(self.law.parameters)})"
            )
        if len(set(self.pool.values())) > 1:
            raise ModelError(f"all pooled parameters must share one group column, got {self.pool}")
        for coef, shift in self.pivots.items():
            exponents = sorted(s.name for s in shift.free_symbols if s.name in self.pool)
            if exponents and coef not in self.pool:
                at = " = ".join(s.name.removeprefix("__ref_") for s in shift.free_symbols if s.name.startswith("__ref_"))
                raise ModelError(
                    f"pooling {exponents} needs {coef!r} pooled too (pool={{..., {coef!r}: {self.group!r}}}): with {coef!r} shared, "
                    f"every group's term would be pinned to one value at {at} = 1, far outside the data"
                )
        unpooled = set(self.centered) - set(self.pool)
        if unpooled:
            raise ModelError(f"centered names {sorted(unpooled)}, which are not pooled (pool={self.pool})")
        allowed = set(self.noise_names) | {f"{p}_sd" for p in self.pool}
        unknown = set(self.extra_priors) - allowed
        if unknown:
            raise ModelError(f"priors given for {sorted(unknown)}; besides law parameters, priors can be set for {sorted(allowed)}")

    @property
    def group(self) -> str | None:
        """The group column that pooled parameters vary over (None without pooling)."""
        return next(iter(self.pool.values()), None)

    @property
    def noise_names(self) -> list[str]:
        return list(NOISE[self.likelihood])

    @property
    def log_target(self) -> bool:
        """Whether the likelihood observes the log target (studentt, normal) or the target itself (beta)."""
        return self.likelihood != "beta"

    @property
    def observed_name(self) -> str:
        """The observed node, and the variable of the stored pointwise log likelihood."""
        return "log_loss" if self.log_target else "target"

    def observed(self, values: Any, backend: str = "numpy") -> Any:
        """Target values on the scale the likelihood observes: their log, or as they are for beta."""
        return {"numpy": np.log, "pytensor": pt.log}[backend](values) if self.log_target else values

    def location(self, mean: Any, backend: str = "numpy") -> Any:
        """The likelihood's location for law means ``mean``: their log, or for beta the mean kept inside (0, 1)."""
        if self.log_target:
            return self.observed(mean, backend)
        return {"numpy": np.clip, "pytensor": pt.clip}[backend](mean, BOUND, 1 - BOUND)

    def from_observed(self, values: np.ndarray) -> np.ndarray:
        """Draws on the likelihood's scale back in the target's units."""
        return np.exp(values) if self.log_target else values

    def prepare_runs(self, data: Any, target: bool = True, columns: dict[str, str] | None = None) -> pd.DataFrame:
        """``data`` validated for this model: the law's inputs (in their domains), the target if ``target`` (in (0, 1)
        for beta), the group."""
        law, group = self.law, self.group
        domains = law.domains if self.log_target else {**law.domains, law.target: "unit"}
        return prepare_runs(data, law.input_names, law.target if target else None, groups=[group] if group else [], columns=columns, domains=domains)

    def prior(self, name: str) -> Prior:
        """The prior of a noise or group-scale parameter (law parameters have their own)."""
        return self.extra_priors.get(name) or NOISE_PRIORS.get(name) or POOL_SD_PRIOR

    @cached_property
    def pivots(self) -> dict[str, sp.Expr]:
        """Coefficients sampled at the data centre, each with ``log P = P_centre - shift``."""
        return find_pivots(self.law)

    @cached_property
    def level(self) -> Level | None:
        """The constant, terms and slopes sampled at the data centre, for laws of that shape (else None)."""
        return find_level(self.law, self.pivots)

    @property
    def level_per_group(self) -> bool:
        """Whether each group gets its own level coordinates: when the constant, the terms and the slope
        exponents are all pooled, centred (the population then enters as a normal prior on each group's values)."""
        level = self.level
        return level is not None and {level.constant, *level.terms, *level.slopes.values()} <= set(self.centered)

    @cached_property
    def _shift_fns(self) -> dict[str, Any]:
        law = self.law
        refs = [_ref_symbol(x) for x in law.input_names]
        symbols = [sp.Symbol(p, real=True) for p in law.param_names] + refs
        return {p: sp.lambdify(symbols, shift, modules=[{"log": pt.log, "exp": pt.exp}]) for p, shift in self.pivots.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "law": self.law.to_dict(),
            "likelihood": self.likelihood,
            "pool": dict(self.pool),
            "extra_priors": {k: v.to_dict() for k, v in self.extra_priors.items()},
            "centered": list(self.centered),
        }


def _ref_symbol(name: str) -> sp.Symbol:
    return sp.Symbol(f"__ref_{name}", real=True)


def find_pivots(law: Law) -> dict[str, sp.Expr]:
    """Positive coefficients ``P`` in additive terms ``P * prod(X_i ** e_i) * exp(c * X_j)``, with the term's log at
    the centre less ``log P``: ``sum(e_i * log X_ref_i) + c * exp(log X_ref_j)``.

    >>> from bayescale.laws import get_law
    >>> find_pivots(get_law("gadre-downstream"))
    {'k': -gamma*exp(__ref_L)}
    """
    inputs = {sp.Symbol(n, real=True) for n in law.input_names}
    params = {n: sp.Symbol(n, real=True) for n in law.param_names}
    terms = sp.Add.make_args(law.expr)
    pivots = {}
    for term in terms:
        coefs, shift, ok = [], sp.Integer(0), True
        for factor in sp.Mul.make_args(term):
            if factor.is_Number:
                continue
            if factor.is_Symbol and factor.name in params:
                coefs.append(factor.name)
                continue
            base, exponent = factor.as_base_exp()
            rate, x = factor.args[0].as_independent(*inputs, as_Add=False) if isinstance(factor, sp.exp) else (0, None)
            if base in inputs and not (exponent.free_symbols & inputs):
                shift += exponent * _ref_symbol(base.name)
            elif x in inputs:
                shift += rate * sp.exp(_ref_symbol(x.name))
            else:
                ok = False
        if not ok or len(coefs) != 1 or shift == 0:
            continue
        name = coefs[0]
        others = [t for t in terms if t is not term]
        if law.parameters[name].prior.dist in POSITIVE and not any(params[name] in t.free_symbols for t in others):
            pivots[name] = shift
    return pivots


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
    positive = {n for n, p in law.parameters.items() if p.prior.dist in POSITIVE}
    terms = sp.Add.make_args(law.expr)
    constants = [t for t in terms if t.is_Symbol and t.name in positive]
    if len(constants) != 1:
        return None
    others = [t for t in terms if t is not constants[0]]
    coefs = []
    for term in others:
        names = [p for p in pivots if sp.Symbol(p, real=True) in term.free_symbols]
        if len(names) != 1 or term.as_coeff_Mul()[0] <= 0 or constants[0] in term.free_symbols:
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


def data_centre(runs: pd.DataFrame, inputs: list[str]) -> dict[str, float]:
    """Mean of log input over the runs: the centre that pivoted coefficients are sampled at.

    An input that can be zero (an annealing area) is centred on its positive values, or at
    ``log 1 = 0`` when it has none.

    >>> data_centre(pd.DataFrame({"S2": [0.0, np.e, np.e**3]}), ["S2"])
    {'S2': 2.0}
    """
    centre = {}
    for x in inputs:
        values = runs[x].to_numpy(float)
        positive = values[values > 0]
        centre[x] = float(np.mean(np.log(positive))) if positive.size else 0.0
    return centre


def build_model(
    spec: ModelSpec,
    runs: pd.DataFrame,
    levels: list[str] | None = None,
    centre: dict[str, float] | None = None,
) -> pm.Model:
    """The PyMC model of ``spec`` with ``runs`` observed.

    ``levels`` are the group levels (default: those in ``runs``); ``centre`` the
    log-input centre (default: from ``runs``). Both are stored with a fit, so a
    prediction model is rebuilt exactly.
    """
    law, group = spec.law, spec.group
    levels = list(levels) if levels is not None else (sorted(runs[group].unique()) if group else [])
    centre = centre or data_centre(runs, law.input_names)
    coords = {group: levels} if group else {}
    with pm.Model(coords=coords) as model:
        x = {name: pm.Data(name, runs[name].to_numpy(float)) for name in law.input_names}
        refs = {name: pm.Data(f"log_{name}_centre", centre[name]) for name in law.input_names}
        idx = pm.Data(f"{group}_idx", _codes(runs[group], levels)) if group else None
        values = _parameters(spec, refs, group)
        mu = spec.location(law.evaluate({**x, **_per_run(values, idx)}, backend="pytensor"), "pytensor")
        noise = {n: spec.prior(n).create(n) for n in spec.noise_names}
        name = spec.observed_name
        _likelihood(spec, name, mu, noise, observed=pm.Data(f"{name}_observed", spec.observed(runs[law.target].to_numpy(float))))
    return model


def add_predictions(model: pm.Model, spec: ModelSpec, new: pd.DataFrame, levels: list[str]) -> list[str]:
    """Add mean and new-run nodes for ``new`` rows to a fitted model; unseen groups draw from the population."""
    law, group = spec.law, spec.group
    with model:
        x = {name: pm.Data(f"{name}_new", new[name].to_numpy(float)) for name in law.input_names}
        if group:
            unseen = sorted(set(new[group]) - set(levels))
            model.add_coord(f"{group}_new", unseen)
            idx = pm.Data(f"{group}_idx_new", _codes(new[group], levels + unseen))
            grouped = _new_levels(spec, model, group)
        else:
            idx, grouped = None, {p: model[p] for p in law.param_names}
        mean = pm.Deterministic("mean", law.evaluate({**x, **_per_run(grouped, idx)}, backend="pytensor"))
        noise = {n: model[n] for n in spec.noise_names}
        _likelihood(spec, "new_run", spec.location(mean, "pytensor"), noise)
    return ["mean", "new_run"]


def _parameters(spec: ModelSpec, refs: dict[str, Any], group: str | None) -> dict[str, Any]:
    """Create the law's parameters; return their values (scalars, or vectors over the group)."""
    law = spec.law
    logs, centres = _level_coordinates(spec, refs, group) if spec.level else ({}, {})
    pop, values = {}, {}
    for name in law.param_names:
        if name in spec.pivots:
            continue
        prior = law.parameters[name].prior
        pop_name = f"{name}_pop" if name in spec.pool else name
        if name in logs and spec.level_per_group:
            pop[name] = prior.create(pop_name)
            _groups_around(spec, name, logs[name], pt.log(pop[name]), group)
            values[name] = pm.Deterministic(name, pt.exp(logs[name]), dims=group)
        elif name in logs:
            mean_offset, deviations = _mean_and_deviations(spec, name, group) if name in spec.pool else (0.0, 0.0)
            log_pop = logs[name] - mean_offset
            pop[name] = pm.Deterministic(pop_name, pt.exp(log_pop))
            pm.Potential(f"{name}_prior", _prior_on_log_scale(prior, log_pop))
            if name in spec.pool:
                values[name] = pm.Deterministic(name, pt.exp(logs[name] + deviations), dims=group)
        else:
            pop[name] = prior.create(pop_name)
            if name in spec.pool:
                values[name] = pm.Deterministic(name, _pooled(prior, pop[name], _group_offsets(spec, name, group)), dims=group)
        values.setdefault(name, pop[name])
    for name in spec.pivots:
        prior = law.parameters[name].prior
        pooled = name in spec.pool
        if name in centres and spec.level_per_group:
            centre = _free_centre(spec, name, refs)
            _groups_around(spec, name, centres[name], centre, group)
            offsets = centres[name] - centre
        elif name in centres:
            mean_offset, deviations = _mean_and_deviations(spec, name, group) if pooled else (0.0, 0.0)
            centre = pm.Deterministic(f"{name}_centre", centres[name] - mean_offset)
            offsets = mean_offset + deviations
        else:
            centre = _free_centre(spec, name, refs)
            offsets = _group_offsets(spec, name, group) if pooled else 0.0
        log_pop = centre - _shift(spec, name, pop, refs)
        pm.Potential(f"{name}_prior", _prior_on_log_scale(prior, log_pop))
        if pooled:
            pm.Deterministic(f"{name}_pop", pt.exp(log_pop))
            values[name] = pm.Deterministic(name, pt.exp(centre + offsets - _shift(spec, name, values, refs)), dims=group)
        else:
            values[name] = pm.Deterministic(name, pt.exp(log_pop))
    return values


def _free_centre(spec: ModelSpec, name: str, refs: dict[str, Any]) -> Any:
    """``P_centre``, the log of a pivoted coefficient's term at the data centre, sampled freely from its start."""
    start = pm.Data(f"{name}_centre_start", _centre_start(spec, name, refs))
    return pm.Deterministic(f"{name}_centre", start + pm.Flat(f"{name}_centre_offset"))


def _mean_and_deviations(spec: ModelSpec, name: str, group: str) -> tuple[Any, Any]:
    """A pooled level parameter's group offsets split into their mean and zero-sum deviations.

    The level coordinates then describe the groups' geometric mean, which the runs pin down, and the
    population value lies ``mean`` below it: offsets ``~ Normal(0, sd)`` are exactly a mean
    ``~ Normal(0, sd^2 / groups)`` plus independent ``ZeroSumNormal(sd)`` deviations. ``z`` is stored for new levels.
    """
    sd = spec.prior(f"{name}_sd").create(f"{name}_sd")
    size = len(pm.modelcontext(None).coords[group])
    mean = sd / np.sqrt(size) * pm.Normal(f"{name}_mean_z", 0.0, 1.0)
    if name in spec.centered:
        deviations = pm.ZeroSumNormal(f"{name}_deviation", sigma=sd, dims=group)
    else:
        deviations = sd * pm.ZeroSumNormal(f"{name}_deviation_z", sigma=1.0, dims=group)
    pm.Deterministic(f"{name}_z", (mean + deviations) / sd, dims=group)
    return mean, deviations


def _groups_around(spec: ModelSpec, name: str, group_logs: Any, pop_log: Any, group: str) -> None:
    """The population prior ``log value_g ~ Normal(pop_log, sd)`` on groups that have their own level coordinates."""
    sd = spec.prior(f"{name}_sd").create(f"{name}_sd")
    pm.Potential(f"{name}_groups", pm.logp(pm.Normal.dist(pop_log, sd), group_logs).sum())
    pm.Deterministic(f"{name}_z", (group_logs - pop_log) / sd, dims=group)


def _level_coordinates(spec: ModelSpec, refs: dict[str, Any], group: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sample the level, shares and slopes (see the module docstring), once or per group
    (:attr:`ModelSpec.level_per_group`); return the logs of the constant and the slope exponents and each
    term's log at the centre."""
    level = spec.level
    start = _level_start(spec, refs)
    if spec.level_per_group:
        start = np.tile(start, (len(pm.modelcontext(None).coords[group]), 1))
    free = pm.Data("level_start", start) + pm.Flat("level_offset", shape=start.shape)
    pm.Deterministic("level", free[..., 0])
    shares = free[..., 1 : len(level.terms) + 1]
    log_total = pt.logsumexp(pt.concatenate([pt.zeros_like(shares[..., :1]), shares], axis=-1), axis=-1)
    centres = {coef: free[..., 0] + shares[..., i] - log_total for i, coef in enumerate(level.terms)}
    logs = {level.constant: free[..., 0] - log_total}
    for j, (coef, exponent) in enumerate(level.slopes.items()):
        logs[exponent] = free[..., len(level.terms) + 1 + j] - (centres[coef] - free[..., 0])
    return logs, centres


def _level_start(spec: ModelSpec, refs: dict[str, Any]) -> np.ndarray:
    """Initial level, shares and slopes: the priors' central values carried to the data centre."""
    level, central = spec.level, _central_values(spec)
    log_terms = np.array([_centre_start(spec, coef, refs) for coef in level.terms])
    log_constant = np.log(central[level.constant])
    log_level = np.logaddexp.reduce(np.append(log_terms, log_constant))
    slopes = [np.log(central[exponent]) + log_terms[level.terms.index(coef)] - log_level for coef, exponent in level.slopes.items()]
    return np.concatenate([[log_level], log_terms - log_constant, slopes])


def _group_offsets(spec: ModelSpec, name: str, group: str) -> Any:
    """A pooled parameter's group offsets ``sd * z``, with ``z`` always stored for new levels.

    Centred (``offset ~ Normal(0, sd)``) suits groups with many runs each; non-centred
    (``z ~ Normal(0, 1)``) suits groups with few runs or a scale near zero.
    """
    sd = spec.prior(f"{name}_sd").create(f"{name}_sd")
    if name in spec.centered:
        offset = pm.Normal(f"{name}_offset", 0.0, sd, dims=group)
        pm.Deterministic(f"{name}_z", offset / sd, dims=group)
        return offset
    return sd * pm.Normal(f"{name}_z", 0.0, 1.0, dims=group)


def _pooled(prior: Prior, pop: Any, offsets: Any) -> Any:
    """Group values: the population value moved by ``offsets`` on the prior's unconstrained scale."""
    transform, inputs = _transform(prior)
    if transform is None:
        return pop + offsets
    return transform.backward(transform.forward(pop, *inputs) + offsets, *inputs)


def _new_levels(spec: ModelSpec, model: pm.Model, group: str) -> dict[str, Any]:
    """Parameter values over seen then unseen levels; unseen levels are drawn from the population."""
    law = spec.law
    refs = {x: model[f"log_{x}_centre"] for x in law.input_names}
    values, offsets = {}, {}
    for name in spec.pool:
        z_new = pm.Normal(f"{name}_z_new", 0.0, 1.0, dims=f"{group}_new")
        offsets[name] = model[f"{name}_sd"] * pt.concatenate([model[f"{name}_z"], z_new])
    for name in law.param_names:
        if name in spec.pivots:
            continue
        if name in spec.pool:
            values[name] = _pooled(law.parameters[name].prior, model[f"{name}_pop"], offsets[name])
        else:
            values[name] = model[name]
    for name in spec.pivots:
        if name in spec.pool:
            values[name] = pt.exp(model[f"{name}_centre"] + offsets[name] - _shift(spec, name, values, refs))
        else:
            values[name] = model[name]
    return values


def _per_run(values: dict[str, Any], idx: Any) -> dict[str, Any]:
    return {k: v[idx] if getattr(v, "ndim", 0) else v for k, v in values.items()}


def _shift(spec: ModelSpec, name: str, values: dict[str, Any], refs: dict[str, Any]) -> Any:
    law = spec.law
    args = [values.get(p, pt.constant(1.0)) for p in law.param_names] + [refs[x] for x in law.input_names]
    return spec._shift_fns[name](*args)


def _central_values(spec: ModelSpec) -> dict[str, float]:
    return {p: float(support_point(v.prior.dist_rv()).eval()) for p, v in spec.law.parameters.items()}


def _centre_start(spec: ModelSpec, name: str, refs: dict[str, Any]) -> float:
    """Initial value of ``P_centre``: the prior's central value carried to the data centre."""
    central = _central_values(spec)
    shift = _shift(spec, name, {p: pt.constant(v) for p, v in central.items()}, refs)
    return float(np.log(central[name]) + pt.as_tensor(shift).eval())


def _prior_on_log_scale(prior: Prior, log_value: Any) -> Any:
    """Prior density of ``P`` expressed for ``log P`` (adds the log Jacobian)."""
    return pm.logp(prior.dist_rv(), pt.exp(log_value)) + log_value


def _transform(prior: Prior):
    rv = prior.dist_rv()
    return _default_transform(rv.owner.op, rv), rv.owner.inputs


def _likelihood(spec: ModelSpec, name: str, mu: Any, noise: dict[str, Any], observed: Any = None) -> Any:
    if spec.likelihood == "beta":
        return pm.Beta(name, alpha=mu * noise["phi"], beta=(1 - mu) * noise["phi"], observed=observed)
    if spec.likelihood == "studentt":
        return pm.StudentT(name, nu=noise["nu"], mu=mu, sigma=noise["sigma"], observed=observed)
    return pm.Normal(name, mu=mu, sigma=noise["sigma"], observed=observed)


def _codes(column: pd.Series, levels: list[str]) -> np.ndarray:
    return pd.Categorical(column.astype(str), categories=levels).codes.astype("int64")
