"""The exported lesson code gives the batches the library's hand-kept twins gave before they were removed.

``tests/golden/library_batches.npz`` was written by ``tests/golden/record_library_batches.py`` from the
library at commit 2c7c509 (``pipelines.training_batches``, ``batch_generator``, ``AugmentedPyDataset``,
``image_file_dataset``, ``paired_training_batches``, ``bench.knob_pipeline``, ``policies.predict_tta``,
``models.unet``). The same inputs go through ``helpers.taught`` here; every batch must match.

The golden CIFAR batches are 16x16 images, on which the library's crop-flip (a whole-pixel shift of up to an
eighth of the side) shifted up to 2 px: lesson 2's ``pad_crop_flip`` gets ``pad=2`` for them. On 32x32 images
its default ``pad=4`` gives the same batches as that shift (tests/test_taught.py).
"""

import functools
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import bench, recipes
from helpers.taught import cifar_pipeline, feeding, input_knobs, policy_training, segmentation
from tests.golden import record_library_batches as record

GOLDEN = np.load(Path(__file__).parent / "golden" / "library_batches.npz")
ATOL = 1e-6


def check(name, stream, batches):
    got = record.stacked(stream, batches)
    for part in ("x", "y"):
        np.testing.assert_allclose(got[part], GOLDEN[f"{name}/{part}"], atol=ATOL, err_msg=f"{name} {part}")


def _cifar():
    return record.images(12, 16), keras.utils.to_categorical(np.arange(12) % 10, 10).astype("float32")


GOLDEN_CROP_FLIP = functools.partial(cifar_pipeline.pad_crop_flip, pad=2)  # 16-px images: an eighth of the side


def test_golden_file_comes_from_the_library_before_the_export():
    assert str(GOLDEN["commit"]).startswith("2c7c509")


@pytest.mark.parametrize("arm", ["plain", "crop_flip", "post_fused"])
def test_lesson_2_pipeline(arm):
    x, y = _cifar()
    augment = GOLDEN_CROP_FLIP if arm == "crop_flip" else recipes.cifar_arm(arm)
    check(f"cifar/{arm}", cifar_pipeline.prepare(x, y, batch_size=4, seed=3, augment=augment), 6)


def test_lesson_2_evaluation_stream():
    x, y = _cifar()
    check("cifar/evaluation", cifar_pipeline.evaluation(x, y, batch_size=4), 3)


@pytest.mark.parametrize("arm", ["crop_flip+trivial", "crop_flip+erasing+mixup", "crop_flip+cutmix"])
def test_lesson_7_pipeline_blends_included(arm, monkeypatch):
    monkeypatch.setitem(recipes.POLICY_PARTS, "crop_flip", GOLDEN_CROP_FLIP)
    x, y = _cifar()
    augment, with_labels = recipes.policy_arm(arm)
    check(f"policies/{arm}", policy_training.prepare(x, y, batch_size=4, seed=3, augment=augment,
                                                     with_labels=with_labels), 6)


def test_lesson_3_generator_and_pydataset():
    x, ids = record.images(record.N, 8), np.arange(record.N)
    before = x.copy()
    check("flowers/generator", feeding.batches(x, ids, record.BS, seed=4, augment=recipes.FLOWERS.fused), 15)
    np.testing.assert_array_equal(x, before)
    ds = feeding.FlowerBatches(x, ids, record.BS, seed=4, augment=recipes.FLOWERS.fused)
    batches = []
    for _ in range(2):
        batches += [ds[i] for i in range(len(ds))]
        ds.on_epoch_end()
    check("flowers/pydataset", batches, len(batches))


def test_lesson_3_file_stream(tmp_path):
    paths = record.write_pngs(tmp_path, record.images(12, 10))
    check("flowers/file_stream", feeding.file_stream(paths, np.arange(12), size=(8, 8), batch_size=5, seed=2,
                                                     augment=recipes.FLOWERS.fused), 6)


def test_lesson_5_paired_stream():
    x = record.images(6, 48, channels=1)
    check("membrane/paired_stream", segmentation.paired_stream(x, (x > 127).astype(np.uint8), crop=32, batch_size=4,
                                                               seed=5, transform=recipes.MEMBRANE.paired), 4)


@pytest.mark.parametrize("variant", [v for v in bench.KNOB_VARIANTS if v != "+ non-deterministic order"])
def test_lesson_6_knob_pipeline(tmp_path, variant):
    paths = record.write_pngs(tmp_path, record.images(8, 12))
    check(f"knobs/{variant}", input_knobs.knob_pipeline(paths, np.arange(8), size=10, batch_size=4, seed=1,
                                                        **bench.KNOB_VARIANTS[variant]), 4)


def test_lesson_6_non_deterministic_variant_gives_the_same_images_in_some_order(tmp_path):
    """deterministic=False lets parallel map hand out elements as they finish: only the order may differ."""
    paths = record.write_pngs(tmp_path, record.images(8, 12))
    got = record.stacked(input_knobs.knob_pipeline(paths, np.arange(8), size=10, batch_size=4, seed=1,
                                                   **bench.KNOB_VARIANTS["+ non-deterministic order"]), 4)
    expected = GOLDEN["knobs/+ non-deterministic order/y"]
    assert sorted(got["y"][:8]) == sorted(expected[:8]) == list(range(8)), "one pass is every image once"


@pytest.mark.parametrize("views", ["none", "flip", "flip_shift"])
def test_lesson_7_test_time_augmentation(views):
    probs = policy_training.predict_tta(record.tta_model(), record.images(12, 32), views)
    np.testing.assert_allclose(probs, GOLDEN[f"tta/{views}/x"], atol=ATOL)


def test_lesson_5_unet():
    keras.utils.set_random_seed(0)
    unet = segmentation.unet(base_filters=4, depth=3)
    rng = np.random.default_rng(11)
    unet.set_weights([rng.normal(0, 0.2, w.shape).astype("float32") for w in unet.get_weights()])
    assert unet.count_params() == GOLDEN["unet/b4d3/y"][0]
    probe = np.random.default_rng(0).random((1, 48, 40, 1)).astype(np.float32)
    np.testing.assert_allclose(unet(probe), GOLDEN["unet/b4d3/x"], atol=ATOL)
