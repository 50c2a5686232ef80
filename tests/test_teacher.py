"""The teacher's material in teacher/ keeps up with the lessons and the exercise notebooks, and is never released.

- every open exercise at the end of every lesson (the numbered items under its "## Exercises" heading, read from
  the lesson's .py text source) has an answer in teacher/answer_keys.md, under that lesson's section, with a
  heading that starts with the exercise's own first words;
- every exercise notebook's written question (the nbgrader cell "question") has a rubric in teacher/rubrics.md
  whose "Points: N" equals the cell's nbgrader points;
- teacher/ lies outside nbgrader's source directory (notebooks/exercises), so `make release` never ships it.

Plain text parsing only: no TensorFlow, no nbgrader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEACHER = ROOT / "teacher"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
EXERCISE_NOTEBOOKS = sorted((ROOT / "notebooks" / "exercises").glob("*/[0-9][0-9]_exercises.py"))
FIRST_WORDS = 6  # an answer's heading must start with the exercise's first six words
CELL = re.compile(r"^# %%(.*)$", re.MULTILINE)


def normalise(text: str) -> str:
    """Lower case, Markdown emphasis dropped, runs of whitespace as one space."""
    return " ".join(text.replace("**", "").replace("*", "").lower().split())


def first_words(text: str, n: int = FIRST_WORDS) -> str:
    return " ".join(normalise(text).split()[:n])


def lesson_exercises(path: Path) -> list[tuple[int, str]]:
    """(number, text) of each numbered item under the lesson's "## Exercises" heading, up to the next heading."""
    lines = path.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if re.fullmatch(r"#\s*## Exercises\s*", line)), None)
    assert start is not None, f"{path.name} has no '## Exercises' heading"
    items: list[list] = []
    for line in lines[start + 1:]:
        if not line.startswith("#") or re.match(r"#\s*#{1,6}\s", line) or line.startswith("# %%"):
            break
        item = re.match(r"#\s(\d+)\.\s+(.*)", line)
        if item:
            items.append([int(item.group(1)), item.group(2)])
        elif items:
            items[-1][1] += " " + line.lstrip("#").strip()
    return [(number, text.strip()) for number, text in items]


def sections(markdown: str) -> dict[str, str]:
    """Level-2 heading -> the text under it (up to the next level-2 heading)."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def section_for(markdown: str, name: str) -> str | None:
    """The text of the level-2 section whose heading names ``name`` (a notebook's stem or an assignment)."""
    found = [body for heading, body in sections(markdown).items() if name in heading]
    return found[0] if len(found) == 1 else None


def question_points(path: Path) -> int:
    """The nbgrader points of an exercise notebook's written question (grade_id "question")."""
    for match in CELL.finditer(path.read_text()):
        meta = re.search(r"nbgrader=(\{.*\})", match.group(1))
        if meta and json.loads(meta.group(1)).get("grade_id") == "question":
            return json.loads(meta.group(1))["points"]
    raise AssertionError(f"{path.name} has no nbgrader cell 'question'")


def test_the_parsers_find_what_they_should():
    assert len(LESSONS) >= 9, [p.name for p in LESSONS]
    assert len(EXERCISE_NOTEBOOKS) >= 8, [p.name for p in EXERCISE_NOTEBOOKS]
    counts = {path.stem: len(lesson_exercises(path)) for path in LESSONS}
    assert all(n >= 3 for n in counts.values()), counts
    assert sum(counts.values()) >= 30, counts
    for path in LESSONS:
        numbers = [number for number, _ in lesson_exercises(path)]
        assert numbers == list(range(1, len(numbers) + 1)), f"{path.name}: exercises numbered {numbers}"
    assert first_words("**RandAugment's two knobs.**  Train `x` here in full mode") == \
        "randaugment's two knobs. train `x` here"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_open_exercise_of_the_lesson_has_an_answer(lesson):
    section = section_for((TEACHER / "answer_keys.md").read_text(), f"`{lesson.stem}`")
    assert section is not None, f"teacher/answer_keys.md needs one '## ...' section naming `{lesson.stem}`"
    headings = [normalise(h) for h in re.findall(r"^### (.+)$", section, flags=re.MULTILINE)]
    missing = [f"{number}. {text[:70]}" for number, text in lesson_exercises(lesson)
               if not any(h.startswith(first_words(f"{number}. {text}")) for h in headings)]
    assert not missing, f"teacher/answer_keys.md, section {lesson.stem}: no answer headed by these exercises' " \
                        f"first words (copy the lesson's text into the '### ' heading): {missing}"


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_written_question_has_a_rubric_with_the_notebooks_points(notebook):
    section = section_for((TEACHER / "rubrics.md").read_text(), f"`{notebook.parent.name}`")
    assert section is not None, f"teacher/rubrics.md needs one '## ...' section naming `{notebook.parent.name}`"
    stated = re.findall(r"\*\*Points: (\d+)\*\*", section)
    assert len(stated) == 1, f"teacher/rubrics.md, {notebook.parent.name}: one '**Points: N**' line, found {stated}"
    assert int(stated[0]) == question_points(notebook), \
        f"{notebook.parent.name}: the rubric says {stated[0]} points, the notebook's question cell " \
        f"{question_points(notebook)}"


def test_the_teachers_material_is_never_released():
    assert (TEACHER / "answer_keys.md").is_file() and (TEACHER / "rubrics.md").is_file()
    config = (ROOT / "nbgrader_config.py").read_text()
    source = re.search(r"source_directory\s*=\s*['\"]([^'\"]+)['\"]", config)
    assert source, "nbgrader_config.py sets no CourseDirectory.source_directory"
    released = (ROOT / source.group(1)).resolve()
    assert released == (ROOT / "notebooks" / "exercises").resolve()
    assert not TEACHER.resolve().is_relative_to(released), "teacher/ would be released to students"
    assert not released.is_relative_to(TEACHER.resolve())
    leaked = [str(p.relative_to(ROOT)) for p in released.rglob("*") if "teacher" in p.name.lower()
              or p.name in {"answer_keys.md", "rubrics.md", "working_times.md", "lecture_outlines.md"}]
    assert not leaked, f"teacher's material inside the released folder: {leaked}"



def test_teachings_quick_mode_times_are_the_lessons_own():
    """TEACHING.md's week table quotes each lesson's quick-mode runtime: the one its Runtime line states."""
    from coursetools.working_times import quick_seconds

    stated = {p.stem: quick_seconds(p.read_text()) for p in sorted((ROOT / "notebooks").glob("0*.py"))}
    quoted = {}
    for line in (ROOT / "TEACHING.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 6 and cells[1].isdigit():
            lessons = re.findall(r"`(0\d_[a-z0-9_]+)`", cells[2])
            seconds = [int(v) for v in re.findall(r"(\d+) s\b", cells[5])]
            assert len(lessons) == len(seconds), line
            quoted.update(zip(lessons, seconds))
    assert quoted == stated
