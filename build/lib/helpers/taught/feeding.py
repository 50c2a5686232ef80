"""Lesson 3's ways to feed fit: generator, PyDataset, tf.data from files.

GENERATED from ``notebooks/03_flowers_fit_generator.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import math

import keras
import numpy as np
import tensorflow as tf


def batches(x, y, batch_size, *, seed=0, augment=None):
    """Endless (x, y) batches: every pass visits each sample once, in a new order; augments a copy."""
    rng = np.random.default_rng(seed)
    step = 0
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            x_batch = x[idx]                                      # a copy: x itself is never written
            if augment is not None:
                x_batch = augment(x_batch, (seed, step))
            yield x_batch, y[idx]
            step += 1


class FlowerBatches(keras.utils.PyDataset):
    """Augmented batches of in-memory images; a new order every epoch."""

    def __init__(self, x, y, batch_size, *, seed=0, augment=None, **kwargs):
        super().__init__(**kwargs)                         # workers, use_multiprocessing, max_queue_size
        self.x, self.y, self.batch_size, self.seed, self.augment = x, y, batch_size, seed, augment
        self.epoch = 0
        self.order = np.random.default_rng((seed, 0)).permutation(len(x))

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i):
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        x_batch = self.x[idx]
        if self.augment is not None:
            x_batch = self.augment(x_batch, (self.seed, self.epoch * len(self) + i))
        return x_batch, self.y[idx]

    def on_epoch_end(self):
        self.epoch += 1
        self.order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.x))


AUTOTUNE = tf.data.AUTOTUNE


def decode(path, size):
    """Read one image file, decode it to RGB and resize it: uint8 (H, W, 3)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(image, size, antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0, 255)), tf.uint8)


def file_stream(paths, labels, *, size, batch_size, seed=0, augment=None):
    """An endless stream of augmented batches read from image files."""
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda path, label: (decode(path, size), label), num_parallel_calls=AUTOTUNE)
    ds = ds.batch(batch_size).repeat()
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        ds = ds.enumerate().map(lambda k, xy: (augment(xy[0], tf.stack([base, k])), xy[1]),
                                num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)
