"""Lesson 5's paired image/mask pipeline and U-Net.

GENERATED from ``notebooks/05_unet_membrane_segmentation.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import keras
import tensorflow as tf
from keras import layers

from helpers import paired
from helpers.taught.feeding import batches


def legacy_paired_generators(images, masks, *, batch_size, seed, **augmentation):
    """zhixuhao/unet's recipe: two ImageDataGenerators with the same arguments and seed, zipped.
    Yields (image batch, mask batch), float32 in the input's range; the masks come out interpolated."""
    legacy = tf.keras.preprocessing.image.ImageDataGenerator
    image_flow = legacy(**augmentation).flow(images.astype("float32"), batch_size=batch_size, seed=seed)
    mask_flow = legacy(**augmentation).flow(masks.astype("float32"), batch_size=batch_size, seed=seed)
    return zip(image_flow, mask_flow)


def paired_crop_generator(images, masks, *, crop, batch_size, seed=0):
    """The post's random-crop generator, fixed: endless (images, masks) batches of crop x crop windows, every
    pair once per pass in a new order, each pair at its own position (batch k cropped with the seed (seed, k))."""
    for k, (x, y) in enumerate(batches(images, masks, batch_size, seed=seed)):
        x_crop, y_crop = paired.paired_random_crop(x, y, crop, seed=(seed, k))
        yield x_crop.numpy(), y_crop.numpy()


AUTOTUNE = tf.data.AUTOTUNE


def crop_and_transform(images, masks, seed, *, crop, transform=None):
    """One batch of pairs: a random crop x crop window per pair, then transform(x, y, seed) on both.
    seed: a stateless pair, split into one seed for the crop and one for the transform. Dtypes unchanged."""
    crop_seed, transform_seed = tf.unstack(tf.random.split(seed, 2))
    x, y = paired.paired_random_crop(images, masks, crop, seed=crop_seed)
    if transform is not None:
        x, y = transform(x, y, transform_seed)
    return x, y


def paired_stream(images, masks, *, crop, batch_size, seed, transform=None):
    """Endless (image, mask) batches; batch k is cropped and transformed with the seed (seed, k).
    images uint8 (N, H, W, 1), masks {0, 1}; yields float32 images in [0, 1] and float32 masks."""
    base = tf.constant(seed, tf.int64)
    ds = tf.data.Dataset.from_tensor_slices((images, masks))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size).enumerate()

    def step(k, pair):
        x, y = crop_and_transform(pair[0], pair[1], tf.stack([base, k]), crop=crop, transform=transform)
        return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.float32)

    return ds.map(step, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def unet(base_filters=64, depth=4, channels=1):
    """U-Net with "same" padding: (N, H, W, channels) -> (N, H, W, 1) sigmoid probabilities of "cell"."""
    def double_conv(x, filters):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
        return x

    inputs = keras.Input((None, None, channels))
    x, skips = inputs, []
    for level in range(depth):                      # encoder: what is there
        x = double_conv(x, base_filters * 2**level)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = double_conv(x, base_filters * 2**depth)     # bottleneck
    for level in reversed(range(depth)):            # decoder: where it is
        x = layers.UpSampling2D(2)(x)
        x = layers.Conv2D(base_filters * 2**level, 2, padding="same", activation="relu")(x)
        x = layers.Concatenate()([skips[level], x])
        x = double_conv(x, base_filters * 2**level)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name=f"unet_{base_filters}x{depth}")
