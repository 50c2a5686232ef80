"""The long studies' runs (helpers.study_runs), on a few hundred images."""


import pytest

from helpers import study_runs
from tests.conftest import needs_offline

needs_cifar = needs_offline("cifar-10-batches-py")


@pytest.mark.slow
@needs_cifar
def test_cifar_runs_rows_and_same_seed_same_result():
    first = study_runs.cifar_runs(256, 1, 1, seeds=[3], arms=["plain", "crop_flip"], n_test=200)
    assert [(r["arm"], r["seed"], r["n_train"], r["n_val"], r["n_test"], r["steps"]) for r in first] == [
        ("plain", 3, 231, 25, 200, 2), ("crop_flip", 3, 231, 25, 200, 2)]  # 231 images: 2 batches of up to 128
    assert all(len(r["history"]["val_accuracy"]) == 1 for r in first)
    again = study_runs.cifar_runs(256, 1, 1, seeds=[3], arms=["plain"], n_test=200)
    assert again[0]["test_accuracy"] == first[0]["test_accuracy"]
    assert again[0]["test_loss"] == pytest.approx(first[0]["test_loss"], rel=1e-6)
    with pytest.raises(ValueError, match="unknown arm"):
        study_runs.cifar_runs(256, 1, 1, arms=["mixup"])


@needs_cifar
def test_batchnorm_lag_check_scores_the_same_weights_with_two_sets_of_statistics():
    result = study_runs.batchnorm_lag_check(n_train=256, epochs=1, n_test=200)
    assert result["n_train"] == 231 and result["steps"] == 2
    assert result["trainable_weights_unchanged"] is True, "only the moving statistics may change"
    assert result["moving_statistics_changed"] is True
    assert result["test_accuracy_moving_statistics"] != result["test_accuracy_recalibrated"]


def test_steps_matched_epochs_keep_the_optimizer_steps_of_the_20_percent_run():
    assert [study_runs.steps_matched_epochs(20, f) for f in (0.05, 0.1, 0.2, 0.4)] == [80, 40, 20, 10]
    assert [study_runs.steps_matched_epochs(80, f) for f in (0.05, 0.1, 0.2, 0.4)] == [320, 160, 80, 40]
    assert study_runs.steps_matched_epochs(1, 1.0) == 1  # never below one epoch
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="fractions must be in"):
            study_runs.steps_matched_epochs(20, bad)


@pytest.mark.slow
@needs_cifar
def test_fraction_study_rescales_epochs_and_counts_steps():
    rows = study_runs.cifar_fraction_study([0.004, 0.008], arms=["plain"], epochs_plain=1, base_fraction=0.008, n_test=100)
    assert [(r["fraction"], r["n_train"], r["epochs"], r["steps"]) for r in rows] == [
        (0.004, 180, 2, 4), (0.008, 360, 1, 3)]  # 200 and 400 images, 10% held out; batches of 128
    unmatched = study_runs.cifar_fraction_study([0.004], arms=["plain"], epochs_plain=1, base_fraction=0.008,
                                             match_steps=False, n_test=100)
    assert unmatched[0]["epochs"] == 1


@pytest.mark.slow
@needs_offline("flowers")
def test_flower_feeding_comparison_trains_each_method_on_the_same_data():
    from helpers import splits

    _, train, val, test = splits.flower_split(size=(48, 48))
    train = tuple(part[:18] for part in train)
    rows = study_runs.flower_feeding_comparison(train, val, tuple(p[:10] for p in test), epochs=1, batch_size=6)
    assert [r["method"] for r in rows] == ["python_generator", "pydataset", "tf_data"]
    assert all(r["n_train"] == 18 and r["steps_per_epoch"] == 3 and len(r["predictions"]) == 10 for r in rows)
    assert all(len(r["history"]["val_loss"]) == 1 and r["epoch_seconds"] > 0 for r in rows)


@needs_cifar
def test_policy_runs_train_with_soft_labels_and_score_test_time_augmentation():
    saved = []
    rows = study_runs.policy_runs(["crop_flip+cutmix"], [1], n_train=256, epochs=1, n_test=100, on_row=saved.append)
    row = rows[0]
    assert ((row["arm"], row["seed"], row["n_train"], row["n_test"], row["steps"])
            == ("crop_flip+cutmix", 1, 231, 100, 2))
    assert set(row["tta"]) == {"none", "flip", "flip_shift"}
    assert [row["tta"][v]["views"] for v in ("none", "flip", "flip_shift")] == [1, 2, 10]
    assert row["test_accuracy"] == row["tta"]["none"]["accuracy"] and row["seconds_per_epoch"] > 0
    assert saved and saved[0] is rows, "rows are handed over after every run"
    with pytest.raises(ValueError, match="unknown part"):
        study_runs.policy_runs(["crop_flip+autoaugment"], n_train=256, epochs=1)


@needs_cifar
def test_policy_costs_time_every_arm_side_by_side():
    rows = study_runs.policy_costs(["crop_flip", "crop_flip+trivial", "crop_flip+cutmix"], batch_size=16, repeats=2)
    assert [r["arm"] for r in rows] == ["crop_flip", "crop_flip+trivial", "crop_flip+cutmix"]
    assert all(r["ms_per_batch"] > 0 and r["batch_size"] == 16 for r in rows) and rows[0]["ratio_to_first"] == 1.0


def _unet_row(arm, seed, val_dice, test_dice):
    ways = ("whole", "tiles", "whole_d4", "tiles_d4")
    score = lambda d: {w: {"dice_membrane": d, "pixel_accuracy": 0.9} for w in ways}  # noqa: E731
    return {"arm": arm, "seed": seed, "validation": score(val_dice), "test": score(test_dice), "train_seconds": 60}


def test_the_final_unet_recipe_is_chosen_on_the_validation_pairs_of_seed_0_never_on_the_test_pairs():
    rows = [_unet_row("a", 0, 0.80, 0.90), _unet_row("b", 0, 0.85, 0.70), _unet_row("a", 1, 0.99, 0.99)]
    assert study_runs.final_unet_arm(rows) == "b", "the validation Dice of seed 0 decides; test and seed 1 do not"
    with pytest.raises(ValueError, match="seed-0"):
        study_runs.final_unet_arm([_unet_row("a", 1, 0.8, 0.8)])


@pytest.mark.slow
def test_unet_run_scores_the_validation_and_the_test_pairs_four_ways_and_keeps_them_apart(tmp_path, monkeypatch):
    from helpers import readers
    from tests.pairs import blocky_pairs

    images, masks = blocky_pairs(n=25, size=64)
    names = [f"{i}.png" for i in range(25)]
    monkeypatch.setattr(readers, "load_membrane", lambda data_dir=None: (images, masks, names))  # 25 small pairs
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    row = study_runs.unet_run("paper_weighted", 0, base_filters=2, epochs=1, steps_per_epoch=1, crop=32)
    assert set(row["validation_names"]).isdisjoint(row["test_names"])
    assert set(row["train_names"]).isdisjoint(row["validation_names"] + row["test_names"])
    assert len(row["validation_names"]) == 3 and row["test_names"] == ["20.png", "21.png", "22.png", "23.png", "24.png"]
    for part in ("validation", "test"):
        assert set(row[part]) == {"whole", "tiles", "whole_d4", "tiles_d4"}
        assert all(0 <= s["pixel_accuracy"] <= 1 and 0 <= s["dice_membrane"] <= 1 for s in row[part].values())
    assert (tmp_path / "models" / row["model_file"]).exists() and row["best_epoch"] == 1
    assert row["augmentation"] == "membrane_paper" and row["loss"] == "weighted" and row["batch_norm"] is False


def test_unet_step_costs_time_every_width_and_dtype_side_by_side_against_the_first():
    rows = study_runs.unet_step_costs((2, 4), dtypes=("float32", "mixed_bfloat16"), crop=32, repeats=2)
    assert [(r["base_filters"], r["dtype"]) for r in rows] == [(2, "float32"), (4, "float32"), (2, "mixed_bfloat16"),
                                                              (4, "mixed_bfloat16")]
    assert rows[0]["ratio_to_first"] == 1.0
    assert all(r["seconds_per_step"] > 0 and r["steps_in_20_minutes"] == int(1200 / r["seconds_per_step"])
               for r in rows)
    assert rows[1]["parameters"] > 3 * rows[0]["parameters"], "twice the filters, about four times the weights"
    assert rows[2]["parameters"] == rows[0]["parameters"], "bfloat16 computes, the weights stay the same float32 ones"
