"""Code the lessons teach that the library does not use, read from their notebooks (tests/lesson_code.py):
lesson 3's buggy generator kept for its demonstration, and lesson 4's transfer-learning code.

What the library uses is exported to helpers.taught (tests/test_taught.py, tests/test_golden.py).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.lesson_code import load

N, BS = 23, 5  # 23 is not a multiple of 5: the last batch is partial


def _images(n=N, size=8, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


# ---------------------------------------------------------------- lesson 3


def test_lesson_3_the_posts_generator_overlaps_batches_skips_the_last_image_and_corrupts_its_input():
    lesson = load("03")
    x, y = _images(), np.arange(N)
    copy = x.copy()
    seen = np.concatenate([ids for _, ids in lesson.posts_minibatches(copy, y, BS, augment=lambda b, s: b // 2 + 1)])
    counts = np.bincount(seen, minlength=N)
    assert len(seen) == (N - BS) * BS and counts.max() == BS
    assert np.flatnonzero(counts == 0).tolist() == [N - 1], "only the last image is never used"
    assert not np.array_equal(copy, x), "the post writes augmented pixels back into its input"


# ---------------------------------------------------------------- lesson 4


SMALL = (64, 64, 3)  # ResNet50 accepts >= 32 px: small inputs keep these tests fast on a CPU


@pytest.fixture
def colour_folders(tmp_path):
    """train/ and test/ with one class of pure red and one of pure white images."""
    for split, count in (("train", 10), ("test", 3)):
        for name, colour in (("hotdog", (255, 0, 0)), ("not-hotdog", (255, 255, 255))):
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (80, 70), colour).save(folder / f"{i}.jpg", quality=100)
    return tmp_path


def test_lesson_4_pipeline_hands_the_backbone_exactly_preprocess_input_of_0_255_pixels(colour_folders):
    train, val, test, classes, steps = load("04").imagenet_style(colour_folders, load_size=40, crop=32, batch_size=6)
    assert classes == ["hotdog", "not-hotdog"] and steps == 3  # 18 training images after a 10% validation split
    x, y = next(iter(test))
    # caffe style: RGB -> BGR, minus the ImageNet means (103.939, 116.779, 123.68), no scaling to [0, 1]
    expected = {0: [0 - 103.939, 0 - 116.779, 255 - 123.68], 1: [255 - 103.939, 255 - 116.779, 255 - 123.68]}
    for image, label in zip(x.numpy(), y.numpy()):
        np.testing.assert_allclose(image[8:24, 8:24].reshape(-1, 3).mean(0), expected[label], atol=1.5)
    xt, _ = next(iter(train))
    assert xt.shape == (6, 32, 32, 3) and float(tf.reduce_max(xt)) > 100, "not rescaled to [0, 1]"
    assert sum(len(yb) for _, yb in val) == 2


def _classifier(seed):
    keras.utils.set_random_seed(seed)
    backbone = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SMALL)
    return backbone, load("04").transfer_classifier(backbone)


@pytest.mark.slow
def test_lesson_4_a_frozen_backbone_keeps_weights_and_batchnorm_statistics():
    backbone, classifier = _classifier(0)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    before = [w.numpy().copy() for w in backbone.weights]  # kernels AND BatchNorm moving mean/variance
    head_before = classifier.get_layer("head").get_weights()[0].copy()
    x = np.random.default_rng(1).normal(0, 50, (4, *SMALL)).astype(np.float32)
    classifier.train_on_batch(x, np.array([0, 1, 0, 1]))
    for b, w in zip(before, backbone.weights):
        np.testing.assert_array_equal(b, w.numpy(), err_msg=w.path)
    assert not np.array_equal(head_before, classifier.get_layer("head").get_weights()[0]), "the head must learn"
    assert len(classifier.trainable_weights) == 2


@pytest.mark.slow
def test_lesson_4_unfreezing_makes_only_the_last_stage_trainable_and_batchnorm_stays_in_inference():
    backbone, classifier = _classifier(1)
    names = load("04").unfreeze_last_stage(backbone)
    trainable = {layer.name for layer in backbone.layers if layer.trainable and layer.weights}
    assert trainable == set(names) and names and all(n.startswith("conv5_") for n in names)
    assert not any("_bn" in n for n in names), "BatchNorm layers stay frozen"
    assert any(n.startswith("conv4_") for n in (layer.name for layer in backbone.layers if not layer.trainable))
    norms = [layer for layer in backbone.layers
             if isinstance(layer, keras.layers.BatchNormalization) and layer.name.startswith("conv5_")]
    before = [n.moving_mean.numpy().copy() for n in norms]
    classifier.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(2).normal(0, 50, (4, *SMALL)).astype(np.float32)
    classifier.train_on_batch(x, np.array([0, 1, 0, 1]))
    for b, n in zip(before, norms):
        np.testing.assert_array_equal(b, n.moving_mean.numpy())


@pytest.mark.slow
def test_lesson_4_cached_feature_head_predicts_like_the_end_to_end_frozen_model():
    lesson = load("04")
    backbone, full = _classifier(2)
    x = np.random.default_rng(3).normal(0, 50, (5, *SMALL)).astype(np.float32)
    features = backbone.predict(x, verbose=0)
    inputs = keras.Input(features.shape[1:])
    head = keras.Model(inputs, lesson.new_head(inputs))
    head.get_layer("head").set_weights(full.get_layer("head").get_weights())
    np.testing.assert_allclose(head.predict(features, verbose=0), full.predict(x, verbose=0), atol=1e-5)


# ---------------------------------------------------------------- lesson 7


def test_lesson_7_private_keras_names_it_demonstrates_with_still_exist():
    """Lesson 7 patches AugMix's private module and reads RandAugment's private op list to show when they draw.
    The lesson skips the demonstration if the module moves; this test says so first, on the pinned Keras."""
    import keras
    from keras.src.layers.preprocessing.image_preprocessing import aug_mix

    assert callable(aug_mix.py_random.choice)
    assert "random_rotation" in keras.layers.RandAugment._AUGMENT_LAYERS
