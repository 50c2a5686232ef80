"""`make lab`, used as a person uses it: JupyterLab started by the Makefile (as root too: this test runs as whoever
runs it, root in CI), the start notebook opened in headless Chromium, all its cells run in quick mode, the mode
banner found in its output, no cell failing, no news pop-up over the lesson, a screenshot saved, and the server
shut down with nothing left running.

The server gets its own user-settings and workspaces folders (in pytest's tmp): autosave off, so the lesson on
disk stays as committed, and nothing written to ~/.jupyter. The course's settings (jupyter/lab-settings, passed by
the Makefile) apply all the same: they change JupyterLab's defaults, not the user's settings.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import config
from tests.teaching import browser

NOTEBOOK = "00_start_here.ipynb"
START_S = 120  # until the server answers
RUN_S = 600  # Run All Cells, quick mode (2 CPU cores shared with other jobs)
CPP_LOG = re.compile(r"(?m)^[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]|absl::InitializeLog")
MARKER = "COURSE_LAB_TEST"  # in the server's environment, so its kernels can be found if it has to be killed


@dataclass
class Lab:
    base: str
    token: str
    log: Path

    def get(self, path: str):
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def delete(self, path: str) -> None:
        request = urllib.request.Request(self.base + path, method="DELETE",
                                         headers={"Authorization": f"token {self.token}"})
        urllib.request.urlopen(request, timeout=30).close()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (the server and the kernels it started)."""
    needle = marker.encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int(entry.name) != os.getpid() and needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            pass  # gone, or not ours to read
    return pids


def _stop(server: subprocess.Popen, lab: Lab, marker: str) -> None:
    """POST /api/shutdown (JupyterLab stops its kernels); then SIGTERM, SIGKILL to `make lab`'s process group; then
    any kernel still carrying this server's marker (kernels run in sessions of their own)."""
    try:
        request = urllib.request.Request(f"{lab.base}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {lab.token}"})
        urllib.request.urlopen(request, timeout=10).close()
    except OSError:
        pass
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            try:
                os.killpg(server.pid, sig)
            except ProcessLookupError:
                pass
        try:
            server.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
    for pid in _pids_with(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server started with `make lab` on 127.0.0.1, a free port and a random token."""
    home = tmp_path_factory.mktemp("lab")
    docmanager = home / "user-settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text('{"autosave": false}\n')
    port, token = _free_port(), secrets.token_hex(16)
    flags = (f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
             f"--LabApp.user_settings_dir={home / 'user-settings'} --LabApp.workspaces_dir={home / 'workspaces'}")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # a plain `make lab`
    env.update({"COURSE_QUICK": "1", MARKER: token})  # the kernels inherit both
    lab = Lab(f"http://127.0.0.1:{port}", token, home / "server.log")
    with lab.log.open("w") as out:
        server = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={flags}"], cwd=config.REPO_ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                lab.get("/api/status")
                break
            except OSError:
                pass
            if server.poll() is not None:
                pytest.fail(f"`make lab` exited ({server.returncode}) before serving:\n{lab.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"`make lab` did not answer on {lab.base} within {START_S} s:\n{lab.log_tail()}")
            time.sleep(1)
        yield lab
    finally:
        _stop(server, lab, f"{MARKER}={token}")


def _run_all_cells(page) -> None:
    """Run > Run All Cells, as a person does. The menu item is disabled until the notebook is the current
    widget; the menu is closed and opened again until it is enabled."""
    run_all = page.locator(".lm-Menu-item[data-command='runmenu:run-all']")
    deadline = time.monotonic() + 120
    while True:
        page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt").first.click()  # focus (not a link)
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        run_all.wait_for(state="visible")
        if "lm-mod-disabled" not in (run_all.get_attribute("class") or ""):
            run_all.click()
            return
        page.keyboard.press("Escape")
        if time.monotonic() > deadline:
            raise AssertionError("Run > Run All Cells stayed disabled for 2 minutes")
        time.sleep(2)


# The prompts of all code cells, once Run All Cells has ended: no cell queued or running ([*]), at least one
# executed, the kernel idle. A failing cell ends the run early; the cells after it keep an empty prompt.
_RUN_ENDED = """() => {
    const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')]
        .map(p => p.textContent.trim());
    const status = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')?.dataset.status;
    const ran = prompts.some(t => /\\[\\d+\\]/.test(t)), busy = prompts.some(t => t.includes('[*]'));
    return ran && !busy && status === 'idle' ? prompts : null;
}"""


def test_make_lab_runs_the_start_notebook_in_a_browser(lab):
    with browser.page() as page:
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{lab.base}/lab/tree/{NOTEBOOK}?token={lab.token}", timeout=120_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=120_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=180_000)  # the kernel started and connected
            _run_all_cells(page)
            prompts = page.wait_for_function(_RUN_ENDED, timeout=RUN_S * 1000).json_value()
            outputs = page.locator(".jp-NotebookPanel .jp-OutputArea-output")
            texts = outputs.all_text_contents()  # every cell's, also those scrolled out of view
            stderr = page.locator(".jp-NotebookPanel .jp-OutputArea-output"
                                  "[data-mime-type='application/vnd.jupyter.stderr']").all_text_contents()
            banner = outputs.filter(has_text="QUICK mode")
            if banner.count():
                banner.first.scroll_into_view_if_needed()  # the screenshot shows the banner
            toasts = page.locator(".jp-toastContainer .Toastify__toast").all_text_contents()
        finally:
            page.screenshot(path=str(browser.screenshot_path("lab_00_start_here")))

    # C++ libraries' log lines (absl: "I0000 00:00:17... port.cc:153] ...") go to the terminal, not into the lesson
    logs = [t for t in stderr if CPP_LOG.search(t)]
    assert not logs, "TensorFlow's C++ log reached the lesson:\n" + "\n".join(t[:300] for t in logs)
    # an error output is rendered as stderr: IPython's traceback, or at least its last line "SomeError: ..."
    errors = [t for t in stderr if "Traceback" in t or re.search(r"(?m)^\w*(Error|Exception)\b:", t)]
    assert not errors, "a cell of the start notebook failed:\n" + "\n".join(t[-1500:] for t in errors)
    not_run = [i + 1 for i, p in enumerate(prompts) if not re.search(r"\[\d+\]", p)]
    assert not not_run, f"Run All Cells stopped early: code cells {not_run} of {len(prompts)} did not run ({prompts})"
    assert any("QUICK mode" in t for t in texts), f"no 'QUICK mode' banner in the outputs: {[t[:200] for t in texts[:3]]}"
    assert not toasts, f"a notification pop-up shows over the lesson (the news question?): {toasts}"
    # the lesson on disk is as committed: no outputs saved into it
    saved = json.loads((config.REPO_ROOT / "notebooks" / NOTEBOOK).read_text())
    assert not any(c.get("outputs") for c in saved["cells"]), f"notebooks/{NOTEBOOK} was saved with outputs"


def test_the_course_settings_switch_off_jupyterlabs_news(lab):
    """The course's overrides.json is what switches the news off: it becomes the settings' default."""
    notification = lab.get("/lab/api/settings/@jupyterlab/apputils-extension:notification")
    defaults = {key: value["default"] for key, value in notification["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults
    assert notification["settings"] == {}, "this server's user settings should be empty"


def _notebooks() -> list[str]:
    """Every notebook a student opens, as a path under the lab's root (notebooks/)."""
    root = config.REPO_ROOT / "notebooks"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_the_lab_lands_on_lesson_0_and_every_notebook_opens_unmodified(lab):
    """JupyterLab's front page is lesson 0; each notebook, once its kernel is up, is not marked as changed (a
    kernelspec that differs from the kernel's, or a missing one, makes JupyterLab rewrite it on opening)."""
    dirty = []
    with browser.page() as page:
        page.set_default_timeout(60_000)
        page.goto(f"{lab.base}/?token={lab.token}", timeout=120_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        assert page.url.split("?")[0].endswith("/lab/tree/00_start_here.ipynb"), page.url
        for name in _notebooks():  # ?reset: a fresh workspace, this notebook its only tab
            page.goto(f"{lab.base}/lab/tree/{name}?reset&token={lab.token}", timeout=120_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']:visible",
                                   timeout=180_000)
            page.wait_for_timeout(5_000)  # the kernel's language_info reaches the notebook 1-2 s after "idle"
            if page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count():
                dirty.append(name)
            if name == "01_augmentation_basics.ipynb":  # saved as opened: neither file of the pair changes
                pair = [config.REPO_ROOT / "notebooks" / name, config.REPO_ROOT / "notebooks" / name.replace(".ipynb", ".py")]
                before = [p.read_bytes() for p in pair]
                try:
                    page.keyboard.press("Control+s")
                    page.wait_for_timeout(3_000)
                    changed = [p.name for p, b in zip(pair, before) if p.read_bytes() != b]
                finally:
                    for p, b in zip(pair, before):
                        if p.read_bytes() != b:
                            p.write_bytes(b)  # the lesson stays as committed
                assert not changed, f"saving an unchanged lesson rewrote {changed} (jupytext's config not found?)"
            for session in lab.get("/api/sessions"):  # one kernel at a time on a small machine
                lab.delete(f"/api/sessions/{session['id']}")
    assert not dirty, f"these notebooks open already modified: {dirty}"
