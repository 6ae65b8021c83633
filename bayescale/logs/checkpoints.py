"""A table of logged runs (:func:`~bayescale.logs.read_runs`) as a law's data: its checkpoints, or each run's last."""

from __future__ import annotations

import warnings

import pandas as pd

from ..errors import DataError, DataWarning
from ..laws import Law, law_from_formula

TOKENS_INPUT = "D"  # the catalogue's name for the tokens a model has seen


def checkpoints(table: pd.DataFrame, law: Law, metric: str, final_only: bool = False) -> pd.DataFrame:
    """``table``'s rows as ``law``'s data: ``metric`` as the law's target, the tokens seen as its ``D`` (where the
    law has one and the table no ``D`` column), rows without a value of ``metric`` left out (counted in a
    :class:`~bayescale.DataWarning`); with ``final_only``, each run's last logged checkpoint only.

    >>> logged = pd.DataFrame({"run": ["a", "a", "b"], "step": [1, 2, 1], "tokens": [1e9, 2e9, 1e9], "loss": [3.0, float("nan"), 2.9]})
    >>> with warnings.catch_warnings(action="ignore", category=DataWarning):
    ...     checkpoints(logged, law_from_formula("E + B / D**beta"), "loss")[["run", "D", "loss"]].values.tolist()
    [['a', 1000000000.0, 3.0], ['b', 1000000000.0, 2.9]]
    """
    if metric not in table.columns:
        raise DataError(f"the logs have no metric {metric!r}; they have {list(table.attrs.get('metrics', table.columns))}")
    out = table.rename(columns={metric: law.target}) if metric != law.target else table.copy()
    if TOKENS_INPUT in law.input_names and TOKENS_INPUT not in out.columns:
        if out["tokens"].isna().all():
            raise DataError(f"law {law.name!r} needs the tokens seen ({TOKENS_INPUT}), which the logs do not give: pass the tokens per "
                            "step (tokens_per_step=, --tokens-per-step) or log a tokens metric")
        out[TOKENS_INPUT] = out["tokens"]
    missing = out[law.target].isna()
    if missing.any():
        warnings.warn(f"{int(missing.sum())} logged steps have no value of {metric!r} and are left out", DataWarning, stacklevel=2)
        out = out[~missing]
    if final_only:
        out = out.sort_values(["run", "step"], kind="stable").groupby("run").tail(1)
    return out.reset_index(drop=True)
