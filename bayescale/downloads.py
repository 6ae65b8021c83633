"""Downloading the public data sets' files, each checked against the manifest shipped with the package.

``datasets_manifest.json`` (written by ``scripts/dataset_manifest.py``) gives each file under the data directory
its size, sha256 and ``url``: the same bytes in the study's source repository at the pinned commit, or null for a
file derived from that repository's files, which only a mirror of the data directory (``mirror=`` or
``$BAYESCALE_DATA_URL``, laid out as ``<mirror>/<folder>/<file>``) can serve.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import cache
from pathlib import Path
from urllib.parse import quote

from .errors import DatasetError, OutputError
from .files import write_atomically

MIRROR_ENV = "BAYESCALE_DATA_URL"
MANIFEST = Path(__file__).with_name("datasets_manifest.json")
_CHUNK = 1 << 16
_TIMEOUT = 30  # seconds without a byte before a download is given up


@cache
def manifest() -> dict[str, dict]:
    """Each file's entry (``size``, ``sha256``, ``url``), by its path under the data directory."""
    return json.loads(MANIFEST.read_text())["files"]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verified(root: Path, file: str) -> bool:
    """Whether ``root/file`` exists with the manifest's size and sha256."""
    path, entry = root / file, manifest()[file]
    return path.is_file() and path.stat().st_size == entry["size"] and sha256(path) == entry["sha256"]


def mirror_url(mirror: str | None = None) -> str | None:
    """The mirror to download from: ``mirror``, else ``$BAYESCALE_DATA_URL``, else none (the source repositories)."""
    return mirror or os.environ.get(MIRROR_ENV) or None


def download(label: str, files: list[str], root: Path, mirror: str | None = None, source: str = "") -> list[str]:
    """Download those of ``files`` (paths under ``root``) not yet there with the manifest's sha256; return them.

    Every file goes to a temporary file beside its target and is renamed onto it only once its sha256 matches, so
    an interrupted or altered download leaves nothing a later load would read. ``label`` names the data set and
    ``source`` its repository in messages. Raises :class:`~bayescale.DatasetError` for a derived file without a
    mirror (before downloading anything), an unreachable URL, a short download or a checksum mismatch.
    """
    base = mirror_url(mirror)
    todo = [file for file in files if not verified(root, file)]
    urls = {file: f"{base.rstrip('/')}/{quote(file)}" if base else manifest()[file]["url"] for file in todo}
    by_hand = [file for file, url in urls.items() if url is None]
    if by_hand:
        raise DatasetError(
            f"data set {label!r}: {', '.join(by_hand)} {'is' if len(by_hand) == 1 else 'are'} built from the files of "
            f"{source}, not copied from it, so there is nothing to download there; place "
            + "; ".join(f"{file} (sha256 {manifest()[file]['sha256']}) at {root / file}" for file in by_hand)
            + f", or fetch from a mirror of the data directory (--mirror URL or ${MIRROR_ENV})"
        )
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(label, total=sum(manifest()[file]["size"] for file in todo))
        for done, (file, url) in enumerate(urls.items()):
            bar.update(task, description=file)
            others = len(todo) - done - 1
            rest = f"; likewise the {others} other missing files of the data set, listed in {MANIFEST}" if others else ""
            _fetch(url, root, file, lambda n: bar.update(task, advance=n), f"data set {label!r}", rest)
    return todo


def _fetch(url: str, root: Path, file: str, advance, what: str, rest: str) -> None:
    """Download ``url`` to ``root/file`` through a temporary file; ``what`` and ``rest`` begin and end messages."""
    entry, target = manifest()[file], root / file
    by_hand = (f"nothing was kept. Fetch again, or place the file by hand: download that URL elsewhere and put it at "
               f"{target} ({file} under the data directory; sha256 {entry['sha256']}){rest}")

    def write(tmp: str) -> None:
        got, digest = 0, hashlib.sha256()
        with open(tmp, "wb") as out:
            for chunk in _chunks(url, lambda reason: f"{what}: cannot download {url} ({reason}); {by_hand}"):
                out.write(chunk)
                digest.update(chunk)
                got += len(chunk)
                advance(len(chunk))
        if got != entry["size"]:
            raise DatasetError(f"{what}: the download of {url} stopped after {got} of {entry['size']} bytes; {by_hand}")
        if digest.hexdigest() != entry["sha256"]:
            raise DatasetError(f"{what}: {file} downloaded from {url} has sha256 {digest.hexdigest()}, expected "
                               f"{entry['sha256']}; the file was not kept")

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from None
    write_atomically(target, write)


def _chunks(url: str, failure):
    """The bytes at ``url``, in chunks; a network failure is a DatasetError, its message ``failure(cause)``."""
    from http.client import HTTPException
    from urllib.request import urlopen

    try:
        with urlopen(url, timeout=_TIMEOUT) as response:
            while chunk := response.read(_CHUNK):
                yield chunk
    except (OSError, HTTPException) as err:  # URLError, a refused or reset connection, a timeout, a cut-off response
        raise DatasetError(failure(getattr(err, "reason", None) or str(err) or type(err).__name__)) from None
