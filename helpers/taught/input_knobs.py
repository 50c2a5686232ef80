"""Lesson 6's tf.data pipeline with one knob per argument, and the clock for fit's steps.

GENERATED from ``notebooks/06_fast_input_pipelines.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import random
import threading
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


def albumentations_numpy(make_compose, *, paired=False):
    """A NumPy function (images, targets, seed) -> (images, targets) for tf.numpy_function: make_compose(0)'s
    transforms, reseeded from seed (an int64 pair), applied to each image in turn; with paired, each mask
    (H, W, 1) goes through its image's call. uint8 in, uint8 out; targets that are labels pass through."""
    local = threading.local()  # a Compose holds random state: each tf.data thread keeps its own

    def run(images, targets, seed):
        if not hasattr(local, "compose"):
            local.compose = make_compose(0)
        compose, key = local.compose, int(np.random.SeedSequence(seed.tolist()).generate_state(1)[0])
        # one generator pair for every step: set_random_seed would seed each step alike, and two flips would agree
        compose.set_random_state(np.random.default_rng(key), random.Random(key))
        outs = [compose(image=x, mask=y) if paired else compose(image=x) for x, y in zip(images, targets)]
        ys = [out["mask"] for out in outs] if paired else targets
        return np.stack([out["image"] for out in outs]), np.stack(ys)

    return run


def albumentations_dataset(images, targets, make_compose, *, batch_size, seed, preprocess, paired=False,
                           per_batch=False, crop=None):
    """Endless model-ready (x, y) batches with albumentations called from a parallel tf.data map: one call per
    image, or per batch. images uint8 (N, H, W, C); targets int labels (N,) or uint8 masks (N, H, W, 1), which
    come out float32 {0, 1}; crop: the side the Compose crops to, if it does."""
    run = albumentations_numpy(make_compose, paired=paired)
    side = images.shape[1:3] if crop is None else (crop, crop)
    x_shape, y_shape = (None, *side, images.shape[-1]), (None, *side, 1) if paired else (None,)

    def augment(k, x, y):  # k: the call's place in the stream
        key = tf.stack([tf.constant(seed, tf.int64), k])
        xa, ya = tf.numpy_function(run, [x, y, key], [x.dtype, y.dtype], stateful=False)
        return tf.ensure_shape(xa, x_shape), tf.ensure_shape(ya, y_shape)

    calls = dict(num_parallel_calls=tf.data.AUTOTUNE)
    ds = tf.data.Dataset.from_tensor_slices((images, targets)).shuffle(len(images), seed=seed).repeat()
    if per_batch:
        ds = ds.batch(batch_size, drop_remainder=True).enumerate().map(lambda k, xy: augment(k, *xy), **calls)
    else:
        one = lambda i, xy: [t[0] for t in augment(i, xy[0][None], xy[1][None])]  # noqa: E731
        ds = ds.enumerate().map(one, **calls).batch(batch_size, drop_remainder=True)
    ready = lambda x, y: (preprocess(x), tf.cast(y, tf.float32) if paired else y)  # noqa: E731
    return ds.map(ready, **calls).prefetch(tf.data.AUTOTUNE)


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
