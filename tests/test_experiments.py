"""The lesson-2 experiment functions, on a few hundred offline CIFAR-10 images."""

from pathlib import Path

import pytest

from helpers import experiments

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not (SHARED / "cifar-10-batches-py").is_dir(), reason="offline CIFAR copy not present")


def test_cifar_experiment_rows_and_same_seed_same_result():
    first = experiments.cifar_augmentation_experiment(256, 1, 1, seeds=[3], arms=["plain", "crop_flip"], n_test=200)
    assert [(r["arm"], r["seed"], r["n_train"], r["n_val"], r["n_test"]) for r in first] == [
        ("plain", 3, 231, 25, 200), ("crop_flip", 3, 231, 25, 200)]
    assert all(0 <= r["test_accuracy"] <= 1 and len(r["history"]["val_accuracy"]) == 1 for r in first)
    again = experiments.cifar_augmentation_experiment(256, 1, 1, seeds=[3], arms=["plain"], n_test=200)
    assert again[0]["test_accuracy"] == first[0]["test_accuracy"]
    assert again[0]["test_loss"] == pytest.approx(first[0]["test_loss"], rel=1e-6)
    with pytest.raises(ValueError, match="unknown arms"):
        experiments.cifar_augmentation_experiment(256, 1, 1, arms=["mixup"])


def test_batchnorm_lag_check_scores_the_same_weights_twice():
    result = experiments.batchnorm_lag_check(n_train=256, epochs=1, n_test=200)
    assert result["n_train"] == 231 and result["steps"] == 2
    assert 0 <= result["test_accuracy_moving_statistics"] <= 1 and 0 <= result["test_accuracy_recalibrated"] <= 1
