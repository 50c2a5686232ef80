"""Settings for every test run, unit tests and notebooks alike (nbval kernels inherit them).

Quick mode; datasets from ../shared/datasets when that folder exists (the course's
offline copies); outputs in a throw-away folder so a test run never litters outputs/.
Each is only a default: a variable already set wins.
"""

import os
import tempfile
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parent.parent / "shared" / "datasets"


def pytest_configure(config):
    os.environ.setdefault("COURSE_QUICK", "1")
    if "COURSE_DATA_DIR" not in os.environ and SHARED_DATASETS.is_dir():
        os.environ["COURSE_DATA_DIR"] = str(SHARED_DATASETS)
    os.environ.setdefault("COURSE_OUTPUT_DIR", tempfile.mkdtemp(prefix="course-test-outputs-"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if config.getoption("--save-executed"):
        config.pluginmanager.register(ExecutedNotebooks(config.getoption("--save-executed")), "executed-notebooks")
    run_cells_as_jupyter_does()


def run_cells_as_jupyter_does():
    """Make nbval send each cell with store_history=True, as Jupyter and nbclient do.

    nbval 0.11 sends store_history=False. IPython reads a cell's trailing `;` from the input history, so it then
    misses it: a cell ending in `plots.show_grid(...);` shows the returned figure as its result AND once more
    from matplotlib's inline backend, and every figure appears twice in the executed copies (and the book).
    tests/test_notebooks.py runs a notebook through nbval and counts its figures."""
    from nbval.kernel import RunningKernel

    if getattr(RunningKernel.execute_cell_input, "stores_history", False):
        return

    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    execute_cell_input.stores_history = True
    RunningKernel.execute_cell_input = execute_cell_input

# Instructor exercise notebooks are run by the nbgrader round trip (tests/teaching), not by nbval.
collect_ignore_glob = ["notebooks/exercises/*"]


# --save-executed DIR: keep what the notebook test ran, so the book (`make book`) does not execute a second time.
def pytest_addoption(parser):
    parser.addoption(
        "--save-executed", metavar="DIR", default=None,
        help="write each lesson notebook whose every cell ran without error, with its outputs, to DIR",
    )


class ExecutedNotebooks:
    """Collects nbval's outputs cell by cell and writes each fully passed notebook at the end of the session."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.files = {}  # path -> nbval's IPyNbFile
        self.passed = {}  # path -> number of code cells that passed

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        if call.when != "call" or not hasattr(item, "test_outputs") or not hasattr(item.parent, "nb"):
            return
        path = str(item.parent.fspath)
        self.files[path] = item.parent
        if report.passed and item.test_outputs is not None:
            item.cell.outputs = item.test_outputs
            item.cell.execution_count = item.cell_num + 1
            self.passed[path] = self.passed.get(path, 0) + 1

    def pytest_sessionfinish(self, session):
        import json

        import nbformat

        from coursetools.book import source_hash
        from helpers import config

        for path, nbfile in self.files.items():
            nb = nbfile.nb
            if self.passed.get(path, 0) != sum(cell.cell_type == "code" for cell in nb.cells):
                continue  # a cell failed or was not selected: not a complete run
            nb.metadata["course_execution"] = {
                "mode": config.load_settings().mode,
                "source_sha256": source_hash(Path(path)),
                "executed_by": "make test (nbval)",
            }
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / Path(path).name
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(nbformat.from_dict(nb), indent=1, ensure_ascii=False) + "\n")
            nbformat.validate(nbformat.read(tmp, as_version=4))
            tmp.replace(target)
