"""Fixtures for the data-layer tests: archives the tests build, a local origin to serve them, small CIFAR-10
batch files and membrane pairs written on the spot, and a skip marker for tests that need the course's offline
dataset copies."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import pickle
import socket
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
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
    """Serves a folder; counts requests; '/truncated/<file>' promises more bytes than it sends;
    '/slow/<file>' trickles a file out over about 0.6 s; '/badlength/<file>' sends the whole file under a malformed
    Content-Length."""

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
        if self.path.startswith("/slow/"):  # about 0.6 s per file: long enough for two fetches to overlap
            body = (Path(self.directory) / self.path.removeprefix("/slow/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            step = max(1, len(body) // 30)
            for start in range(0, len(body), step):
                self.wfile.write(body[start:start + step])
                self.wfile.flush()
                time.sleep(0.02)
            return
        if self.path.startswith("/badlength/"):  # a complete body under a header that is not a number
            body = (Path(self.directory) / self.path.removeprefix("/badlength/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", "about 40 kB")
            self.end_headers()
            self.wfile.write(body)
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
             hardlinks: dict[str, str] | None = None, specials: dict[str, bytes] | None = None) -> Path:
    """A .tar.gz with the given members (names are used verbatim, even unsafe ones); ``specials``
    maps a name to a tarfile type (e.g. tarfile.FIFOTYPE, tarfile.CHRTYPE)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind in (specials or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            tar.addfile(info)
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


def make_zip(path: Path, files: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> Path:
    """A .zip with the given members (names are used verbatim, even unsafe ones); ``symlinks`` are
    stored the way Info-ZIP stores them (mode S_IFLNK, the target as the data)."""
    import stat

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def listing(folder: Path) -> list[str]:
    """Every path below ``folder``, hidden ones included, relative and sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def make_realpath_overflow_tar(path: Path, dest: Path) -> Path:
    """CPython's regression archive for CVE-2025-4517, rebuilt for ``dest``: a ladder of folders and
    symlinks whose expansion overflows PATH_MAX, so ``os.path.realpath`` stops resolving; then a symlink
    ``escape`` pointing to ``dest``'s parent through it, a hard link to ``escape/flag`` that is then
    overwritten, and a new file ``escape/newfile``. Extracted naively, it changes ``dest.parent/flag``
    and creates ``dest.parent/newfile``."""
    import os

    steps = "abcdefghijklmnop"
    path_max = os.pathconf(dest.parent, "PC_PATH_MAX")
    component = "d" * ((path_max - len(str(dest)) - 1) // (len(steps) + 1))
    with tarfile.open(path, "w") as tar:
        def add(name, *, kind=tarfile.REGTYPE, link="", data=b""):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            info.mode = 0o777 if kind == tarfile.DIRTYPE else 0o644
            tar.addfile(info, io.BytesIO(data) if data else None)

        below = ""
        for step in steps:
            add(os.path.join(below, component), kind=tarfile.DIRTYPE)
            add(os.path.join(below, step), kind=tarfile.SYMTYPE, link=component)
            below = os.path.join(below, component)
        deep_link = os.path.join(*steps, "l" * 254)
        add(deep_link, kind=tarfile.SYMTYPE, link=os.path.join(*[".."] * len(steps)))
        add("escape", kind=tarfile.SYMTYPE, link=os.path.join(deep_link, ".."))
        add("flaglink", kind=tarfile.LNKTYPE, link=os.path.join("escape", "flag"))
        add("flaglink", data=b"overwrite")
        add("escape/newfile", data=b"new")
    return path


def make_negative_size_tar(path: Path) -> Path:
    """A tar whose second member's size field is -512 in GNU base-256 form: unpatched tarfile
    (CVE-2025-8194) steps back to the same header and loops forever, its memory growing."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in ("top/a.txt", "top/b.txt"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"data"))
    raw = bytearray(buffer.getvalue())
    header = 1024  # second member: 512-byte header + one 512-byte data block after the first
    raw[header + 124: header + 136] = b"\xff" + (-512).to_bytes(11, "big", signed=True)
    raw[header + 148: header + 156] = b" " * 8
    raw[header + 148: header + 155] = b"%06o\0" % sum(raw[header: header + 512])
    path.write_bytes(bytes(raw))
    return path


# ---- small dataset files (tests/test_readers.py, tests/test_splits.py)

def write_cifar_batch(path: Path, images: np.ndarray, labels: list[int]) -> None:
    """A CIFAR-10 python batch file holding ``images`` (N, 32, 32, 3) uint8 and ``labels``."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # NHWC -> R, G, B planes
    with open(path, "wb") as handle:
        pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"toy"}, handle)


@pytest.fixture
def tiny_cifar(tmp_path):
    """A data dir whose cifar-10-batches-py/ holds batches of 4 images; image k of batch b is filled with the
    value 10*b + k, label (b + k) % 10; data_batch_3 is corrupt. Returns (data_dir, test_images)."""
    from helpers import datasets

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for b in (1, 2):
        images = np.stack([np.full((32, 32, 3), 10 * b + k, np.uint8) for k in range(4)])
        write_cifar_batch(folder / f"data_batch_{b}", images, [(b + k) % 10 for k in range(4)])
    (folder / "data_batch_3").write_bytes(b"corrupt: reading this file would fail")
    test_images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    write_cifar_batch(folder / "test_batch", test_images, [0, 1, 2, 3, 4])
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": [n.encode() for n in datasets.CIFAR10_CLASSES]}, handle)
    return tmp_path, test_images


def pair_dirs(tmp_path: Path, images: list[str], masks: list[str], mask_value: int = 255):
    """16x16 PNGs named ``images`` in tmp_path/image and ``masks`` in tmp_path/label: the top half 77 in the images
    and ``mask_value`` in the masks, the rest 0. Returns (image_dir, mask_dir)."""
    from PIL import Image

    image_dir, mask_dir = tmp_path / "image", tmp_path / "label"
    for folder, names, value in ((image_dir, images, 77), (mask_dir, masks, mask_value)):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            array = np.zeros((16, 16), np.uint8)
            array[:8] = value
            Image.fromarray(array).save(folder / name)
    return image_dir, mask_dir
