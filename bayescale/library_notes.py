"""Notes the libraries print at import, and the one that would crash processes starting together.

ArviZ warns once a day that it is being refactored and records the day in a stamp file under the user's cache
(``arviz/daily_warning``) through a temporary file of one fixed name: two processes importing ArviZ at the same
moment (test workers, a ``workers=2`` pool, Dask workers on the first call of a day) can both write that temporary
file, and the second rename fails with ``FileNotFoundError`` inside ``import arviz``. :func:`stamp_arviz_notice`
writes the same stamp first, through a temporary file of its own, so ArviZ finds today's date and writes nothing.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

NOTES = ("ArviZ is undergoing a major refactor", "PyTensor could not link to a BLAS")  # at import, nothing to act on


def arviz_stamp_file() -> Path:
    """Where ArviZ keeps the day it last showed its refactor notice (its own ``platformdirs`` choice)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("arviz", "arviz")) / "daily_warning"


def stamp_arviz_notice(today: datetime.date | None = None) -> None:
    """Record ``today`` as the day ArviZ's notice was shown, atomically and safely alongside other processes.

    A cache that cannot be written is left alone: the notice is only a notice.
    """
    stamp = arviz_stamp_file()
    day = (today or datetime.date.today()).isoformat()
    try:
        if stamp.read_text().strip() == day:
            return
    except (OSError, UnicodeDecodeError):
        pass
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=stamp.parent, prefix=".daily_warning.")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w") as out:
            out.write(day)
        os.replace(temporary, stamp)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
