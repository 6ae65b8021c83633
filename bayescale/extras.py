"""The optional extras: a module of one, imported on first use, or an error that names the extra to install."""

from __future__ import annotations

import importlib
from typing import Any

from .errors import MissingDependencyError


def requires(module: str, purpose: str, extra: str = "logs") -> Any:
    """``module``, imported; missing, a :class:`MissingDependencyError` naming what needs it and the extra.

    >>> requires("json", "reading JSON").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{purpose} needs {module.split('.')[0]}, which is not installed: pip install 'bayescale[{extra}]'"
        ) from err
