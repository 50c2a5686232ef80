import pytest

from helpers.download import (
    ChecksumError,
    DownloadError,
    UnsafeArchiveError,
    download,
    file_hash,
    safe_extract,
)
from tests.conftest import listing, make_tar, make_zip, sha256


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
    with pytest.raises(UnsafeArchiveError, match="links to"):
        safe_extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_hardlink_escaping_the_folder_is_refused(tmp_path):
    archive = make_tar(tmp_path / "hard.tar.gz", {"top/a.txt": b"a"}, hardlinks={"top/h": "../../etc/passwd"})
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "out")


def test_symlink_inside_the_folder_is_allowed(tmp_path):
    archive = make_tar(tmp_path / "ok.tar.gz", {"top/a.txt": b"a"}, symlinks={"top/alias.txt": "a.txt"})
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out/top/alias.txt").read_bytes() == b"a"


def test_not_an_archive_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"<html>Rate limit exceeded</html>")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        safe_extract(junk, tmp_path / "out")
