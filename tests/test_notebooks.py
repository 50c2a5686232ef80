"""The notebooks' form: committed clean, and shaped as lessons. (nbval runs them; this reads them.)"""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CHECKED = "# NBVAL_CHECK_OUTPUT"  # a cell whose committed output nbval compares on purpose


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_committed_without_outputs(notebook):
    path, nb = notebook
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHECKED not in c.source
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


def test_first_output_is_the_mode_banner(notebook):
    path, nb = notebook
    assert "config.banner(" in _code(nb)[0].source, f"{path.name} must print config.banner() first"


def test_reads_as_a_lesson(notebook):
    path, nb = notebook
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for part in ("**Objectives.**", "**Runtime.**", "## Exercises", "## Summary"):
        assert part in text, f"{path.name} lacks {part!r}"
    assert "pitfall" in text.lower(), f"{path.name} should name the original post's pitfall"


def test_uses_helpers_without_path_hacks(notebook):
    path, nb = notebook
    source = "\n".join(c.source for c in _code(nb))
    assert "sys.path" not in source, f"{path.name}: helpers is installed; do not edit sys.path"
    assert "from helpers import" in source or "import helpers" in source
