"""helpers.splits: each lesson's split keeps its validation (and test) images apart, whole and seeded, before any
augmentation; on the small files of tests/conftest.py, and lesson 3's on the offline flowers."""

import numpy as np
import pytest

from helpers import splits
from tests.conftest import needs_offline, pair_dirs


def test_cifar10_splits_hold_out_the_last_tenth_for_validation_and_one_hot_labels(tiny_cifar):
    data_dir, test_images = tiny_cifar
    (x_fit, y_fit), (x_val, y_val), (x_test, y_test) = splits.cifar10_splits(8, 3, data_dir=data_dir)
    assert [int(v) for v in x_fit[:, 0, 0, 0]] == [10, 11, 12, 13, 20, 21, 22]  # batch 3 is never opened
    assert [int(v) for v in x_val[:, 0, 0, 0]] == [23] and y_val.argmax(1).tolist() == [5]
    assert y_fit.shape == (7, 10) and np.issubdtype(y_fit.dtype, np.floating) and (y_fit.sum(1) == 1).all()
    assert y_fit.argmax(1).tolist() == [1, 2, 3, 4, 2, 3, 4]
    np.testing.assert_array_equal(x_test, test_images[:3])
    assert y_test.shape == (3, 10) and y_test.argmax(1).tolist() == [0, 1, 2]


def test_membrane_split_holds_out_whole_images_in_three_disjoint_parts_seeded_and_in_natural_order(tmp_path):
    names = [f"{i}.png" for i in range(12)]
    pair_dirs(tmp_path / "membrane" / "train", names, names)
    (tmp_path / "membrane" / "test").mkdir()
    test_names = ("9.png", "10.png")
    parts = splits.membrane_split(3, seed=0, test_names=test_names, data_dir=tmp_path)
    (x_train, y_train, names_train), (x_val, y_val, names_val), (x_test, y_test, names_test) = parts
    assert (len(names_train), len(names_val), names_test) == (7, 3, ["9.png", "10.png"])
    assert set(names_train).isdisjoint(names_val) and set(names_val).isdisjoint(names_test)
    assert set(names_train).isdisjoint(names_test) and set(names_train) | set(names_val) | set(names_test) == set(names)
    for part in (names_train, names_val, names_test):
        assert part == sorted(part, key=lambda n: int(n.split(".")[0])), "natural file order (2 before 10)"
    assert x_train.shape == y_train.shape == (7, 16, 16, 1) and x_val.dtype == y_test.dtype == np.uint8
    assert set(np.unique(y_val).tolist()) == {0, 1}
    again = splits.membrane_split(3, seed=0, test_names=test_names, data_dir=tmp_path)
    assert again[1][2] == names_val, "the same seed, the same split"
    assert {tuple(splits.membrane_split(3, seed=s, test_names=test_names, data_dir=tmp_path)[1][2])
            for s in range(6)} != {tuple(names_val)}, "the seed chooses the validation pairs"
    with pytest.raises(ValueError, match="99.png"):
        splits.membrane_split(3, test_names=("99.png",), data_dir=tmp_path)
    with pytest.raises(ValueError, match="too few"):
        splits.membrane_split(10, test_names=test_names, data_dir=tmp_path)


@needs_offline("flower_photos")
def test_flower_split_is_stratified_disjoint_and_keeps_the_test_set_apart():
    report, train, val, test = splits.flower_split(size=(24, 24))
    n = len(report.paths)
    assert len(train[0]) + len(val[0]) + len(test[0]) == n
    assert len(test[0]) == round(0.3 * n)
    paths = [set(part[2]) for part in (train, val, test)]
    assert not (paths[0] & paths[1]) and not (paths[0] & paths[2]) and not (paths[1] & paths[2])
    for part in (train, val, test):
        counts = np.bincount(part[1], minlength=len(report.class_names))
        assert counts.max() - counts.min() <= 1, "stratified: every class equally represented"
    assert train[0].shape[1:] == (24, 24, 3) and train[0].dtype == np.uint8
