"""The split between the students' library and the course's own tooling: importing every module of ``helpers``
loads none of the teaching kit's packages (nbgrader, Sphinx, myst-nb, Playwright: the `teach` extra, which a
student's install lacks), and neither ``helpers`` nor any lesson imports ``coursetools``."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPERS = sorted(p.stem for p in (ROOT / "helpers").glob("*.py") if p.stem != "__init__")
TEACHING_PACKAGES = {"nbgrader", "sphinx", "myst_nb", "playwright"}

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import helpers
names = sorted(m.name for m in pkgutil.walk_packages(helpers.__path__, "helpers."))  # subpackages too
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_the_tooling_lives_in_coursetools_not_in_helpers():
    assert not {"book", "grading", "colab"} & set(HELPERS)
    assert {"book", "grading", "colab"} <= {p.stem for p in (ROOT / "coursetools").glob("*.py")}
    assert {"datasets", "readers", "splits", "augment", "paired"} <= set(HELPERS)


def test_importing_every_helpers_module_loads_no_teaching_package():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, env=env,
                            check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {f"helpers.{name}" for name in HELPERS} <= set(report["modules"])
    loaded = set(report["loaded"])
    assert not TEACHING_PACKAGES & loaded, f"a helpers module imports {sorted(TEACHING_PACKAGES & loaded)}"
    assert "coursetools" not in loaded


def _imported(path: Path) -> set[str]:
    """Every module an ``import`` statement anywhere in ``path`` names (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_helpers_module_imports_coursetools_even_lazily():
    sources = sorted((ROOT / "helpers").rglob("*.py"))
    assert len(sources) > len(HELPERS)
    offenders = {str(path.relative_to(ROOT)): sorted(n for n in _imported(path)
                                                     if n.split(".")[0] in {"coursetools"} | TEACHING_PACKAGES)
                 for path in sources}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_no_lesson_or_exercise_uses_coursetools():
    sources = [p for p in (ROOT / "notebooks").rglob("*.py") if ".ipynb_checkpoints" not in p.parts]
    assert sources
    users = [str(p.relative_to(ROOT)) for p in sources if re.search(r"\bcoursetools\b", p.read_text())]
    assert not users, f"lessons must not use the course's tooling: {users}"


def test_the_licences_and_the_citation_agree_with_pyproject():
    import tomllib

    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0 AND CC-BY-4.0"
    for name in project["license-files"]:
        assert (ROOT / name).is_file(), f"{name} is named in pyproject.toml but missing"
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert "Attribution 4.0 International" in (ROOT / "LICENSE-CC-BY-4.0").read_text()[:200]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["title"] and citation["authors"]
    assert citation["repository-code"] == project["urls"]["Repository"]
    assert citation["version"] == project["version"]
    assert sorted(citation["license"]) == sorted(project["license"].split(" AND "))
