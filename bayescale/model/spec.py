"""What defines a model apart from the data: the law, the likelihood, pooling and priors, validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp

from ..data import prepare_runs, read_table, rename_columns
from ..errors import DataError, LawError, ModelError
from ..laws import Law, law_from_dict, state_without_caches
from ..likelihoods import Likelihood, get_likelihood
from ..priors import Prior
from .curves import RUN_SCALE, WARMUP, after_warmup
from .structure import Level, PowerLevel, find_level, find_pivots, find_power_level, pivot_powers, ref_symbol

POOL_SD_PRIOR = Prior("HalfNormal", sigma=0.5)  # a pooled parameter's group scale on its unconstrained scale
RUN_SD_PRIOR = Prior("HalfNormal", sigma=0.05)  # sd of a run's offset on the log target: 5% at one sd


@dataclass(frozen=True)
class ModelSpec:
    """The law, likelihood (by name), pooling (parameter -> group column), extra priors (noise and group scales),
    which pooled parameters are centred, and for whole training curves the column naming each checkpoint's run
    (``curves``: a per-run random effect, :mod:`bayescale.model.curves`) with the warm-up fraction left out."""

    law: Law
    likelihood: str | None = None  # None: the law's own (``Law.likelihood``), else studentt
    pool: dict[str, str] = field(default_factory=dict)
    extra_priors: dict[str, Prior] = field(default_factory=dict)
    centered: tuple[str, ...] = ()
    curves: str | None = None
    warmup: float = WARMUP

    def __post_init__(self):
        object.__setattr__(self, "likelihood", get_likelihood(self.likelihood or self.law.likelihood).name)
        unknown = set(self.pool) - set(self.law.parameters)
        if unknown:
            raise ModelError(
                f"pool names {sorted(unknown)}, which are not parameters of law {self.law.name!r} "
                f"({', '.join(self.law.parameters)})"
            )
        if len(set(self.pool.values())) > 1:
            raise ModelError(f"all pooled parameters must share one group column, got {self.pool}")
        for coef, shift in self.pivots.items():
            power = self.pivot_powers.get(coef, sp.Integer(1))
            exponents = sorted(s.name for s in shift.free_symbols | power.free_symbols if s.name in self.pool)
            if exponents and coef not in self.pool:
                at = " = ".join(s.name.removeprefix("__ref_") for s in shift.free_symbols if s.name.startswith("__ref_"))
                raise ModelError(
                    f"pooling {exponents} needs {coef!r} pooled too (pool={{..., {coef!r}: {self.group!r}}}): with {coef!r} shared, "
                    f"every group's term would be pinned to one value at {at} = 1, far outside the data"
                )
        unpooled = set(self.centered) - set(self.pool)
        if unpooled:
            raise ModelError(f"centered names {sorted(unpooled)}, which are not pooled (pool={self.pool})")
        if self.curves is not None:
            self._check_curves()
        allowed = set(self.noise_names) | {f"{p}_sd" for p in self.pool} | ({RUN_SCALE} if self.curves else set())
        unknown = set(self.extra_priors) - allowed
        if unknown:
            raise ModelError(f"priors given for {sorted(unknown)}; besides law parameters, priors can be set for {sorted(allowed)}")

    def _check_curves(self) -> None:
        if not isinstance(self.curves, str) or not self.curves:
            raise ModelError(f"curves names the column of each checkpoint's run (e.g. 'run'); got {self.curves!r}")
        if self.curves in self.law.input_names or self.curves == self.law.target:
            raise ModelError(f"curves={self.curves!r} is an input or the target of law {self.law.name!r}; it must name the run column")
        if self.curves == self.group:
            raise ModelError(f"curves={self.curves!r} is also the pooling column: the per-run effect already varies by run")
        if not self.family.additive:
            raise ModelError(f"a per-run effect (curves={self.curves!r}) adds to the observed scale, which a {self.likelihood} likelihood "
                             "has not; use studentt, normal or normal-raw")
        if not isinstance(self.warmup, (int, float)) or isinstance(self.warmup, bool) or not 0 <= self.warmup < 1:
            raise ModelError(f"warmup is the fraction of each run's tokens left out as warm-up, in [0, 1); got {self.warmup!r}")

    @property
    def family(self) -> Likelihood:
        """The likelihood object (noise parameters, observed scale, densities, draws)."""
        return get_likelihood(self.likelihood)

    @property
    def group(self) -> str | None:
        """The group column that pooled parameters vary over (None without pooling)."""
        return next(iter(self.pool.values()), None)

    @property
    def noise_names(self) -> list[str]:
        return list(self.family.noise)

    def prepare_runs(self, data: Any, target: bool = True, columns: dict[str, str] | None = None) -> pd.DataFrame:
        """``data`` validated for this model: the law's inputs (in their domains), the target if ``target`` (in the
        likelihood's domain), the group."""
        law, group = self.law, self.group
        domains = {**law.domains, law.target: self.family.domain}
        hints = {law.target: f"the {self.family.name!r} likelihood models the log of {law.target!r}: a target that can be zero or "
                 "negative needs likelihood='normal-raw'"} if self.family.log_target else {}
        groups = [group] if group else []
        if self.curves:  # runs to predict at may name no run: each row is then a run of its own, never fitted
            data, columns = self._curves_table(data, columns, required=target), None
            if self.curves in data.columns:
                groups.append(self.curves)
        return prepare_runs(data, law.input_names, law.target if target else None, groups=groups, columns=columns,
                            domains=domains, hints=hints)

    def without_warmup(self, data: Any, columns: dict[str, str] | None = None) -> pd.DataFrame:
        """``data`` (columns renamed) without its warm-up checkpoints (:func:`~bayescale.model.curves.after_warmup`),
        before validation, so that a first checkpoint at zero tokens goes with them."""
        table = self._curves_table(data, columns, required=True)
        return after_warmup(table, self.curves, [x for x in self.law.input_names if x in table.columns], self.warmup)

    def _curves_table(self, data: Any, columns: dict[str, str] | None, required: bool) -> pd.DataFrame:
        table = read_table(data)
        table = rename_columns(table, columns) if columns is not None else table
        if required and self.curves not in table.columns:
            raise DataError(f"curves={self.curves!r} names the column of each checkpoint's run, but the data has no such column; "
                            f"columns: {list(table.columns)}")
        return table

    def prior(self, name: str) -> Prior:
        """The prior of a noise or group-scale parameter (law parameters have their own)."""
        if name == RUN_SCALE:
            return self.extra_priors.get(name) or RUN_SD_PRIOR
        return self.extra_priors.get(name) or self.family.noise.get(name) or POOL_SD_PRIOR

    def __getstate__(self) -> dict[str, Any]:
        return state_without_caches(self)

    @cached_property
    def pivots(self) -> dict[str, sp.Expr]:
        """Coefficients sampled at the data centre, each with ``log P = (P_centre - shift) / power``."""
        return find_pivots(self.law)

    @cached_property
    def pivot_powers(self) -> dict[str, sp.Expr]:
        """The pivots whose ``power`` (see :attr:`pivots`) is not 1."""
        return pivot_powers(self.law)

    @cached_property
    def level(self) -> Level | None:
        """The constant, terms and slopes sampled at the data centre, for laws of that shape (else None)."""
        return find_level(self.law, self.pivots)

    @cached_property
    def power_level(self) -> PowerLevel | None:
        """Kaplan's joint law's level coordinates (:class:`~bayescale.model.coordinates.PowerLevelCoordinates`),
        where the law has that shape and none of its parameters is pooled (else None)."""
        found = find_power_level(self.law)
        return found if found and not set(found.names) & set(self.pool) else None

    @property
    def level_per_group(self) -> bool:
        """Whether each group gets its own level coordinates: when the constant, the terms and the slope
        exponents are all pooled, centred (the population then enters as a normal prior on each group's values)."""
        level = self.level
        return level is not None and {level.constant, *level.terms, *level.slopes.values()} <= set(self.centered)

    def shift(self, name: str, values: dict[str, Any], refs: dict[str, Any], backend: str = "pytensor") -> Any:
        """A pivot's ``shift`` (``log P = (P_centre - shift) / power``) at parameter ``values`` and log-input centres ``refs``."""
        return self._pivot_fns["shift"][backend][name](*self._pivot_args(values, refs))

    def power(self, name: str, values: dict[str, Any], backend: str = "pytensor") -> Any:
        """The ``power`` of a pivot of :attr:`pivot_powers` at parameter ``values``."""
        return self._pivot_fns["power"][backend][name](*self._pivot_args(values, dict.fromkeys(self.law.input_names, 0.0)))

    def _pivot_args(self, values: dict[str, Any], refs: dict[str, Any]) -> list[Any]:
        return [values.get(p, 1.0) for p in self.law.param_names] + [refs[x] for x in self.law.input_names]

    @cached_property
    def _pivot_fns(self) -> dict[str, dict[str, dict[str, Any]]]:
        import pytensor.tensor as pt

        law = self.law
        symbols = [sp.Symbol(p, real=True) for p in law.param_names] + [ref_symbol(x) for x in law.input_names]
        modules = {"pytensor": [{"log": pt.log, "exp": pt.exp}], "numpy": [{"log": np.log, "exp": np.exp}]}
        return {kind: {b: {p: sp.lambdify(symbols, e, modules=m) for p, e in exprs.items()} for b, m in modules.items()}
                for kind, exprs in [("shift", self.pivots), ("power", self.pivot_powers)]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "law": self.law.to_dict(),
            "likelihood": self.likelihood,
            "pool": dict(self.pool),
            "extra_priors": {k: v.to_dict() for k, v in self.extra_priors.items()},
            "centered": list(self.centered),
            **({"curves": self.curves, "warmup": self.warmup} if self.curves else {}),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any], trust_python: bool = False) -> "ModelSpec":
        """Rebuild from :meth:`to_dict` (a saved fit's specification)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("law"), dict):
            raise LawError(f"a model specification needs a law table, got {type(raw).__name__}")
        return cls(
            law=law_from_dict(raw["law"], trust_python=trust_python),
            likelihood=raw.get("likelihood"),
            pool=dict(raw.get("pool") or {}),
            extra_priors={k: Prior.from_dict(v) for k, v in (raw.get("extra_priors") or {}).items()},
            centered=tuple(raw.get("centered") or ()),
            curves=raw.get("curves"),
            warmup=raw.get("warmup", WARMUP),
        )
