"""The lesson-2 experiment functions, on a few hundred offline CIFAR-10 images."""

import pytest

from helpers import experiments
from tests.conftest import needs_offline

needs_cifar = needs_offline("cifar-10-batches-py")


@needs_cifar
def test_cifar_experiment_rows_and_same_seed_same_result():
    first = experiments.cifar_augmentation_experiment(256, 1, 1, seeds=[3], arms=["plain", "crop_flip"], n_test=200)
    assert [(r["arm"], r["seed"], r["n_train"], r["n_val"], r["n_test"], r["steps"]) for r in first] == [
        ("plain", 3, 231, 25, 200, 2), ("crop_flip", 3, 231, 25, 200, 2)]  # 231 images: 2 batches of up to 128
    assert all(0 <= r["test_accuracy"] <= 1 and len(r["history"]["val_accuracy"]) == 1 for r in first)
    again = experiments.cifar_augmentation_experiment(256, 1, 1, seeds=[3], arms=["plain"], n_test=200)
    assert again[0]["test_accuracy"] == first[0]["test_accuracy"]
    assert again[0]["test_loss"] == pytest.approx(first[0]["test_loss"], rel=1e-6)
    with pytest.raises(ValueError, match="unknown arms"):
        experiments.cifar_augmentation_experiment(256, 1, 1, arms=["mixup"])


@needs_cifar
def test_batchnorm_lag_check_scores_the_same_weights_twice():
    result = experiments.batchnorm_lag_check(n_train=256, epochs=1, n_test=200)
    assert result["n_train"] == 231 and result["steps"] == 2
    assert 0 <= result["test_accuracy_moving_statistics"] <= 1 and 0 <= result["test_accuracy_recalibrated"] <= 1


def test_steps_matched_epochs_keep_the_optimizer_steps_of_the_20_percent_run():
    assert [experiments.steps_matched_epochs(20, f) for f in (0.05, 0.1, 0.2, 0.4)] == [80, 40, 20, 10]
    assert [experiments.steps_matched_epochs(80, f) for f in (0.05, 0.1, 0.2, 0.4)] == [320, 160, 80, 40]
    assert experiments.steps_matched_epochs(1, 1.0) == 1  # never below one epoch
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="fractions must be in"):
            experiments.steps_matched_epochs(20, bad)


@needs_cifar
def test_fraction_study_rescales_epochs_and_counts_steps():
    rows = experiments.cifar_fraction_study([0.004, 0.008], arms=["plain"], epochs_plain=1, base_fraction=0.008,
                                            n_test=100)
    assert [(r["fraction"], r["n_train"], r["epochs"], r["steps"]) for r in rows] == [
        (0.004, 180, 2, 4), (0.008, 360, 1, 3)]  # 200 and 400 images, 10% held out; batches of 128
    unmatched = experiments.cifar_fraction_study([0.004], arms=["plain"], epochs_plain=1, base_fraction=0.008,
                                                 match_steps=False, n_test=100)
    assert unmatched[0]["epochs"] == 1
    assert unmatched[0]["test_accuracy"] != rows[0]["test_accuracy"] or unmatched[0]["test_loss"] != rows[0]["test_loss"]
