"""Lesson 5's paired image/mask pipeline and U-Net.

GENERATED from ``notebooks/05_unet_membrane_segmentation.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import math

import keras
import tensorflow as tf
from keras import layers

from helpers import augment, paired
from helpers.taught.basic_ops import apply_affine, blur_float_batch, image_seeds, random_affine_matrices
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


def paired_random_affine(image, mask, *, seed, rotation=0.0, shift=0.0, zoom=0.0, shear=0.0,
                         horizontal_flip=False, vertical_flip=False, fill_mode="reflect"):
    """ONE random affine draw per pair (lesson 1's units), applied to the image (bilinear) and its mask (nearest:
    values kept). image (H, W, C) or (N, H, W, C), mask (..., 1), uint8 or [0, 1] float; shapes and dtypes kept."""
    image, mask = paired.check_pair(image, mask)
    m = random_affine_matrices(image_seeds(image, seed), tf.shape(image)[-3], tf.shape(image)[-2],
                               rotation=rotation, shift=shift, zoom=zoom, shear=shear,
                               horizontal_flip=horizontal_flip, vertical_flip=vertical_flip)
    return (apply_affine(image, m, fill_mode=fill_mode, interpolation="bilinear"),
            apply_affine(mask, m, fill_mode=fill_mode, interpolation="nearest"))


def elastic_field(seed, height, width, *, alpha=34.0, sigma=4.0):
    """A smooth random displacement field (H, W, 2) in pixels (dy, dx), its largest component alpha / 2 pixels.
    (Simard et al., 2003 multiply the blurred noise by alpha; fixing the peak makes alpha mean the same whatever
    sigma and the image size.)"""
    noise = tf.random.stateless_uniform([1, height, width, 2], augment.as_seed(seed), -1.0, 1.0)
    smooth = blur_float_batch(noise, sigma, int(math.ceil(3 * sigma)))[0]
    return smooth * (alpha / (tf.reduce_max(tf.abs(smooth)) + 1e-8)) * 0.5


def sample_at(image, ys, xs, nearest):
    """A float image (H, W, C) sampled at float coordinates ys, xs (H, W): bilinear, or the nearest pixel. Edges
    clamp (fill 'nearest')."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    clamp_y = lambda v: tf.clip_by_value(v, 0, h - 1)
    clamp_x = lambda v: tf.clip_by_value(v, 0, w - 1)
    if nearest:
        idx = tf.stack([clamp_y(tf.cast(tf.round(ys), tf.int32)), clamp_x(tf.cast(tf.round(xs), tf.int32))], -1)
        return tf.gather_nd(image, idx)
    y0, x0 = tf.floor(ys), tf.floor(xs)
    wy, wx = (ys - y0)[..., None], (xs - x0)[..., None]
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    corner = lambda dy, dx: tf.gather_nd(image, tf.stack([clamp_y(y0 + dy), clamp_x(x0 + dx)], -1))
    top = corner(0, 0) * (1 - wx) + corner(0, 1) * wx
    bottom = corner(1, 0) * (1 - wx) + corner(1, 1) * wx
    return top * (1 - wy) + bottom * wy


def paired_elastic(image, mask, *, seed, alpha=34.0, sigma=4.0):
    """ONE elastic field per pair, applied to the image (bilinear) and its mask (nearest: values kept). One pair or
    a batch (each pair its own field); shapes and dtypes kept."""
    image, mask = paired.check_pair(image, mask)

    def one(img, msk, s):
        h, w = tf.shape(img)[0], tf.shape(img)[1]
        field = elastic_field(s, h, w, alpha=alpha, sigma=sigma)
        grid_y, grid_x = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")
        ys, xs = grid_y + field[..., 0], grid_x + field[..., 1]
        warped = augment.from_float(sample_at(augment.to_float(img), ys, xs, nearest=False), img.dtype)
        warped_mask = augment.from_float(sample_at(augment.to_float(msk), ys, xs, nearest=True), msk.dtype)
        return warped, warped_mask

    return augment.per_sample(one, (image, mask), seed)


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
