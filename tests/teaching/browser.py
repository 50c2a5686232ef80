"""Headless Chromium for the teaching-kit tests: Debian's /usr/bin/chromium driven by Playwright.

Playwright never downloads a browser here: it is given Debian's executable. The flags keep Chromium off the
network (its background services would otherwise try to reach Google at every start).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "outputs" / "screenshots"


@contextlib.contextmanager
def page(width: int = 1400, height: int = 1000):
    """A fresh browser page; fails with the install command when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        raise AssertionError(f"{CHROMIUM} not found: install Debian's browser with `apt-get install chromium` (as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise AssertionError("Playwright is missing: `pip install -e .[teach]` (or `make test-teaching`)") from error
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            yield context.new_page()
        finally:
            browser.close()


def screenshot_path(name: str) -> Path:
    """``outputs/screenshots/<name>.png``, its folder created."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
