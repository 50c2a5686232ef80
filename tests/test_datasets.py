"""helpers.datasets: fetching (download, checksum, extraction, offline copies, locks, leftovers), layout checks
and the inventory, on toy datasets served from 127.0.0.1."""

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import datasets
from helpers.datasets import (
    ChecksumError,
    DataDirError,
    DatasetUnavailableError,
    LayoutError,
)
from helpers.download import UnsafeArchiveError
from tests.conftest import listing, make_tar, make_zip, sha256

TOY_FILES = {"toy/train/a.png": b"a", "toy/train/b.png": b"b", "toy/labels.txt": b"a b"}


def toy_spec(url: str, checksum: str, archive: str = "toy.tar.gz") -> datasets.DatasetSpec:
    return datasets.DatasetSpec(
        name="toy", folder="toy", url=url, archive=archive, checksum=checksum,
        required=("train/", "labels.txt"), item_globs=("train/*.png",), full_count=3,
    )


@pytest.fixture
def served_toy(origin, monkeypatch):
    """The toy dataset as a .tar.gz on a local origin, registered as 'toy'."""
    folder, base, requests = origin
    archive = make_tar(folder / "toy.tar.gz", TOY_FILES)
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(base + "toy.tar.gz", sha256(archive)))
    return archive, requests


def test_download_verify_extract_then_reuse(served_toy, tmp_path):
    archive, requests = served_toy
    data = tmp_path / "data"
    folder = datasets.fetch("toy", data_dir=data, progress=False)
    assert folder == data / "toy" and (folder / "train" / "a.png").read_bytes() == b"a"
    # no temp leftovers; the lock file stays (removing a lock file races with the next process)
    assert sorted(p.name for p in data.iterdir()) == [".toy.lock", "toy", "toy.tar.gz"]
    assert datasets.fetch("toy", data_dir=data) == folder
    assert requests == ["/toy.tar.gz"], "a present folder must be used without downloading again"


def test_zip_archives_work_the_same(origin, monkeypatch, tmp_path):
    folder, base, _ = origin
    archive = make_zip(folder / "toy.zip", TOY_FILES)
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(base + "toy.zip", sha256(archive), "toy.zip"))
    assert (datasets.fetch("toy", data_dir=tmp_path, progress=False) / "labels.txt").exists()


def test_checksum_mismatch_leaves_nothing_in_the_data_dir(origin, monkeypatch, tmp_path):
    folder, base, _ = origin
    make_tar(folder / "toy.tar.gz", TOY_FILES)
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(base + "toy.tar.gz", "f" * 64))
    data = tmp_path / "data"
    with pytest.raises(ChecksumError, match="ffff"):
        datasets.fetch("toy", data_dir=data, progress=False)
    assert listing(data) == [".toy.lock"]


def test_offline_without_a_local_copy_is_one_clear_error(dead_url, monkeypatch, tmp_path):
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(dead_url, "0" * 64))
    with pytest.raises(DatasetUnavailableError) as err:
        datasets.fetch("toy", data_dir=tmp_path, progress=False)
    message = str(err.value)
    for part in ("toy dataset", dead_url, "COURSE_DATA_DIR", "toy.tar.gz", str(tmp_path)):
        assert part in message
    assert listing(tmp_path) == [".toy.lock"]


def test_a_present_partial_layout_is_used_as_is(dead_url, monkeypatch, tmp_path):
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(dead_url, "0" * 64))
    (tmp_path / "toy" / "train").mkdir(parents=True)
    (tmp_path / "toy" / "train" / "only-one.png").write_bytes(b"x")
    (tmp_path / "toy" / "labels.txt").write_text("x")
    assert datasets.fetch("toy", data_dir=tmp_path) == tmp_path / "toy"
    row = next(r for r in datasets.inventory(tmp_path) if r["dataset"] == "toy")
    assert (row["status"], row["items"], row["canonical"]) == ("partial", 1, 3)


def test_a_wrong_layout_is_a_clear_error_and_is_not_touched(dead_url, monkeypatch, tmp_path):
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(dead_url, "0" * 64))
    (tmp_path / "toy" / "images").mkdir(parents=True)
    (tmp_path / "toy" / "images" / "x.png").write_bytes(b"x")
    before = listing(tmp_path)
    with pytest.raises(LayoutError, match=r"lacks train/, labels.txt"):
        datasets.fetch("toy", data_dir=tmp_path)
    assert listing(tmp_path) == before
    assert next(r for r in datasets.inventory(tmp_path) if r["dataset"] == "toy")["status"] == "bad layout"


def test_an_archive_copied_in_by_hand_is_used_offline(served_toy, dead_url, monkeypatch, tmp_path):
    archive, _ = served_toy
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(dead_url, sha256(archive)))
    shutil.copy(archive, tmp_path / "toy.tar.gz")
    assert (datasets.fetch("toy", data_dir=tmp_path) / "labels.txt").read_bytes() == b"a b"


def test_a_corrupt_local_archive_is_reported_and_kept(served_toy, tmp_path):
    (tmp_path / "toy.tar.gz").write_bytes(b"half a download")
    with pytest.raises(ChecksumError, match="does not delete your file"):
        datasets.fetch("toy", data_dir=tmp_path)
    assert (tmp_path / "toy.tar.gz").read_bytes() == b"half a download"
    assert not (tmp_path / "toy").exists()


def test_a_path_traversal_archive_is_refused(origin, monkeypatch, tmp_path):
    folder, base, _ = origin
    archive = make_tar(folder / "toy.tar.gz", {**TOY_FILES, "toy/../../escaped.txt": b"pwned"})
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(base + "toy.tar.gz", sha256(archive)))
    data = tmp_path / "a" / "data"
    with pytest.raises(UnsafeArchiveError):
        datasets.fetch("toy", data_dir=data, progress=False)
    assert not (tmp_path / "a" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert listing(data) == [".toy.lock", "toy.tar.gz"], "no extracted folder and no temp folder may remain"


def test_an_archive_with_the_wrong_layout_leaves_no_folder(origin, monkeypatch, tmp_path):
    folder, base, _ = origin
    archive = make_tar(folder / "toy.tar.gz", {"toy/readme.txt": b"not the data"})
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(base + "toy.tar.gz", sha256(archive)))
    data = tmp_path / "data"
    with pytest.raises(LayoutError) as err:
        datasets.fetch("toy", data_dir=data, progress=False)
    message = str(err.value)
    assert "toy.tar.gz is not the toy archive" in message and "lacking train/, labels.txt" in message
    assert ".partial-" not in message, "the message must not name a temporary folder that is gone"
    assert listing(data) == [".toy.lock", "toy.tar.gz"]


CONCURRENT_FETCH = textwrap.dedent("""
    import sys
    from pathlib import Path
    from helpers import datasets
    url, checksum, data = sys.argv[1:4]
    datasets.DATASETS["toy"] = datasets.DatasetSpec(
        name="toy", folder="toy", url=url, archive="toy.tar.gz", checksum=checksum,
        required=("train/", "labels.txt"), item_globs=("train/*.png",), full_count=3)
    print("FOLDER", datasets.fetch("toy", data_dir=Path(data), progress=False))
""")


def test_two_processes_fetching_at_once_both_succeed(origin, tmp_path):
    # A class on one shared data folder: before the lock, the second process died with
    # "OSError: [Errno 39] Directory not empty" when its rename found the first one's folder.
    folder, base, requests = origin
    archive = make_tar(folder / "toy.tar.gz", TOY_FILES)
    data = tmp_path / "data"
    args = [sys.executable, "-c", CONCURRENT_FETCH, base + "slow/toy.tar.gz", sha256(archive), str(data)]
    root = Path(__file__).resolve().parents[1]
    children = [subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    results = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, results):
        assert child.returncode == 0, err
        assert f"FOLDER {data / 'toy'}" in out
    assert requests == ["/slow/toy.tar.gz"], "the second process must wait and reuse, not download again"
    assert listing(data) == sorted([".toy.lock", "toy.tar.gz", "toy", "toy/labels.txt", "toy/train",
                                    "toy/train/a.png", "toy/train/b.png"])


def test_a_folder_that_appears_during_the_rename_is_accepted_when_complete(tmp_path):
    spec = toy_spec("unused", "0" * 64)
    for name in ("ours", "theirs"):
        (tmp_path / name / "train").mkdir(parents=True)
        (tmp_path / name / "labels.txt").write_text(name)
    datasets._install(tmp_path / "ours", tmp_path / "theirs", spec)
    assert (tmp_path / "theirs" / "labels.txt").read_text() == "theirs"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "junk").write_text("x")
    with pytest.raises(OSError):  # an incomplete folder in the way is not success
        datasets._install(tmp_path / "ours", tmp_path / "broken", spec)


def test_leftovers_of_a_killed_fetch_are_reported_then_swept(served_toy, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / ".toy.tar.gz.partial-k1ll3d").write_bytes(b"x" * 300_000)
    (data / ".toy.partial-0omkill").mkdir()
    (data / ".toy.partial-0omkill" / "half.png").write_bytes(b"y" * 200_000)
    (data / ".other.partial-keep").write_bytes(b"not ours")
    row = next(r for r in datasets.inventory(data) if r["dataset"] == "toy")
    assert [Path(p).name for p in row["leftovers"]] == [".toy.partial-0omkill", ".toy.tar.gz.partial-k1ll3d"]
    assert row["leftover MB"] == 0.5
    datasets.fetch("toy", data_dir=data, progress=False)
    assert not list(data.glob(".toy*.partial-*"))
    assert (data / ".other.partial-keep").exists(), "only this dataset's leftovers are swept"
    assert next(r for r in datasets.inventory(data) if r["dataset"] == "toy")["leftovers"] == []


def test_a_data_dir_that_is_a_file_is_a_clear_error(served_toy, tmp_path):
    data = tmp_path / "data"
    data.write_text("oops")
    with pytest.raises(DataDirError, match="is a file"):
        datasets.fetch("toy", data_dir=data, progress=False)


def test_a_read_only_data_dir_is_reported_before_downloading(served_toy, tmp_path, monkeypatch):
    # root may write anywhere, so the permission check is simulated; the point is the order.
    _, requests = served_toy
    data = tmp_path / "data"
    data.mkdir()
    real_access = os.access
    monkeypatch.setattr(datasets.os, "access", lambda p, mode: False if Path(p) == data else real_access(p, mode))
    with pytest.raises(DataDirError, match="read-only"):
        datasets.fetch("toy", data_dir=data, progress=False)
    assert requests == []


def test_inventory_counts_upper_case_suffixes_and_ignores_dotfiles(dead_url, monkeypatch, tmp_path):
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_spec(dead_url, "0" * 64))
    (tmp_path / "toy" / "train").mkdir(parents=True)
    (tmp_path / "toy" / "labels.txt").write_text("x")
    for name in ("a.png", "B.PNG", "c.Png", "._a.png", ".DS_Store"):
        (tmp_path / "toy" / "train" / name).write_bytes(b"x")
    row = next(r for r in datasets.inventory(tmp_path) if r["dataset"] == "toy")
    assert (row["items"], row["status"]) == (3, "present")


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="cifar10"):
        datasets.fetch("imagenet")


# ---- file-by-file sets (membrane)

def _membrane_origin(folder: Path) -> tuple[tuple[str, str], ...]:
    files = []
    for rel in ("train/image/0.png", "train/label/0.png", "test/0.png"):
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 255 if "label" in rel else 9, np.uint8)).save(path)
        files.append((rel, sha256(path)))
    return tuple(files)


def test_file_by_file_set_is_fetched_and_verified(origin, monkeypatch, tmp_path):
    folder, base, _ = origin
    spec = dataclasses.replace(datasets.DATASETS["membrane"], url=base, files=_membrane_origin(folder))
    monkeypatch.setitem(datasets.DATASETS, "membrane", spec)
    root = datasets.fetch("membrane", data_dir=tmp_path, progress=False)
    assert listing(root) == ["test", "test/0.png", "train", "train/image", "train/image/0.png",
                             "train/label", "train/label/0.png"]


def test_one_bad_file_in_a_file_by_file_set_leaves_nothing(origin, monkeypatch, tmp_path):
    folder, base, _ = origin
    files = list(_membrane_origin(folder))
    files[1] = (files[1][0], "0" * 64)
    spec = dataclasses.replace(datasets.DATASETS["membrane"], url=base, files=tuple(files))
    monkeypatch.setitem(datasets.DATASETS, "membrane", spec)
    data = tmp_path / "data"
    with pytest.raises(ChecksumError, match="train/label/0.png"):
        datasets.fetch("membrane", data_dir=data, progress=False)
    assert listing(data) == [".membrane.lock"]


def test_membrane_checksums_cover_the_canonical_90_files():
    files = dict(datasets.DATASETS["membrane"].files)
    assert len(files) == 90
    assert {f"train/image/{i}.png" for i in range(30)} <= files.keys()


def test_inventory_reports_missing(tmp_path):
    rows = {r["dataset"]: r for r in datasets.inventory(tmp_path)}
    assert set(rows) >= {"cifar10", "flowers", "hotdog", "membrane"}
    assert all(r["status"] == "missing" for r in rows.values())

