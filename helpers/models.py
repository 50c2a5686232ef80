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


def unet(input_shape=(None, None, 1), base_filters: int = 64, depth: int = 4, *, weights=None) -> keras.Model:
    """U-Net (Ronneberger et al., 2015) with 'same' padding: the output has the input's size.

    Encoder: ``depth`` blocks of two 3x3 convs (``base_filters`` * 2**level) then 2x2 max pooling;
    a bottleneck; decoder: 2x2 up-sampling + 2x2 conv, concatenation with the matching encoder
    features, two 3x3 convs. Output: (N, H, W, 1) sigmoid probabilities of the white class.
    Fully convolutional: H and W may be None, but each must be divisible by 2**depth.
    ``weights``: optional path of saved weights (``model.save_weights`` / a .keras file) to load.
    """
    h, w = input_shape[0], input_shape[1]
    step = 2**depth
    bad = [d for d in (h, w) if d is not None and d % step]
    if bad:
        raise ValueError(f"U-Net of depth {depth} needs sizes divisible by {step}; got {h}x{w}")
    if base_filters < 1 or depth < 1:
        raise ValueError(f"base_filters and depth must be positive, got {base_filters} and {depth}")

    def double_conv(x, filters):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
        return x

    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        x = double_conv(x, base_filters * 2**level)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = double_conv(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = layers.UpSampling2D(2)(x)
        x = layers.Conv2D(base_filters * 2**level, 2, padding="same", activation="relu")(x)
        x = layers.Concatenate()([skips[level], x])
        x = double_conv(x, base_filters * 2**level)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs, name=f"unet_{base_filters}x{depth}")
    if weights is not None:
        model.load_weights(weights)
    return model
