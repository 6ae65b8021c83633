"""The coordinates each law parameter is sampled in: one small strategy per parametrization.

Each strategy creates its parameter's variables in the PyMC model being built (:meth:`Coordinate.build`) and
draws its values for groups the fit never saw from the posterior's population, in NumPy
(:meth:`Coordinate.new_groups`), so that prediction uses exactly the pooling the fit used.

- :class:`Plain`: the law's prior as it is.
- :class:`Pooled`: a population value and group offsets on the prior's unconstrained scale,
  ``value_g = f(f⁻¹(pop) + offset_g)`` with ``f`` the PyMC transform (log for positive parameters); the offsets
  are centred by default (scaling-law groups usually hold many runs each), non-centred on request.
- :class:`LevelValue`: the constant or a slope exponent of a law that is a positive constant plus power laws
  (``E + A / N**alpha + B / D**beta``), whose constant trades off against the exponents along a curved ridge
  when the runs span little range. Such a law is sampled in :class:`LevelCoordinates`, what the runs pin down:
  the log target at the data centre (the *level*), each term's log share of it relative to the constant, and each
  term's slope (its exponent times its share: the derivative of the log target in the log input).
- :class:`Pivot`: a positive coefficient sampled as ``P_centre``, the log of its term's power-law part at the
  data's centre (the mean of ``log N``), because ``log A`` and ``alpha`` are otherwise correlated at -0.98 or worse.
  A coefficient raised to a power in its term (Kaplan's ``(N_c / N)**(alpha_N / alpha_D)``) has
  ``log P = (P_centre - shift) / power``, and the Jacobian ``1 / power`` joins its prior.

Every other change of variables has unit Jacobian, so the law's own priors are added back as potentials: the posterior is
the one the priors define, in the law's units. A pooled coefficient's offset applies to its term at the data
centre. A pooled parameter in level coordinates has them describe the groups' geometric mean, with zero-sum group
deviations around it and the population value an exact normal step away; when the constant, terms and slope
exponents are all pooled and centred, each group gets its own level coordinates instead and the population is a
normal prior on the groups' values (every group then has its own ridge to cross).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.distributions.distribution import support_point
from pymc.distributions.transforms import _default_transform

from ..priors import Prior
from .spec import ModelSpec


@dataclass
class Build:
    """What the strategies share while one model is built: the log-input centres, the level coordinates' logs
    (constant and slope exponents) and centres (terms), and the population and group values made so far."""

    spec: ModelSpec
    refs: dict[str, Any]
    logs: dict[str, Any] = field(default_factory=dict)
    centres: dict[str, Any] = field(default_factory=dict)
    pop: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def group(self) -> str | None:
        return self.spec.group

    def groups(self) -> int:
        return len(pm.modelcontext(None).coords[self.group])


class Coordinate:
    """How one law parameter is sampled."""

    def __init__(self, spec: ModelSpec, name: str):
        self.spec, self.name = spec, name
        self.prior: Prior = spec.law.parameters[name].prior
        self.pooled = name in spec.pool
        self.centered = name in spec.centered

    def build(self, ctx: Build) -> None:
        """Create the variables in the current model; set ``ctx.pop[name]`` and ``ctx.values[name]``."""
        raise NotImplementedError

    def new_groups(self, draws: dict[str, np.ndarray], z: np.ndarray, values: dict[str, np.ndarray], refs: dict[str, float]) -> np.ndarray:
        """Values (draws × new groups) for groups the fit never saw, from the posterior ``draws`` (flattened, by
        variable name) and standard normal ``z`` (draws × new groups); ``values`` holds the other parameters'
        new-group values made so far."""
        sd = draws[f"{self.name}_sd"][:, None]
        pop = draws[f"{self.name}_pop"][:, None]
        return self.prior.from_unconstrained(self.prior.to_unconstrained(pop) + sd * z)


class Plain(Coordinate):
    def build(self, ctx):
        ctx.pop[self.name] = ctx.values[self.name] = self.prior.create(self.name)


class Pooled(Coordinate):
    def build(self, ctx):
        pop = ctx.pop[self.name] = self.prior.create(f"{self.name}_pop")
        transform, inputs = _transform(self.prior)
        offsets = group_offsets(ctx, self.name, self.centered)
        value = pop + offsets if transform is None else transform.backward(transform.forward(pop, *inputs) + offsets, *inputs)
        ctx.values[self.name] = pm.Deterministic(self.name, value, dims=ctx.group)


class LevelValue(Coordinate):
    """The constant or a slope exponent, from the level coordinates."""

    def build(self, ctx):
        name, log_value = self.name, ctx.logs[self.name]
        if self.spec.level_per_group:
            ctx.pop[name] = self.prior.create(f"{name}_pop")
            groups_around(ctx, name, log_value, pt.log(ctx.pop[name]))
            ctx.values[name] = pm.Deterministic(name, pt.exp(log_value), dims=ctx.group)
            return
        mean, deviations = mean_and_deviations(ctx, name, self.centered) if self.pooled else (0.0, 0.0)
        log_pop = log_value - mean
        ctx.pop[name] = pm.Deterministic(f"{name}_pop" if self.pooled else name, pt.exp(log_pop))
        pm.Potential(f"{name}_prior", prior_on_log_scale(self.prior, log_pop))
        ctx.values[name] = pm.Deterministic(name, pt.exp(log_value + deviations), dims=ctx.group) if self.pooled else ctx.pop[name]


class Pivot(Coordinate):
    """A coefficient sampled at the data centre: freely from its start, or from the level coordinates."""

    def build(self, ctx):
        name, spec = self.name, self.spec
        if name in ctx.centres and spec.level_per_group:
            centre = free_centre(ctx, name)
            groups_around(ctx, name, ctx.centres[name], centre)
            offsets = ctx.centres[name] - centre
        elif name in ctx.centres:
            mean, deviations = mean_and_deviations(ctx, name, self.centered) if self.pooled else (0.0, 0.0)
            centre = pm.Deterministic(f"{name}_centre", ctx.centres[name] - mean)
            offsets = mean + deviations
        else:
            centre = free_centre(ctx, name)
            offsets = group_offsets(ctx, name, self.centered) if self.pooled else 0.0
        log_pop = self.log_value(centre, ctx.pop, ctx.refs)
        jacobian = -pt.log(spec.power(name, ctx.pop)) if name in spec.pivot_powers else 0.0
        pm.Potential(f"{name}_prior", prior_on_log_scale(self.prior, log_pop) + jacobian)
        if self.pooled:
            ctx.pop[name] = pm.Deterministic(f"{name}_pop", pt.exp(log_pop))
            ctx.values[name] = pm.Deterministic(name, pt.exp(self.log_value(centre + offsets, ctx.values, ctx.refs)), dims=ctx.group)
        else:
            ctx.pop[name] = ctx.values[name] = pm.Deterministic(name, pt.exp(log_pop))

    def log_value(self, centre: Any, values: dict[str, Any], refs: dict[str, Any], backend: str = "pytensor") -> Any:
        """``log P`` from ``P_centre`` at the other parameters' ``values``: ``(P_centre - shift) / power``."""
        spec, name = self.spec, self.name
        log_term = centre - spec.shift(name, values, refs, backend)
        return log_term / spec.power(name, values, backend) if name in spec.pivot_powers else log_term

    def new_groups(self, draws, z, values, refs):
        centre = draws[f"{self.name}_centre"][:, None] + draws[f"{self.name}_sd"][:, None] * z
        return np.exp(self.log_value(centre, values, refs, backend="numpy"))


def coordinates(spec: ModelSpec) -> list[Coordinate]:
    """The strategies of a law's parameters, in build order: every other parameter before the pivots, whose
    shifts use the exponents' values."""
    level, power_level = spec.level, spec.power_level
    from_level = {level.constant, *level.slopes.values()} if level else set()
    if power_level:
        from_level = {power_level.outer, power_level.exponent, power_level.other}
    out = []
    for name in spec.law.param_names:
        if name in spec.pivots:
            continue
        kind = LevelValue if name in from_level else Pooled if name in spec.pool else Plain
        out.append(kind(spec, name))
    return out + [Pivot(spec, name) for name in spec.pivots]


class LevelCoordinates:
    """The level, shares and slopes of a constant-plus-power-law law, once or per group
    (:attr:`~bayescale.model.spec.ModelSpec.level_per_group`)."""

    def __init__(self, spec: ModelSpec):
        self.spec, self.level = spec, spec.level

    def build(self, ctx: Build) -> None:
        """Sample the coordinates; set the logs of the constant and the slope exponents and each term's log at the centre."""
        level = self.level
        start = self.start(ctx.refs)
        if self.spec.level_per_group:
            start = np.tile(start, (ctx.groups(), 1))
        free = pm.Data("level_start", start) + pm.Flat("level_offset", shape=start.shape)
        pm.Deterministic("level", free[..., 0])
        shares = free[..., 1 : len(level.terms) + 1]
        log_total = pt.logsumexp(pt.concatenate([pt.zeros_like(shares[..., :1]), shares], axis=-1), axis=-1)
        ctx.centres = {coef: free[..., 0] + shares[..., i] - log_total for i, coef in enumerate(level.terms)}
        ctx.logs = {level.constant: free[..., 0] - log_total}
        for j, (coef, exponent) in enumerate(level.slopes.items()):
            ctx.logs[exponent] = free[..., len(level.terms) + 1 + j] - (ctx.centres[coef] - free[..., 0])

    def start(self, refs: dict[str, Any]) -> np.ndarray:
        """Initial level, shares and slopes: the priors' central values carried to the data centre."""
        level, central = self.level, central_values(self.spec)
        log_terms = np.array([centre_start(self.spec, coef, refs) for coef in level.terms])
        log_constant = np.log(central[level.constant])
        log_level = np.logaddexp.reduce(np.append(log_terms, log_constant))
        slopes = [np.log(central[exponent]) + log_terms[level.terms.index(coef)] - log_level for coef, exponent in level.slopes.items()]
        return np.concatenate([[log_level], log_terms - log_constant, slopes])


class PowerLevelCoordinates:
    """Kaplan's joint law ``((P / X)**(e / a) + Q / Y)**a`` sampled in what the runs pin down: the log target at
    the data centre (``level = a * log(t_P + t_Q)``, with ``t`` each term at the centre), the logit of the powered
    term's share ``w = t_P / (t_P + t_Q)``, and the logs of the two slopes of the log target there (``e * w`` in
    ``log X``, ``a * (1 - w)`` in ``log Y``). In the law's own coordinates ``log Q``, ``a`` and the powered term's
    centre trade along a ridge (correlations of 0.99-1.00 and R-hat up to 1.02 on 148 Chinchilla runs).

    The change of variables to ``(log t_P, log Q, log e, log a)`` has Jacobian ``1 / a``, added here; the powered
    coefficient's ``1 / power`` is added by its :class:`Pivot`."""

    def __init__(self, spec: ModelSpec):
        self.spec, self.level = spec, spec.power_level

    def build(self, ctx: Build) -> None:
        """Sample the coordinates; set the logs of ``a``, ``e`` and ``Q`` and the powered term's log at the centre."""
        level = self.level
        free = pm.Data("level_start", self.start(ctx.refs)) + pm.Flat("level_offset", shape=4)
        pm.Deterministic("level", free[0])
        log_share, log_rest = -pt.softplus(-free[1]), -pt.softplus(free[1])
        log_outer = free[3] - log_rest
        per_outer = free[0] / pt.exp(log_outer)
        ctx.centres = {level.coef: per_outer + log_share}
        ctx.logs = {level.exponent: free[2] - log_share, level.outer: log_outer,
                    level.other: ctx.refs[level.other_input] + per_outer + log_rest}
        pm.Potential("level_jacobian", -log_outer)

    def start(self, refs: dict[str, Any]) -> np.ndarray:
        """Initial level, share and slopes: the priors' central values carried to the data centre."""
        level, central = self.level, central_values(self.spec)
        log_p = centre_start(self.spec, level.coef, refs)
        log_q = np.log(central[level.other]) - _numbers(refs)[level.other_input]
        share = log_p - np.logaddexp(log_p, log_q)
        return np.array([central[level.outer] * np.logaddexp(log_p, log_q), log_p - log_q,
                         np.log(central[level.exponent]) + share, np.log(central[level.outer]) + np.log1p(-np.exp(share))])


# --------------------------------------------------------------------------- group deviations


def group_offsets(ctx: Build, name: str, centered: bool) -> Any:
    """A pooled parameter's group offsets ``sd * z``, with ``z`` always stored for new groups.

    Centred (``offset ~ Normal(0, sd)``) suits groups with many runs each; non-centred
    (``z ~ Normal(0, 1)``) suits groups with few runs or a scale near zero.
    """
    sd = ctx.spec.prior(f"{name}_sd").create(f"{name}_sd")
    if centered:
        offset = pm.Normal(f"{name}_offset", 0.0, sd, dims=ctx.group)
        pm.Deterministic(f"{name}_z", offset / sd, dims=ctx.group)
        return offset
    return sd * pm.Normal(f"{name}_z", 0.0, 1.0, dims=ctx.group)


def mean_and_deviations(ctx: Build, name: str, centered: bool) -> tuple[Any, Any]:
    """A pooled level parameter's group offsets split into their mean and zero-sum deviations.

    The level coordinates then describe the groups' geometric mean, which the runs pin down, and the
    population value lies ``mean`` below it: offsets ``~ Normal(0, sd)`` are exactly a mean
    ``~ Normal(0, sd^2 / groups)`` plus independent ``ZeroSumNormal(sd)`` deviations. ``z`` is stored for new groups.
    """
    sd = ctx.spec.prior(f"{name}_sd").create(f"{name}_sd")
    mean = sd / np.sqrt(ctx.groups()) * pm.Normal(f"{name}_mean_z", 0.0, 1.0)
    if centered:
        deviations = pm.ZeroSumNormal(f"{name}_deviation", sigma=sd, dims=ctx.group)
    else:
        deviations = sd * pm.ZeroSumNormal(f"{name}_deviation_z", sigma=1.0, dims=ctx.group)
    pm.Deterministic(f"{name}_z", (mean + deviations) / sd, dims=ctx.group)
    return mean, deviations


def groups_around(ctx: Build, name: str, group_logs: Any, pop_log: Any) -> None:
    """The population prior ``log value_g ~ Normal(pop_log, sd)`` on groups that have their own level coordinates."""
    sd = ctx.spec.prior(f"{name}_sd").create(f"{name}_sd")
    pm.Potential(f"{name}_groups", pm.logp(pm.Normal.dist(pop_log, sd), group_logs).sum())
    pm.Deterministic(f"{name}_z", (group_logs - pop_log) / sd, dims=ctx.group)


# --------------------------------------------------------------------------- pieces


def free_centre(ctx: Build, name: str) -> Any:
    """``P_centre``, the log of a pivoted coefficient's term at the data centre, sampled freely from its start."""
    start = pm.Data(f"{name}_centre_start", centre_start(ctx.spec, name, ctx.refs))
    return pm.Deterministic(f"{name}_centre", start + pm.Flat(f"{name}_centre_offset"))


def central_values(spec: ModelSpec) -> dict[str, float]:
    """Each law parameter's prior's central value (PyMC's support point)."""
    priors = tuple((v.prior.dist, tuple(sorted(v.prior.kwargs.items()))) for v in spec.law.parameters.values())
    return dict(zip(spec.law.parameters, _support_points(priors)))


@lru_cache(maxsize=256)
def _support_points(priors: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]) -> tuple[float, ...]:
    """The support points of ``(distribution, arguments)`` priors, in one small function (one compile, not one each:
    they took 0.7 s of building a model)."""
    points = [support_point(Prior(dist, **dict(kwargs)).dist_rv()) for dist, kwargs in priors]
    return tuple(float(v) for v in pytensor.function([], points, mode="FAST_COMPILE")())


def centre_start(spec: ModelSpec, name: str, refs: dict[str, Any]) -> float:
    """Initial value of ``P_centre``: the prior's central value carried to the data centre (``refs``: the log-input
    centres, numbers or the model's data)."""
    central, refs = central_values(spec), _numbers(refs)
    power = spec.power(name, central, backend="numpy") if name in spec.pivot_powers else 1.0
    return float(power * np.log(central[name]) + spec.shift(name, central, refs, backend="numpy"))


def _numbers(refs: dict[str, Any]) -> dict[str, float]:
    return {k: float(v.get_value() if hasattr(v, "get_value") else v) for k, v in refs.items()}


def prior_on_log_scale(prior: Prior, log_value: Any) -> Any:
    """Prior density of ``P`` expressed for ``log P`` (adds the log Jacobian)."""
    return pm.logp(prior.dist_rv(), pt.exp(log_value)) + log_value


def _transform(prior: Prior):
    rv = prior.dist_rv()
    return _default_transform(rv.owner.op, rv), rv.owner.inputs
