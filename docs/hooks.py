"""MkDocs hooks: pages generated at build time, never hand-copied.

- ``laws.md``: the law catalogue, from ``models/*.toml`` through :func:`bayescale.get_law`
  (equation rendered by matplotlib's mathtext, inputs, priors, published reference values).
- ``cli.md``: the command-line reference, from the typer app's own help.
- ``notebooks/<name>.ipynb``: each jupytext notebook in ``notebooks/``, executed. If
  ``$BAYESCALE_EXECUTED_NOTEBOOKS`` names a folder that already holds ``notebooks/<name>.ipynb``
  (the tests execute them first), that copy is used; otherwise the notebook is executed here.
  Draw counts follow ``$BAYESCALE_NOTEBOOK_DRAWS`` (the notebooks' default: 1000).

It also registers a Markdown preprocessor for docstrings: doctests (``>>>`` blocks) are fenced as
``pycon`` so that mkdocstrings renders them as code (a doctest's ``['a', 'b']`` is not a Markdown link),
and Sphinx roles (``:func:`~bayescale.fit.fit```) become inline code.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import jupytext
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import typer  # noqa: E402
from markdown import Extension  # noqa: E402
from markdown.preprocessors import Preprocessor  # noqa: E402
from mkdocs.plugins import event_priority  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from typer.cli import get_docs_for_click  # noqa: E402

import bayescale as bs  # noqa: E402
from bayescale.cli import app  # noqa: E402
from bayescale.laws import catalogue_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT_S = 900  # per cell
# pip-installed PyTensor warns once per kernel that it found no BLAS to link its C code to; nutpie samples
# through numba, so the warning says nothing about these notebooks and is kept out of their pages
KERNEL_ENV = {"PYTHONWARNINGS": "ignore:PyTensor could not link to a BLAS installation:UserWarning"}
SPHINX_ROLE = re.compile(r":(?:func|class|meth|attr|mod|exc):`~?(?:[\w.]*\.)?(\w+)`")


def notebook_paths() -> list[Path]:
    """The jupytext (percent-format) notebooks, in reading order (their file names start with a number)."""
    return sorted(NOTEBOOKS.glob("[0-9]*.py"))


def execute_notebook(source: Path, target: Path) -> Path:
    """Execute the jupytext notebook ``source`` in a fresh kernel (working folder: a temporary one) and write it to ``target``."""
    notebook = jupytext.read(source)
    with tempfile.TemporaryDirectory() as cwd:
        client = NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": cwd}})
        client.execute(env={**os.environ, **KERNEL_ENV})
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


def _equation_svg(latex: str) -> bytes:
    fig = plt.figure(figsize=(0.1, 0.1))
    fig.text(0, 0, f"${latex}$", fontsize=16)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.05, transparent=True)
    plt.close(fig)
    return buffer.getvalue()


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def catalogue_page() -> tuple[str, dict[str, bytes]]:
    """The law catalogue as Markdown, and the equation images it links to."""
    names = bs.list_laws()
    lines = [
        "# Law catalogue",
        "",
        f"The {len(names)} laws shipped in `models/`, generated from those files at build time. "
        "`bayescale laws NAME` prints the same; a new law is one more TOML file (see [Concepts](concepts.md)).",
        "",
        "| law | title | inputs |",
        "| --- | --- | --- |",
    ]
    lines += [f"| [`{n}`](#{n}) | {_cell(bs.get_law(n).title)} | {', '.join(bs.get_law(n).input_names)} |" for n in names]
    images = {}
    for name in names:
        law = bs.get_law(name)
        images[f"laws/{name}.svg"] = _equation_svg(law.latex)
        lines += ["", f"## {name}", "", f"**{law.title}.** {law.citation}", "", f"![{name} equation](laws/{name}.svg)", "",
                  f"`{law.target} = {law.formula}`", "", f"Default likelihood: `{law.likelihood or 'studentt'}`; sampler: `{law.sampler or 'nutpie'}`"
                  + "".join(f"; {k}: `{v}`" for k, v in law.fit_defaults.items() if k != "sampler") + ".", "",
                  "| input | unit | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{k}` | {_cell(x.unit)} | {_cell(x.description)} |" for k, x in law.inputs.items()]
        lines += ["", "| parameter | default prior | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{k}` | `{p.prior}` | {_cell(p.meaning)} |" for k, p in law.parameters.items()]
        if law.references:
            lines += ["", "| reference | " + " | ".join(f"`{p}`" for p in law.param_names) + " |", "| --- |" + " --- |" * len(law.param_names)]
            for key, ref in law.references.items():
                values = " | ".join(f"{ref.values[p]:g}" if p in ref.values else "" for p in law.param_names)
                lines.append(f"| {_cell(ref.source)} | {values} |")
    lines += ["", (catalogue_dir() / "MISSING.md").read_text()]
    return "\n".join(lines) + "\n", images


def cli_page() -> str:
    """The command-line reference: every command's usage, arguments and options, from the typer app."""
    command = typer.main.get_command(app)
    text = get_docs_for_click(obj=command, ctx=typer.Context(command), name="bayescale", title="Command-line reference")
    return text.strip() + "\n"


def executed_path(folder: Path, source: Path) -> Path:
    """Where the executed copy of ``source`` lives under ``folder`` (its page's path in the site)."""
    return folder / "notebooks" / f"{source.stem}.ipynb"


class _FenceDoctests(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out, in_doctest, in_fence = [], False, False
        for line in lines:
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            starts = not in_fence and not in_doctest and line.startswith(">>> ")
            if starts:
                out += ["", "```pycon"]
                in_doctest = True
            elif in_doctest and not line.strip():
                out.append("```")
                in_doctest = False
            out.append(line if in_doctest or in_fence else SPHINX_ROLE.sub(r"`\1`", line))
        return out + (["```"] if in_doctest else [])


class FenceDoctests(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(_FenceDoctests(md), "fence_doctests", 35)


@event_priority(100)  # before mkdocstrings reads the Markdown extensions
def on_config(config):
    config.markdown_extensions.append(FenceDoctests())
    return config


@event_priority(100)  # before mkdocs-jupyter turns notebooks into pages
def on_files(files: Files, config) -> Files:
    page, images = catalogue_page()
    files.append(File.generated(config, "laws.md", content=page))
    for uri, data in images.items():
        files.append(File.generated(config, uri, content=data))
    files.append(File.generated(config, "cli.md", content=cli_page()))
    folder = Path(os.environ.get("BAYESCALE_EXECUTED_NOTEBOOKS") or tempfile.mkdtemp(prefix="bayescale-notebooks-"))
    for source in notebook_paths():
        target = executed_path(folder, source)
        if not target.exists():
            execute_notebook(source, target)
        # a plain File (not File.generated): mkdocs-jupyter reads notebooks from their abs_src_path
        files.append(File(target.relative_to(folder).as_posix(), str(folder), config.site_dir, config.use_directory_urls))
    return files
