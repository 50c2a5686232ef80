"""Lesson 7's pipeline with blends and test-time augmentation.

GENERATED from ``notebooks/07_modern_augmentation_policies.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import numpy as np
import tensorflow as tf

from helpers import policies
from helpers.taught.cifar_pipeline import AUTOTUNE, scale


def prepare(x, y, *, batch_size, seed, augment=None, with_labels=False, preprocess=scale):
    # An endless, shuffled stream of (preprocessed images, labels). Batch k is augmented with the seed (seed, k).
    # preprocess makes the model's input: lesson 2's scaling unless told otherwise.
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        if with_labels:   # a blend: it mixes images AND labels, so it runs after batch, on both
            step = lambda k, xy: augment(xy[0], xy[1], tf.stack([base, k]))
        else:
            step = lambda k, xy: (augment(xy[0], tf.stack([base, k])), xy[1])
        ds = ds.enumerate().map(step, num_parallel_calls=AUTOTUNE)
    ds = ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def predict_tta(model, images, views="flip"):
    # Class probabilities averaged over the views of policies.tta_views (uint8 images in).
    probs = [model.predict(tf.data.Dataset.from_tensor_slices(view).batch(500).map(scale), verbose=0)
             for view in policies.tta_views(images, views)]
    return np.mean(probs, axis=0)
