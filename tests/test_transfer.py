"""Lesson 4: what reaches the backbone, what a frozen backbone does in training, and the cached-feature head."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import models, pipelines

SMALL = (64, 64, 3)  # ResNet50 accepts >= 32 px: small inputs keep these tests fast on a CPU


@pytest.fixture
def colour_folders(tmp_path):
    """train/ and test/ with one class of pure white and one of pure red images."""
    for split in ("train", "test"):
        for name, colour in (("hotdog", (255, 0, 0)), ("not-hotdog", (255, 255, 255))):
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (80, 70), colour).save(folder / f"{i}.jpg", quality=100)
    return tmp_path


def test_the_pipeline_hands_the_backbone_exactly_preprocess_input_of_0_255_pixels(colour_folders):
    train, test, classes, steps = pipelines.imagenet_style_datasets(colour_folders, load_size=40, crop=32, batch_size=6)
    assert classes == ["hotdog", "not-hotdog"] and steps == 1
    x, y = next(iter(test))
    # caffe style: RGB -> BGR, minus the ImageNet means (103.939, 116.779, 123.68), no scaling to [0, 1]
    expected = {0: [0 - 103.939, 0 - 116.779, 255 - 123.68], 1: [255 - 103.939, 255 - 116.779, 255 - 123.68]}
    for image, label in zip(x.numpy(), y.numpy()):
        np.testing.assert_allclose(image[8:24, 8:24].reshape(-1, 3).mean(0), expected[label], atol=1.5)
    xt, _ = next(iter(train))
    assert xt.shape == (6, 32, 32, 3) and float(tf.reduce_max(xt)) > 100, "not rescaled to [0, 1]"


def test_preprocess_matches_keras_on_a_random_batch():
    import keras

    pixels = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype(np.uint8)
    np.testing.assert_allclose(pipelines.resnet_preprocess(pixels),
                               keras.applications.resnet50.preprocess_input(pixels.astype(np.float32)), atol=1e-5)


@pytest.fixture(scope="module")
def classifier():
    import keras

    keras.utils.set_random_seed(0)
    backbone = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SMALL)
    model = models.transfer_classifier(backbone)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    return model


def _backbone(model):
    return next(layer for layer in model.layers if isinstance(layer, tf.keras.Model) or hasattr(layer, "layers"))


def test_a_frozen_backbone_keeps_weights_and_batchnorm_statistics(classifier):
    backbone = _backbone(classifier)
    before = [w.numpy().copy() for w in backbone.weights]  # kernels AND BatchNorm moving mean/variance
    head_before = classifier.get_layer("head").get_weights()[0].copy()
    x = np.random.default_rng(1).normal(0, 50, (4, *SMALL)).astype(np.float32)
    classifier.train_on_batch(x, np.array([0, 1, 0, 1]))
    for b, w in zip(before, backbone.weights):
        np.testing.assert_array_equal(b, w.numpy(), err_msg=w.path)
    assert not np.array_equal(head_before, classifier.get_layer("head").get_weights()[0]), "the head must learn"
    assert len(classifier.trainable_weights) == 2


def test_unfreezing_makes_only_the_last_stage_trainable(classifier):
    names = models.unfreeze_last_stage(classifier)
    backbone = _backbone(classifier)
    trainable = {layer.name for layer in backbone.layers if layer.trainable and layer.weights}
    assert trainable == set(names) and names and all(n.startswith("conv5_") for n in names)
    assert not any("_bn" in n for n in names), "BatchNorm layers stay frozen"
    assert any(n.startswith("conv4_") for n in (l.name for l in backbone.layers if not l.trainable))
    heads = [w for w in classifier.trainable_weights if "head" in w.path]
    assert len(heads) == 2


def test_cached_feature_head_predicts_like_the_end_to_end_frozen_model():
    import keras

    keras.utils.set_random_seed(2)
    backbone = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SMALL)
    full = models.transfer_classifier(backbone)
    x = np.random.default_rng(3).normal(0, 50, (5, *SMALL)).astype(np.float32)
    features = backbone.predict(x, verbose=0)
    head = models.head_only(features.shape[1:], like=full)
    np.testing.assert_allclose(head.predict(features, verbose=0), full.predict(x, verbose=0), atol=1e-5)


def test_missing_imagenet_weights_raise_with_the_cache_location(monkeypatch, tmp_path):
    import keras

    def offline(*args, **kwargs):
        if kwargs.get("weights") == "imagenet":
            raise Exception("URL fetch failure: offline")
        return real(*args, **kwargs)

    real = keras.applications.ResNet50
    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(models.WeightsUnavailableError) as err:
        models.resnet50(input_shape=SMALL)
    assert models.RESNET50_NOTOP_FILE in str(err.value) and str(tmp_path / "models") in str(err.value)


def test_quick_mode_fallback_is_loud(monkeypatch, capsys):
    import keras

    real = keras.applications.ResNet50

    def offline(*args, **kwargs):
        if kwargs.get("weights") == "imagenet":
            raise Exception("URL fetch failure: offline")
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    model, pretrained = models.resnet50(input_shape=SMALL, allow_random=True)
    assert pretrained is False and model.output_shape[-1] == 2048
    assert "MEANINGLESS" in capsys.readouterr().out
