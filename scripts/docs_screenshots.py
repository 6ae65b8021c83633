"""Build the documentation site and screenshot its home page and a notebook page in headless Chromium.

    python scripts/docs_screenshots.py [--chromium /usr/bin/chromium] [--notebook 2_chinchilla_replication]

Writes ``docs-screenshots/home.png`` and ``docs-screenshots/notebook.png`` (the site itself goes to
``docs-screenshots/site``). Notebooks are executed by the build unless ``$BAYESCALE_EXECUTED_NOTEBOOKS``
holds executed copies; ``$BAYESCALE_NOTEBOOK_DRAWS`` sets their draws per chain.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs-screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=1300,2000"]


def screenshot(chromium: str, page: Path, png: Path) -> Path:
    """Render ``page`` (a built HTML file) to ``png`` in a fresh headless Chromium profile."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
    if not png.exists():
        raise RuntimeError(f"Chromium wrote no screenshot of {page}")
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--notebook", default="2_chinchilla_replication", help="which notebook page to screenshot")
    args = parser.parse_args()
    site = OUT / "site"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT, check=True)
    pages = {"home.png": site / "index.html", "notebook.png": site / "notebooks" / args.notebook / "index.html"}
    for name, page in pages.items():
        print(screenshot(args.chromium, page, OUT / name))


if __name__ == "__main__":
    main()
