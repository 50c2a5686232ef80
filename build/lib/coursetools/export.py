"""Export the definitions the lessons teach into the library: ``python -m coursetools.export``.

d2l's ``#@save`` idea. A code cell of a lesson's text source (``notebooks/NN_*.py``) whose first line is
``#@save`` is written once, there; this command copies that cell's functions, classes and UPPER_CASE constants,
with the imports they use, into ``helpers/taught/<module>.py``. The drivers, the benchmark and the exercises
import them from there, so the results they measure come from the code the student reads. The cell's other
statements (demonstrations, prints) stay in the lesson.

``--check`` writes nothing and exits 1 if a generated module is stale (``tests/test_export.py`` runs it).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TAUGHT = ROOT / "helpers" / "taught"
MARK = "#@save"

# lesson text source -> generated module of helpers.taught, and what the module holds
EXPORTS = {
    "01_augmentation_basics": ("basic_ops", "Lesson 1's augmentation ops: random-resized crop, HSV power contrast, "
                                            "Gaussian blur, the fused affine"),
    "02_cifar10_augmentation_experiment": ("cifar_pipeline", "Lesson 2's CIFAR-10 input pipeline"),
    "03_flowers_fit_generator": ("feeding", "Lesson 3's ways to feed fit: generator, PyDataset, tf.data from files"),
    "05_unet_membrane_segmentation": ("segmentation", "Lesson 5's paired image/mask pipeline and U-Net"),
    "06_fast_input_pipelines": ("input_knobs", "Lesson 6's tf.data pipeline with one knob per argument, and the clock for fit's steps"),
    "07_modern_augmentation_policies": ("policy_training", "Lesson 7's pipeline with blends and test-time augmentation"),
}


class ExportError(ValueError):
    """A marked cell cannot be exported on its own (it uses a lesson variable that is not exported)."""


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return []


def _is_constant(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.isupper())


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _segment(source: str, node: ast.stmt) -> str:
    """The statement's source, decorators included."""
    lines = source.splitlines()
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[first - 1:node.end_lineno])


def render(lesson: Path, module: str, title: str) -> str:
    """The generated module's text for one lesson's text source."""
    notebook = jupytext.read(lesson)
    imports: dict[str, str] = {}  # bound name -> import statement, first binding wins
    exported: list[tuple[str, ast.stmt, str]] = []  # (name, node, source)
    lesson_names: set[str] = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if source.lstrip().startswith(("%", "!")):
            continue
        tree = ast.parse(source)
        marked = source.splitlines()[:1] == [MARK]
        for node in tree.body:
            names = _bound_names(node)
            lesson_names.update(names)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias, name in zip(node.names, names):
                    text = (f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                            if isinstance(node, ast.Import) else
                            f"from {'.' * node.level}{node.module or ''} import {alias.name}"
                            + (f" as {alias.asname}" if alias.asname else ""))
                    imports.setdefault(name, text)
            elif marked and (isinstance(node, (ast.FunctionDef, ast.ClassDef)) or _is_constant(node)):
                exported.append((names[0], node, _segment(source, node)))
    if not exported:
        raise ExportError(f"{lesson.name}: no cell starts with {MARK}")
    defined = {name for name, _, _ in exported}
    needed: set[str] = set()
    for name, node, _ in exported:
        for used in _used_names(node) - defined - set(dir(builtins)):
            if used in imports:
                needed.add(used)
            elif used in lesson_names and not _is_local(node, used):
                raise ExportError(f"{lesson.name}: {name} uses the lesson variable {used!r}, which no #@save cell "
                                  "defines: export it too, or pass it as an argument")
    header = (f'"""{title}.\n\n'
              f"GENERATED from ``notebooks/{lesson.name}``\n"
              f"by ``python -m coursetools.export``, which copies the lesson's cells marked ``{MARK}``. Do not edit\n"
              'this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).\n"""')
    groups: dict[str, list[str]] = {"stdlib": [], "third": [], "course": []}
    merged: dict[str, list[str]] = {}  # "from m import" -> names, in lesson order
    for name in sorted(needed, key=list(imports).index):
        statement = imports[name]
        top = statement.split()[1].split(".")[0]
        group = "course" if top == "helpers" else "stdlib" if top in sys.stdlib_module_names else "third"
        if statement.startswith("from "):
            head, _, what = statement.partition(" import ")
            if head not in merged:
                merged[head] = []
                groups[group].append(head)
            merged[head].append(what)
        else:
            groups[group].append(statement)
    def by_kind(name):  # isort's order within a from-import: CONSTANTS, Classes, functions
        return (not name.isupper(), not name[:1].isupper(), name)

    def sorted_group(lines):  # isort's order within a section: plain imports, then from-imports, by module
        plain = sorted((line for line in lines if line not in merged), key=lambda line: line.split()[1])
        froms = sorted((line for line in lines if line in merged), key=lambda line: line.split()[1])
        return plain + [f"{line} import {', '.join(sorted(merged[line], key=by_kind))}" for line in froms]

    blocks = [header] + ["\n".join(sorted_group(lines)) for lines in groups.values() if lines]
    text = "\n\n".join(blocks) + "\n"
    for i, (_, node, segment) in enumerate(exported):  # isort: one blank line before a constant, two before a def
        text += ("\n" if i == 0 and _is_constant(node) else "\n\n") + segment + "\n"
    return text.rstrip() + "\n"


def _is_local(node: ast.stmt, name: str) -> bool:
    """Is ``name`` bound inside the definition (a parameter, an assignment, a loop or comprehension variable)?"""
    for inner in ast.walk(node):
        if isinstance(inner, ast.arg) and inner.arg == name:
            return True
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store) and inner.id == name:
            return True
        if isinstance(inner, (ast.FunctionDef, ast.ClassDef)) and inner is not node and inner.name == name:
            return True
    return False


def generated() -> dict[Path, str]:
    """Every generated file's path and the text it must hold."""
    files = {}
    for stem, (module, title) in EXPORTS.items():
        files[TAUGHT / f"{module}.py"] = render(NOTEBOOKS / f"{stem}.py", module, title)
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    stale = [path for path, text in generated().items() if not path.is_file() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run `python -m coursetools.export`)")
        return 1 if stale else 0
    for path, text in generated().items():
        if path in stale:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
