"""Every notebook has a text twin (jupytext py:percent, beside it), and the two hold the same cells.

The ``.py`` twin is what people edit and review; ``make sync`` rewrites each ``.ipynb`` from it (keeping cell
ids). These tests fail when the two disagree on any cell's type, source or nbgrader metadata, in order.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def cells(notebook) -> list[tuple]:
    """What must agree between a notebook and its twin: each cell's type, source and nbgrader metadata."""
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in notebook.cells]


def differences(ipynb, text) -> list[str]:
    """The first few disagreements between two notebooks' cells, as readable lines (empty: in sync)."""
    a, b = cells(ipynb), cells(text)
    found = [f"cell {i}: notebook has {x!r:.120}, text twin has {y!r:.120}" for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(a) != len(b):
        found.append(f"the notebook has {len(a)} cells, its text twin {len(b)}")
    return found[:5]


def test_every_notebook_has_a_text_twin_and_every_twin_a_notebook():
    assert len(NOTEBOOKS) >= 15, [p.name for p in NOTEBOOKS]
    missing = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if not p.with_suffix(".py").is_file()]
    assert not missing, f"no text twin (run `jupytext --set-formats ipynb,py:percent` on them): {missing}"
    twins = [p for p in (ROOT / "notebooks").rglob("*.py") if ".ipynb_checkpoints" not in p.parts]
    orphans = [str(p.relative_to(ROOT)) for p in twins if not p.with_suffix(".ipynb").is_file()]
    assert not orphans, f"text sources without a notebook (run `make sync`): {orphans}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_text_twin_hold_the_same_cells(path):
    found = differences(nbformat.read(path, as_version=4), jupytext.read(path.with_suffix(".py")))
    assert not found, f"{path.name} and its .py twin differ (edit the .py, then `make sync`):\n" + "\n".join(found)


def test_removing_one_line_from_either_side_is_caught():
    path = ROOT / "notebooks" / "02_cifar10_augmentation_experiment.ipynb"
    ipynb, text = nbformat.read(path, as_version=4), jupytext.read(path.with_suffix(".py"))
    assert not differences(ipynb, text)
    for side in (ipynb, text):
        cell = next(c for c in side.cells if c.cell_type == "code" and c.source.count("\n") > 2)
        kept = cell.source
        cell.source = "\n".join(kept.splitlines()[1:])
        assert differences(ipynb, text), "a line removed from one side went unnoticed"
        cell.source = kept
    assert not differences(ipynb, text)



MAX_CELLS, MAX_WORDS = 40, 3000  # a lesson fits a class week: at most 40 cells and 3,000 words of prose


@pytest.mark.parametrize("source", sorted((ROOT / "notebooks").glob("0*.py")), ids=lambda p: p.stem)
def test_no_lesson_is_longer_than_a_class_week(source):
    cells = jupytext.read(source).cells
    words = sum(len(c.source.split()) for c in cells if c.cell_type == "markdown")
    assert len(cells) <= MAX_CELLS, f"{source.name}: {len(cells)} cells, more than {MAX_CELLS}"
    assert words <= MAX_WORDS, f"{source.name}: {words} words of prose, more than {MAX_WORDS}"


def test_every_notebook_carries_the_kernel_metadata_jupyterlab_writes():
    """Else JupyterLab marks it modified on opening (coursetools.notebook_metadata; the Python version aside)."""
    from coursetools import notebook_metadata

    want = notebook_metadata.expected()
    assert want["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    bad = {p.name: d for p in notebook_metadata.notebooks() if (d := notebook_metadata.differences(p, want))}
    assert not bad, f"run python -m coursetools.notebook_metadata: {bad}"
