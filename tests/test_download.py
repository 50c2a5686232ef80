import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from helpers.download import (
    ChecksumError,
    DownloadError,
    UnsafeArchiveError,
    download,
    file_hash,
    safe_extract,
    temporary_sibling,
)
from tests.conftest import listing, make_negative_size_tar, make_realpath_overflow_tar, make_tar, make_zip, sha256


@pytest.fixture
def payload(origin):
    folder, base, requests = origin
    path = folder / "payload.bin"
    path.write_bytes(b"augment " * 5000)
    return path, base


def test_http_download_lands_complete_with_its_hash(payload, tmp_path):
    source, base = payload
    target = download(base + "payload.bin", tmp_path / "dl" / "payload.bin", expected_hash=sha256(source), progress=False)
    assert target.read_bytes() == source.read_bytes()
    assert listing(tmp_path / "dl") == ["payload.bin"]


def test_file_url_origin_works_too(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"x" * 1000)
    target = download(source.as_uri(), tmp_path / "out" / "copy.bin", expected_hash=sha256(source), progress=False)
    assert target.read_bytes() == source.read_bytes()


def test_checksum_mismatch_names_url_and_both_hashes_and_leaves_nothing(payload, tmp_path):
    source, base = payload
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as err:
        download(base + "payload.bin", tmp_path / "dl" / "payload.bin", expected_hash=wrong, progress=False)
    message = str(err.value)
    assert base + "payload.bin" in message and wrong in message and sha256(source) in message
    assert listing(tmp_path / "dl") == []


def test_other_algorithms_are_honoured(payload, tmp_path):
    source, base = payload
    sha1 = file_hash(source, "sha1")
    download(base + "payload.bin", tmp_path / "a.bin", expected_hash=sha1, algorithm="sha1", progress=False)
    with pytest.raises(ChecksumError):  # a sha256 where sha1 is expected must not pass
        download(base + "payload.bin", tmp_path / "b.bin", expected_hash=sha256(source), algorithm="sha1", progress=False)


def test_connection_cut_mid_transfer_leaves_nothing(payload, tmp_path):
    source, base = payload
    with pytest.raises(DownloadError, match="truncated/payload.bin"):
        download(base + "truncated/payload.bin", tmp_path / "dl" / "payload.bin", expected_hash=sha256(source), progress=False)
    assert listing(tmp_path / "dl") == []


def test_unreachable_origin_is_a_download_error_and_leaves_nothing(dead_url, tmp_path):
    with pytest.raises(DownloadError, match="127.0.0.1"):
        download(dead_url, tmp_path / "dl" / "x.tar.gz", expected_hash="0" * 64, progress=False)
    assert listing(tmp_path / "dl") == []


def test_http_404_is_a_download_error(origin, tmp_path):
    _, base, _ = origin
    with pytest.raises(DownloadError, match="404"):
        download(base + "missing.zip", tmp_path / "x.zip", expected_hash="0" * 64, progress=False)


def test_existing_target_is_not_replaced_by_a_failed_download(payload, tmp_path):
    source, base = payload
    target = tmp_path / "payload.bin"
    target.write_bytes(b"the user's own file")
    with pytest.raises(ChecksumError):
        download(base + "payload.bin", target, expected_hash="0" * 64, progress=False)
    assert target.read_bytes() == b"the user's own file"


@pytest.mark.parametrize("maker", [make_tar, make_zip], ids=["tar.gz", "zip"])
def test_safe_archive_extracts(tmp_path, maker):
    archive = maker(tmp_path / ("a.tar.gz" if maker is make_tar else "a.zip"), {"top/a.txt": b"a", "top/sub/b.txt": b"b"})
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out/top/sub/b.txt").read_bytes() == b"b"


UNSAFE_NAMES = ["../escape.txt", "top/../../escape.txt", "/tmp/course-test-absolute.txt"]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
@pytest.mark.parametrize("maker", [make_tar, make_zip], ids=["tar.gz", "zip"])
def test_path_traversal_is_refused_before_anything_is_written(tmp_path, maker, name):
    archive = maker(tmp_path / ("evil.tar.gz" if maker is make_tar else "evil.zip"),
                    {"top/innocent.txt": b"ok", name: b"pwned"})
    dest = tmp_path / "deep" / "out"
    with pytest.raises(UnsafeArchiveError, match="outside"):
        safe_extract(archive, dest)
    assert listing(dest) == []
    assert not (tmp_path / "deep" / "escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "../../../etc"])
def test_symlink_escaping_the_folder_is_refused(tmp_path, target):
    archive = make_tar(tmp_path / "links.tar.gz", {"top/a.txt": b"a"}, symlinks={"top/link": target})
    with pytest.raises(UnsafeArchiveError, match="is a link"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_hardlink_escaping_the_folder_is_refused(tmp_path):
    archive = make_tar(tmp_path / "hard.tar.gz", {"top/a.txt": b"a"}, hardlinks={"top/h": "../../etc/passwd"})
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "out")


def test_not_an_archive_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"<html>Rate limit exceeded</html>")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        safe_extract(junk, tmp_path / "out")


def test_links_are_refused_even_inside_the_folder(tmp_path):
    # The course's archives hold no links, so none is trusted: that is what keeps the check simple.
    archive = make_tar(tmp_path / "ok.tar.gz", {"top/a.txt": b"a"}, symlinks={"top/alias.txt": "a.txt"})
    with pytest.raises(UnsafeArchiveError, match="is a link"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_zip_symlinks_are_refused(tmp_path):
    archive = make_zip(tmp_path / "links.zip", {"top/a.txt": b"a"}, symlinks={"top/up": "../../.."})
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_cve_2025_4517_realpath_overflow_archive_writes_nothing_outside(tmp_path):
    # CPython's own regression archive: on an unpatched interpreter the old check passed it and
    # extractall(filter="data") overwrote ../flag and created ../newfile.
    (tmp_path / "flag").write_text("original")
    dest = tmp_path / "dest"
    archive = make_realpath_overflow_tar(tmp_path / "evil.tar", dest)
    with pytest.raises(UnsafeArchiveError, match="is a link"):
        safe_extract(archive, dest)
    assert (tmp_path / "flag").read_text() == "original"
    assert not (tmp_path / "newfile").exists()
    assert listing(dest) == []


def test_negative_member_size_is_refused_at_once(tmp_path):
    # CVE-2025-8194: unpatched tarfile loops forever on it. Run in a child so a regression times out
    # instead of hanging the suite.
    archive = make_negative_size_tar(tmp_path / "negative.tar")
    code = ("import sys; from helpers.download import safe_extract, UnsafeArchiveError\n"
            "try:\n safe_extract(sys.argv[1], sys.argv[2])\n"
            "except UnsafeArchiveError as e:\n print('refused:', e)")
    done = subprocess.run([sys.executable, "-c", code, str(archive), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert "refused:" in done.stdout and "negative size" in done.stdout, done.stderr
    assert listing(tmp_path / "out") == []


def test_an_absurd_member_size_is_refused(tmp_path):
    archive = tmp_path / "huge.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("top/huge.bin")
        info.size = 5 << 30  # declared, never written: the header alone
        tar.addfile(info)
    with pytest.raises(UnsafeArchiveError, match="impossible size"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize("kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE], ids=["fifo", "chr", "blk"])
def test_devices_and_fifos_are_refused(tmp_path, kind):
    archive = make_tar(tmp_path / "dev.tar.gz", {"top/a.txt": b"a"}, specials={"top/dev": kind})
    with pytest.raises(UnsafeArchiveError, match="special file"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize("files", [
    {"top/a.txt": b"a", "top/a.txt/b.txt": b"b"},  # a file used as a folder: NotADirectoryError mid-way before
    {"top/x": b"1", "./top/x": b"2"},  # the same file twice: the second would overwrite the first
], ids=["file-as-folder", "duplicate"])
def test_clashing_names_are_refused_before_writing(tmp_path, files):
    archive = make_tar(tmp_path / "clash.tar.gz", files)
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize("maker", [make_tar, make_zip], ids=["tar.gz", "zip"])
def test_truncated_archive_is_an_unsafe_archive_error_and_leaves_nothing(tmp_path, maker):
    import os

    archive = maker(tmp_path / ("t.tar.gz" if maker is make_tar else "t.zip"),
                    {f"top/{i}.bin": os.urandom(20_000) for i in range(5)})
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 2 // 3] if maker is make_tar else data[:30_000] + data[-200:])
    with pytest.raises(UnsafeArchiveError, match="corrupt or truncated"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_an_existing_file_is_never_overwritten(tmp_path):
    dest = tmp_path / "out"
    (dest / "top").mkdir(parents=True)
    (dest / "top" / "a.txt").write_text("the user's own")
    archive = make_tar(tmp_path / "a.tar.gz", {"top/b.txt": b"b", "top/a.txt": b"archive"})
    with pytest.raises(UnsafeArchiveError, match="already exists"):
        safe_extract(archive, dest)
    assert (dest / "top" / "a.txt").read_text() == "the user's own"
    assert listing(dest) == ["top", "top/a.txt"]  # b.txt, written first, was removed again


def test_extraction_does_not_use_tarfiles_own_extract(tmp_path, monkeypatch):
    # Python 3.11.0-3.11.3 have no ``filter`` argument, and unpatched ones a broken one: the course's
    # extraction must not depend on either.
    def unavailable(*args, **kwargs):
        raise TypeError("extractall() got an unexpected keyword argument 'filter'")

    monkeypatch.setattr(tarfile.TarFile, "extractall", unavailable)
    monkeypatch.setattr(tarfile.TarFile, "extract", unavailable)
    archive = make_tar(tmp_path / "a.tar.gz", {"top/a.txt": b"a", "top/sub/b.txt": b"b"})
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out/top/sub/b.txt").read_bytes() == b"b"


def test_a_malformed_content_length_does_not_reject_a_complete_file(payload, tmp_path):
    source, base = payload
    target = download(base + "badlength/payload.bin", tmp_path / "p.bin", expected_hash=sha256(source), progress=False)
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)])
def test_downloads_and_extracted_folders_get_the_umasks_modes_not_private_ones(tmp_path, umask, folder_mode, file_mode):
    """A class shares one data folder: what a fetch renames into place must be as readable as any new file."""
    previous = os.umask(umask)
    try:
        with temporary_sibling(tmp_path / "data.tgz") as tmp_file:
            assert stat.S_IMODE(tmp_file.stat().st_mode) == file_mode
        with temporary_sibling(tmp_path / "flower_photos", directory=True) as tmp_dir:
            assert stat.S_IMODE(tmp_dir.stat().st_mode) == folder_mode
    finally:
        os.umask(previous)


def test_an_archive_that_expands_a_thousandfold_is_refused(tmp_path):
    """A zip bomb in miniature: 8 MiB of zeros compress to a few kB."""
    import zipfile

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (8 << 20))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(UnsafeArchiveError, match="more than 100 times its own size"):
        safe_extract(bomb, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_a_flipped_byte_inside_a_tgz_is_caught_by_its_checksum(tmp_path):
    archive = make_tar(tmp_path / "data.tgz", {"a.txt": bytes(range(256)) * 64})
    data = bytearray(archive.read_bytes())
    data[-12] ^= 0xFF  # inside the deflate stream's end or the CRC trailer: tarfile alone never reads it
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchiveError, match="corrupt"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_a_member_name_too_long_for_a_file_system_is_refused_with_a_reason(tmp_path):
    archive = make_tar(tmp_path / "long.tgz", {"x" * 5000 + ".txt": b"1"})
    with pytest.raises(UnsafeArchiveError, match="longer than 255 bytes"):
        safe_extract(archive, tmp_path / "out")
