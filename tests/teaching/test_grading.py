"""The exercises' nbgrader round trip, on a copy of the course (a teacher's outputs/ is never touched):
the instructor's solutions score full marks on every autograded cell, the untouched student release scores
zero, and no released notebook holds solution text. Autograding runs every notebook in quick mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from coursetools import book, grading


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = grading.Course(tmp_path_factory.mktemp("course"))
    shutil.copytree(grading.EXERCISES, course.exercises)
    names = grading.assignments(course)
    released = grading.release(course=course)
    grading.submit("instructor", {n: sorted((course.exercises / n).glob("*.ipynb")) for n in names}, course)
    grading.submit("blank", {n: [p for p in released if p.parent.name == n] for n in names}, course)
    grading.submit("careless", _careless(course, names, tmp_path_factory.mktemp("careless")), course)
    grading.submit("a-mallory", _hostile(course, names[3], tmp_path_factory.mktemp("hostile")), course)
    rows, failures = grading.grade(course=course)
    return course, names, released, rows, failures


HOSTILE = """
import json, os, pathlib, signal, socket
course = pathlib.Path({root!r})
seen = {{}}
for target in [course / "notebooks" / "exercises" / {name!r}, course / "outputs" / "gradebook.db",
               course / "outputs" / "submitted" / "instructor"]:
    try:
        seen[str(target)] = sorted(os.listdir(target)) if target.is_dir() else target.read_bytes()[:16].hex()
    except OSError as error:
        seen[str(target)] = type(error).__name__
for target in [course / "planted.txt", course / "notebooks" / "exercises" / {name!r} / "planted.ipynb",
               pathlib.Path.home() / "planted.txt"]:
    try:
        target.write_text("mallory was here")
        seen["wrote " + str(target)] = True
    except OSError as error:
        seen["wrote " + str(target)] = type(error).__name__
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    seen["network"] = True
except OSError as error:
    seen["network"] = type(error).__name__
seen["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
pathlib.Path("probe.json").write_text(json.dumps(seen))
os.kill(-1, signal.SIGKILL)  # every process this code can see, the grader too if it could
"""


def _hostile(course, name, folder):
    """A submission that tries what issue reports saw: reading the solutions and the gradebook, writing outside
    its folder and into the instructor's, the network, and killing the grader."""
    source = sorted((course.exercises / name).glob("*.ipynb"))[0]
    notebook = json.loads(source.read_text())
    answer = next(c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                  and c["cell_type"] == "code")
    answer["source"] = HOSTILE.format(root=str(course.root), name=name)
    target = folder / name / source.name
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(notebook))
    return {name: [target]}


def _careless(course, names, folder):
    """Three submissions nbgrader cannot grade as they are: invalid JSON, a test cell's grade_id renamed, and
    every test cell deleted (the solutions kept)."""
    made = {}
    for i, name in enumerate(names[:3]):
        source = sorted((course.exercises / name).glob("*.ipynb"))[0]
        notebook = json.loads(source.read_text())
        tests = [c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")
                 and not c["metadata"]["nbgrader"].get("solution")]
        target = folder / name / source.name
        target.parent.mkdir(parents=True)
        if i == 0:
            target.write_text(source.read_text()[: len(source.read_text()) // 2])  # cut short: not JSON
        elif i == 1:
            tests[0]["metadata"]["nbgrader"]["grade_id"] = "renamed-by-the-student"
            target.write_text(json.dumps(notebook))
        else:
            notebook["cells"] = [c for c in notebook["cells"] if c not in tests]
            target.write_text(json.dumps(notebook))
        made[name] = [target]
    return made


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_every_lesson_has_exercises_with_autograded_tests_and_a_written_answer():
    lessons = [p.stem.split("_")[0] for p in book.lessons() if not p.name.startswith("00")]
    names = grading.assignments()
    assert [n.split("_")[0] for n in names] == lessons, f"one exercise assignment per lesson: {names}"
    for name in names:
        for path in (grading.EXERCISES / name).glob("*.ipynb"):
            meta = [c.get("metadata", {}).get("nbgrader", {}) for c in _cells(path)]
            answers = [m for m in meta if m.get("solution") and not m.get("grade")]
            tests = [m for m in meta if m.get("grade") and not m.get("solution")]
            written = [m for m in meta if m.get("grade") and m.get("solution")]
            assert len(answers) + len(written) >= 3, f"{path.name}: {len(answers)} code answers, {len(written)} written"
            assert tests and all(m.get("points", 0) > 0 for m in tests), f"{path.name}: no autograded test cell"
            assert written, f"{path.name}: no manually graded written answer"
            assert len({m["grade_id"] for m in meta if m}) == len([m for m in meta if m]), f"{path.name}: repeated grade_id"


def test_released_notebooks_hold_no_solution_text(graded):
    course, names, released, _, _ = graded
    assert {p.parent.name for p in released} == set(names)
    for student in released:
        instructor = course.exercises / student.parent.name / student.name
        assert grading.solution_text(instructor), f"{instructor.name} has no solution region"
        assert grading.leaked(instructor, student) == []
        text = student.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text


def test_solutions_score_full_marks_and_the_blank_release_scores_zero(graded):
    _, names, _, rows, _ = graded
    by = {(r["student"], r["assignment"]): r for r in rows}
    for name in names:
        full, blank = by[("instructor", name)], by[("blank", name)]
        assert full["auto_max"] > 0
        assert full["auto_score"] == full["auto_max"], f"{name}: solutions fail {full['tests_failed']}"
        assert blank["auto_score"] == 0, f"{name}: the untouched release passes tests it should fail"
        assert blank["auto_max"] == full["auto_max"]


def test_grade_writes_nbgraders_score_table(graded):
    course, names, _, _, _ = graded
    lines = course.grades_csv.read_text().splitlines()
    assert lines[0].startswith("assignment,")
    for student in ("instructor", "blank"):  # one row per student and assignment
        assert sum(f",{student}," in line for line in lines[1:]) == len(names)


def test_careless_submissions_are_listed_with_a_reason_and_stop_nobody(graded):
    course, names, _, rows, failures = graded
    failed = {(f["student"], f["assignment"]): f for f in failures}
    assert ("careless", names[0]) in failed, "a notebook cut short cannot be graded: it must be listed"
    for f in failures:
        assert f["student"] == "careless" and f["returncode"] != 0 and f["reason"]
        assert Path(f["log"]).read_text().strip(), "the whole log is kept"
    renamed = failed.get(("careless", names[1]))
    deleted = [r for r in rows if (r["student"], r["assignment"]) == ("careless", names[2])]
    assert renamed is not None or any(r["tests_failed"] or r["missing_points"] for r in rows
                                      if (r["student"], r["assignment"]) == ("careless", names[1]))
    assert failed.get(("careless", names[2])) or (deleted and deleted[0]["missing_points"] > 0), \
        "deleted test cells must not pass as 0 / 0 without a warning"
    # every other submission was graded, and the table and the export came out
    assert {(r["student"], r["assignment"]) for r in rows} >= {(s, n) for s in ("instructor", "blank") for n in names}
    assert course.grades_csv.exists()


def test_the_table_lists_only_submissions_still_present(graded):
    course, names, _, _, _ = graded
    moved = course.root / "removed"
    shutil.move(course.submitted / "blank" / names[0], moved)
    try:
        assert ("blank", names[0]) not in {(r["student"], r["assignment"]) for r in grading.scores(course)}
    finally:
        shutil.move(moved, course.submitted / "blank" / names[0])


def test_hostile_student_code_runs_in_a_sandbox_and_hurts_nobody(graded):
    course, names, _, rows, _ = graded
    probe = json.loads((course.root / "outputs" / "autograded" / "a-mallory" / names[3] / "probe.json").read_text())
    exercises = str(course.exercises / names[3])
    assert probe[exercises] in ([], "FileNotFoundError"), f"the solutions were visible: {probe[exercises]}"
    assert probe[str(course.root / "outputs" / "gradebook.db")] == "FileNotFoundError"
    assert probe[str(course.root / "outputs" / "submitted" / "instructor")] == "FileNotFoundError"
    assert not (course.root / "planted.txt").exists()
    assert not (course.exercises / names[3] / "planted.ipynb").exists()
    assert probe["network"] != True  # noqa: E712 (True would mean it connected)
    assert all(pid < 100 for pid in probe["processes"]), "it saw the grader's processes"
    graded_after = {(r["student"], r["assignment"]) for r in rows}
    assert {("instructor", n) for n in names} <= graded_after, "the grader survived and graded everyone after it"


def test_one_huge_output_line_is_cut_when_graded():
    from nbformat.v4 import new_code_cell, new_output

    from coursetools.nbgrader_output import LimitOutputSize

    cell = new_code_cell("print('x' * 20_000_000)",
                         outputs=[new_output("stream", name="stdout", text="x" * 20_000_000)])
    cell, _ = LimitOutputSize().preprocess_cell(cell, {}, 0)
    assert len(cell.outputs[0].text) < 100_100 and "more characters cut by the grader" in cell.outputs[0].text


def test_the_course_config_keeps_nbgraders_autograde_steps_with_the_character_limit():
    from nbgrader.converters.autograde import Autograde
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(grading.ROOT)).load_config()
    ours = [p.__name__ for p in config.Autograde.autograde_preprocessors]
    theirs = [p.__name__ for p in Autograde().autograde_preprocessors]  # nbgrader's defaults, no config
    assert ours == [("LimitOutputSize" if name == "LimitOutput" else name) for name in theirs]


def _kernels() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"ipykernel_launcher" in (entry / "cmdline").read_bytes():
                pids.add(int(entry.name))
        except OSError:
            pass
    return pids


def test_a_submission_that_never_finishes_is_stopped_at_its_time_limit_with_its_kernel(tmp_path):
    import time

    course = grading.Course(tmp_path / "course")
    name = grading.assignments()[0]
    shutil.copytree(grading.EXERCISES / name, course.exercises / name)
    grading.release([name], course)
    source = sorted((course.exercises / name).glob("*.ipynb"))[0]
    notebook = json.loads(source.read_text())
    answer = next(c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                  and c["cell_type"] == "code")
    answer["source"] = "import time\nwhile True:\n    time.sleep(1)  # each cell stays under 600 s: only the limit stops it"
    target = tmp_path / "slow" / source.name
    target.parent.mkdir()
    target.write_text(json.dumps(notebook))
    grading.submit("slowpoke", {name: [target]}, course)
    before, started = _kernels(), time.monotonic()
    failures = grading.autograde([name], course, trusted=grading.sandbox_available() is not None, time_limit=30)
    assert time.monotonic() - started < 90
    assert [(f["student"], f["assignment"]) for f in failures] == [("slowpoke", name)]
    assert "TimeLimitError" in failures[0]["reason"] and "30 s" in failures[0]["reason"]
    deadline = time.monotonic() + 10
    while _kernels() - before and time.monotonic() < deadline:  # a kernel dies with its sandbox, or polls its parent
        time.sleep(0.5)
    assert not _kernels() - before, "the stopped submission's kernel is still running"
