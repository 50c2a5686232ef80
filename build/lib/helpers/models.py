"""Models that several lessons (or the benchmark) reuse, as Keras 3 functional models; the ResNet50
loader with its offline fallback; BatchNorm recalibration; augmentation inside the training step.

Lesson 5 writes its U-Net in its own cells; ``unet`` here is the same network for lesson 6 and the
benchmark (``tests/test_lessons.py`` checks that they agree). Lesson 4's transfer-learning head and
freezing code live only in lesson 4."""

from __future__ import annotations

import textwrap

import keras
import tensorflow as tf
from keras import layers


def cifar_cnn(input_shape=(32, 32, 3), num_classes: int = 10, *, synchronized_bn: bool = False) -> keras.Model:
    """The CIFAR-10 post's small CNN, layer for layer (Keras 2 defaults: 'valid' padding).

    Input float32 (N, 32, 32, 3) in [-1, 1]; output (N, num_classes) softmax probabilities.
    Conv(64) -> BN(no scale/centre) -> Conv(32) -> MaxPool -> Dropout(0.2) -> BN(no scale/centre)
    -> Flatten -> Dense(256) -> Dropout(0.2) -> BN -> Dense(10, softmax).
    ``synchronized_bn``: BatchNorm statistics over the global batch of a distribution strategy
    (otherwise each worker keeps moving averages of its own batches, and workers drift apart).
    """
    bn = lambda **kwargs: layers.BatchNormalization(synchronized=synchronized_bn, **kwargs)  # noqa: E731
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(64, 3, activation="relu")(inputs)
    x = bn(scale=False, center=False)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.2)(x)
    x = bn(scale=False, center=False)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = bn()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="cifar_post_cnn")


def flower_cnn(input_shape=(182, 182, 3), num_classes: int = 5) -> keras.Model:
    """The flower post's CNN, with the post's [0, 1] scaling moved into the model.

    Input uint8 or float (N, 182, 182, 3) in [0, 255]; output (N, num_classes) softmax.
    Conv(4, 5x5) -> pool -> Conv(8, 3x3) -> pool -> Conv(16, 3x3) -> pool -> Dense(128) ->
    Dropout(0.5) -> Dense(5), ReLU throughout, 2x2 max pooling.
    """
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    for filters, kernel in ((4, 5), (8, 3), (16, 3)):
        x = layers.Conv2D(filters, kernel, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="flower_post_cnn")


# ---------------------------------------------------------------- ResNet50 with ImageNet weights (lesson 4)

RESNET50_NOTOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
RESNET50_TOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"


class WeightsUnavailableError(RuntimeError):
    """The ImageNet weights could not be downloaded and are not in Keras's cache."""


def keras_cache_dir() -> str:
    """Where Keras caches downloaded weights: ``$KERAS_HOME/models`` (default ``~/.keras/models``)."""
    import os

    return os.path.join(os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")), "models")


def resnet50(*, include_top: bool = False, input_shape=(224, 224, 3), allow_random: bool = False) -> tuple[keras.Model, bool]:
    """``keras.applications.ResNet50(weights="imagenet")``, always asked for first.

    Returns (model, pretrained). If the weights can be neither loaded from Keras's cache nor
    downloaded: with ``allow_random`` (quick mode only) build random weights and print a loud
    notice; otherwise raise WeightsUnavailableError saying where to put the file.
    Input: float (N, H, W, 3) already passed through ``keras.applications.resnet50.preprocess_input``.
    """
    kwargs = dict(include_top=include_top, input_shape=input_shape if not include_top else (224, 224, 3))
    try:
        return keras.applications.ResNet50(weights="imagenet", **kwargs), True
    except Exception as exc:  # get_file raises a bare Exception when offline
        file_name = RESNET50_NOTOP_FILE if not include_top else RESNET50_TOP_FILE
        reason = textwrap.shorten(str(exc) or type(exc).__name__, 160, placeholder=" ...")  # cut between words
        message = (f"ResNet50 ImageNet weights are not available ({reason}).\n"
                   f"Keras looks for {file_name} in {keras_cache_dir()} (set KERAS_HOME to move it).\n"
                   "Download it once on a connected machine (keras.applications.ResNet50(weights='imagenet')) "
                   "and copy the file into that folder on each machine that has no internet.")
        if not allow_random:
            raise WeightsUnavailableError(message) from exc
        banner = "!" * 78
        print(f"{banner}\n!! QUICK MODE FALLBACK: RANDOM WEIGHTS. {message}\n"
              f"!! Every accuracy shown with this backbone is MEANINGLESS: it never saw ImageNet.\n{banner}")
        return keras.applications.ResNet50(weights=None, **kwargs), False


def _all_layers(layer) -> list:
    """Every layer inside ``layer``, nested models included (public ``.layers`` only), depth first."""
    found = []
    for inner in getattr(layer, "layers", []):
        found.append(inner)
        found += _all_layers(inner)
    return found


def recalibrate_batchnorm(model: keras.Model, x) -> None:
    """Set every BatchNormalization layer's moving mean and variance to the statistics of ``x`` (the
    model's input, e.g. all training images, preprocessed) in one training-mode pass. Weights are untouched."""
    norms = [layer for layer in _all_layers(model) if isinstance(layer, layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0  # the moving statistics become this batch's statistics
    try:
        model(x, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum


class AugmentInTrainStep(keras.Model):
    """Runs augmentation inside the compiled training step, on the device that trains (a GPU
    when there is one), instead of in the CPU input pipeline.

    ``augment(x, y, seed) -> (x, y)`` transforms each raw training batch (so it can move a
    segmentation mask with its image, which a layer inside the model cannot); the seed is
    (``seed``, optimizer step), so a run is reproducible. ``preprocess(x)`` then feeds ``model``
    in training and in inference alike; predict/evaluate see unaugmented inputs.
    """

    def __init__(self, model: keras.Model, augment, preprocess, *, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.augment, self.preprocess, self.seed = model, augment, preprocess, int(seed)

    def call(self, x, training=False):
        return self.inner(self.preprocess(x), training=training)

    def augment_batch(self, x, y, step):
        """The training-time transform of one raw batch at optimizer step ``step``."""
        return self.augment(x, y, tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)]))

    def train_step(self, data):
        x, y = data[0], data[1]
        x, y = self.augment_batch(x, y, self.optimizer.iterations)
        return super().train_step((x, y))
