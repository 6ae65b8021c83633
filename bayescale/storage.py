"""Save and load fits as netCDF, with everything needed to rebuild them embedded.

The law specification, priors, pooling, likelihood, group levels, data centre,
the runs themselves and the package version travel in the file, so ``load``
never consults the current catalogue: a fit saved today predicts the same
numbers after the catalogue changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import pandas as pd
import xarray as xr

from .extrapolation import Calibration
from .laws import law_from_dict
from .model import ModelSpec
from .priors import Prior

FORMAT = "bayescale-fit/1"


class FitFileError(ValueError):
    """A file that is not a readable bayescale fit."""


def save_fit(fit, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``fit`` to ``path`` (netCDF); refuses to replace an existing file unless ``overwrite``."""
    from . import __version__

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    runs = xr.Dataset({col: ("run", fit.runs[col].to_numpy()) for col in fit.runs.columns})
    groups = {g: fit.idata[g].copy() for g in fit.idata.groups() if g != "constant_data"}
    idata = az.InferenceData(**groups, constant_data=runs)
    idata.posterior.attrs.update(
        {
            "bayescale_format": FORMAT,
            "bayescale_version": __version__,
            "bayescale_spec": json.dumps(fit.spec.to_dict()),
            "bayescale_levels": json.dumps(fit.levels),
            "bayescale_centre": json.dumps(fit.centre),
            "bayescale_timings": json.dumps(fit.timings),
            "bayescale_settings": json.dumps(fit.settings),
            "bayescale_calibration": json.dumps(fit.calibration.to_dict() if fit.calibration else None),
        }
    )
    tmp = path.with_name(path.name + ".partial")
    idata.to_netcdf(str(tmp))
    tmp.replace(path)
    return path


def load(path: str | Path):
    """Load a fit saved with :meth:`Fit.save`.

    >>> import bayescale as bs
    >>> bs.load("missing.nc")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no fit file at missing.nc
    """
    from .fit import Fit

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no fit file at {path}")
    try:
        idata = az.from_netcdf(str(path))
    except Exception as err:  # netCDF/HDF5 raise many types for damaged files
        raise FitFileError(f"{path} is not a readable netCDF fit file ({type(err).__name__}: {err})") from None
    attrs = idata.posterior.attrs if "posterior" in idata.groups() else {}
    if attrs.get("bayescale_format") != FORMAT:
        found = attrs.get("bayescale_format", "no bayescale format marker")
        raise FitFileError(f"{path} is not a bayescale fit (expected format {FORMAT!r}, found {found!r})")
    try:
        raw = json.loads(attrs["bayescale_spec"])
        spec = ModelSpec(
            law=law_from_dict(raw["law"]),
            likelihood=raw["likelihood"],
            pool=raw["pool"],
            extra_priors={k: Prior.from_dict(v) for k, v in raw["extra_priors"].items()},
            centered=tuple(raw.get("centered", ())),
        )
        runs = pd.DataFrame({k: v.values for k, v in idata.constant_data.data_vars.items()})
        levels = json.loads(attrs["bayescale_levels"])
        centre = json.loads(attrs["bayescale_centre"])
        timings = json.loads(attrs.get("bayescale_timings", "{}"))
        settings = json.loads(attrs.get("bayescale_settings", "{}"))
        calibration = json.loads(attrs.get("bayescale_calibration", "null"))
    except (KeyError, ValueError, AttributeError) as err:
        raise FitFileError(f"{path} has a damaged bayescale specification: {err}") from None
    return Fit(spec, idata, runs, levels, centre, timings, settings, Calibration.from_dict(calibration) if calibration else None)
