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


def test_explicit_class_names_keep_an_empty_class_and_its_label(junk_folder):
    """The documented contract: given class_names, label i is class_names[i], even when a class has no image."""
    report = imagefolders.scan(junk_folder, class_names=["sunflowers", "daisy"])
    assert report.class_names == ["sunflowers", "daisy"] and report.empty_classes == ["sunflowers"]
    assert set(report.labels) == {1}, "daisy keeps label 1; nothing shifts into the empty class's place"
    assert report.counts() == {"sunflowers": 0, "daisy": 3}
    assert "EMPTY class folder 'sunflowers'" in report.summary()


def _png_bytes(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _decodes_in_tf(path) -> bool:
    import tensorflow as tf

    try:
        tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
        return True
    except tf.errors.InvalidArgumentError:
        return False


def test_scan_agrees_with_the_tf_data_decoder(tmp_path):
    # PIL reads all of these, the tf.data pipelines read none: before, scan approved them and the
    # epoch died at its first batch with InvalidArgumentError.
    root = tmp_path / "photos"
    _jpeg(root / "daisy" / "fine.jpg")
    picture = Image.new("RGB", (20, 16), (10, 200, 30))
    picture.save(root / "daisy" / "scan.tif", format="TIFF")
    picture.save(root / "daisy" / "icon.ico", format="ICO")
    picture.save(root / "daisy" / "raw.ppm", format="PPM")
    png = _png_bytes(picture)
    (root / "daisy" / "no-iend.png").write_bytes(png[: png.rindex(b"IEND") - 4])
    report = imagefolders.scan(root)
    assert [p.name for p in report.paths] == ["fine.jpg"]
    reasons = {p.name: why for p, why in report.skipped}
    assert set(reasons) == {"scan.tif", "icon.ico", "raw.ppm", "no-iend.png"}
    assert "TensorFlow's decoder cannot read this TIFF file" in reasons["scan.tif"]
    assert all(_decodes_in_tf(p) for p in report.paths)
    assert not any(_decodes_in_tf(p) for p in root.rglob("*") if p.name in reasons)


def test_nested_folders_broken_links_and_loops_are_reported_not_dropped(tmp_path):
    root = tmp_path / "photos"
    _jpeg(root / "daisy" / "fine.jpg")
    _jpeg(root / "daisy" / "more" / "hidden-away.jpg")
    (root / "daisy" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (root / "daisy" / "loop.jpg").symlink_to(root / "daisy" / "loop.jpg")
    _jpeg(root / "daisy" / "._fine.jpg")  # a macOS companion file: ignored, like .DS_Store
    report = imagefolders.scan(root)
    reasons = {p.name: why for p, why in report.skipped}
    assert set(reasons) == {"more", "gone.jpg", "loop.jpg"}
    assert "inside a class folder" in reasons["more"] and "link" in reasons["gone.jpg"]
    assert [p.name for p in report.paths] == ["fine.jpg"]


def test_a_decompression_bomb_is_skipped_before_it_is_decoded(tmp_path):
    import struct
    import zlib

    root = tmp_path / "photos"
    _jpeg(root / "daisy" / "fine.jpg")
    png = bytearray(_png_bytes(Image.new("L", (8, 8))))
    # IHDR data starts at byte 16: width, height (big-endian); then its CRC over type + data.
    png[16:24] = struct.pack(">II", 13_000, 13_000)  # 169 MP claimed
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    (root / "daisy" / "bomb.png").write_bytes(bytes(png))
    report = imagefolders.scan(root)
    reasons = {p.name: why for p, why in report.skipped}
    assert "169 MP" in reasons["bomb.png"] and "decompression bomb" in reasons["bomb.png"]


def test_16_bit_images_load_like_the_tf_decoder_reads_them(tmp_path):
    # PIL's convert("RGB") clips 16-bit values at 255 (94% white on an EM image); TF keeps the high byte.
    import tensorflow as tf

    ramp = (np.arange(64 * 48, dtype=np.uint32) * 21).astype(np.uint16).reshape(48, 64)
    path = tmp_path / "photos" / "em" / "deep.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(ramp).save(path)
    report = imagefolders.scan(tmp_path / "photos")
    assert report.paths == [path]
    loaded = imagefolders.load_images(report.paths, (48, 64))[0]
    decoded = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False).numpy()
    np.testing.assert_array_equal(loaded, decoded)
    assert loaded.std() > 50, "a ramp, not a white sheet"
