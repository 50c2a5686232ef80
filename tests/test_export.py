"""The lessons' #@save cells and helpers/taught/ (coursetools.export): the generated modules are current, and
the exporter refuses a cell that leans on a lesson variable it does not export."""

import textwrap

import pytest

from coursetools import export


def test_every_generated_module_is_current():
    stale = [str(path.relative_to(export.ROOT)) for path, text in export.generated().items()
             if not path.is_file() or path.read_text() != text]
    assert not stale, f"run `python -m coursetools.export`: stale {stale}"
    assert export.main(["--check"]) == 0


def _lesson(tmp_path, source):
    path = tmp_path / "99_lesson.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_only_marked_definitions_and_the_imports_they_use_are_exported(tmp_path):
    text = export.render(_lesson(tmp_path, """\
        # %%
        import math
        import numpy as np
        from helpers import config

        BATCH = config.pick(quick=2, full=128)

        # %%
        #@save
        SIZE = 8


        def area(side=SIZE):
            return math.prod((side, side))


        print(area())

        # %%
        def not_saved():
            return np.zeros(1)
        """), "x", "A lesson")
    assert "GENERATED" in text and "def area" in text and "SIZE = 8" in text and "import math" in text
    assert "not_saved" not in text and "print(" not in text and "numpy" not in text and "config" not in text
    namespace = {}
    exec(compile(text, "generated", "exec"), namespace)  # noqa: S102
    assert namespace["area"]() == 64


def test_a_definition_that_uses_an_unexported_lesson_variable_is_refused(tmp_path):
    lesson = _lesson(tmp_path, """\
        # %%
        BATCH = 32

        # %%
        #@save
        def epochs(n):
            return n // BATCH
        """)
    with pytest.raises(export.ExportError, match="BATCH"):
        export.render(lesson, "x", "A lesson")


def test_a_lesson_without_saved_cells_is_refused(tmp_path):
    with pytest.raises(export.ExportError, match="no cell"):
        export.render(_lesson(tmp_path, "# %%\ndef f():\n    return 1\n"), "x", "A lesson")
