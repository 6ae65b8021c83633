"""Save and load fits as netCDF, with everything needed to rebuild them embedded.

The law specification, priors, pooling, likelihood, groups, data centre, calibration, the runs themselves
and the package version travel in the file, so loading never consults the current catalogue: a fit saved
today predicts the same numbers after the catalogue changes. Nothing is overwritten unless asked, and a file
is written whole or not at all (a temporary file renamed into place).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import arviz as az
import pandas as pd
import xarray as xr

from .errors import BayescaleError, FitFileError, MissingFileError, OverwriteError, UntrustedCodeError
from .extrapolation import Calibration
from .model.spec import ModelSpec

FORMAT = "bayescale-fit/2"
READS = {"bayescale-fit/1": "bayescale_levels", FORMAT: "bayescale_groups"}  # each format and the attribute holding its groups
FIELDS = ("spec", "groups", "centre", "timings", "settings", "calibration")


def write_fit_file(path: str | Path, idata: az.InferenceData, runs: pd.DataFrame, metadata: dict[str, Any], overwrite: bool = False) -> Path:
    """Write a fit's draws, runs and ``metadata`` (the JSON-able ``FIELDS``) to ``path``; refuses to replace an
    existing file unless ``overwrite``."""
    from . import __version__

    path = Path(path)
    if path.exists() and not overwrite:
        raise OverwriteError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    table = xr.Dataset({col: ("run", runs[col].to_numpy()) for col in runs.columns})
    groups = {g: idata[g].copy() for g in idata.groups() if g != "constant_data"}
    out = az.InferenceData(**groups, constant_data=table)
    out.posterior.attrs.update({"bayescale_format": FORMAT, "bayescale_version": __version__})
    out.posterior.attrs.update({f"bayescale_{k}": json.dumps(metadata[k]) for k in FIELDS})
    tmp = path.with_name(path.name + ".partial")
    out.to_netcdf(str(tmp))
    tmp.replace(path)
    return path


def read_fit_file(path: str | Path, trust_python: bool = False) -> tuple[az.InferenceData, pd.DataFrame, dict[str, Any]]:
    """The draws, runs and metadata of a fit file, the metadata rebuilt (``spec`` a ModelSpec, ``calibration`` a
    Calibration or None)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no fit file at {path}")
    try:
        idata = az.from_netcdf(str(path))
        idata.load()  # read every chunk now: a damaged one fails here, not in a later prediction
    except Exception as err:  # netCDF/HDF5 raise many types for damaged files
        raise FitFileError(f"{path} is not a readable netCDF fit file ({type(err).__name__}: {err})") from None
    attrs = idata.posterior.attrs if "posterior" in idata.groups() else {}
    found = attrs.get("bayescale_format")
    if found not in READS:
        raise FitFileError(f"{path} is not a bayescale fit (expected format {FORMAT!r}, found {found or 'no bayescale format marker'!r})")
    try:
        raw = {k: json.loads(attrs[f"bayescale_{k}"]) for k in ("spec", "centre")}
        raw["groups"] = json.loads(attrs[READS[found]])
        raw.update({k: json.loads(attrs.get(f"bayescale_{k}", default)) for k, default in (("timings", "{}"), ("settings", "{}"), ("calibration", "null"))})
        meta = {**raw, "spec": ModelSpec.from_dict(raw["spec"], trust_python=trust_python)}
        meta["calibration"] = Calibration.from_dict(raw["calibration"]) if raw["calibration"] else None
        runs = pd.DataFrame({k: v.values for k, v in idata.constant_data.data_vars.items()})
    except UntrustedCodeError as err:
        raise UntrustedCodeError(f"{path}: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, BayescaleError) as err:
        raise FitFileError(f"{path} has a damaged bayescale specification: {type(err).__name__}: {err}") from None
    return idata, runs, meta
