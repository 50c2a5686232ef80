"""Settings for every test run, unit tests and notebooks alike (nbval kernels inherit them).

Quick mode; datasets from ../shared/datasets when that folder exists (the course's
offline copies); outputs in a throw-away folder so a test run never litters outputs/.
Each is only a default: a variable already set wins.
"""

import os
import tempfile
from pathlib import Path

SHARED_DATASETS = Path(__file__).resolve().parent.parent / "shared" / "datasets"


def pytest_configure(config):
    os.environ.setdefault("COURSE_QUICK", "1")
    if "COURSE_DATA_DIR" not in os.environ and SHARED_DATASETS.is_dir():
        os.environ["COURSE_DATA_DIR"] = str(SHARED_DATASETS)
    os.environ.setdefault("COURSE_OUTPUT_DIR", tempfile.mkdtemp(prefix="course-test-outputs-"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Instructor exercise notebooks are run by the nbgrader round trip (tests/teaching), not by nbval.
collect_ignore_glob = ["notebooks/exercises/*"]
