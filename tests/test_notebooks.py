"""The notebooks' form: committed clean, and shaped as lessons. (nbval runs them; this reads them.)"""

import re
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
    """The lesson's code cells: all but the Colab setup cell (tests/test_coursetools_colab.py checks that one)."""
    return [c for c in nb.cells if c.cell_type == "code" and c.get("id") != "colab-setup"]


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
    if not path.name.startswith("00_"):  # the start page introduces the course; it reworks no post
        assert "pitfall" in text.lower(), f"{path.name} should name the original post's pitfall"


# How the course was made does not belong in it: a lesson speaks to the student about the subject.
BACKSTAGE = re.compile(r"issue author|the issue that|course issue|course brief|the brief|maintainer|CI machine|"
                       r"machine that built|this notebook's author|commissioned|authors? of (this|the) course|"
                       r"\bthis course's machine", re.IGNORECASE)


def test_the_text_speaks_about_the_subject_not_how_the_course_was_made(notebook):
    path, nb = notebook
    hits = [m.group(0) for c in nb.cells for m in BACKSTAGE.finditer(c.source)]
    assert not hits, f"{path.name} talks about how the course was made: {hits}"


def test_the_backstage_guard_catches_what_it_should():
    assert BACKSTAGE.search("The issue author's uncontended plain run took 3.6 min.")
    assert BACKSTAGE.search("measured by the course maintainers")
    assert BACKSTAGE.search("On the machine that built this lesson it worked")
    assert not BACKSTAGE.search("That is the output that fills the zhixuhao/unet issue tracker.")


def test_uses_helpers_without_path_hacks(notebook):
    path, nb = notebook
    source = "\n".join(c.source for c in _code(nb))
    assert "sys.path" not in source, f"{path.name}: helpers is installed; do not edit sys.path"
    assert "from helpers import" in source or "import helpers" in source
