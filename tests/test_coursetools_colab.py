"""Every lesson opens in Colab from one address, and its setup cell does nothing outside Colab.
(The install path the cell takes, `pip install -e .` with loose ranges, is tested by `bash .ci/oldest`.)"""

import json
import os
import shutil
import sys

import jupytext
import nbformat
import pytest

from coursetools import colab
from helpers import config

LESSONS = colab.lessons()  # the lessons' .py twins


def test_the_lessons_are_found():
    assert len(LESSONS) >= 8 and all(p.with_suffix(".ipynb").is_file() for p in LESSONS)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_has_the_badge_first_and_the_setup_cell_first_among_code(path):
    badge, setup = colab.lesson_cells(path)
    for nb in (jupytext.read(path), nbformat.read(path.with_suffix(".ipynb"), as_version=4)):
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source == badge, "run `python -m coursetools.colab`"
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.source == setup, "run `python -m coursetools.colab`"
    assert (nb.cells[0].id, first_code.id) == (colab.BADGE_ID, colab.SETUP_ID), "run `python -m coursetools.colab`"
    assert f"{colab.repository().removeprefix('https://github.com/')}/blob/main/notebooks/{path.stem}.ipynb)" in badge


def test_the_generator_rewrites_the_text_twin_then_the_notebook_keeping_cell_ids(tmp_path):
    """On a copy of lesson 5: a lesson without the two cells gets them in both files, with their fixed ids and
    every other cell's id kept; a new address reaches both files; a synced lesson is left as it is."""
    shutil.copy(config.REPO_ROOT / "notebooks" / "jupytext.toml", tmp_path)  # the pairing and metadata filters of the course
    lesson = next(p for p in LESSONS if p.name.startswith("05_"))
    text, ipynb = tmp_path / lesson.name, tmp_path / lesson.with_suffix(".ipynb").name
    shutil.copy(lesson, text)
    shutil.copy(lesson.with_suffix(".ipynb"), ipynb)
    committed = {p: p.read_bytes() for p in (text, ipynb)}
    assert colab.apply(text) is False, "lesson 5 is out of date: run `python -m coursetools.colab`, or `make sync`"
    assert all(p.read_bytes() == b for p, b in committed.items())

    nb = jupytext.read(text)
    nb.cells = [c for c in nb.cells if not (colab.is_badge(c) or colab.is_setup(c))]
    jupytext.write(nb, text, fmt="py:percent")
    raw = json.loads(ipynb.read_text())
    raw["cells"] = [c for c in raw["cells"] if c["id"] not in (colab.BADGE_ID, colab.SETUP_ID)]
    ipynb.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n")
    assert colab.apply(text) is True
    assert all(p.read_bytes() == b for p, b in committed.items()), "the two cells come back exactly as committed"

    assert colab.apply(ipynb, url="https://github.com/someone/fork") is True  # the .ipynb's path works too
    badge, setup = colab.lesson_cells(text, url="https://github.com/someone/fork")
    before = nbformat.reads(committed[ipynb].decode(), as_version=4)
    after = nbformat.read(ipynb, as_version=4)
    assert jupytext.read(text).cells[0].source == badge and after.cells[0].source == badge
    assert [c.id for c in after.cells] == [c.id for c in before.cells]
    assert next(c for c in after.cells if c.cell_type == "code").source == setup


def test_every_lesson_is_listed_with_its_datasets():
    assert sorted(colab.LESSON_DATASETS) == [p.name[:2] for p in LESSONS]
    from helpers import datasets

    assert {n for names in colab.LESSON_DATASETS.values() for n in names} <= set(datasets.DATASETS)


def test_the_setup_cell_does_nothing_outside_colab():
    assert "google.colab" not in sys.modules
    namespace, cwd, path = {}, os.getcwd(), list(sys.path)
    exec(colab.setup_cell(("cifar10",)), namespace)  # noqa: S102
    assert set(namespace) == {"__builtins__", "sys"}
    assert os.getcwd() == cwd and sys.path == path


def test_the_address_must_be_a_github_repository(tmp_path, monkeypatch):
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project.urls]\nRepository = "<this repository>"\n')
    monkeypatch.setattr(colab, "PYPROJECT", bad)
    with pytest.raises(ValueError, match="github.com/<owner>/<name>"):
        colab.repository()
