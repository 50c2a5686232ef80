"""Lesson 2's CIFAR-10 input pipeline.

GENERATED from ``notebooks/02_cifar10_augmentation_experiment.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def scale(images):
    """uint8 [0, 255] -> float32 [-1, 1], the post's scaling."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def prepare(x, y, *, batch_size, seed, augment=None):
    """An endless, shuffled stream of (scaled images, labels). augment(uint8 batch, seed) -> uint8 batch."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        ds = ds.enumerate().map(lambda k, xy: (augment(xy[0], tf.stack([base, k])), xy[1]),
                                num_parallel_calls=AUTOTUNE)
    ds = ds.map(lambda xb, yb: (scale(xb), yb), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def evaluation(x, y, *, batch_size):
    """A finite, unshuffled, unaugmented stream for validation and testing."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return ds.map(lambda xb, yb: (scale(xb), yb), num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
