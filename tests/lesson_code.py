"""The code a lesson teaches, loaded from its notebook for the tests (d2l's "#@save" idea, read back).

``load("02")`` runs every import, function and class definition, and every upper-case constant, of
notebook 02's code cells (in order) in a fresh namespace, and returns it. Nothing else runs: no
training, no data loading. A lesson's teaching code stays in its cells; the tests call it from here.
"""

from __future__ import annotations

import ast
import functools
import types
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def _is_constant(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.isupper())


@functools.cache
def load(prefix: str) -> types.SimpleNamespace:
    """The definitions of the notebook whose name starts with ``prefix`` (e.g. "03")."""
    path = next(NOTEBOOKS.glob(f"{prefix}_*.ipynb"))
    namespace: dict = {"__name__": f"lesson_{prefix}"}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, _KEEP) or _is_constant(node):
                exec(compile(ast.Module([node], []), f"{path.name}", "exec"), namespace)  # noqa: S102
    return types.SimpleNamespace(**namespace)
