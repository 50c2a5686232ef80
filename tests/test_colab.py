"""Every lesson opens in Colab from one address, and its setup cell does nothing outside Colab.
(The install path the cell takes, `pip install -e .` with loose ranges, is tested by `make test-oldest`.)"""

import os
import sys

import nbformat
import pytest

from helpers import colab, config

LESSONS = sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_lesson_has_the_badge_first_and_the_setup_cell_first_among_code(path):
    nb = nbformat.read(path, as_version=4)
    badge, setup = colab.lesson_cells(path)
    assert nb.cells[0].id == colab.BADGE_ID and nb.cells[0].source == badge, "run `python -m helpers.colab`"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.id == colab.SETUP_ID and first_code.source == setup, "run `python -m helpers.colab`"
    assert f"{colab.repository().removeprefix('https://github.com/')}/blob/main/notebooks/{path.name})" in badge


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
