"""Lesson 6's tf.data pipeline with one knob per argument, and the clock for fit's steps.

GENERATED from ``notebooks/06_fast_input_pipelines.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import time

import keras
import numpy as np
import tensorflow as tf

from helpers import recipes
from helpers.taught.feeding import decode


class StepClock(keras.callbacks.Callback):
    """Wall-clock times (s): when training starts, then when each batch ends inside fit."""

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def fit_seconds_per_step(model, data, steps, *, warmup_steps=1):
    """Mean wall seconds per batch of one fit epoch on data (a generator, a PyDataset or a tf.data.Dataset):
    the step plus whatever fit waited for its batch. The warm-up batches (tracing, thread start) are not timed."""
    clock = StepClock()
    model.fit(data, steps_per_epoch=warmup_steps + steps, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
    return (clock.times[-1] - clock.times[warmup_steps]) / steps


def held_in_memory(dataset, n):
    """The first n (x, y) batches of a tf.data.Dataset, made now and kept in memory."""
    xs, ys = zip(*dataset.take(n).as_numpy_iterator())
    return tf.data.Dataset.from_tensor_slices((np.stack(xs), np.stack(ys)))


def knob_pipeline(paths, labels, *, size, batch_size, seed=0, parallel=True, prefetch=True, cache=None,
                  deterministic=True, automatic=False):
    """Endless (uint8 images, labels) batches read from files, one tf.data knob per argument."""
    calls = dict(num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic) if parallel else {}
    base = tf.constant(seed, tf.int64)
    augmented = lambda k, xy: (recipes.FLOWERS.fused(xy[0], tf.stack([base, k])), xy[1])  # noqa: E731

    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], np.asarray(labels)))
    ds = ds.map(lambda path, label: (decode(path, (size, size)), label), **calls)
    if cache == "decoded":         # right: decoding is the same every epoch, augmentation is not
        ds = ds.cache()
    if cache == "augmented":       # wrong: freezes the first epoch's random draws
        ds = ds.enumerate().map(augmented, **calls).cache().shuffle(len(paths), seed=seed).repeat()
    else:
        ds = ds.shuffle(len(paths), seed=seed).repeat().enumerate().map(augmented, **calls)
    ds = ds.batch(batch_size)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    if not automatic:
        options = tf.data.Options()
        options.experimental_optimization.map_parallelization = False
        options.experimental_optimization.inject_prefetch = False
        ds = ds.with_options(options)
    return ds
