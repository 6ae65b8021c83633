"""Save and load fits as netCDF, with everything needed to rebuild them embedded.

The law specification, priors, pooling, likelihood, groups, data centre, calibration, the runs themselves
and the package version travel in the file, so loading never consults the current catalogue: a fit saved
today predicts the same numbers after the catalogue changes. A SHA-256 checksum of every array and of the
embedded specification is stored too and checked on load, so a damaged or edited file is refused instead of
predicting something else. Nothing is overwritten unless asked, and a file is written whole or not at all (a
temporary file of its own, renamed into place).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from .errors import BayescaleWarning, FitFileError, MissingFileError, UntrustedCodeError
from .extrapolation import Calibration
from .files import output_path, write_atomically
from .model.spec import ModelSpec

FORMAT = "bayescale-fit/3"
READS = {"bayescale-fit/1": "bayescale_levels", "bayescale-fit/2": "bayescale_groups", FORMAT: "bayescale_groups"}  # each format and the attribute holding its groups
FIELDS = ("spec", "groups", "centre", "timings", "settings", "calibration")
CHECKSUM = "bayescale_checksum"
ROW = "bayescale_row"  # the runs table's dimension, a name no column of the user's takes (files before it used "run")


def write_fit_file(path: str | Path, idata: az.InferenceData, runs: pd.DataFrame, metadata: dict[str, Any], overwrite: bool = False) -> Path:
    """Write a fit's draws, runs and ``metadata`` (the JSON-able ``FIELDS``) to ``path``, with the checksum;
    refuses to replace an existing file unless ``overwrite``."""
    from . import __version__

    path = output_path(path, overwrite)
    table = xr.Dataset({col: (ROW, runs[col].to_numpy()) for col in runs.columns})
    groups = {g: idata[g].copy() for g in idata.groups() if g != "constant_data"}
    out = az.InferenceData(**groups, constant_data=table)
    out.posterior.attrs.update({"bayescale_format": FORMAT, "bayescale_version": __version__})
    out.posterior.attrs.update({f"bayescale_{k}": json.dumps(metadata[k]) for k in FIELDS})
    out.posterior.attrs[CHECKSUM] = checksum(out)
    return write_atomically(path, lambda tmp: out.to_netcdf(tmp))


def checksum(idata: az.InferenceData) -> str:
    """SHA-256 of every variable and coordinate of every group (numbers as float64) and of the bayescale attributes."""
    digest = hashlib.sha256()
    for group in sorted(idata.groups()):
        data = idata[group]
        for name in sorted(map(str, data.variables)):
            values = np.asarray(data[name].values)
            digest.update(f"{group}/{name}/{values.shape}".encode("utf-8", "surrogateescape"))
            if values.dtype.kind in "biuf":
                digest.update(values.astype("<f8").tobytes())
            else:
                digest.update(json.dumps([str(v) for v in values.ravel()]).encode("utf-8", "surrogateescape"))
    attrs = idata.posterior.attrs
    for key in sorted(k for k in attrs if k.startswith("bayescale_") and k != CHECKSUM):
        digest.update(f"{key}={attrs[key]}".encode("utf-8", "surrogateescape"))  # a damaged file may hold invalid text
    return digest.hexdigest()


def read_fit_file(path: str | Path, trust_python: bool = False) -> tuple[az.InferenceData, pd.DataFrame, dict[str, Any]]:
    """The draws, runs and metadata of a fit file, the metadata rebuilt (``spec`` a ModelSpec, ``calibration`` a
    Calibration or None). Any damage or edit is a :class:`~bayescale.FitFileError`."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no fit file at {path}")
    try:
        idata = az.from_netcdf(str(path))
        idata.load()  # read every chunk now: a damaged one fails here, not in a later prediction
    except Exception as err:  # netCDF/HDF5 raise many types for damaged files
        raise FitFileError(f"{path} is not a readable netCDF fit file ({type(err).__name__}: {str(err)[:200]})") from None
    attrs = idata.posterior.attrs if "posterior" in idata.groups() else {}
    found = attrs.get("bayescale_format")
    if found not in READS:
        raise FitFileError(f"{path} is not a bayescale fit (expected format {FORMAT!r}, found {found or 'no bayescale format marker'!r})")
    _check(path, idata, found)
    try:
        raw = {k: json.loads(attrs[f"bayescale_{k}"]) for k in ("spec", "centre")}
        raw["groups"] = json.loads(attrs[READS[found]])
        raw.update({k: json.loads(attrs.get(f"bayescale_{k}", default)) for k, default in (("timings", "{}"), ("settings", "{}"), ("calibration", "null"))})
        meta = {**raw, "spec": ModelSpec.from_dict(raw["spec"], trust_python=trust_python)}
        meta["calibration"] = Calibration.from_dict(raw["calibration"]) if raw["calibration"] else None
        runs = pd.DataFrame({k: v.values for k, v in idata.constant_data.data_vars.items()})
    except UntrustedCodeError as err:
        raise UntrustedCodeError(f"{path}: {err}") from None
    except Exception as err:  # a specification that does not rebuild, whatever the cause
        raise FitFileError(f"{path} has a damaged bayescale specification: {type(err).__name__}: {str(err)[:200]}") from None
    return idata, runs, meta


def _check(path: Path, idata: az.InferenceData, found: str) -> None:
    """Refuse a file whose arrays or specification differ from what was saved (its checksum)."""
    stored = idata.posterior.attrs.get(CHECKSUM)
    if found != FORMAT:
        warnings.warn(f"{path} was written before fit files carried a checksum ({found}): damage or edits cannot be detected; "
                      "save it again to add one", BayescaleWarning, stacklevel=4)
        return
    if not isinstance(stored, str) or stored != checksum(idata):
        raise FitFileError(f"{path} was damaged or edited after it was saved (its checksum does not match its contents); refit or restore it")
