"""Measured full-mode results: one JSON file per study in ``notebooks/measured/``, read and rendered.

Each file holds ``{"about": ..., "provenance": {...}, "rows": [...]}`` and, where the lesson quotes
outside figures, ``"quoted": {...}`` with their source. Rows are the drivers' own output (final
metrics, per-epoch ``history`` where it was recorded, seed, data size, seconds). Lessons and the
README draw numbers from here, so a number is typed once; ``tests/test_measured.py`` checks that
every accuracy quoted in a lesson's text or the README is one of these.

A long study runs in pieces (arms, seeds, machines); ``merge`` folds each finished run's file into the
measured file, keeping every run's provenance:

    python -m helpers.measured merge RUN.json [RUN.json ...] --into notebooks/measured/policies.json --key arm seed
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from helpers import config

MEASURED_DIR = config.REPO_ROOT / "notebooks" / "measured"


def load(name: str) -> dict:
    """The measured study ``name`` (file ``notebooks/measured/<name>.json``) as a dict."""
    path = MEASURED_DIR / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in MEASURED_DIR.glob("*.json"))
        raise FileNotFoundError(f"no measured results named {name!r} in {MEASURED_DIR}; known: {known}")
    return json.loads(path.read_text())


def rows(name: str, **where) -> list[dict]:
    """The rows of study ``name`` whose fields equal ``where`` (e.g. ``arm="plain"``)."""
    return [r for r in load(name)["rows"] if all(r.get(k) == v for k, v in where.items())]


def provenance(command: Sequence[str] | str | None = None) -> dict:
    """Where a result comes from: versions, device, date, git commit and the command line."""
    info = {k: v for k, v in config.describe().items() if k not in ("data dir", "output dir")}
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=config.REPO_ROOT, text=True,
                                capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    if command is None:
        command = ["python", *sys.orig_argv[1:]]  # as typed: python -m helpers.studies ...
    return {**info, "date": _dt.date.today().isoformat(), "git_commit": commit,
            "command": command if isinstance(command, str) else " ".join(command)}


def write(path, rows: list[dict], *, about: str, command=None, origin: dict | None = None, **extra) -> Path:
    """Save ``rows`` with their provenance as a measured-results file; returns the path. ``origin``: a
    ``provenance()`` taken when the study started (a long study saves after each run, and the code's commit
    is the one it started from); None: taken now."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"about": about, "provenance": origin or provenance(command), **extra, "rows": rows}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # a study stopped while saving keeps its last file
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    tmp.replace(path)
    return path


def merge(into, runs: Sequence, *, key: Sequence[str], replace: bool = False, about: str | None = None) -> dict:
    """Fold the rows of each run file (written by ``write``) into the measured file ``into``; returns it.

    A row is identified by its ``key`` fields (e.g. arm and seed). A row already in ``into`` is refused
    (ValueError) unless ``replace``. Each run's provenance joins ``provenance["runs"]`` with the keys of the
    rows it supplied. ``into`` need not exist yet: it then takes the first run's ``about`` and provenance.
    ``about``: the merged file's description instead (when the runs' own text no longer says how they were made).
    """
    into = Path(into)
    target = json.loads(into.read_text()) if into.exists() else None
    for run in map(Path, runs):
        data = json.loads(run.read_text())
        if target is None:
            target = {"about": data["about"], "provenance": {**data["provenance"], "runs": []}, "rows": []}
        index = {tuple(row.get(k) for k in key): i for i, row in enumerate(target["rows"])}
        supplied = []
        for row in data["rows"]:
            ident = tuple(row.get(k) for k in key)
            if ident in index and not replace:
                raise ValueError(f"{into.name} already has the row {dict(zip(key, ident))} (from {run}); "
                                 "pass replace=True (--replace) to overwrite it")
            if ident in index:
                target["rows"][index[ident]] = row
            else:
                index[ident] = len(target["rows"])
                target["rows"].append(row)
            supplied.append(dict(zip(key, ident)))
        origin = data["provenance"]
        target["provenance"].setdefault("runs", []).append(
            {"command": origin.get("command"), "git_commit": origin.get("git_commit"), "date": origin.get("date"),
             "file": run.name, "rows": supplied})
    if target is None:
        raise ValueError("no run files to merge")
    if about is not None:
        target["about"] = about
    into.parent.mkdir(parents=True, exist_ok=True)
    tmp = into.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(target, indent=1) + "\n")
    tmp.replace(into)
    return target


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and SAMPLE standard deviation (ddof=1; 0 for a single value) of ``values``."""
    values = list(values)
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


Column = tuple[str, "str | Callable[[dict], object]", str]  # (header, key or function of the row, format)


def markdown_table(table_rows: Sequence[dict], columns: Sequence[Column]) -> str:
    """A Markdown table: one line per row, one column per (header, key or function, format spec)."""
    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in table_rows:
        cells = []
        for _, get, fmt in columns:
            value = get(row) if callable(get) else row.get(get)
            cells.append("-" if value is None else format(value, fmt))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show(text: str):
    """Render Markdown in a notebook (plain text elsewhere); returns the text."""
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # outside IPython
        print(text)
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Measured results: merge finished study runs into a measured file.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("merge", help="fold run files (python -m helpers.studies ... --out RUN.json) into one")
    p.add_argument("runs", nargs="+", help="run files written by a study")
    p.add_argument("--into", required=True, help="the measured file, e.g. notebooks/measured/policies.json")
    p.add_argument("--key", nargs="+", required=True, help="the fields that identify a row, e.g. arm seed")
    p.add_argument("--replace", action="store_true", help="overwrite rows that are already there")
    p.add_argument("--about", default=None, help="the merged file's description, instead of the first run's")
    args = parser.parse_args(argv)
    from helpers.cli import UserError, user_errors

    with user_errors("python -m helpers.measured"):
        try:
            merged = merge(args.into, args.runs, key=args.key, replace=args.replace, about=args.about)
        except ValueError as exc:  # a row already there, no runs
            raise UserError(str(exc)) from None
    print(f"{args.into}: {len(merged['rows'])} rows from {len(merged['provenance']['runs'])} runs")


if __name__ == "__main__":
    main()
