"""The documentation: the notebooks execute on the real data, the site builds with warnings as errors,
its generated pages cover the whole catalogue and command line, and every public function has an example."""

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import bayescale as bs
from bayescale.cli import app

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)
DRAWS = os.environ.get("BAYESCALE_NOTEBOOK_DRAWS", "200")  # per chain; the notebooks' own default is 1000


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    """Where the notebook tests leave executed notebooks, for the site build to reuse."""
    return tmp_path_factory.mktemp("executed-notebooks")


def test_every_public_function_has_a_docstring_and_a_runnable_example():
    """A doctest (run by --doctest-modules) or a call in a notebook (run below)."""
    notebooks = "\n".join(path.read_text() for path in hooks.notebook_paths())
    functions = {name: getattr(bs, name) for name in bs.__all__ if inspect.isfunction(getattr(bs, name))}
    assert [name for name in bs.__all__ if not inspect.getdoc(getattr(bs, name))] == []
    assert [name for name, f in functions.items() if ">>>" not in inspect.getdoc(f) and f"bs.{name}(" not in notebooks] == []


def test_api_page_documents_every_public_name():
    documented = re.findall(r"^::: bayescale\.\w+\.(\w+)$", (ROOT / "docs" / "api.md").read_text(), flags=re.M)
    assert sorted(documented) == sorted(bs.__all__)


def test_catalogue_page_documents_every_law():
    page, images = hooks.catalogue_page()
    headings = re.findall(r"^## (\S+)$", page, flags=re.M)
    assert headings == bs.list_laws()
    assert sorted(images) == sorted(f"laws/{name}.svg" for name in bs.list_laws())
    assert all(data.lstrip().startswith(b"<?xml") for data in images.values())
    for name in bs.list_laws():
        assert f"`{bs.get_law(name).target} = {bs.get_law(name).formula}`" in page
    missing = page.split("## Not in the catalogue, and why")[1]
    partly = re.findall(r"^\| `([a-z0-9-]+)`", missing, flags=re.M)  # shipped laws with something missing
    assert len(partly) >= 6 and set(partly) <= set(bs.list_laws())
    assert "Guo 2024" in missing and "Shukor et al. 2025" in missing


def test_cli_page_documents_every_command():
    page = hooks.cli_page()
    commands = [command.name or command.callback.__name__ for command in app.registered_commands]
    groups = [group.name for group in app.registered_groups]  # listed after the commands, each with its subcommands
    assert re.findall(r"^## `bayescale (\S+)`$", page, flags=re.M) == commands + groups
    assert re.findall(r"^### `bayescale datasets (\S+)`$", page, flags=re.M) == ["fetch"]
    assert "--law <str>" in page


@pytest.mark.slow
@pytest.mark.parametrize("source", hooks.notebook_paths(), ids=lambda path: path.stem)
def test_notebook_executes(source, executed, monkeypatch):
    monkeypatch.setenv("BAYESCALE_NOTEBOOK_DRAWS", DRAWS)
    notebook = nbformat.read(hooks.execute_notebook(source, hooks.executed_path(executed, source)), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    assert not [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert any(out.output_type in ("execute_result", "display_data") for out in code[-1].outputs)


@pytest.mark.slow
def test_site_builds_strictly(executed, tmp_path):
    """``mkdocs build --strict``, reusing the notebooks executed above (executing any that are missing)."""
    env = {**os.environ, "BAYESCALE_EXECUTED_NOTEBOOKS": str(executed), "BAYESCALE_NOTEBOOK_DRAWS": DRAWS}
    site = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    catalogue = (site / "laws" / "index.html").read_text()
    assert all(f'id="{name}"' in catalogue for name in bs.list_laws())
    assert all((site / "laws" / f"{name}.svg").exists() for name in bs.list_laws())
    assert "bayescale.fit.Fit.predict" in (site / "api" / "index.html").read_text()
    for source in hooks.notebook_paths():
        page = (site / "notebooks" / source.stem / "index.html").read_text()
        assert "data:image/png;base64" in page, f"{source.stem}: no figure rendered"
