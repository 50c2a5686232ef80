import dataclasses
import os
import pickle
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
    CourseDataWarning,
    DataDirError,
    DatasetUnavailableError,
    LayoutError,
    MaskError,
    PairingError,
)
from helpers.download import UnsafeArchiveError
from tests.conftest import SHARED, listing, make_tar, make_zip, needs_offline, sha256


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


# ---- CIFAR-10 on tiny batch files the test writes

def _write_batch(path: Path, images: np.ndarray, labels: list[int]) -> None:
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # NHWC -> R, G, B planes
    with open(path, "wb") as handle:
        pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"toy"}, handle)


@pytest.fixture
def tiny_cifar(tmp_path):
    """Batches of 4 images; image k of batch b is filled with the value 10*b + k, label (b + k) % 10."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for b in (1, 2):
        images = np.stack([np.full((32, 32, 3), 10 * b + k, np.uint8) for k in range(4)])
        _write_batch(folder / f"data_batch_{b}", images, [(b + k) % 10 for k in range(4)])
    (folder / "data_batch_3").write_bytes(b"corrupt: reading this file would fail")
    test_images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    _write_batch(folder / "test_batch", test_images, [0, 1, 2, 3, 4])
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": [n.encode() for n in datasets.CIFAR10_CLASSES]}, handle)
    return tmp_path, test_images


def test_cifar_reads_only_the_batches_it_needs(tiny_cifar):
    data_dir, test_images = tiny_cifar
    (x, y), (x_test, y_test) = datasets.load_cifar10(n_train=6, data_dir=data_dir)  # batch 3 is never opened
    assert x.shape == (6, 32, 32, 3) and x.dtype == np.uint8
    assert [int(v) for v in x[:, 0, 0, 0]] == [10, 11, 12, 13, 20, 21]
    assert y.tolist() == [1, 2, 3, 4, 2, 3]
    np.testing.assert_array_equal(x_test, test_images)
    assert y_test.dtype == np.int64 and y_test.tolist() == [0, 1, 2, 3, 4]


def test_cifar_planes_become_nhwc(tmp_path):
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, 1, 2] = (200, 100, 50)  # one RGB pixel at row 1, column 2
    _write_batch(tmp_path / "b", image, [3])
    x, _ = datasets.read_cifar_batch(tmp_path / "b")
    assert x[0, 1, 2].tolist() == [200, 100, 50] and int(x.sum()) == 350


def test_cifar_asking_for_more_than_exists_warns_and_uses_what_there_is(tiny_cifar):
    data_dir, _ = tiny_cifar
    (data_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.warns(CourseDataWarning, match="asked for 20 .* only 8"):
        (x, _), _ = datasets.load_cifar10(n_train=20, data_dir=data_dir)
    assert len(x) == 8


def test_cifar_batch_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this must never run",))

    with open(tmp_path / "evil", "wb") as handle:
        pickle.dump({b"data": Exploit()}, handle)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        datasets.read_cifar_batch(tmp_path / "evil")


@pytest.mark.parametrize("content", [b"", b"\x80\x04\x95\x10\x00\x00", b"<!DOCTYPE html><title>Rate limited</title>"],
                         ids=["empty", "truncated", "html"])
def test_a_damaged_cifar_batch_names_its_file(tmp_path, content):
    path = tmp_path / "data_batch_1"
    path.write_bytes(content)
    with pytest.raises(datasets.DatasetError, match="data_batch_1 is not a CIFAR-10 batch file"):
        datasets.read_cifar_batch(path)


def test_cifar_values_that_would_wrap_and_bad_labels_are_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as handle:
        pickle.dump({b"data": np.full((2, 3072), 300, np.int32), b"labels": [0, 1]}, handle)
    with pytest.raises(datasets.DatasetError, match="0..255"):
        datasets.read_cifar_batch(path)
    with open(path, "wb") as handle:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, handle)
    with pytest.raises(datasets.DatasetError, match="0..9"):
        datasets.read_cifar_batch(path)


def test_cifar_n_train_must_be_positive(tiny_cifar):
    with pytest.raises(ValueError, match="positive"):
        datasets.load_cifar10(n_train=0, data_dir=tiny_cifar[0])


@needs_offline("cifar-10-batches-py")
def test_the_first_10000_are_exactly_data_batch_1_on_the_offline_copy():
    (x, y), (x_test, _) = datasets.load_cifar10(n_train=10_000, data_dir=SHARED)
    assert x.shape == (10_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # the order Keras' cifar10 gives


# ---- membrane pairs

def _pair_dirs(tmp_path: Path, images: list[str], masks: list[str], mask_value: int = 255):
    image_dir, mask_dir = tmp_path / "image", tmp_path / "label"
    for folder, names, value in ((image_dir, images, 77), (mask_dir, masks, mask_value)):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            array = np.zeros((16, 16), np.uint8)
            array[:8] = value
            Image.fromarray(array).save(folder / name)
    return image_dir, mask_dir


def test_pairs_match_by_name_in_natural_order(tmp_path):
    image_dir, mask_dir = _pair_dirs(tmp_path, ["10.png", "2.png", "1.png"], ["1.png", "2.png", "10.png"])
    pairs = datasets.match_pairs(image_dir, mask_dir)
    assert [(i.name, m.name) for i, m in pairs] == [("1.png", "1.png"), ("2.png", "2.png"), ("10.png", "10.png")]


def test_missing_and_extra_files_are_listed(tmp_path):
    image_dir, mask_dir = _pair_dirs(tmp_path, ["0.png", "1.png", "3.png"], ["0.png", "1.png", "2.png"])
    with pytest.raises(PairingError) as err:
        datasets.match_pairs(image_dir, mask_dir)
    assert "images without a mask: 3.png" in str(err.value)
    assert "masks without an image: 2.png" in str(err.value)


def test_binarize_accepts_two_levels_and_rejects_interpolated_masks():
    assert datasets.binarize_mask(np.array([[0, 255]], np.uint8)).tolist() == [[0, 1]]
    assert datasets.binarize_mask(np.array([[1, 0]], np.uint8)).tolist() == [[1, 0]]
    with pytest.raises(MaskError, match="3 values"):
        datasets.binarize_mask(np.array([[0, 128, 255]], np.uint8), source="label/7.png")


def test_load_membrane_gives_aligned_uint8_pairs(tmp_path):
    root = tmp_path / "membrane"
    _pair_dirs(root / "train", ["0.png", "1.png"], ["0.png", "1.png"])
    (root / "test").mkdir()
    images, masks, names = datasets.load_membrane(data_dir=tmp_path)
    assert images.shape == masks.shape == (2, 16, 16, 1)
    assert images.dtype == masks.dtype == np.uint8
    assert set(np.unique(masks).tolist()) == {0, 1} and names == ["0.png", "1.png"]
    np.testing.assert_array_equal(masks[..., 0] == 1, images[..., 0] == 77)


def test_load_membrane_rejects_a_grey_mask(tmp_path):
    _pair_dirs(tmp_path / "membrane" / "train", ["0.png"], ["0.png"], mask_value=128)
    (tmp_path / "membrane" / "test").mkdir()
    with pytest.raises(MaskError, match="0.png is not binary"):
        datasets.load_membrane(data_dir=tmp_path)


def test_macos_companion_files_are_ignored(tmp_path):
    # A stick from a Mac carries ._0.png beside 0.png: AppleDouble metadata, not a PNG.
    root = tmp_path / "membrane"
    image_dir, mask_dir = _pair_dirs(root / "train", ["0.png", "1.png"], ["0.png", "1.png"])
    (root / "test").mkdir()
    for folder in (image_dir, mask_dir):
        (folder / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
        (folder / ".DS_Store").write_bytes(b"Bud1")
    images, masks, names = datasets.load_membrane(data_dir=tmp_path)
    assert names == ["0.png", "1.png"]


def test_natural_order_survives_non_ascii_digits(tmp_path):
    image_dir, mask_dir = _pair_dirs(tmp_path, ["1\u00b22.png", "10.png", "2.png"], ["1\u00b22.png", "10.png", "2.png"])
    names = [i.name for i, _ in datasets.match_pairs(image_dir, mask_dir)]
    assert names == ["1\u00b22.png", "2.png", "10.png"]


def test_pairs_of_different_sizes_name_the_odd_file(tmp_path):
    root = tmp_path / "membrane"
    _pair_dirs(root / "train", ["0.png"], ["0.png"])
    (root / "test").mkdir()
    for sub, value in (("image", 77), ("label", 255)):
        Image.fromarray(np.full((20, 16), value, np.uint8)).save(root / "train" / sub / "1.png")
    with pytest.raises(PairingError, match=r"1.png is 16x20 but 0.png is 16x16"):
        datasets.load_membrane(data_dir=tmp_path)


def test_16_bit_membrane_images_are_scaled_like_the_tf_decoder_not_clipped(tmp_path):
    import tensorflow as tf

    root = tmp_path / "membrane"
    _pair_dirs(root / "train", ["0.png"], ["0.png"])
    (root / "test").mkdir()
    deep = (np.arange(256, dtype=np.uint32) * 257).astype(np.uint16).reshape(16, 16)
    path = root / "train" / "image" / "0.png"
    Image.fromarray(deep).save(path)
    images, _, _ = datasets.load_membrane(data_dir=tmp_path)
    decoded = tf.io.decode_png(tf.io.read_file(str(path)), channels=1).numpy()
    np.testing.assert_array_equal(images[0], decoded)
    assert (images[0] == 255).mean() < 0.01, "before, PIL's convert('L') made 99% of a ramp white"


@needs_offline("membrane")
def test_offline_membrane_copy_loads_without_a_hard_coded_count():
    images, masks, names = datasets.load_membrane(data_dir=SHARED)
    assert len(images) == len(masks) == len(names) >= 1
    assert images.shape[1:] == (512, 512, 1)


def test_inventory_reports_missing(tmp_path):
    rows = {r["dataset"]: r for r in datasets.inventory(tmp_path)}
    assert set(rows) >= {"cifar10", "flowers", "hotdog", "membrane"}
    assert all(r["status"] == "missing" for r in rows.values())


@needs_offline("flower_photos")
def test_flower_split_is_stratified_disjoint_and_keeps_the_test_set_apart():
    report, train, val, test = datasets.flower_split(size=(24, 24))
    n = len(report.paths)
    assert len(train[0]) + len(val[0]) + len(test[0]) == n
    assert len(test[0]) == round(0.3 * n)
    paths = [set(part[2]) for part in (train, val, test)]
    assert not (paths[0] & paths[1]) and not (paths[0] & paths[2]) and not (paths[1] & paths[2])
    for part in (train, val, test):
        counts = np.bincount(part[1], minlength=len(report.class_names))
        assert counts.max() - counts.min() <= 1, "stratified: every class equally represented"
    assert train[0].shape[1:] == (24, 24, 3) and train[0].dtype == np.uint8
