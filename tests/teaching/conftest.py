"""Every test in this folder is a teaching-kit test: `make test-teaching` runs them (`pytest -m teaching`),
`make test` leaves them out. They need the `teach` extra (`pip install -e .[teach]`) and, for the browser
tests, Debian's chromium at /usr/bin/chromium."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.teaching)
