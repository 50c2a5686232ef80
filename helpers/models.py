"""Model builders for the lessons (Keras 3 functional models)."""

from __future__ import annotations

import keras
from keras import layers


def cifar_cnn(input_shape=(32, 32, 3), num_classes: int = 10) -> keras.Model:
    """The CIFAR-10 post's small CNN, layer for layer (Keras 2 defaults: 'valid' padding).

    Input float32 (N, 32, 32, 3) in [-1, 1]; output (N, num_classes) softmax probabilities.
    Conv(64) -> BN(no scale/centre) -> Conv(32) -> MaxPool -> Dropout(0.2) -> BN(no scale/centre)
    -> Flatten -> Dense(256) -> Dropout(0.2) -> BN -> Dense(10, softmax).
    """
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(64, 3, activation="relu")(inputs)
    x = layers.BatchNormalization(scale=False, center=False)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.BatchNormalization(scale=False, center=False)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.BatchNormalization()(x)
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
