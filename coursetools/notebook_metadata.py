"""Every notebook's metadata as JupyterLab will write it: the ``kernelspec`` of the installed ``python3`` kernel
("Python 3 (ipykernel)") and ipykernel's ``language_info``, which JupyterLab writes when the kernel starts (a
notebook holding other values opens already "modified"), and the ``jupytext`` settings of ``notebooks/jupytext.toml``,
which jupytext writes on saving (so that saving an unchanged lesson changes no file). ``make sync`` runs this after
jupytext (whose text twins keep no notebook metadata).

``python -m coursetools.notebook_metadata``          set it in every notebook under notebooks/
``python -m coursetools.notebook_metadata --check``  exit 1 if a notebook differs (the Python version aside)

``language_info.version`` is the Python version of the kernel: on another Python, JupyterLab still updates it on
opening. A notebook keeps the version it records (the one the course is tested with); a new one gets this Python's.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import nbformat

from helpers import config

NOTEBOOKS = config.REPO_ROOT / "notebooks"


def expected() -> dict:
    """{"jupytext": ..., "kernelspec": ..., "language_info": ...} as this environment writes them."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    pairing = tomllib.loads((NOTEBOOKS / "jupytext.toml").read_text())
    return {"jupytext": {k: pairing[k] for k in ("cell_metadata_filter", "formats", "notebook_metadata_filter")},
            "kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": "python3"},
            "language_info": dict(IPythonKernel.language_info)}


def notebooks() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def differences(path: Path, want: dict, *, ignore_version: bool = True) -> list[str]:
    """The metadata keys of ``path`` that differ from ``want``."""
    meta = nbformat.read(path, as_version=4).metadata
    out = []
    for key, value in want.items():
        have = dict(meta.get(key, {}))
        if key == "language_info" and ignore_version:
            have.pop("version", None)
            value = {k: v for k, v in value.items() if k != "version"}
        if have != value:
            out.append(key)
    return out


def apply(path: Path, want: dict) -> bool:
    """Write ``want`` into the notebook's metadata, keeping a Python version it already records (so contributors
    on other patch levels do not flip it back and forth); True if it changed."""
    if not differences(path, want):
        return False
    nb = nbformat.read(path, as_version=4)
    version = nb.metadata.get("language_info", {}).get("version")
    nb.metadata.update(want)
    if version:
        nb.metadata["language_info"] = {**want["language_info"], "version": version}
    nbformat.write(nb, path)
    return True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report notebooks that differ, change nothing")
    args = parser.parse_args(argv)
    want = expected()
    if args.check:
        bad = {p.relative_to(config.REPO_ROOT): d for p in notebooks() if (d := differences(p, want))}
        for path, keys in bad.items():
            print(f"{path}: {', '.join(keys)} differ: run python -m coursetools.notebook_metadata", file=sys.stderr)
        sys.exit(1 if bad else 0)
    for path in notebooks():
        if apply(path, want):
            print(f"updated {path.relative_to(config.REPO_ROOT)}")


if __name__ == "__main__":
    main()
