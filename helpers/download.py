"""Checksummed, atomic downloads and archive extraction that refuses unsafe paths.

Written here rather than with ``keras.utils.get_file`` because, in Keras 3.15,
get_file downloads straight to the final name, keeps a file whose hash does not
match, reads any non-sha256 hash as md5 (d2l publishes sha1), and silently
skips unsafe archive members instead of refusing the archive.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be fetched from its URL."""


class ChecksumError(RuntimeError):
    """A file's hash differs from the published one."""


class UnsafeArchiveError(RuntimeError):
    """An archive member would land outside the extraction folder."""


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected: str, algorithm: str, *, source: str) -> None:
    """Raise ChecksumError naming ``source`` and both hashes if they differ."""
    actual = file_hash(path, algorithm)
    if actual != expected.lower():
        raise ChecksumError(
            f"{algorithm} mismatch for {source}:\n  expected {expected}\n  actual   {actual}\n"
            "The file is corrupt, truncated or not the published one; it was not kept."
        )


@contextmanager
def temporary_sibling(target: Path, *, directory: bool = False) -> Iterator[Path]:
    """A temporary file or folder next to ``target`` (same file system, so a rename
    is atomic), removed on exit unless it was renamed away."""
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.partial-"
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def download(
    url: str,
    target: Path,
    *,
    expected_hash: str,
    algorithm: str = "sha256",
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``target`` atomically and verify its hash.

    The bytes go to a temporary file beside ``target``; only a complete file
    with the expected hash is renamed to ``target``. On any failure nothing is
    left behind. Raises DownloadError (URL unreachable) or ChecksumError.
    """
    import keras  # the progress bar only; imported late to keep this module light

    with temporary_sibling(target) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                total = response.headers.get("Content-Length")
                bar = keras.utils.Progbar(int(total) if total else None, unit_name="B") if progress else None
                done = 0
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    done += len(chunk)
                    if bar:
                        bar.update(done)
            if total and done != int(total):  # http.client ends short reads silently
                raise DownloadError(f"could not download {url}: connection closed after {done} of {total} bytes")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise DownloadError(f"could not download {url}: {exc}") from exc
        verify(tmp, expected_hash, algorithm, source=url)
        os.replace(tmp, target)
    return target


def _check_member(name: str, dest: Path, link_target: str | None = None) -> None:
    """Refuse absolute names, '..' escapes and links pointing outside ``dest``."""
    pure = PurePosixPath(name.replace("\\", "/"))
    resolved = (dest / pure).resolve()
    if pure.is_absolute() or not resolved.is_relative_to(dest):
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside {dest}; refusing the archive")
    if link_target is not None:
        link = (resolved.parent / link_target).resolve()
        if PurePosixPath(link_target).is_absolute() or not link.is_relative_to(dest):
            raise UnsafeArchiveError(
                f"archive member {name!r} links to {link_target!r}, outside {dest}; refusing the archive"
            )


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a .zip, .tar, .tar.gz or .tgz into ``dest`` after checking every member.

    Raises UnsafeArchiveError before writing anything if one member is unsafe,
    and ValueError for an unknown archive type.
    """
    dest = dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _check_member(info.filename, dest)
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                _check_member(member.name, dest, member.linkname if member.issym() else None)
                if member.islnk():  # hard links are named from the archive root
                    _check_member(member.linkname, dest)
            # The stdlib "data" filter is a second guard (devices, permissions, ...).
            tf.extractall(dest, filter="data")
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
