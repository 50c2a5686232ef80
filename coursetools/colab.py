"""Google Colab: each lesson's "Open in Colab" badge and its first code cell, made from one setting.

The repository's address is set once, as ``Repository`` under ``[project.urls]`` in ``pyproject.toml``.
``python -m coursetools.colab`` writes the badge cell and the setup cell into every lesson from it (run it after
changing the address, e.g. in a fork): into the lesson's text twin (``notebooks/NN_*.py``, the source), then into
its ``.ipynb``, written from the twin as ``make sync`` does (``jupytext --update --to ipynb``: cell ids kept).
``tests/test_coursetools_colab.py`` checks that every lesson carries exactly these cells, in both files.

The setup cell does nothing outside Colab. On Colab it clones the course's main branch (the branch the badges
open), or pulls when run again in the session; installs ``helpers`` with ``pip install -e`` when it is not
installed or ``pyproject.toml`` changed since (the install
keeps Colab's TensorFlow, which is no dependency of the course, and adds only what Colab lacks or has too old:
see the README); moves into ``notebooks/`` and downloads the lesson's datasets through the course's checksummed
loader. ``bash .ci/installs`` runs this cell in a Colab-like environment.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import jupytext
import jupytext.cli
import nbformat
from nbformat.corpus.words import generate_corpus_id

from helpers import config

PYPROJECT = config.REPO_ROOT / "pyproject.toml"
CLONE_TO = "/content/augmentation-course"
BADGE_ID, SETUP_ID = "colab-badge", "colab-setup"  # the two cells' ids in the .ipynb (the .py twin holds no ids)
BADGE_START = "[![Open In Colab]("
SETUP_START = "# On Google Colab only:"  # the setup cell's first line, by which it is found in the .py twin

# What each lesson downloads on Colab before it starts (lesson 1 uses images bundled with scikit-learn).
LESSON_DATASETS = {
    "00": (), "01": (), "02": ("cifar10",), "03": ("flowers",), "04": ("hotdog",), "05": ("membrane",),
    "06": ("cifar10", "flowers", "membrane"), "07": ("cifar10",), "08": ("cifar10", "flowers"),
}


def repository() -> str:
    """The course's public repository, e.g. ``https://github.com/owner/name`` (pyproject's [project.urls])."""
    url = tomllib.loads(PYPROJECT.read_text())["project"]["urls"]["Repository"].rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(
            f"[project.urls] Repository in pyproject.toml must be https://github.com/<owner>/<name>, not {url!r}")
    return url


def badge(notebook: str, url: str | None = None) -> str:
    """Markdown for the badge that opens ``notebooks/<notebook>`` of the main branch in Colab."""
    slug = (url or repository()).removeprefix("https://github.com/")
    link = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({link})"


def setup_cell(datasets: tuple[str, ...], url: str | None = None, clone_to: str = CLONE_TO) -> str:
    """The first code cell's source for a lesson that uses ``datasets`` (``url``, ``clone_to``: for tests)."""
    names = ", ".join(f'"{name}"' for name in datasets)
    fetch = (f"\n    from helpers import datasets\n\n    for name in [{names}]:\n        datasets.fetch(name)"
             if datasets else "")
    return f'''{SETUP_START} get the course, install what it needs that Colab lacks, fetch this lesson's data.
# Elsewhere: nothing. Colab's own TensorFlow is kept (see the course's README, "Google Colab").
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import os
    import subprocess

    course, url = "{clone_to}", "{url or repository()}"
    if not os.path.isdir(course):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", "main", url, course], check=True)
    else:  # cloned earlier in this session: pull (it stops only where new commits change a file you edited)
        subprocess.run(["git", "-C", course, "pull", "--ff-only", "--quiet"], check=False)
    wanted = open(f"{{course}}/pyproject.toml").read()
    marker = f"{{course}}/.colab-installed"  # the pyproject.toml installed last
    if importlib.util.find_spec("helpers") is None or not os.path.exists(marker) or open(marker).read() != wanted:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", course], check=True)
        open(marker, "w").write(wanted)
    sys.path.insert(0, course)  # this kernel started before the install
    os.chdir(f"{{course}}/notebooks"){fetch}'''


def lessons() -> list[Path]:
    """The lessons' text twins, in order (``notebooks/NN_*.py``)."""
    return sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def lesson_cells(path: Path, url: str | None = None) -> tuple[str, str]:
    """(badge markdown, setup code) for the lesson at ``path`` (its .py twin or its .ipynb)."""
    path = Path(path)
    return badge(path.with_suffix(".ipynb").name, url), setup_cell(LESSON_DATASETS[path.name[:2]], url)


def is_badge(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith(BADGE_START)


def is_setup(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(SETUP_START)


def apply(path: Path, url: str | None = None) -> bool:
    """Put the badge above the title and the setup cell first among the code cells of the lesson's .py twin
    (every other cell, with its metadata, as it was), then write its .ipynb from the twin; True if either
    file changed. ``path``: the twin or the .ipynb."""
    text = Path(path).with_suffix(".py")
    nb = jupytext.read(text)
    before = jupytext.writes(nb, fmt="py:percent")
    nb.cells = [c for c in nb.cells if not (is_badge(c) or is_setup(c))]
    badge_md, setup = lesson_cells(text, url)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code, nbformat.v4.new_code_cell(setup))
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(badge_md))
    changed = jupytext.writes(nb, fmt="py:percent") != before
    if changed:
        jupytext.write(nb, text, fmt="py:percent")
    return sync_notebook(text) or changed


def sync_notebook(text: Path) -> bool:
    """Write the .ipynb beside the text twin ``text`` from it, as ``make sync`` does (``jupytext --update --to
    ipynb``: every cell keeps its id and outputs), and give the badge and setup cells their fixed ids; True if
    the .ipynb changed."""
    ipynb = Path(text).with_suffix(".ipynb")
    before = ipynb.read_bytes() if ipynb.exists() else None
    if jupytext.cli.jupytext(["--update", "--to", "ipynb", "--quiet", str(text)]):
        raise RuntimeError(f"jupytext could not write {ipynb.name} from {Path(text).name}")
    nb = nbformat.read(ipynb, as_version=4)
    badge_at = nb.cells[0] if nb.cells and is_badge(nb.cells[0]) else None
    setup_at = next((c for c in nb.cells if is_setup(c)), None)
    renamed = False
    for cell in nb.cells:
        want = BADGE_ID if cell is badge_at else SETUP_ID if cell is setup_at else None
        if want is None and cell.get("id") in (BADGE_ID, SETUP_ID):
            want = generate_corpus_id()  # another cell inherited a fixed id: it gets a fresh one
        if want is not None and cell.get("id") != want:
            cell.id, renamed = want, True
    if renamed:
        jupytext.write(nb, ipynb, fmt="ipynb")
    return ipynb.read_bytes() != before


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    for path in lessons():
        print(("updated " if apply(path) else "unchanged ") + path.with_suffix(".ipynb").name)


if __name__ == "__main__":
    main()
