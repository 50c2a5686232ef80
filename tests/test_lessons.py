"""The code the lessons teach, read from their notebooks (tests/lesson_code.py).

Where a lesson and a library copy (used by the drivers, the benchmark and lesson 6) each write a pipeline,
these tests prove that both give the same batches for the same seed, so the two cannot drift apart.
Lesson 4's transfer-learning code is tested here too: it lives only in its lesson.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import bench, models, pipelines, policies, recipes
from tests.lesson_code import load

N, BS = 23, 5  # 23 is not a multiple of 5: the last batch is partial


def _images(n=N, size=8, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def _same_stream(a, b, batches):
    for (xa, ya), (xb, yb) in zip(a.take(batches), b.take(batches)):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


# ---------------------------------------------------------------- lesson 2


@pytest.mark.parametrize("arm", ["plain", "crop_flip", "post_fused"])
def test_lesson_2_pipeline_gives_the_drivers_batches(arm):
    lesson = load("02")
    x, y = _images(64, 32), keras.utils.to_categorical(np.arange(64) % 10, 10)
    mine = lesson.prepare(x, y, batch_size=16, seed=3, augment=recipes.cifar_arm(arm))
    driver, steps = pipelines.training_batches(x, y, batch_size=16, seed=3, augment=recipes.cifar_arm(arm))
    _same_stream(mine, driver, 2 * steps)  # two epochs: the reshuffle matches too
    np.testing.assert_array_equal(lesson.scale(x).numpy(), pipelines.scale_to_symmetric(x).numpy())
    _same_stream(lesson.evaluation(x, y, batch_size=16), pipelines.evaluation_batches(x, y, batch_size=16), 4)


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


def test_lesson_3_generator_and_pydataset_give_the_library_batches():
    lesson = load("03")
    x, y = _images(), np.arange(N)
    before = x.copy()
    augment = recipes.FLOWERS.fused
    mine, library = lesson.batches(x, y, BS, seed=4, augment=augment), pipelines.batch_generator(
        x, y, BS, seed=4, augment=augment)
    for _ in range(3 * pipelines.steps_per_epoch(N, BS)):
        (xa, ya), (xb, yb) = next(mine), next(library)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(x, before)
    mine = lesson.FlowerBatches(x, y, BS, seed=4, augment=augment)
    library = pipelines.AugmentedPyDataset(x, y, BS, seed=4, augment=augment)
    assert len(mine) == len(library) == 5
    for _ in range(2):
        for i in range(len(mine)):
            for a, b in zip(mine[i], library[i]):
                np.testing.assert_array_equal(a, b)
        mine.on_epoch_end()
        library.on_epoch_end()


def test_lesson_3_file_stream_gives_the_library_batches(tmp_path):
    lesson = load("03")
    x = _images(12, 10)
    paths = []
    for i, image in enumerate(x):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    labels = np.arange(12)
    mine = lesson.file_stream(paths, labels, size=(8, 8), batch_size=5, seed=2, augment=recipes.FLOWERS.fused)
    library = pipelines.image_file_dataset(paths, labels, size=(8, 8), batch_size=5, seed=2, repeat=True,
                                           augment=recipes.FLOWERS.fused)
    _same_stream(mine, library, 6)


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


def test_lesson_4_unfreezing_makes_only_the_last_stage_trainable_and_batchnorm_stays_in_inference():
    backbone, classifier = _classifier(1)
    names = load("04").unfreeze_last_stage(backbone)
    trainable = {layer.name for layer in backbone.layers if layer.trainable and layer.weights}
    assert trainable == set(names) and names and all(n.startswith("conv5_") for n in names)
    assert not any("_bn" in n for n in names), "BatchNorm layers stay frozen"
    assert any(n.startswith("conv4_") for n in (l.name for l in backbone.layers if not l.trainable))
    norms = [l for l in backbone.layers if isinstance(l, keras.layers.BatchNormalization) and l.name.startswith("conv5_")]
    before = [n.moving_mean.numpy().copy() for n in norms]
    classifier.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    classifier.train_on_batch(np.random.default_rng(2).normal(0, 50, (4, *SMALL)).astype(np.float32), np.array([0, 1, 0, 1]))
    for b, n in zip(before, norms):
        np.testing.assert_array_equal(b, n.moving_mean.numpy())


def test_lesson_4_cached_feature_head_predicts_like_the_end_to_end_frozen_model():
    lesson = load("04")
    backbone, full = _classifier(2)
    x = np.random.default_rng(3).normal(0, 50, (5, *SMALL)).astype(np.float32)
    features = backbone.predict(x, verbose=0)
    inputs = keras.Input(features.shape[1:])
    head = keras.Model(inputs, lesson.new_head(inputs))
    head.get_layer("head").set_weights(full.get_layer("head").get_weights())
    np.testing.assert_allclose(head.predict(features, verbose=0), full.predict(x, verbose=0), atol=1e-5)


# ---------------------------------------------------------------- lesson 5


def test_lesson_5_paired_pipeline_gives_the_library_batches():
    lesson = load("05")
    images = _images(6, 48, channels=1)
    masks = (images > 127).astype(np.uint8)
    mine = lesson.paired_stream(images, masks, crop=32, batch_size=4, seed=5, transform=recipes.MEMBRANE.paired)
    library, steps = pipelines.paired_training_batches(images, masks, crop=32, batch_size=4, seed=5,
                                                       augment=recipes.MEMBRANE.paired)
    _same_stream(mine, library, 2 * steps)


def test_lesson_5_unet_is_the_library_unet():
    keras.utils.set_random_seed(0)
    mine = load("05").unet(base_filters=4, depth=3)
    library = models.unet((None, None, 1), base_filters=4, depth=3)
    assert [type(l).__name__ for l in mine.layers] == [type(l).__name__ for l in library.layers]
    assert mine.count_params() == library.count_params()
    library.set_weights(mine.get_weights())
    x = np.random.default_rng(0).random((1, 48, 40, 1)).astype(np.float32)
    np.testing.assert_allclose(mine(x), library(x), atol=1e-6)


# ---------------------------------------------------------------- lesson 6


@pytest.mark.parametrize("variant", ["parallel map + prefetch", "cache AFTER augmentation (wrong)"])
def test_lesson_6_knob_pipeline_gives_the_benchmarks_batches(tmp_path, variant):
    paths = []
    for i, image in enumerate(_images(8, 12)):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    knobs = dict(size=10, batch_size=4, seed=1, **bench.KNOB_VARIANTS[variant])
    _same_stream(load("06").knob_pipeline(paths, np.arange(8), **knobs), bench.knob_pipeline(paths, np.arange(8), **knobs), 4)


# ---------------------------------------------------------------- lesson 7


@pytest.mark.parametrize("arm", ["crop_flip+trivial", "crop_flip+erasing+mixup", "crop_flip+cutmix"])
def test_lesson_7_pipeline_gives_the_drivers_batches_blends_included(arm):
    lesson = load("07")
    x, y = _images(64, 32), keras.utils.to_categorical(np.arange(64) % 10, 10).astype("float32")
    augment, with_labels = recipes.policy_arm(arm)
    mine = lesson.prepare(x, y, batch_size=16, seed=3, augment=augment, with_labels=with_labels)
    driver, steps = pipelines.training_batches(x, y, batch_size=16, seed=3, augment=augment,
                                               augment_targets=with_labels)
    _same_stream(mine, driver, 2 * steps)  # two epochs
    _same_stream(lesson.evaluation(x, y, batch_size=16), pipelines.evaluation_batches(x, y, batch_size=16), 4)


def test_lesson_7_test_time_augmentation_is_the_drivers():
    lesson = load("07")
    x = _images(12, 32)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(4, "softmax")])
    for views in ("flip", "flip_shift"):
        np.testing.assert_allclose(lesson.predict_tta(model, x, views),
                                   policies.predict_tta(model, x, views=views, preprocess=pipelines.scale_to_symmetric),
                                   atol=1e-6)
