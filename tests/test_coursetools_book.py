"""coursetools.book's choice of executed copies: reused only when run from the same source and in the same mode.
(The build itself and the site in a browser: tests/teaching/test_book.py.)"""

import json

from coursetools import book


def _notebook(path, **meta):
    path.write_text(json.dumps({"cells": [], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_an_executed_copy_is_reused_only_for_the_same_source_and_mode(tmp_path):
    lesson = _notebook(tmp_path / "01_x.ipynb")
    executed = tmp_path / "executed"
    executed.mkdir()
    assert book.reusable(lesson, executed, "quick") is None  # no copy
    stamp = {"mode": "quick", "source_sha256": book.source_hash(lesson)}
    copy = _notebook(executed / "01_x.ipynb", course_execution=stamp)
    assert book.reusable(lesson, executed, "quick") == copy
    assert book.reusable(lesson, executed, "full") is None  # a quick run never stands in for full mode
    lesson.write_text(lesson.read_text().replace('"cells": []', '"cells": [] '))  # the lesson was edited since
    assert book.reusable(lesson, executed, "quick") is None


def test_the_measured_page_names_every_study():
    page = book.measured_page()
    for path in book.measured.MEASURED_DIR.glob("*.json"):
        assert f"`{path.name}`" in page
        assert json.loads(path.read_text())["about"].strip()[:60] in page
