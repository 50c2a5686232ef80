"""Recount the tables of ``teacher/working_times.md`` from the lessons and exercises: ``python -m coursetools.working_times``.

The tables are arithmetic on counts (words, code lines, cells, the quick-mode runtime each lesson states) and the
rates of the file's assumptions table, which are the constants below. The command rewrites the text between the
``<!-- generated: ... -->`` and ``<!-- end generated -->`` markers; ``--check`` writes nothing and exits 1 when
the file is stale (``tests/test_teacher.py`` runs it), so the estimates follow the lessons as they are edited.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "teacher" / "working_times.md"
WORDS_PER_MIN, CODE_LINES_PER_MIN, MIN_PER_CELL = 150, 10, 0.5
MIN_PER_EXERCISE, MIN_PER_SOLUTION_LINE, ANSWER_WORDS_PER_MIN, SETUP_MIN = 5, 1.5, 10, 1


def words(text: str) -> int:
    """Words of Markdown text: whitespace-separated tokens (tables and inline code included)."""
    return len(text.split())


def code_lines(text: str) -> int:
    """Non-blank lines that are not comments."""
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def quick_seconds(text: str) -> int:
    """The quick-mode runtime a lesson's **Runtime.** line states, in seconds."""
    found = re.search(r"\*\*Runtime\.\*\*\s*Quick mode[^.]*?(\d+) s\b", text)
    if not found:
        raise ValueError("no quick-mode runtime in seconds in the lesson's Runtime line")
    return int(found.group(1))


def lesson_row(source: Path) -> dict:
    cells = [c for c in jupytext.read(source).cells
             if "colab-badge" not in c.source and "google.colab" not in c.source]  # the Colab badge and set-up
    prose = sum(words(c.source) for c in cells if c.cell_type == "markdown")
    code = [c for c in cells if c.cell_type == "code"]
    lines = sum(code_lines(c.source) for c in code)
    runtime = quick_seconds(source.read_text())
    read, read_code, run = prose / WORDS_PER_MIN, lines / CODE_LINES_PER_MIN, len(code) * MIN_PER_CELL + runtime / 60
    return {"lesson": source.stem, "prose": prose, "cells": len(code), "lines": lines, "runtime": runtime,
            "read": read, "read_code": read_code, "run": run, "total": read + read_code + run}


def _solution(source: str) -> str:
    return source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0] if "### BEGIN SOLUTION" in source else source


def exercise_rows(source: Path) -> list[dict]:
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in jupytext.read(source).cells}
    intro = words(cells["intro"].source)
    rows = [{"part": "introduction and set-up", "statement": intro, "kind": "class",
             "formula": f"{intro}/{WORDS_PER_MIN} + {SETUP_MIN}", "minutes": intro / WORDS_PER_MIN + SETUP_MIN}]
    k = 1
    while f"ex{k}-statement" in cells:
        statement = cells[f"ex{k}-statement"].source
        heading = statement.splitlines()[0].lstrip("# ").strip()
        n, lines = words(statement), code_lines(_solution(cells[f"ex{k}-answer"].source))
        rows.append({"part": heading, "statement": n, "lines": lines, "kind": _kind(heading),
                     "formula": f"{n}/{WORDS_PER_MIN} + {MIN_PER_EXERCISE} + {MIN_PER_SOLUTION_LINE} × {lines}",
                     "minutes": n / WORDS_PER_MIN + MIN_PER_EXERCISE + MIN_PER_SOLUTION_LINE * lines})
        k += 1
    if "question-question" in cells:
        statement = cells["question-question"].source
        heading = statement.splitlines()[0].lstrip("# ").strip()
        n, answer = words(statement), words(cells["question"].source)
        rows.append({"part": heading, "statement": n, "answer": answer, "kind": _kind(heading),
                     "formula": f"{n}/{WORDS_PER_MIN} + {answer}/{ANSWER_WORDS_PER_MIN}",
                     "minutes": n / WORDS_PER_MIN + answer / ANSWER_WORDS_PER_MIN})
    return rows


def _kind(heading: str) -> str:
    if "(class)" in heading:
        return "class"
    if "(homework)" in heading:
        return "homework"
    raise ValueError(f"an exercise heading must say (class) or (homework): {heading!r}")


def lessons_table() -> str:
    rows = [lesson_row(p) for p in sorted((ROOT / "notebooks").glob("0*.py"))]
    out = ["| lesson | prose words | read (min) = words / 150 | code cells | code lines | read code (min) = lines / 10 "
           "| run (min) = cells × 0.5 + quick runtime | total (min) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| `{r['lesson']}` | {r['prose']:,} | {r['read']:.0f} | {r['cells']} | {r['lines']} | "
                   f"{r['read_code']:.0f} | {r['cells']} × 0.5 + {r['runtime']} s = {r['run']:.0f} | **{r['total']:.0f}** |")
    totals = [r["total"] for r in rows]
    out += ["", "(Rounded per column; totals are computed before rounding.) Reading and running a lesson takes "
            f"{min(totals):.0f} to {max(totals):.0f} minutes of a student's own time, before any exercise."]
    return "\n".join(out)


def exercises_table() -> str:
    out = ["| notebook | part | statement words | solution lines | model answer words | estimate (min) |",
           "|---|---|---|---|---|---|"]
    class_range, home_range = [], []
    for path in sorted((ROOT / "notebooks" / "exercises").glob("0*/0*_exercises.py")):
        rows = exercise_rows(path)
        for i, r in enumerate(rows):
            name = f"`{path.parent.name}`" if i == 0 else ""
            out.append(f"| {name} | {r['part']} | {r['statement']} | {r.get('lines', '')} | {r.get('answer', '')} | "
                       f"{r['formula']} = {r['minutes']:.0f} |")
        in_class = sum(r["minutes"] for r in rows if r["kind"] == "class")
        at_home = sum(r["minutes"] for r in rows if r["kind"] == "homework")
        class_range.append(in_class)
        home_range.append(at_home)
        out.append(f"| | **class / homework** | | | | **{in_class:.0f} / {at_home:.0f}** |")
    out += ["", f"The class parts add up to {min(class_range):.0f}-{max(class_range):.0f} minutes per notebook, "
            f"the homework to {min(home_range):.0f}-{max(home_range):.0f}."]
    return "\n".join(out)


def render(text: str) -> str:
    for name, table in (("lessons", lessons_table()), ("exercises", exercises_table())):
        pattern = re.compile(rf"(<!-- generated: {name} [^>]*-->\n).*?(\n<!-- end generated -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"{TARGET.name} has no '<!-- generated: {name} ... -->' marker")
        text = pattern.sub(lambda m, table=table: m.group(1) + table + m.group(2), text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Recount teacher/working_times.md from the lessons and exercises.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is stale")
    args = parser.parse_args(argv)
    current = TARGET.read_text()
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{TARGET} is stale: run python -m coursetools.working_times", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(fresh)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
