"""Input pipelines: seeded, shuffled, augmented ``tf.data`` batches for ``model.fit``."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import tensorflow as tf

# (batch uint8 (N, H, W, C), seed int64 [2]) -> augmented batch, same shape and dtype
BatchAugment = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def scale_to_symmetric(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the CIFAR post's scaling."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def training_batches(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    augment: BatchAugment | None = None,
    preprocess: Callable[[tf.Tensor], tf.Tensor] = scale_to_symmetric,
) -> tuple[tf.data.Dataset, int]:
    """An endless, reshuffled-every-epoch stream of (batch, labels), and the steps in one epoch.

    Batch k is augmented with the stateless seed (seed, k), so a run is reproducible and every
    epoch sees fresh draws. Pass ``steps_per_epoch`` to ``model.fit`` (the stream never ends).
    Raises ValueError if ``batch_size`` is larger than the data.
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"{n} images but {len(y)} labels")
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size {batch_size} must be between 1 and the number of images ({n})")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.repeat().batch(batch_size)
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        ds = ds.enumerate().map(
            lambda k, xy: (augment(xy[0], tf.stack([base, k])), xy[1]), num_parallel_calls=tf.data.AUTOTUNE
        )
    ds = ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), math.ceil(n / batch_size)


def evaluation_batches(
    x: np.ndarray, y: np.ndarray, *, batch_size: int, preprocess: Callable = scale_to_symmetric
) -> tf.data.Dataset:
    """A finite, unshuffled, unaugmented dataset for validation and testing."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
