"""coursetools.book: executed copies reused only when run from the same source and in the same mode; a build that
never deletes what it did not make and keeps the previous book when it fails (Sphinx stood in for here; the real
build and the site in a browser: tests/teaching/test_book.py)."""

import json
import subprocess
from pathlib import Path

import pytest

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


def _fake_sphinx(fail=False):
    """Stands in for `python -m sphinx -b html -q SRC OUT`: writes an index.html, or fails like a broken build."""
    def run(cmd, check):
        if fail:
            raise subprocess.CalledProcessError(2, cmd)
        Path(cmd[-1], "index.html").write_text("<html>new</html>")
    return run


def test_a_folder_the_builder_did_not_make_is_never_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "lessons", lambda: [])
    monkeypatch.setattr(book.subprocess, "run", _fake_sphinx())
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (tmp_path / "site_src").mkdir()
    (tmp_path / "site_src" / "notes.md").write_text("mine too")
    with pytest.raises(FileExistsError, match="did not make"):
        book.build(mine, tmp_path / "executed")
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert (tmp_path / "site_src" / "notes.md").read_text() == "mine too"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "site_src"], "nothing left behind"


def test_a_failed_build_keeps_the_previous_book_and_a_good_one_replaces_it(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "lessons", lambda: [])
    out = tmp_path / "book"
    monkeypatch.setattr(book.subprocess, "run", _fake_sphinx())
    index = book.build(out, tmp_path / "executed")
    assert index.read_text() == "<html>new</html>" and (out / book.MARKER).exists()
    (out / "index.html").write_text("<html>previous good book</html>")
    monkeypatch.setattr(book.subprocess, "run", _fake_sphinx(fail=True))
    with pytest.raises(subprocess.CalledProcessError):
        book.build(out, tmp_path / "executed")
    assert (out / "index.html").read_text() == "<html>previous good book</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"], "no temporary folder left behind"
    monkeypatch.setattr(book.subprocess, "run", _fake_sphinx())
    book.build(out, tmp_path / "executed")
    assert (out / "index.html").read_text() == "<html>new</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]


def test_a_damaged_executed_copy_is_run_again_not_a_crash(tmp_path, capsys):
    lesson = _notebook(tmp_path / "01_x.ipynb")
    executed = tmp_path / "executed"
    executed.mkdir()
    (executed / "01_x.ipynb").write_text('{"cells": [], "metad')  # cut short
    assert book.reusable(lesson, executed, "quick") is None
    assert "cannot be read" in capsys.readouterr().out


def test_staging_drops_empty_cells_and_cuts_runaway_outputs(tmp_path):
    huge = "x" * (5 << 20)  # one 5 MB line
    cells = [{"id": "a", "cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None},
             {"id": "b", "cell_type": "code", "source": "print(huge)", "metadata": {}, "execution_count": 1,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": huge},
                          {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                           "data": {"text/plain": huge}}]}]
    copy = tmp_path / "copy.ipynb"
    copy.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    staged = json.loads(book.stage(copy, tmp_path / "staged.ipynb").read_text())
    assert ["".join(c["source"]) for c in staged["cells"]] == ["print(huge)"]
    stream, result = staged["cells"][0]["outputs"]
    for text in ("".join(stream["text"]), "".join(result["data"]["text/plain"])):
        assert len(text) < book.MAX_OUTPUT_CHARS + 100 and "more characters cut for the book" in text


def test_the_command_line_refuses_a_foreign_folder_in_one_line_with_exit_code_2(tmp_path):
    import sys

    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run([sys.executable, "-m", "coursetools.book", "--out", str(tmp_path), "--no-execute"],
                          cwd=book.config.REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "did not make" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
