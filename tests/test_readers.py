"""helpers.readers: CIFAR-10 batches (only the files needed, safe unpickling, damaged files named) and the membrane
pairs (matched by name in natural order, binary masks, one size), on small files written here."""

import pickle

import numpy as np
import pytest
from PIL import Image

from helpers import readers
from helpers.datasets import CourseDataWarning, DatasetError, MaskError, PairingError
from tests.conftest import SHARED, needs_offline, pair_dirs, write_cifar_batch

# ---- CIFAR-10 on tiny batch files the tests write (tests/conftest.py's tiny_cifar)

def test_cifar_reads_only_the_batches_it_needs(tiny_cifar):
    data_dir, test_images = tiny_cifar
    (x, y), (x_test, y_test) = readers.load_cifar10(n_train=6, data_dir=data_dir)  # batch 3 is never opened
    assert x.shape == (6, 32, 32, 3) and x.dtype == np.uint8
    assert [int(v) for v in x[:, 0, 0, 0]] == [10, 11, 12, 13, 20, 21]
    assert y.tolist() == [1, 2, 3, 4, 2, 3]
    np.testing.assert_array_equal(x_test, test_images)
    assert y_test.dtype == np.int64 and y_test.tolist() == [0, 1, 2, 3, 4]


def test_cifar_planes_become_nhwc(tmp_path):
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, 1, 2] = (200, 100, 50)  # one RGB pixel at row 1, column 2
    write_cifar_batch(tmp_path / "b", image, [3])
    x, _ = readers.read_cifar_batch(tmp_path / "b")
    assert x[0, 1, 2].tolist() == [200, 100, 50] and int(x.sum()) == 350


def test_cifar_asking_for_more_than_exists_warns_and_uses_what_there_is(tiny_cifar):
    data_dir, _ = tiny_cifar
    (data_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.warns(CourseDataWarning, match="asked for 20 .* only 8"):
        (x, _), _ = readers.load_cifar10(n_train=20, data_dir=data_dir)
    assert len(x) == 8


def test_cifar_batch_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this must never run",))

    with open(tmp_path / "evil", "wb") as handle:
        pickle.dump({b"data": Exploit()}, handle)
    with pytest.raises(pickle.UnpicklingError, match=r"evil: refusing .*Delete it"):
        readers.read_cifar_batch(tmp_path / "evil")


@pytest.mark.parametrize("content", [b"", b"\x80\x04\x95\x10\x00\x00", b"<!DOCTYPE html><title>Rate limited</title>"],
                         ids=["empty", "truncated", "html"])
def test_a_damaged_cifar_batch_names_its_file(tmp_path, content):
    path = tmp_path / "data_batch_1"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="data_batch_1 is not a CIFAR-10 batch file"):
        readers.read_cifar_batch(path)


def test_cifar_values_that_would_wrap_and_bad_labels_are_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as handle:
        pickle.dump({b"data": np.full((2, 3072), 300, np.int32), b"labels": [0, 1]}, handle)
    with pytest.raises(DatasetError, match="0..255"):
        readers.read_cifar_batch(path)
    with open(path, "wb") as handle:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, handle)
    with pytest.raises(DatasetError, match="0..9"):
        readers.read_cifar_batch(path)


def test_cifar_n_train_must_be_positive(tiny_cifar):
    with pytest.raises(ValueError, match="positive"):
        readers.load_cifar10(n_train=0, data_dir=tiny_cifar[0])


@needs_offline("cifar-10-batches-py")
def test_the_first_10000_are_exactly_data_batch_1_on_the_offline_copy():
    (x, y), (x_test, _) = readers.load_cifar10(n_train=10_000, data_dir=SHARED)
    assert x.shape == (10_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # the order Keras' cifar10 gives


# ---- membrane pairs

def test_pairs_match_by_name_in_natural_order(tmp_path):
    image_dir, mask_dir = pair_dirs(tmp_path, ["10.png", "2.png", "1.png"], ["1.png", "2.png", "10.png"])
    pairs = readers.match_pairs(image_dir, mask_dir)
    assert [(i.name, m.name) for i, m in pairs] == [("1.png", "1.png"), ("2.png", "2.png"), ("10.png", "10.png")]


def test_missing_and_extra_files_are_listed(tmp_path):
    image_dir, mask_dir = pair_dirs(tmp_path, ["0.png", "1.png", "3.png"], ["0.png", "1.png", "2.png"])
    with pytest.raises(PairingError) as err:
        readers.match_pairs(image_dir, mask_dir)
    assert "images without a mask: 3.png" in str(err.value)
    assert "masks without an image: 2.png" in str(err.value)


def test_binarize_accepts_two_levels_and_rejects_interpolated_masks():
    assert readers.binarize_mask(np.array([[0, 255]], np.uint8)).tolist() == [[0, 1]]
    assert readers.binarize_mask(np.array([[1, 0]], np.uint8)).tolist() == [[1, 0]]
    with pytest.raises(MaskError, match="3 values"):
        readers.binarize_mask(np.array([[0, 128, 255]], np.uint8), source="label/7.png")


def test_load_membrane_gives_aligned_uint8_pairs(tmp_path):
    root = tmp_path / "membrane"
    pair_dirs(root / "train", ["0.png", "1.png"], ["0.png", "1.png"])
    (root / "test").mkdir()
    images, masks, names = readers.load_membrane(data_dir=tmp_path)
    assert images.shape == masks.shape == (2, 16, 16, 1)
    assert images.dtype == masks.dtype == np.uint8
    assert set(np.unique(masks).tolist()) == {0, 1} and names == ["0.png", "1.png"]
    np.testing.assert_array_equal(masks[..., 0] == 1, images[..., 0] == 77)


def test_load_membrane_rejects_a_grey_mask(tmp_path):
    pair_dirs(tmp_path / "membrane" / "train", ["0.png"], ["0.png"], mask_value=128)
    (tmp_path / "membrane" / "test").mkdir()
    with pytest.raises(MaskError, match="0.png is not binary"):
        readers.load_membrane(data_dir=tmp_path)


def test_macos_companion_files_are_ignored(tmp_path):
    # A stick from a Mac carries ._0.png beside 0.png: AppleDouble metadata, not a PNG.
    root = tmp_path / "membrane"
    image_dir, mask_dir = pair_dirs(root / "train", ["0.png", "1.png"], ["0.png", "1.png"])
    (root / "test").mkdir()
    for folder in (image_dir, mask_dir):
        (folder / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
        (folder / ".DS_Store").write_bytes(b"Bud1")
    images, masks, names = readers.load_membrane(data_dir=tmp_path)
    assert names == ["0.png", "1.png"]


def test_natural_order_survives_non_ascii_digits(tmp_path):
    image_dir, mask_dir = pair_dirs(tmp_path, ["1\u00b22.png", "10.png", "2.png"], ["1\u00b22.png", "10.png", "2.png"])
    names = [i.name for i, _ in readers.match_pairs(image_dir, mask_dir)]
    assert names == ["1\u00b22.png", "2.png", "10.png"]


def test_pairs_of_different_sizes_name_the_odd_file(tmp_path):
    root = tmp_path / "membrane"
    pair_dirs(root / "train", ["0.png"], ["0.png"])
    (root / "test").mkdir()
    for sub, value in (("image", 77), ("label", 255)):
        Image.fromarray(np.full((20, 16), value, np.uint8)).save(root / "train" / sub / "1.png")
    with pytest.raises(PairingError, match=r"1.png is 16x20 but 0.png is 16x16"):
        readers.load_membrane(data_dir=tmp_path)


def test_16_bit_membrane_images_are_scaled_like_the_tf_decoder_not_clipped(tmp_path):
    import tensorflow as tf

    root = tmp_path / "membrane"
    pair_dirs(root / "train", ["0.png"], ["0.png"])
    (root / "test").mkdir()
    deep = (np.arange(256, dtype=np.uint32) * 257).astype(np.uint16).reshape(16, 16)
    path = root / "train" / "image" / "0.png"
    Image.fromarray(deep).save(path)
    images, _, _ = readers.load_membrane(data_dir=tmp_path)
    decoded = tf.io.decode_png(tf.io.read_file(str(path)), channels=1).numpy()
    np.testing.assert_array_equal(images[0], decoded)
    assert (images[0] == 255).mean() < 0.01, "before, PIL's convert('L') made 99% of a ramp white"


@needs_offline("membrane")
def test_offline_membrane_copy_loads_without_a_hard_coded_count():
    images, masks, names = readers.load_membrane(data_dir=SHARED)
    assert len(images) == len(masks) == len(names) >= 1
    assert images.shape[1:] == (512, 512, 1)


def test_cifar_labels_stored_as_text_get_a_message_not_a_crash(tmp_path):
    with open(tmp_path / "data_batch_1", "wb") as handle:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": np.array(["cat", "dog"])}, handle)
    with pytest.raises(DatasetError, match=r"data_batch_1: labels must be class ids 0..9, got <U3 values such as 'cat'"):
        readers.read_cifar_batch(tmp_path / "data_batch_1")


def test_a_truncated_membrane_png_is_named(tmp_path):
    image_dir, _ = pair_dirs(tmp_path / "membrane" / "train", ["0.png", "1.png"], ["0.png", "1.png"])
    (tmp_path / "membrane" / "test").mkdir()
    whole = (image_dir / "1.png").read_bytes()
    (image_dir / "1.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetError, match=r"image/1.png cannot be read"):
        readers.load_membrane(data_dir=tmp_path)
