"""The rendered course: every lesson with its outputs and figures, as a static site (``make book``).

``python -m coursetools.book`` builds ``outputs/book/`` (open ``outputs/book/index.html``):

1. For each lesson it takes the executed copy that ``make test`` saved in ``outputs/executed/`` when that copy
   was run from the same source and in the same mode; otherwise it executes the lesson now, in the mode
   ``COURSE_QUICK`` selects (quick: a minute or so each; full: the lessons' real runtimes), and saves the copy.
2. It writes a small Sphinx project (an index, the lessons, the measured full-mode results of
   ``notebooks/measured/`` and the teaching guide) and builds it with myst-nb, which renders stored outputs and
   never executes.

Sphinx with myst-nb is used because it installs with pip alone and renders notebooks as they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers import config, measured
from helpers.cli import UserError, user_errors

NOTEBOOKS = config.REPO_ROOT / "notebooks"
EXECUTED = config.REPO_ROOT / "outputs" / "executed"
BOOK = config.REPO_ROOT / "outputs" / "book"
TITLE = "Image data augmentation with TensorFlow and Keras"


def lessons() -> list[Path]:
    """The lesson notebooks, in order (``notebooks/NN_*.ipynb``)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def source_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def reusable(lesson: Path, executed_dir: Path, mode: str) -> Path | None:
    """The executed copy of ``lesson`` in ``executed_dir`` if it ran from this exact source in ``mode``."""
    copy = executed_dir / lesson.name
    if not copy.exists():
        return None
    try:
        meta = json.loads(copy.read_text()).get("metadata", {}).get("course_execution", {})
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, AttributeError) as exc:
        print(f"{copy} cannot be read ({type(exc).__name__}: {exc}); {lesson.name} runs again", flush=True)
        return None
    if meta.get("source_sha256") == source_hash(lesson) and meta.get("mode") == mode:
        return copy
    return None


MAX_OUTPUT_CHARS = 20_000  # per text output on a page: a runaway print would make Sphinx crawl


def stage(copy: Path, target: Path) -> Path:
    """Write the executed notebook ``copy`` as the book renders it: cells with no source dropped (myst-nb fails on
    them without naming the notebook), and every text output cut to MAX_OUTPUT_CHARS with a note saying so."""
    import nbformat

    nb = nbformat.read(copy, as_version=4)
    nb.cells = [cell for cell in nb.cells if cell.source.strip()]
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            holders = [(output, "text")] + [(output.get("data", {}), key) for key in ("text/plain", "text/html")]
            for holder, key in holders:
                text = holder.get(key)
                if isinstance(text, list):
                    text = "".join(text)
                if isinstance(text, str) and len(text) > MAX_OUTPUT_CHARS:
                    holder[key] = (text[:MAX_OUTPUT_CHARS]
                                   + f"\n[... {len(text) - MAX_OUTPUT_CHARS:,} more characters cut for the book]")
    nbformat.write(nb, target)
    return target


def execute(lesson: Path, executed_dir: Path, mode: str, timeout: int = 3600) -> Path:
    """Run ``lesson`` top to bottom with nbclient (from ``notebooks/``) and save it in ``executed_dir``.
    A cell that raises stops the build with that cell's error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(lesson, as_version=4)
    resources = {"metadata": {"path": str(NOTEBOOKS)}}
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources).execute()
    nb.metadata["course_execution"] = {"mode": mode, "source_sha256": source_hash(lesson),
                                       "executed_by": "make book (nbclient)"}
    executed_dir.mkdir(parents=True, exist_ok=True)
    target = executed_dir / lesson.name
    tmp = target.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)
    return target


def measured_page() -> str:
    """A Markdown page listing every measured study: what it measured, on what, and from which command."""
    lines = [
        "# Measured results",
        "",
        "Every number the lessons discuss was measured in full mode and lives in one file of",
        "`notebooks/measured/`, with the machine and the command that produced it. The lessons draw their",
        "tables from these files, beside your own run.",
        "",
    ]
    for path in sorted(measured.MEASURED_DIR.glob("*.json")):
        study = json.loads(path.read_text())
        prov = study.get("provenance", {})
        lines += [f"## `{path.name}`", "", study.get("about", "").strip(), ""]
        keys = ("device", "tensorflow", "keras", "mode", "date", "git_commit")
        facts = [f"{key}: {prov[key]}" for key in keys if prov.get(key)]
        if facts:
            lines += ["- " + "; ".join(str(f) for f in facts)]
        if prov.get("command"):
            lines += [f"- command: `{prov['command']}`"]
        lines += [f"- rows: {len(study.get('rows', []))}", ""]
    return "\n".join(lines) + "\n"


def index_page(names: list[str]) -> str:
    toc = "\n".join(names)
    return f"""# {TITLE}

A course in Jupyter notebooks on making a small image dataset go further with data augmentation, on today's
TensorFlow and Keras. This is the rendered course: each lesson as it ran, with its outputs and figures.
Outputs come from a **{config.load_settings().mode}-mode** run; where a lesson quotes a full-mode result, it
draws it from the measured results, which appear in every mode.

```{{toctree}}
:maxdepth: 1
:caption: Lessons

{toc}
```

```{{toctree}}
:maxdepth: 1
:caption: Reference

measured
teaching
```
"""


CONF = f'''project = "{TITLE}"
extensions = ["myst_nb"]
html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {{"show_navbar_depth": 1, "use_download_button": True}}
nb_execution_mode = "off"  # outputs come from the executed copies
myst_enable_extensions = ["dollarmath"]
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
'''


MARKER = ".course-book"  # written into every site this builder makes; a folder without it is never replaced


def _made_here(out: Path) -> bool:
    """``out`` holds ``MARKER``, or is a Sphinx site (``.buildinfo``) in the course's own outputs folder, where
    builders before the marker left it."""
    legacy = (out / ".buildinfo").exists() and out.resolve().parent == (config.REPO_ROOT / "outputs").resolve()
    return (out / MARKER).exists() or legacy


def _check_target(out: Path) -> None:
    """Refuse ``out`` unless it is absent, empty, or a site this builder made."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a book folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not _made_here(out):
        raise FileExistsError(f"{out} holds files this builder did not make (no {MARKER} in it): it is left as it "
                              "is; choose an empty or new folder for --out")


def build(out: Path = BOOK, executed_dir: Path = EXECUTED, execute_missing: bool = True) -> Path:
    """Build the site into ``out`` and return the path of its ``index.html``.

    The Sphinx project and the site are made in temporary folders beside ``out``; only a complete build replaces
    ``out``, so a failed build leaves the previous book as it was. ``out`` is replaced only if it is empty or a
    book this builder made (FileExistsError otherwise, before any work)."""
    out = Path(out)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    mode = config.load_settings().mode
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.src-", dir=out.parent))
    site = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        names = []
        for lesson in lessons():
            copy = reusable(lesson, executed_dir, mode)
            if copy is None:
                if not execute_missing:
                    raise FileNotFoundError(
                        f"no executed {mode}-mode copy of {lesson.name} from this source in {executed_dir}")
                print(f"executing {lesson.name} ({mode} mode)", flush=True)
                copy = execute(lesson, executed_dir, mode)
            else:
                print(f"reusing {copy}", flush=True)
            stage(copy, staged / lesson.name)
            names.append(lesson.stem)
        (staged / "measured.md").write_text(measured_page())
        teaching = config.REPO_ROOT / "TEACHING.md"
        (staged / "teaching.md").write_text(teaching.read_text() if teaching.exists() else "# Teaching\n")
        (staged / "index.md").write_text(index_page(names))
        (staged / "conf.py").write_text(CONF)
        subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(staged), str(site)], check=True)
        (site / MARKER).write_text("made by python -m coursetools.book\n")
        _check_target(out)  # again: something may have been put there while the book was building
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
        site.rename(out)
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
        shutil.rmtree(site, ignore_errors=True)  # gone already after a successful rename
    return out / "index.html"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BOOK, help="where the site goes (default outputs/book)")
    parser.add_argument("--executed", type=Path, default=EXECUTED, help="executed lesson copies to reuse")
    parser.add_argument("--no-execute", action="store_true",
                        help="fail instead of executing a lesson without a reusable copy")
    args = parser.parse_args(argv)
    with user_errors("python -m coursetools.book"):
        try:
            index = build(args.out, args.executed, execute_missing=not args.no_execute)
        except FileExistsError as exc:  # --out names a folder the builder must not touch
            raise UserError(str(exc)) from None
    print(f"book: {index}")


if __name__ == "__main__":
    main()
