"""`make lab`, used as a person uses it: JupyterLab started by the Makefile (as root too: this test runs as whoever
runs it, root in CI), the start notebook opened in headless Chromium, all its cells run in quick mode, the mode
banner found in its output, no news pop-up over the lesson, a screenshot saved, and the server shut down."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from helpers import config
from tests.teaching import browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server started with `make lab` on 127.0.0.1, a free port and a random token."""
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path_factory.mktemp("lab") / "server.log"
    flags = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    env = {**os.environ, "COURSE_QUICK": "1"}
    with log.open("w") as out:
        server = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={flags}"], cwd=config.REPO_ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`make lab` did not serve on {base} (exit {server.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield base, token, log
    finally:
        try:
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=10).close()
            server.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _run_all_cells(page, attempts: int = 3) -> None:
    """Run > Run All Cells, as a person does; clicked again if no cell has started within a minute
    (a menu click can land before the notebook's kernel is connected)."""
    started = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                      .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
    for _ in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(started, timeout=60_000)
            return
        except Exception:  # playwright's TimeoutError: try the menu again
            page.keyboard.press("Escape")
    raise AssertionError("Run > Run All Cells started no cell")


def test_make_lab_runs_the_start_notebook_in_a_browser(lab):
    base, token, log = lab
    with browser.page() as page:
        page.goto(f"{base}/lab/tree/00_start_here.ipynb?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        _run_all_cells(page)
        page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=300_000,
        )
        outputs = page.locator(".jp-OutputArea-output").all_text_contents()  # also cells scrolled out of view
        page.screenshot(path=str(browser.screenshot_path("lab_00_start_here")))
        assert any("QUICK mode" in text for text in outputs), f"no mode banner in the outputs: {outputs[:3]}"
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Traceback")
        assert errors.count() == 0, errors.all_text_contents()
        assert page.get_by_text("official Jupyter news").count() == 0, "JupyterLab's news pop-up covers the lesson"
    # every cell ran in the server's kernel, and the server logged no traceback of its own
    assert "Traceback" not in log.read_text()


def test_the_course_settings_switch_off_jupyterlabs_news(lab):
    base, token, _ = lab
    url = f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}"
    with urllib.request.urlopen(url, timeout=10) as response:
        schema = json.load(response)["schema"]["properties"]  # overrides.json replaces the schema's defaults
    assert schema["fetchNews"]["default"] == "false" and schema["checkForUpdates"]["default"] is False
