"""The notebooks' form: committed clean, and shaped as lessons. (nbval runs them; this reads them.)"""

import base64
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
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


# How the course was made does not belong in it: a lesson speaks to the student about the subject. That includes
# its history (an earlier version of the course's code, what an old run lacked, "today's code"), the copies of the
# data it was built with ("the offline copy") and the place it was measured or built.
BACKSTAGE = re.compile(
    r"issue author|the issue that|course issue|course brief|the brief|maintainer|CI machine|"
    r"machine that built|this notebook's author|commissioned|authors? of (this|the) course|"
    r"\bthis course's machine|"
    r"\b(an?|the|its|their) earlier (version|revision|draft|copy|release)s? of (the|this|our|its) "
    r"(?!keras\b|tensorflow\b|tf\b|python\b|numpy\b)|"
    r"\bthat run'?s? (\w+ )?(lacked|was missing|did not have)|\btoday's (code|version)|"
    r"\boffline (data )?cop(y|ies)\b|"
    r"\b(where|when|on which|on the machine where) (the|this) (course|lesson|notebook)s? (was|were|is|are) "
    r"(measured|built|made|written|developed|tested|run)\b",
    re.IGNORECASE)
EXERCISES = sorted((ROOT / "notebooks" / "exercises").glob("*/*.ipynb"))


def _texts():
    """(name, text) of every place a student or teacher reads: the lessons, the exercises, README, TEACHING."""
    for path in NOTEBOOKS + EXERCISES:
        yield path.name, "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for name in ("README.md", "TEACHING.md"):
        yield name, (ROOT / name).read_text()


TEXTS = list(_texts())


@pytest.mark.parametrize("name, text", TEXTS, ids=[name for name, _ in TEXTS])
def test_the_text_speaks_about_the_subject_not_how_the_course_was_made(name, text):
    hits = [m.group(0) for m in BACKSTAGE.finditer(text)]
    assert not hits, f"{name} talks about how the course was made: {hits}"


def test_the_backstage_guard_catches_what_it_should():
    assert BACKSTAGE.search("The issue author's uncontended plain run took 3.6 min.")
    assert BACKSTAGE.search("measured by the course maintainers")
    assert BACKSTAGE.search("On the machine that built this lesson it worked")
    assert BACKSTAGE.search("Seed 0 of the augmented arms ran with an earlier version of the fused op")
    assert BACKSTAGE.search("3 timed passes; that run's augmentation lacked the flower recipe's 0.15° shear")
    assert BACKSTAGE.search("The offline copy holds 40 photos per class")
    assert BACKSTAGE.search("the canonical set has 30, the offline copy 25")
    assert BACKSTAGE.search("it needs the ImageNet weights, which could not be downloaded where the course was measured")
    assert BACKSTAGE.search("a rerun of seed 0 with today's code")
    assert not BACKSTAGE.search("That is the output that fills the zhixuhao/unet issue tracker.")
    assert not BACKSTAGE.search("In an earlier version of Keras the layer had no seed.")
    assert not BACKSTAGE.search("A smaller copy of the folder works the same way; work offline with a copy.")


def test_uses_helpers_without_path_hacks(notebook):
    path, nb = notebook
    source = "\n".join(c.source for c in _code(nb))
    assert "sys.path" not in source, f"{path.name}: helpers is installed; do not edit sys.path"
    assert "from helpers import" in source or "import helpers" in source


# The executed copies that `make test` keeps (conftest.py, --save-executed) and `make book` renders: each figure once.
FIGURE_CELLS = {  # cell source -> number of figures it draws
    "import numpy as np\nfrom helpers import plots": 0,
    "plots.show_grid([np.zeros((8, 8))], ['a figure a cell returns, ended with ;']);": 1,
    "for level in (0.25, 0.75):\n    plots.show_grid([np.full((8, 8), level)])": 2,
    "fig = plots.show_grid([np.ones((8, 8))])": 1,
}


def _figures(cell):
    return [base64.b64decode(o["data"]["image/png"]) for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {})]


def test_an_executed_copy_holds_each_figure_once(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in FIGURE_CELLS])
    nbformat.write(nb, tmp_path / "figures.ipynb")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "--save-executed", str(tmp_path / "executed"),
         str(tmp_path / "figures.ipynb")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    executed = nbformat.read(tmp_path / "executed" / "figures.ipynb", as_version=4)
    drawn = {cell.source: len(_figures(cell)) for cell in executed.cells}
    assert drawn == FIGURE_CELLS, f"figures per cell in the executed copy: {drawn}"


def test_the_executed_copies_of_the_current_lessons_hold_each_figure_once():
    from coursetools.book import EXECUTED, reusable

    current = [copy for lesson in NOTEBOOKS for copy in [reusable(lesson, EXECUTED, "quick")] if copy]
    if not current:
        pytest.skip("no executed copy of the current lessons in outputs/executed (make test writes them)")
    twice = [(copy.name, i) for copy in current for i, cell in enumerate(nbformat.read(copy, as_version=4).cells)
             if len(set(_figures(cell))) < len(_figures(cell))]
    assert not twice, f"(lesson, cell) showing the same figure twice: {twice}"


# Keras 3.15's RandomErasing and RandomElasticTransform read a single number f as the probability range (0, f):
# factor=1.0 draws each image's probability from U(0, 1), and about half the images are left untouched. Lessons
# pass the range itself, e.g. factor=(1.0, 1.0), to apply the layer to every image.
RANGE_FACTOR_LAYERS = ("RandomErasing", "RandomElasticTransform")


def _bare_range_factors(source):
    """Calls in ``source`` that build one of RANGE_FACTOR_LAYERS (directly, or handed to a wrapper such as
    ``keras_layer(keras.layers.RandomErasing, factor=1.0)``) with a single number as ``factor``."""
    import ast

    def names(node):
        return {n.attr if isinstance(n, ast.Attribute) else n.id
                for n in ast.walk(node) if isinstance(n, (ast.Attribute, ast.Name))}

    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if not names(ast.Module([ast.Expr(node.func), *map(ast.Expr, node.args)], [])) & set(RANGE_FACTOR_LAYERS):
            continue
        for keyword in node.keywords:
            value = keyword.value
            if isinstance(value, ast.UnaryOp):
                value = value.operand
            if keyword.arg == "factor" and isinstance(value, ast.Constant) and isinstance(value.value, (int, float)):
                found.append(ast.unparse(node)[:90])
    return found


def _lesson_code(path):
    nb = nbformat.read(path, as_version=4)
    return "\n".join(line for c in _code(nb) for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))


@pytest.mark.parametrize("path", NOTEBOOKS + EXERCISES, ids=lambda p: p.name)
def test_no_lesson_passes_a_single_number_as_a_probability_range(path):
    if not any(layer in path.read_text() for layer in RANGE_FACTOR_LAYERS):
        return
    bare = _bare_range_factors(_lesson_code(path))
    assert not bare, (f"{path.name}: factor=<number> is the range (0, number) in these layers, so some images are "
                      f"left untouched; pass the range, e.g. factor=(1.0, 1.0): {bare}")


def test_the_range_factor_guard_reads_calls_as_lessons_write_them():
    assert _bare_range_factors("keras_layer(keras.layers.RandomErasing, factor=1.0, value_range=(0, 255))")
    assert _bare_range_factors("layers.RandomElasticTransform(factor=1, scale=0.5, seed=4)")
    assert not _bare_range_factors("keras.layers.RandomElasticTransform(factor=(1.0, 1.0), scale=0.5)")
    assert not _bare_range_factors("keras.layers.RandomRotation(factor=1.0)")
    assert not _bare_range_factors("for f in (1.0, (1.0, 1.0)):\n    keras.layers.RandomErasing(factor=f)")


# Quick-mode accuracies (lesson 3's 0.083 on 5 classes, lesson 4's 0.219 on 2) carry one note, the same words
# everywhere: config.quick_note() prints config.QUICK_NOTE after them. No lesson writes a disclaimer of its own.
TRAINING_LESSONS = ("02_", "03_", "04_", "05_", "07_")


def _own_quick_notes(source):
    """String literals in ``source`` that speak of quick mode (a note of the lesson's own)."""
    import ast

    return [node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "quick mode" in node.value.lower()]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name.startswith(TRAINING_LESSONS)], ids=lambda p: p.name)
def test_quick_mode_accuracies_carry_the_one_shared_note(path):
    code = [c.source for c in _code(nbformat.read(path, as_version=4))]
    assert any("config.quick_note()" in source for source in code), f"{path.name} prints no config.quick_note()"
    own = [text for source in code for text in _own_quick_notes(source)]
    assert not own, f"{path.name} writes its own quick-mode note; call config.quick_note() instead: {own}"


def test_the_quick_note_guard_finds_a_lessons_own_note():
    assert _own_quick_notes('print(f"{a:.3f}" + (" (quick mode: 2 steps - the number only shows the code runs)" if q else ""))')
    assert not _own_quick_notes("x = f\"your run ({'quick' if q else 'full'} mode)\"  # quick mode: 48 images")
