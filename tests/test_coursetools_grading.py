"""coursetools.grading's solution-leak check, on small notebooks built here (nbgrader itself is exercised by
tests/teaching/test_grading.py)."""

import json

import pytest

from coursetools import grading


def _write(path, cells):
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _code(source, **nbgrader):
    metadata = {"nbgrader": nbgrader} if nbgrader else {}
    return {"cell_type": "code", "source": source, "metadata": metadata, "outputs": []}


def test_solution_text_takes_code_regions_and_written_answers(tmp_path):
    nb = _write(tmp_path / "i.ipynb", [
        _code("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n\n    ### END SOLUTION\nprint(f)", solution=True),
        {"cell_type": "markdown", "source": "Flips keep\nthe label.",
         "metadata": {"nbgrader": {"solution": True, "grade": True}}},
        {"cell_type": "markdown", "source": "A question.", "metadata": {}},
    ])
    assert grading.solution_text(nb) == ["return x + 1", "Flips keep", "the label."]


def test_leaked_finds_a_solution_line_left_in_the_student_version(tmp_path):
    instructor = _write(tmp_path / "i.ipynb",
                        [_code("### BEGIN SOLUTION\ny = tf.image.flip_left_right(x)\n### END SOLUTION")])
    clean = _write(tmp_path / "s.ipynb", [_code("# YOUR CODE HERE\nraise NotImplementedError()")])
    dirty = _write(tmp_path / "d.ipynb", [_code("  y = tf.image.flip_left_right(x)  ")])
    assert grading.leaked(instructor, clean) == []
    assert grading.leaked(instructor, dirty) == ["y = tf.image.flip_left_right(x)"]


def test_submit_refuses_ids_that_are_not_plain_names_and_touches_nothing(tmp_path):
    course = grading.Course(tmp_path)
    exercises = course.exercises / "01_basics"
    exercises.mkdir(parents=True)
    instructor = _write(exercises / "01_exercises.ipynb", [_code("x = 1")])
    before = instructor.read_bytes()
    for student, assignment in [("../../notebooks", "01_basics"), ("ann", "../../notebooks/exercises"),
                                ("..", "01_basics"), ("ann/bob", "01_basics"), ("", "01_basics"), ("ann", "02_other")]:
        with pytest.raises(ValueError, match="plain name|unknown assignment"):
            grading.submit(student, {assignment: [instructor]}, course)
    assert instructor.read_bytes() == before and not course.submitted.exists()
    grading.submit("ann.lee-2", {"01_basics": [instructor]}, course)
    assert (course.submitted / "ann.lee-2" / "01_basics" / "01_exercises.ipynb").read_bytes() == before


@pytest.mark.skipif(grading.sandbox_available() is not None, reason="no bubblewrap sandbox on this machine")
def test_the_sandbox_hides_solutions_and_gradebook_and_allows_only_its_own_folder(tmp_path):
    """The kernel's command line, with a probe in place of the kernel (the nbgrader round trip with a hostile
    submission is tests/teaching/test_grading.py)."""
    import subprocess
    import sys

    work, runtime = tmp_path / "work", tmp_path / "runtime"
    work.mkdir()
    runtime.mkdir()
    argv = grading.sandbox_argv(grading.Course(), work, runtime)
    probe = ("import os, pathlib, socket\n"
             f"root = pathlib.Path({str(grading.ROOT)!r})\n"
             "print(sorted(os.listdir(root / 'notebooks' / 'exercises')), (root / 'outputs').exists() and "
             "sorted(os.listdir(root / 'outputs')), (root / 'helpers' / 'config.py').exists())\n"
             "pathlib.Path('mine.txt').write_text('ok')\n"
             "for target in (root / 'planted.txt', root / 'notebooks' / 'planted.txt'):\n"
             "    try:\n        target.write_text('x'); print('WROTE', target)\n"
             "    except OSError: pass\n"
             "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); print('NETWORK')\n"
             "except OSError: pass\n")
    kernel = argv.index(sys.executable)
    done = subprocess.run(argv[:kernel] + [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # no solutions; outputs/ empty (or absent in a fresh clone, where there is nothing to hide); the library there
    assert done.stdout.strip() in ("[] [] True", "[] False True"), done.stdout
    assert (work / "mine.txt").read_text() == "ok"
    assert not (grading.ROOT / "planted.txt").exists() and not (grading.ROOT / "notebooks" / "planted.txt").exists()


def test_a_line_the_instructor_also_shows_outside_a_solution_is_no_leak(tmp_path):
    instructor = _write(tmp_path / "i.ipynb", [
        _code("def f(a):\n    ### BEGIN SOLUTION\n    if a:\n        return 1\n    ### END SOLUTION", solution=True),
        _code("if a:\n    print('a test that shows the same line')", grade=True)])
    student = _write(tmp_path / "s.ipynb", [
        _code("def f(a):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        _code("if a:\n    print('a test that shows the same line')", grade=True)])
    assert grading.leaked(instructor, student) == []
    dirty = _write(tmp_path / "d.ipynb", [_code("if a:\n    return 1")])
    assert grading.leaked(instructor, dirty) == ["return 1"]


def test_a_release_that_still_holds_a_solution_line_is_removed_not_left_to_hand_out(tmp_path, monkeypatch):
    course = grading.Course(tmp_path)
    (course.exercises / "01_basics").mkdir(parents=True)
    _write(course.exercises / "01_basics" / "01_exercises.ipynb",
           [_code("### BEGIN SOLUTION\ny = secret_answer(x)\n### END SOLUTION", solution=True)])

    def leaky_nbgrader(course_, *args, **kwargs):  # stands in for a generate_assignment that failed to strip
        target = course_.release / "01_basics" / "01_exercises.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, [_code("y = secret_answer(x)")])

    monkeypatch.setattr(grading, "nbgrader", leaky_nbgrader)
    with pytest.raises(RuntimeError, match="so it was removed"):
        grading.release(["01_basics"], course)
    assert not (course.release / "01_basics" / "01_exercises.ipynb").exists()


def test_an_unknown_assignment_is_one_line_and_exit_code_2():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "coursetools.grading", "grade", "--assignments", "99_nope"],
                          cwd=grading.ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown assignment(s) ['99_nope']" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
