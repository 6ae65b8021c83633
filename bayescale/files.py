"""Writing the user's files: never over an existing one unless asked, never half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import MissingFileError, OutputError, OverwriteError


def output_path(path: str | Path, overwrite: bool = False) -> Path:
    """``path`` checked for writing: its folder exists, and the file does not unless ``overwrite``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise MissingFileError(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    if path.exists() and not overwrite:
        raise OverwriteError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    return path


def write_atomically(path: Path, write) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file (unique, beside ``path``) onto ``path``."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def save_figure(fig: Any, path: str | Path, overwrite: bool = False) -> Path:
    """Save a Matplotlib figure to ``path`` (its format from the suffix, PNG without one), never replacing a file
    unless ``overwrite``."""
    path = output_path(path, overwrite)
    return write_atomically(path, lambda tmp: fig.savefig(tmp, format=path.suffix[1:].lower() or "png", dpi=120))
