"""`make book`: the rendered course opens in a real browser, every lesson with its title, figures and navigation.

The build reuses the executed copies `make test` saved in outputs/executed/; lessons without a reusable copy
are executed first (a few minutes in quick mode).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading

import pytest

from coursetools import book
from helpers import measured
from tests.teaching import browser


@pytest.fixture(scope="module")
def site():
    """Build the book as `make book` does and serve it on 127.0.0.1."""
    index = book.build()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(index.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _title(lesson) -> str:
    nb = json.loads(lesson.read_text())
    sources = ("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    first = next(s for s in sources if s.startswith("# ")).splitlines()[0]  # the title, under the Colab badge
    return re.sub(r"[`*]", "", first.lstrip("# ")).strip()


def _figures(lesson) -> int:
    nb = json.loads((book.EXECUTED / lesson.name).read_text())
    return sum("image/png" in out.get("data", {}) for cell in nb["cells"] for out in cell.get("outputs", []))


def test_every_lesson_page_shows_its_title_figures_and_navigation(site):
    lessons = book.lessons()
    assert len(lessons) >= 8
    with browser.page() as page:
        page.goto(f"{site}/index.html")
        toc = page.locator("nav.bd-docs-nav a.reference.internal")
        for lesson in lessons:
            assert toc.filter(has_text=_title(lesson)[:20]).count() >= 1, f"{lesson.stem} missing from the site's navigation"
        for i, lesson in enumerate(lessons):
            response = page.goto(f"{site}/{lesson.stem}.html")
            assert response.ok, f"{lesson.stem}.html: HTTP {response.status}"
            page.wait_for_load_state("load")
            heading = page.locator("article h1").first.inner_text()
            assert _title(lesson)[:30] in heading.replace("#", "").strip(), f"{lesson.stem}: title {heading!r}"
            images = page.eval_on_selector_all(  # the site's own images (the Colab badge is fetched from Colab)
                "article img", "els => els.filter(e => e.src.startsWith(location.origin))"
                               ".map(e => ({src: e.src, ok: e.complete && e.naturalWidth > 0}))"
            )
            broken = [img["src"] for img in images if not img["ok"]]
            assert not broken, f"{lesson.stem}: broken images {broken}"
            assert len(images) >= _figures(lesson), f"{lesson.stem}: {len(images)} images shown, {_figures(lesson)} figures in the notebook"
            nav = page.locator(".prev-next-area a")
            expected = (i > 0) + (i < len(lessons) - 1)
            assert nav.count() >= expected, f"{lesson.stem}: {nav.count()} previous/next links"
            page.screenshot(path=str(browser.screenshot_path(f"book_{lesson.stem}")))


def test_the_measured_page_lists_every_study_with_its_numbers(site):
    with browser.page() as page:
        page.goto(f"{site}/measured.html")
        text = page.locator("article").inner_text()
        for path in measured.MEASURED_DIR.glob("*.json"):
            assert path.name in text
        mean, _ = measured.mean_std(r["test_accuracy"] for r in measured.rows("cifar_seeds", arm="crop_flip"))
        page.goto(f"{site}/02_cifar10_augmentation_experiment.html")
        assert f"{mean:.4f}" in page.locator("article").inner_text(), "lesson 2's measured crop_flip mean is not shown"
        page.screenshot(path=str(browser.screenshot_path("book_measured")))
