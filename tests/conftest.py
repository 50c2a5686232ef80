"""Fixtures for the data-layer tests: archives the tests build, a local origin to serve them, and a skip
marker for tests that need the course's offline dataset copies."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest


SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"  # the offline copies CI places beside the clone


def needs_offline(*names: str):
    """Skip the test unless every dataset folder is in the course's data directory (COURSE_DATA_DIR,
    which the root conftest points at SHARED when it exists). Names: a folder, or a dataset name."""
    from helpers import config

    folders = {"flowers": "flower_photos", "cifar10": "cifar-10-batches-py"}
    data_dir = config.data_dir()
    missing = [name for name in names if not (data_dir / folders.get(name, name)).is_dir()]
    return pytest.mark.skipif(bool(missing), reason=f"not in the data directory {data_dir}: {', '.join(missing)}")


class _Origin(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; counts requests; '/truncated/<file>' promises more bytes than it sends."""

    requests: list[str]

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        if self.path.startswith("/truncated/"):
            body = (Path(self.directory) / self.path.removeprefix("/truncated/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) * 2))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def origin(tmp_path):
    """A folder served over HTTP on 127.0.0.1. Yields (folder, base_url, requests)."""
    folder = tmp_path / "origin"
    folder.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Origin,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dead_url():
    """A URL on 127.0.0.1 where nothing listens: what 'offline' looks like to urllib."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-here.tar.gz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_tar(path: Path, files: dict[str, bytes], *, symlinks: dict[str, str] | None = None,
             hardlinks: dict[str, str] | None = None) -> Path:
    """A .tar.gz with the given members (names are used verbatim, even unsafe ones)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for kind, links in ((tarfile.SYMTYPE, symlinks or {}), (tarfile.LNKTYPE, hardlinks or {})):
            for name, target in links.items():
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = target
                tar.addfile(info)
    return path


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    """A .zip with the given members (names are used verbatim, even unsafe ones)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def listing(folder: Path) -> list[str]:
    """Every path below ``folder``, hidden ones included, relative and sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
