"""Lesson 2's CIFAR-10 input pipeline.

GENERATED from ``notebooks/02_cifar10_augmentation_experiment.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import tensorflow as tf

from helpers import augment

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


def pad_crop_flip(images, seed, pad=4):
    """CIFAR's recipe on a batch (N, H, W, C): pad each side by `pad` pixels (mirrored), cut an H x W window at a
    random offset (a shift uniform in [-pad, pad], rounded), flip left-right with probability 1/2. Same shape and
    dtype. Image i draws 8 uniforms from sample_seeds(seed, N)[i], as lesson 1's random_affine does: u[1] and
    u[2] give the shift, u[6] the flip."""
    n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
    u = tf.map_fn(lambda s: tf.random.stateless_uniform([8], s), augment.sample_seeds(seed, n),
                  fn_output_signature=tf.float32)
    shift = lambda t, size: tf.cast(tf.round((-pad / size + 2 * pad / size * t) * size), tf.int32)
    dx, dy = shift(u[:, 1], w), shift(u[:, 2], h)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="SYMMETRIC")
    rows = pad + dy[:, None] + tf.range(h)                        # (N, H): each window's rows in the padded image
    cols = pad + dx[:, None] + tf.range(w)
    window = tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
    return tf.where((u[:, 6] < 0.5)[:, None, None, None], tf.reverse(window, [2]), window)
