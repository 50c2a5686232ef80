"""Rules of the repository's code that no single module's tests can see: ruff is clean, no library module
is over 500 lines, and no exercise solution copies a lesson's code."""

import re
import subprocess
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
COPIED_RUN = 4  # this many consecutive code lines shared with a lesson cell make a copied solution


def test_ruff_is_clean_on_library_tooling_tests_and_lesson_sources():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", "."], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in [*ROOT.glob("helpers/**/*.py"), *ROOT.glob("coursetools/*.py")]
            if (n := len(p.read_text().splitlines())) > 500}
    assert not long, f"split these by job: {long}"


def _code_lines(source: str) -> list[str]:
    lines = (re.sub(r"\s+", " ", line.strip()) for line in source.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def copied_solutions(lessons, exercises, run: int = COPIED_RUN) -> list[str]:
    """Each exercise solution cell that shares ``run`` consecutive code lines with a lesson code cell."""
    seen = set()
    for notebook in lessons:
        for cell in notebook.cells:
            lines = _code_lines(cell.source) if cell.cell_type == "code" else []
            seen |= {tuple(lines[i:i + run]) for i in range(len(lines) - run + 1)}
    found = []
    for name, notebook in exercises:
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            lines = _code_lines(cell.source)
            if any(tuple(lines[i:i + run]) in seen for i in range(len(lines) - run + 1)):
                found.append(f"{name}: {meta.get('grade_id')}")
    return found


def test_no_exercise_solution_copies_a_lesson_cell():
    lessons = [jupytext.read(p) for p in sorted(ROOT.glob("notebooks/[0-9]*.py"))]
    exercises = [(p.name, jupytext.read(p)) for p in sorted(ROOT.glob("notebooks/exercises/*/*.py"))]
    assert len(lessons) >= 8 and len(exercises) >= 7
    copied = copied_solutions(lessons, exercises)
    assert not copied, f"these solutions copy a lesson cell; ask for a variant or a measurement: {copied}"


def test_the_copy_check_catches_a_copied_cell():
    lesson = jupytext.reads("# %%\ndef f(x):\n    a = x + 1\n    b = a * 2\n    return b\n", fmt="py:percent")
    exercise = jupytext.reads('# %% nbgrader={"solution": true, "grade_id": "ex"}\ndef f(x):\n    a = x + 1\n'
                              "    b = a * 2\n    return b\n", fmt="py:percent")
    assert copied_solutions([lesson], [("ex.py", exercise)]) == ["ex.py: ex"]
    exercise.cells[0].source = "def f(x):\n    a = x + 1\n    return 2 * a\n"
    assert copied_solutions([lesson], [("ex.py", exercise)]) == []
