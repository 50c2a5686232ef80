"""Lesson 5: paired transforms keep image and mask aligned; the U-Net and its metrics behave."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import augment as A
from helpers import metrics, models, pipelines

RNG = np.random.default_rng(0)


def blocky_pairs(n=3, size=64, block=8):
    """Images made of flat 8x8 blocks; the mask is exactly 'image is bright'."""
    coarse = RNG.integers(0, 2, (n, size // block, size // block, 1))
    mask = np.kron(coarse, np.ones((1, block, block, 1))).astype(np.uint8)
    return (mask * 200 + 20).astype(np.uint8), mask


def assert_aligned(image, mask):
    """Where the (bilinear) image is flat, i.e. all its neighbours agree, the (nearest) mask must agree."""
    image, mask = np.asarray(image).astype(int), np.asarray(mask)
    assert set(np.unique(mask).tolist()) <= {0, 1}, "mask values must stay 0/1"
    flat_bright, flat_dark = image == 220, image == 20
    assert flat_bright.mean() + flat_dark.mean() > 0.4, "test image should stay mostly flat"
    assert (mask[flat_bright] == 1).all() and (mask[flat_dark] == 0).all()


TRANSFORMS = {
    "crop": lambda x, m, s: A.paired_random_crop(x, m, 40, seed=s),
    "affine": lambda x, m, s: A.paired_random_affine(x, m, seed=s, rotation=30, shift=0.1, zoom=0.2, shear=5,
                                                     horizontal_flip=True, vertical_flip=True),
    "elastic": lambda x, m, s: A.paired_elastic(x, m, seed=s, alpha=20, sigma=5),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_every_paired_transform_keeps_every_sample_aligned(name, seed):
    images, masks = blocky_pairs()
    out_images, out_masks = TRANSFORMS[name](images, masks, seed)
    assert out_images.dtype == tf.uint8 and out_masks.dtype == tf.uint8
    for i in range(len(images)):
        assert_aligned(out_images[i], out_masks[i])


@pytest.mark.parametrize("name", ["affine", "elastic"])
def test_paired_transforms_move_pixels_and_are_seeded(name):
    images, masks = blocky_pairs()
    a, b, c = (TRANSFORMS[name](images, masks, s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1]) and not np.array_equal(a[1], masks)


def test_paired_transforms_refuse_a_mismatched_or_multichannel_mask():
    images, masks = blocky_pairs()
    with pytest.raises(ValueError, match="same N, H, W"):
        A.paired_random_affine(images, masks[:, :32], seed=0)
    with pytest.raises(ValueError, match="channels"):
        A.paired_elastic(images, np.repeat(masks, 3, -1), seed=0)


def test_paired_pipeline_batches_stay_aligned_and_binary():
    images, masks = blocky_pairs(n=5)
    stream, steps = pipelines.paired_training_batches(
        images, masks, crop=32, batch_size=2, seed=0,
        augment=lambda x, m, s: A.paired_random_affine(x, m, seed=s, rotation=20, horizontal_flip=True))
    assert steps == 3
    for x, m in stream.take(6):
        assert x.shape == (2, 32, 32, 1) and x.dtype == tf.float32 and float(tf.reduce_max(x)) <= 1
        for i in range(2):
            assert_aligned(np.round(x[i].numpy() * 255), m[i].numpy().astype(np.uint8))


@pytest.mark.parametrize("size, depth", [(32, 2), (64, 3), (96, 4), (128, 4)])
def test_unet_output_shape_equals_input_shape(size, depth):
    model = models.unet((size, size, 1), base_filters=4, depth=depth)
    assert model.output_shape == (None, size, size, 1)
    assert model(np.zeros((1, size, size, 1), np.float32)).shape == (1, size, size, 1)


def test_unet_is_fully_convolutional():
    model = models.unet((None, None, 1), base_filters=4, depth=3)
    for h, w in [(64, 64), (48, 80)]:
        assert model(np.zeros((1, h, w, 1), np.float32)).shape == (1, h, w, 1)


@pytest.mark.parametrize("shape", [(100, 100, 1), (64, 72, 1)])
def test_unet_refuses_sizes_not_divisible_by_two_to_the_depth(shape):
    with pytest.raises(ValueError, match="divisible by 16"):
        models.unet(shape, base_filters=4, depth=4)


def test_unet_loads_saved_weights(tmp_path):
    model = models.unet((32, 32, 1), base_filters=4, depth=2)
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    again = models.unet((32, 32, 1), base_filters=4, depth=2, weights=path)
    x = RNG.random((1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(model(x), again(x), atol=1e-6)


def test_a_few_steps_on_64px_crops_lower_the_loss():
    import keras

    keras.utils.set_random_seed(0)
    images, masks = blocky_pairs(n=4, size=128)
    stream, _ = pipelines.paired_training_batches(images, masks, crop=64, batch_size=4, seed=0)
    model = models.unet((64, 64, 1), base_filters=4, depth=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    history = model.fit(stream, steps_per_epoch=15, epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.8


def test_segmentation_report_scores_and_single_class_guard():
    truth = np.zeros((1, 10, 10, 1))
    truth[:, :, 3:] = 1  # 70% "cell", 30% "membrane"
    good = metrics.segmentation_report(truth, truth * 0.8 + 0.1)
    assert good["pixel_accuracy"] == 1 and good["dice_membrane"] == pytest.approx(1) and good["iou_cell"] == pytest.approx(1)
    half = truth.copy()
    half[:, :5, :3] = 1  # 15 membrane pixels predicted as cell
    r = metrics.segmentation_report(truth, half)
    assert r["iou_membrane"] == pytest.approx(15 / 30) and r["dice_membrane"] == pytest.approx(2 * 15 / (30 + 15))
    assert r["pixel_accuracy"] == pytest.approx(0.85)
    with pytest.warns(metrics.SingleClassWarning, match="collapsed to one class"):
        metrics.segmentation_report(truth, np.ones_like(truth))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.segmentation_report(truth, half)  # a sensible prediction does not warn
