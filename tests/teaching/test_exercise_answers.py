"""Exercises that tell right from wrong. For every exercise notebook (notebooks/exercises/*/NN_exercises.py), the
wrong answers in tests/exercise_answers/NN_wrong.py, each a complete replacement for one solution cell, are run
against that exercise's graded test cells:

- the reference solutions pass every graded cell of their exercise;
- every wrong answer fails at least one graded cell of its exercise (by a failed check, not by a name it lacks);
- every graded cell fails at least one wrong answer: no test cell gives full marks to everything.

A notebook's setup runs once: its non-graded code cells, solutions included, in a fresh namespace. Each answer
then runs with its exercise's graded cells in a copy of that namespace (arrays and lists copied, so an answer
that writes into its caller's data cannot spoil the next one). Manually graded written answers are out of scope.
"""

from __future__ import annotations

import ast
import importlib.util
import linecache
import os
import signal
from pathlib import Path

import jupytext
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = ROOT / "tests" / "exercise_answers"
NOTEBOOKS = sorted(ROOT.glob("notebooks/exercises/*/[0-9][0-9]_exercises.py"))
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"  # the course's offline copies, as the root conftest finds them
CELL_SECONDS = 120  # a graded cell that runs longer hangs (an endless generator read to its end)
SLOW = set()  # this whole file runs with `make test-teaching` (tests/teaching/): about 75 s on 2 cores

os.environ.setdefault("COURSE_QUICK", "1")
if SHARED_DATASETS.is_dir():
    os.environ.setdefault("COURSE_DATA_DIR", str(SHARED_DATASETS))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class Exercise:
    """One solution code cell and the graded code cells after it, up to the next exercise's statement."""

    def __init__(self, solution):
        self.solution = solution
        self.graded = []

    @property
    def grade_id(self) -> str:
        return self.solution.metadata["nbgrader"]["grade_id"]


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def read_notebook(path: Path):
    """(the non-graded code cells in order, solutions included; the exercises)."""
    setup, exercises, current = [], [], None
    for cell in jupytext.read(path).cells:
        meta = _nbgrader(cell)
        if cell.cell_type == "markdown":
            if str(meta.get("grade_id", "")).endswith("-statement"):
                current = None  # the next exercise begins
            continue
        if meta.get("grade"):
            assert current is not None, f"{path.name}: graded cell {meta.get('grade_id')} follows no solution cell"
            current.graded.append(cell)
            continue
        setup.append(cell)
        if meta.get("solution"):
            current = Exercise(cell)
            exercises.append(current)
    return setup, exercises


def load_wrong(number: str) -> dict[str, dict[str, str]]:
    """WRONG from tests/exercise_answers/NN_wrong.py: {solution grade_id: {what the mistake is: cell code}}."""
    path = ANSWERS / f"{number}_wrong.py"
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(f"exercise_answers_{number}_wrong", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


def run_cell(source: str, namespace: dict, name: str) -> None:
    """Execute one cell's code in ``namespace``, its source registered so that inspect and autograph can read it."""
    filename = f"<{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")

    def hang(signum, frame):
        raise TimeoutError(f"{name} ran longer than {CELL_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(CELL_SECONDS)
    try:
        exec(code, namespace)  # noqa: S102 (the course's own notebook cells and wrong answers)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fresh(namespace: dict) -> dict:
    """A copy of the setup's namespace in which no answer can change the setup's arrays or lists."""
    return {k: v.copy() if isinstance(v, np.ndarray | list) else v for k, v in namespace.items()}


def grade(setup_namespace: dict, exercise: Exercise, answer: str, label: str) -> dict[str, BaseException | None]:
    """Run ``answer`` in place of the exercise's solution cell, then each of its graded cells (all of them, as
    nbgrader does, on after a failure). Returns {graded grade_id: the exception it raised, or None}."""
    namespace = fresh(setup_namespace)
    run_cell(answer, namespace, f"{label}: {exercise.grade_id}")
    outcome = {}
    for cell in exercise.graded:
        grade_id = _nbgrader(cell)["grade_id"]
        try:
            run_cell(cell.source, namespace, f"{label}: {grade_id}")
        except TimeoutError:
            raise
        except Exception as error:  # a graded cell fails by raising, whatever it raises
            outcome[grade_id] = error
        else:
            outcome[grade_id] = None
    return outcome


def defined_names(source: str) -> set[str]:
    """The functions and classes a cell defines at its top level."""
    return {node.name for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)}


ARTIFACTS = (NameError, SyntaxError, ImportError)  # a failure of the answer file, not a rejection by a test


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:100]}"


def _number(path: Path) -> str:
    return path.name.split("_")[0]


def _params():
    for path in NOTEBOOKS:
        number = _number(path)
        marks = [pytest.mark.teaching] if number in SLOW else []
        yield pytest.param(path, id=path.parent.name, marks=marks)


def test_every_exercise_notebook_is_found():
    assert len(NOTEBOOKS) >= 8, f"exercise notebooks found under {ROOT}: {NOTEBOOKS}"


@pytest.mark.parametrize("path", list(_params()))
def test_wrong_answers_are_complete_replacements(path):
    """Cheap checks, before anything runs: every exercise has wrong answers, each names a real solution cell,
    defines the names that cell defines and is not the solution itself."""
    _, exercises = read_notebook(path)
    wrong = load_wrong(_number(path))
    assert wrong, f"no wrong answers for {path.name}: write tests/exercise_answers/{_number(path)}_wrong.py"
    solutions = {e.grade_id: e.solution.source for e in exercises}
    assert set(wrong) <= set(solutions), f"not solution cells of {path.name}: {sorted(set(wrong) - set(solutions))}"
    assert set(wrong) == set(solutions), f"exercises of {path.name} without wrong answers: {sorted(set(solutions) - set(wrong))}"
    for grade_id, answers in wrong.items():
        assert answers, f"{path.name} {grade_id}: no wrong answers"
        for mistake, code in answers.items():
            assert mistake.strip() and "\n" not in mistake, f"{grade_id}: say the mistake in one line: {mistake!r}"
            assert defined_names(code) == defined_names(solutions[grade_id]), \
                f"{grade_id} {mistake!r} defines {sorted(defined_names(code))}, " \
                f"the solution cell {sorted(defined_names(solutions[grade_id]))}"
            assert ast.dump(ast.parse(code)) != ast.dump(ast.parse(solutions[grade_id])), \
                f"{grade_id} {mistake!r} is the solution itself"


def outcomes(path: Path):
    """Run the notebook's setup once, then each exercise's reference solution and wrong answers with its graded
    cells. Yields (exercise, the mistake or None for the reference, {graded grade_id: exception or None})."""
    setup, exercises = read_notebook(path)
    wrong = load_wrong(_number(path))
    namespace = {"__name__": "__main__"}
    for cell in setup:
        run_cell(cell.source, namespace, f"{path.name} setup: {_nbgrader(cell).get('grade_id')}")
    for exercise in exercises:
        yield exercise, None, grade(namespace, exercise, exercise.solution.source, f"{path.name} reference")
        for mistake, code in wrong.get(exercise.grade_id, {}).items():
            yield exercise, mistake, grade(namespace, exercise, code, f"{path.name} wrong")


@pytest.mark.parametrize("path", list(_params()))
def test_graded_cells_tell_right_from_wrong(path):
    if not load_wrong(_number(path)):
        pytest.fail(f"no wrong answers for {path.name}: write tests/exercise_answers/{_number(path)}_wrong.py")
    problems, rejected_by = [], {}
    for exercise, mistake, outcome in outcomes(path):
        errors = {g: e for g, e in outcome.items() if e is not None}
        if mistake is None:
            for grade_id in outcome:
                rejected_by.setdefault(grade_id, [])
            if errors:
                problems.append(f"{exercise.grade_id}: the reference solution fails "
                                f"{ {g: _short(e) for g, e in errors.items()} }")
            continue
        real = {g for g, e in errors.items() if not isinstance(e, ARTIFACTS)}
        if not errors:
            problems.append(f"{exercise.grade_id} {mistake!r}: full marks, no graded cell fails it")
        elif not real:
            problems.append(f"{exercise.grade_id} {mistake!r}: fails only by a missing name or import, "
                            f"{ {g: _short(e) for g, e in errors.items()} }")
        for grade_id in real:
            rejected_by[grade_id].append(mistake)
    lenient = sorted(g for g, mistakes in rejected_by.items() if not mistakes)
    if lenient:
        problems.append(f"graded cells that fail no wrong answer: {lenient}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
