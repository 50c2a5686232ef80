"""Google Colab: each lesson's "Open in Colab" badge and its first code cell, made from one setting.

The repository's address is set once, as ``Repository`` under ``[project.urls]`` in ``pyproject.toml``.
``python -m helpers.colab`` writes the badge cell and the setup cell into every lesson from it (run it after
changing the address, e.g. in a fork); ``tests/test_colab.py`` checks that every lesson carries exactly these.

The setup cell does nothing outside Colab. On Colab it clones the course, installs ``helpers`` with
``pip install -e`` (which keeps Colab's own TensorFlow and Keras: ``pyproject.toml`` gives ranges, not pins),
moves into ``notebooks/`` and downloads the lesson's datasets through the course's checksummed loader.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import nbformat

from helpers import config

PYPROJECT = config.REPO_ROOT / "pyproject.toml"
CLONE_TO = "/content/augmentation-course"
BADGE_ID, SETUP_ID = "colab-badge", "colab-setup"

# What each lesson downloads on Colab before it starts (lesson 1 uses images bundled with scikit-learn).
LESSON_DATASETS = {
    "00": (), "01": (), "02": ("cifar10",), "03": ("flowers",), "04": ("hotdog",), "05": ("membrane",),
    "06": ("cifar10", "flowers", "membrane"), "07": ("cifar10",),
}


def repository() -> str:
    """The course's public repository, e.g. ``https://github.com/owner/name`` (pyproject's [project.urls])."""
    url = tomllib.loads(PYPROJECT.read_text())["project"]["urls"]["Repository"].rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"[project.urls] Repository in pyproject.toml must be https://github.com/<owner>/<name>, not {url!r}")
    return url


def badge(notebook: str, url: str | None = None) -> str:
    """Markdown for the badge that opens ``notebooks/<notebook>`` of the main branch in Colab."""
    slug = (url or repository()).removeprefix("https://github.com/")
    link = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({link})"


def setup_cell(datasets: tuple[str, ...], url: str | None = None, clone_to: str = CLONE_TO) -> str:
    """The first code cell's source for a lesson that uses ``datasets`` (``url``, ``clone_to``: for tests)."""
    names = ", ".join(f'"{name}"' for name in datasets)
    fetch = f"\n    from helpers import datasets\n\n    for name in [{names}]:\n        datasets.fetch(name)" if datasets else ""
    return f'''# On Google Colab only: get the course, install its helpers, fetch this lesson's data. Elsewhere: nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("{clone_to}"):
        subprocess.run(["git", "clone", "--depth", "1", "{url or repository()}", "{clone_to}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "{clone_to}"], check=True)
    sys.path.insert(0, "{clone_to}")  # this kernel started before the install
    os.chdir("{clone_to}/notebooks"){fetch}'''


def lesson_cells(path: Path, url: str | None = None) -> tuple[str, str]:
    """(badge markdown, setup code) for the lesson notebook at ``path``."""
    return badge(path.name, url), setup_cell(LESSON_DATASETS[path.name[:2]], url)


def apply(path: Path, url: str | None = None) -> bool:
    """Put the badge above the title and the setup cell first among the code cells; True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    nb.cells = [c for c in nb.cells if c.get("id") not in (BADGE_ID, SETUP_ID)]
    badge_md, setup = lesson_cells(path, url)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code, nbformat.v4.new_code_cell(setup, id=SETUP_ID))
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(badge_md, id=BADGE_ID))
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after + "\n")
    return after != before


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    for path in sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        print(("updated " if apply(path) else "unchanged ") + path.name)


if __name__ == "__main__":
    main()
