"""Write ``bayescale/datasets_manifest.json``: size, sha256 and source URL of every file the data sets read.

    python scripts/dataset_manifest.py [DATA_DIR]      # default: $BAYESCALE_DATA, else ../shared/data

The sizes and hashes are those of the copies in the data directory; each file's path in the source repository is
read from its folder's PROVENANCE.md (a table row naming it and its original path, or a note that the files keep
their relative paths there), the repository and commit from the study's provenance in ``bayescale.datasets``. A
file PROVENANCE.md does not name as a copy is derived (built from the repository's files) and gets no URL.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

from bayescale.datasets import _STUDIES, _files
from bayescale.downloads import MANIFEST, sha256

ROOT = Path(__file__).resolve().parent.parent
_ROW = re.compile(r"^\|(.*)\|\s*$", flags=re.M)
_CODE = re.compile(r"^`([^`]+)`")


def original_path(provenance: str, file: str) -> str | None:
    """The path in the source repository of which ``file`` (relative to its study folder) is a copy, per the
    study's PROVENANCE.md text; None for a derived file."""
    rows = [[cell.strip() for cell in row.split("|")] for row in _ROW.findall(provenance)]
    fields = {row[0]: row[1] for row in rows if len(row) >= 2}
    if _CODE.match(fields.get("file here", "")) and _CODE.match(fields["file here"])[1] == file:
        return _CODE.match(fields["original path"])[1]  # one file, as a key/value table
    for row in rows:
        if len(row) >= 2 and _CODE.match(row[0]) and _CODE.match(row[0])[1] == file:
            if "derived" in row[1].lower():
                return None
            if row[1] == "same" or _CODE.match(row[1]):
                return file if row[1] == "same" else _CODE.match(row[1])[1]
    return file if re.search(r"same relative paths?", provenance) else None


def build(data: Path) -> dict[str, dict]:
    """The manifest's entries, by path under the data directory."""
    entries = {}
    for study in _STUDIES.values():
        provenance = (data / study.folder / "PROVENANCE.md").read_text()
        repository, commit = study.provenance["repository"], study.provenance["commit"]
        if repository.removeprefix("https://github.com/") not in provenance or commit[:7] not in provenance:
            sys.exit(f"{study.folder}/PROVENANCE.md names neither {repository} nor commit {commit}")
        for path, file in zip(_files(study), study.files):
            original = original_path(provenance, file)
            raw = repository.replace("https://github.com/", "https://raw.githubusercontent.com/")
            entries[path] = {
                "size": (data / path).stat().st_size,
                "sha256": sha256(data / path),
                "url": f"{raw}/{commit}/{quote(original)}" if original else None,
            }
    return entries


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BAYESCALE_DATA", ROOT.parent / "shared" / "data"))
    document = {"generated_by": "scripts/dataset_manifest.py", "files": build(data)}
    MANIFEST.write_text(json.dumps(document, indent=1) + "\n")
    derived = [path for path, entry in document["files"].items() if entry["url"] is None]
    print(f"{MANIFEST}: {len(document['files'])} files, {len(derived)} derived: {', '.join(derived)}")


if __name__ == "__main__":
    main()
