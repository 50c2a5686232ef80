"""Pipelines the lessons use without teaching them: lesson 5's fixed random-crop generator and the
zhixuhao/unet legacy pair of ImageDataGenerators, and a helper that materialises a finite dataset.

The pipelines the lessons teach (lesson 2's ``tf.data`` stream, lesson 3's generator, ``PyDataset`` and file
stream, lesson 5's paired stream) are written in the lessons and exported to ``helpers.taught``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import tensorflow as tf

from helpers import paired
from helpers.taught import feeding


def paired_crop_generator(images: np.ndarray, masks: np.ndarray, *, crop: int, batch_size: int, seed: int = 0,
                          epochs: int | None = None):
    """The segmentation post's random-crop generator, fixed: every pass visits each pair once in a
    new order (lesson 3's ``batches``), and every pair gets its own crop position (``paired.paired_random_crop``).

    The post drew ``randint(0, batches)`` (inclusive: an empty last batch), one position per
    batch, never shuffled. Yields (images uint8 (B, crop, crop, C), masks (B, crop, crop, 1)); endless
    unless ``epochs`` is given.
    """
    stream = feeding.batches(images, masks, batch_size, seed=seed)
    if epochs is not None:
        stream = itertools.islice(stream, epochs * math.ceil(len(images) / batch_size))
    for step, (x, y) in enumerate(stream):
        x_crop, y_crop = paired.paired_random_crop(x, y, crop, seed=(seed, step))
        yield x_crop.numpy(), y_crop.numpy()


def legacy_paired_generators(images: np.ndarray, masks: np.ndarray, *, batch_size: int, seed: int, **augmentation):
    """The zhixuhao/unet recipe: two ImageDataGenerators with the same arguments and seed, zipped.

    Returns the zipped iterator of (image batch, mask batch), float32 in the input's range. The
    masks come out interpolated; threshold them. The two stay in step only because each ``next()``
    reseeds NumPy's global RNG and draws right after it; another thread drawing in between breaks that.
    """
    legacy = tf.keras.preprocessing.image.ImageDataGenerator
    image_flow = legacy(**augmentation).flow(images.astype("float32"), batch_size=batch_size, seed=seed, shuffle=True)
    mask_flow = legacy(**augmentation).flow(masks.astype("float32"), batch_size=batch_size, seed=seed, shuffle=True)
    return zip(image_flow, mask_flow)


# ---------------------------------------------------------------- helpers for finite datasets


def dataset_arrays(ds: tf.data.Dataset, limit_batches: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Materialise a finite dataset of (x, y) batches as two NumPy arrays (at most ``limit_batches``)."""
    xs, ys = [], []
    for x, y in ds.take(-1 if limit_batches is None else limit_batches):
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)
