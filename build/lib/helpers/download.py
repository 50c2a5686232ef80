"""Checksummed, atomic downloads and archive extraction that refuses unsafe paths.

Written here rather than with ``keras.utils.get_file`` because, in Keras 3.15,
get_file downloads straight to the final name, keeps a file whose hash does not
match, reads any non-sha256 hash as md5 (d2l publishes sha1), and silently
skips unsafe archive members instead of refusing the archive.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import http.client
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be fetched from its URL."""


class ChecksumError(RuntimeError):
    """A file's hash differs from the published one."""


class UnsafeArchiveError(RuntimeError):
    """An archive is unsafe (escaping names, links, special files, absurd sizes) or unreadable."""


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


def _umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
    # mkdtemp and mkstemp make private (700 / 600) entries, and the mode survives the rename: give the result the
    # mode any new folder or file gets (the umask's), so a data folder a class shares stays readable to all.
    os.chmod(tmp, (0o777 if directory else 0o666) & ~_umask())
    try:
        yield tmp
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def _content_length(raw: str | None) -> int | None:
    """The header as a byte count, or None if absent or malformed (the hash still guards the file)."""
    try:
        value = int(raw.strip()) if raw else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


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
    with temporary_sibling(target) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                total = _content_length(response.headers.get("Content-Length"))
                bar = None
                if progress:  # Keras (and so TensorFlow) only for the progress bar
                    import keras

                    bar = keras.utils.Progbar(total, unit_name="B")
                done = 0
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    done += len(chunk)
                    if bar:
                        bar.update(done)
            if total is not None and done != total:  # http.client ends short reads silently
                raise DownloadError(f"could not download {url}: connection closed after {done} of {total} bytes")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise DownloadError(f"could not download {url}: {exc}") from exc
        verify(tmp, expected_hash, algorithm, source=url)
        os.replace(tmp, target)
    return target


# The course's archives hold plain files and folders only. Anything else is refused before a byte is
# written, so the safety of an extraction never depends on the interpreter's tarfile patch level
# (CVE-2025-4517 defeats ``filter="data"`` on unpatched Pythons; 3.11.0-3.11.3 have no filter at all).
MAX_MEMBER_BYTES = 4 << 30  # 4 GiB: the largest course file is 30 MB
MAX_TOTAL_BYTES = 32 << 30
MAX_MEMBERS = 200_000  # flower_photos.tgz has 3,676
MAX_RATIO = 100  # declared bytes per archive byte: the course's archives expand about 1.1x; a zip bomb, 1,000x
MAX_NAME_BYTES = 255  # one path component, as most file systems allow
# What a damaged archive raises while it is read (gzip.BadGzipFile is an OSError; other OSErrors,
# such as a full disk, are not the archive's fault and pass through unchanged).
CORRUPT = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile, lzma.LZMAError)


class _Plan:
    """The members of an archive that will be written, checked as a whole before any is."""

    def __init__(self, archive: Path):
        self.archive = archive
        self.items: list[tuple[object, PurePosixPath, bool]] = []  # (member, relative path, is_dir)
        self.total = 0

    def refuse(self, why: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(f"{self.archive.name}: {why}; refusing the archive, nothing was extracted")

    def add(self, member, name: str, *, is_dir: bool, size: int) -> None:
        rel = _relative_name(name, self)
        if rel is None:  # "./" or "" : the archive root itself
            return
        if size < 0 or size > MAX_MEMBER_BYTES:
            raise self.refuse(f"member {name!r} declares an impossible size ({size} bytes)")
        self.total += size
        if self.total > MAX_TOTAL_BYTES or len(self.items) >= MAX_MEMBERS:
            raise self.refuse(f"it declares more than {MAX_TOTAL_BYTES >> 30} GiB or {MAX_MEMBERS} members")
        self.items.append((member, rel, is_dir))

    def check_tree(self) -> None:
        """No file is written twice, no file is also used as a folder ('a' then 'a/b'), and the archive does not
        expand more than MAX_RATIO times its own size (a small archive gets 1 MiB of slack)."""
        limit = MAX_RATIO * self.archive.stat().st_size + (1 << 20)
        if self.total > limit:
            raise self.refuse(f"it would expand to {self.total:,} bytes, more than {MAX_RATIO} times its own size")
        files, folders = set(), set()
        for _, rel, is_dir in self.items:
            folders.update(str(parent) for parent in rel.parents if str(parent) != ".")
            if is_dir:
                folders.add(str(rel))
            elif str(rel) in files:
                raise self.refuse(f"member {str(rel)!r} occurs twice (a later copy would overwrite the first)")
            else:
                files.add(str(rel))
        clash = sorted(files & folders)
        if clash:
            raise self.refuse(f"member {clash[0]!r} is both a file and a folder")


def _relative_name(name: str, plan: _Plan) -> PurePosixPath | None:
    """A member name as a clean relative path; absolute names, drives and '..' are refused."""
    if "\x00" in name:
        raise plan.refuse(f"member {name!r} has a NUL byte in its name")
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(name).drive or ".." in pure.parts:
        raise plan.refuse(f"member {name!r} would be written outside the destination")
    parts = [part for part in pure.parts if part not in ("", ".")]
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in parts):
        raise plan.refuse(f"member {name[:80]!r}... has a name part longer than {MAX_NAME_BYTES} bytes")
    return PurePosixPath(*parts) if parts else None


def _plan_tar(archive: Path, handle: tarfile.TarFile) -> _Plan:
    plan = _Plan(archive)
    last_offset = -1
    while True:
        # tarfile.next() reads one header; a negative size makes unpatched tarfile (CVE-2025-8194)
        # jump backwards and loop forever, so the offsets must strictly increase.
        member = handle.next()
        if member is None:
            break
        if member.size < 0 or member.offset <= last_offset:
            raise plan.refuse(f"member {member.name!r} has a negative size or points backwards")
        last_offset = member.offset
        if member.issym() or member.islnk():
            raise plan.refuse(f"member {member.name!r} is a link (to {member.linkname!r}); "
                              "the course's archives hold none")
        if not (member.isfile() or member.isdir()):
            raise plan.refuse(f"member {member.name!r} is a device, FIFO or other special file")
        plan.add(member, member.name, is_dir=member.isdir(), size=member.size)
    return plan


def _plan_zip(archive: Path, handle: zipfile.ZipFile) -> _Plan:
    plan = _Plan(archive)
    for info in handle.infolist():
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise plan.refuse(f"member {info.filename!r} is a symbolic link; the course's archives hold none")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise plan.refuse(f"member {info.filename!r} is a device, FIFO or other special file")
        if info.flag_bits & 0x1:
            raise plan.refuse(f"member {info.filename!r} is encrypted")
        plan.add(info, info.filename, is_dir=info.is_dir(), size=info.file_size)
    return plan


def _write_plan(plan: _Plan, dest: Path, open_member) -> None:
    """Write every planned member under ``dest``; on any failure remove what was written."""
    created: list[Path] = []
    real_dest = os.path.realpath(dest)
    try:
        for member, rel, is_dir in plan.items:
            target = dest / rel
            for folder in [*reversed(rel.parents), rel] if is_dir else reversed(rel.parents):
                path = dest / folder
                if not path.exists():
                    path.mkdir()
                    created.append(path)
            # Links are refused above, but ``dest`` itself may already hold one: check the real path.
            parent = os.path.realpath(target.parent)
            if os.path.commonpath([parent, real_dest]) != real_dest:
                raise plan.refuse(f"member {str(rel)!r} would be written through a link to {parent}")
            if is_dir:
                continue
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
            fd = os.open(target, flags, 0o644)
            created.append(target)
            with os.fdopen(fd, "wb") as out, open_member(member) as source:
                shutil.copyfileobj(source, out, CHUNK)
    except BaseException as exc:
        for path in reversed(created):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise plan.refuse(f"{exc.filename} already exists and would be overwritten") from exc
        if isinstance(exc, CORRUPT):
            raise UnsafeArchiveError(f"{plan.archive.name} is corrupt or truncated ({type(exc).__name__}: {exc}); "
                                     "what had been extracted was removed") from exc
        raise


def _check_stream(archive: Path) -> None:
    """Read a gzip-, bzip2- or xz-compressed archive to its end, which checks its CRC: tarfile stops reading at
    the end-of-archive blocks, before the trailer, and would never notice a flipped byte. (A zip's members are
    checked by zipfile as they are read.) Raises UnsafeArchiveError, before anything is written."""
    with open(archive, "rb") as raw:
        magic = raw.read(6)
    opener = (gzip.open if magic[:2] == b"\x1f\x8b" else bz2.open if magic[:3] == b"BZh"
              else lzma.open if magic[:6] == b"\xfd7zXZ\x00" else None)
    if opener is None:
        return
    try:
        with opener(archive, "rb") as stream:
            while stream.read(CHUNK):
                pass
    except (*CORRUPT, OSError) as exc:  # bz2 reports bad data as a plain OSError; nothing is written here
        raise UnsafeArchiveError(f"{archive.name} is corrupt or truncated ({type(exc).__name__}: {exc}); "
                                 "nothing was extracted") from exc


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a .zip, .tar, .tar.gz or .tgz of plain files and folders into ``dest``.

    Every member is checked before anything is written. Raises UnsafeArchiveError (nothing written)
    for absolute or '..' names, links, devices, negative or absurd sizes, duplicate or clashing names,
    an existing file in the way, a name part too long, more than MAX_RATIO times its size once expanded, and a
    corrupt or truncated archive (compressed tars are read to the end first, so their checksum counts);
    ValueError for an unknown type.
    Needs no ``tarfile`` extraction filter, so any Python 3.11 patch level behaves the same.
    """
    archive = Path(archive)
    dest = Path(dest)
    if zipfile.is_zipfile(archive):
        opener, planner, member_reader = zipfile.ZipFile, _plan_zip, lambda handle: handle.open
    elif tarfile.is_tarfile(archive):
        opener, planner, member_reader = tarfile.open, _plan_tar, lambda handle: handle.extractfile
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _check_stream(archive)
        with opener(archive) as handle:
            plan = planner(archive, handle)
            plan.check_tree()
            _write_plan(plan, dest, member_reader(handle))
    except CORRUPT as exc:
        raise UnsafeArchiveError(f"{archive.name} is corrupt or truncated ({exc}); nothing was extracted") from exc
