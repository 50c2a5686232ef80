"""Junk in class folders is found up front, reported by path, and skipped or converted."""

import numpy as np
import pytest
from PIL import Image

from helpers import imagefolders


def _jpeg(path, mode="RGB", size=(20, 16), colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    value = {"L": 120, "CMYK": (0, 200, 200, 0), "RGBA": (*colour, 128), "P": 3}.get(mode, colour)
    image = Image.new(mode, size, value)
    image.save(path, format="PNG" if mode in ("RGBA", "P") else "JPEG")
    return path


@pytest.fixture
def junk_folder(tmp_path):
    root = tmp_path / "photos"
    for i in range(3):
        _jpeg(root / "daisy" / f"ok{i}.jpg")
    good = _jpeg(root / "roses" / "good.jpg")
    truncated = root / "roses" / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:200])
    (root / "roses" / "notes.txt").write_text("not an image")
    (root / "roses" / "empty.jpg").write_bytes(b"")
    _jpeg(root / "tulips" / "grey.jpg", "L")
    _jpeg(root / "tulips" / "cmyk.jpg", "CMYK")
    _jpeg(root / "tulips" / "alpha.png", "RGBA")
    _jpeg(root / "tulips" / "palette.png", "P")
    (root / "sunflowers").mkdir()
    return root


def test_junk_is_reported_by_path_and_skipped(junk_folder):
    before = sorted(p.read_bytes() for p in junk_folder.rglob("*") if p.is_file())
    report = imagefolders.scan(junk_folder)
    skipped = {p.name for p, _ in report.skipped}
    assert skipped == {"truncated.jpg", "notes.txt", "empty.jpg"}
    assert {p.name: mode for p, mode in report.converted} == {
        "grey.jpg": "L", "cmyk.jpg": "CMYK", "alpha.png": "RGBA", "palette.png": "P"}
    summary = report.summary()
    assert str(junk_folder / "roses" / "truncated.jpg") in summary and "EMPTY class folder 'sunflowers'" in summary
    assert before == sorted(p.read_bytes() for p in junk_folder.rglob("*") if p.is_file()), "the folder is never modified"


def test_labels_stay_tied_to_their_class_when_a_class_is_empty(junk_folder):
    report = imagefolders.scan(junk_folder)
    assert report.class_names == ["daisy", "roses", "tulips"]  # the empty 'sunflowers' is left out, loudly
    assert report.empty_classes == ["sunflowers"]
    for path, label in zip(report.paths, report.labels):
        assert path.parent.name == report.class_names[label]
    assert report.counts() == {"daisy": 3, "roses": 1, "tulips": 4}


def test_every_usable_file_loads_as_rgb_uint8(junk_folder):
    report = imagefolders.scan(junk_folder)
    x = imagefolders.load_images(report.paths, (12, 10))
    assert x.shape == (8, 12, 10, 3) and x.dtype == np.uint8
    grey = x[report.paths.index(junk_folder / "tulips" / "grey.jpg")]
    assert (np.abs(grey.astype(int) - 120) <= 2).all(), "grayscale becomes three equal channels"


def test_a_folder_with_nothing_readable_is_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_text("junk")
    with pytest.raises(imagefolders.EmptyFolderError, match="no readable image"):
        imagefolders.scan(tmp_path)
    with pytest.raises(imagefolders.EmptyFolderError, match="no class folders"):
        imagefolders.scan(tmp_path / "a")


def test_explicit_class_names_fix_the_order_and_missing_ones_are_errors(junk_folder):
    report = imagefolders.scan(junk_folder, class_names=["tulips", "daisy"])
    assert report.class_names == ["tulips", "daisy"] and set(report.labels) == {0, 1}
    with pytest.raises(imagefolders.EmptyFolderError, match="lilies"):
        imagefolders.scan(junk_folder, class_names=["lilies"])
