"""Lesson 7's pipeline with blends and test-time augmentation.

GENERATED from ``notebooks/07_modern_augmentation_policies.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import math

import numpy as np
import tensorflow as tf

from helpers import policies
from helpers.taught.cifar_pipeline import AUTOTUNE, scale


def rand_augment(images, seed, *, num_ops=2, magnitude=9, names=policies.OPS):
    """RandAugment on uint8 or [0, 1] float images, (N, H, W, C) or one image; same shape and dtype. num_ops
    operations in a row, each drawn per image from names, all at magnitude (0-10 scale), in a random direction."""
    if not 0 <= magnitude <= 10:
        raise ValueError(f"RandAugment's magnitude is on a 0-10 scale, got {magnitude}")
    x, dtype, single = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    seeds = policies.split_seeds(seed, 2 * num_ops)          # per operation: which one, and its direction
    for k in range(num_ops):
        ops = tf.random.stateless_uniform([n], seeds[2 * k], 0, len(names), tf.int32)    # one index PER IMAGE
        signs = policies.random_signs(n, seeds[2 * k + 1])
        x = policies.apply_ops(x, ops, tf.fill([n], magnitude / 10.0), signs, names)
    return policies.restore(x, dtype, single)


def trivial_augment(images, seed, *, names=policies.OPS):
    """TrivialAugment-style: ONE operation per image, drawn from names, at a magnitude uniform in [0, 1] (0-10
    scale: [0, 10]), in a random direction. Nothing to tune. Same shape and dtype."""
    x, dtype, single = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    op_seed, m_seed, sign_seed = policies.split_seeds(seed, 3)
    ops = tf.random.stateless_uniform([n], op_seed, 0, len(names), tf.int32)
    magnitudes = tf.random.stateless_uniform([n], m_seed)
    x = policies.apply_ops(x, ops, magnitudes, policies.random_signs(n, sign_seed), names)
    return policies.restore(x, dtype, single)


def aug_mix(images, seed, *, width=3, max_depth=3, severity=3, alpha=1.0, names=policies.AUGMIX_OPS):
    """AugMix's augment-and-mix: width chains of 1..max_depth random operations (magnitudes uniform in
    [0.01, severity / 10]) mixed with Dirichlet(alpha) weights, then blended with the original with a
    Beta(alpha, alpha) weight. Every draw per image. Same shape and dtype."""
    x, dtype, single = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    seeds = policies.split_seeds(seed, 3 + width * (1 + 3 * max_depth))
    weights = tf.random.stateless_gamma([n, width], seeds[0], alpha=tf.constant(alpha, tf.float32))
    weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)     # Dirichlet(alpha), from Gamma draws
    blend = policies.random_beta([n], seeds[1], seeds[2], alpha)
    chain_seeds = iter(seeds[3:])
    mix = tf.zeros_like(x)
    for j in range(width):
        depth = tf.random.stateless_uniform([n], next(chain_seeds), 1, max_depth + 1, tf.int32)
        chain = x
        for step in range(max_depth):                                   # image i stops after depth[i] steps
            ops = tf.random.stateless_uniform([n], next(chain_seeds), 0, len(names), tf.int32)
            m = tf.random.stateless_uniform([n], next(chain_seeds), 0.01, severity / 10.0)
            stepped = policies.apply_ops(chain, ops, m, policies.random_signs(n, next(chain_seeds)), names)
            chain = tf.where((step < depth)[:, None, None, None], stepped, chain)
        mix += weights[:, j, None, None, None] * chain
    out = (1.0 - blend)[:, None, None, None] * x + blend[:, None, None, None] * mix
    return policies.restore(out, dtype, single)


def random_erasing(images, seed, *, probability=0.5, area=(0.02, 0.33), ratio=(0.3, 3.3)):
    """With probability, replace one rectangle per image by uniform noise: its area uniform in area (a share of
    the image), its aspect h/w log-uniform in ratio; one that does not fit is clipped (the paper redraws)."""
    policies.check_erasing(probability, area, ratio)
    x, dtype, single = policies.as_float_batch(images)
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    s_on, s_area, s_ratio, s_y, s_x, s_fill = policies.split_seeds(seed, 6)
    uniform = lambda s, low=0.0, high=1.0: tf.random.stateless_uniform([n], s, low, high)
    target = uniform(s_area, *area) * hf * wf
    aspect = tf.exp(uniform(s_ratio, math.log(ratio[0]), math.log(ratio[1])))
    eh = tf.clip_by_value(tf.round(tf.sqrt(target * aspect)), 1.0, hf)
    ew = tf.clip_by_value(tf.round(tf.sqrt(target / aspect)), 1.0, wf)
    y0, x0 = tf.floor(uniform(s_y) * (hf - eh + 1)), tf.floor(uniform(s_x) * (wf - ew + 1))
    inside = policies.box_mask(h, w, y0, y0 + eh, x0, x0 + ew) & (uniform(s_on) < probability)[:, None, None]
    noise = tf.random.stateless_uniform(tf.shape(x), s_fill)
    return policies.restore(tf.where(inside[..., None], noise, x), dtype, single)


def mix_up(images, labels, seed, *, alpha=0.2):
    """MixUp on a batch (N, H, W, C) with one-hot float labels (N, classes): image i becomes
    lam_i x_i + (1 - lam_i) x_j, j its random partner, and so does its label; lam_i ~ Beta(alpha, alpha).
    Returns (images in the input's dtype, float32 soft labels)."""
    images, labels = policies.check_blend_inputs(images, labels, "MixUp", alpha=alpha)
    x, dtype, _ = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    s_pair, s_a, s_b = policies.split_seeds(seed, 3)
    lam = policies.random_beta([n], s_a, s_b, alpha)
    partner = tf.argsort(tf.random.stateless_uniform([n], s_pair))       # a random permutation of the batch
    y = tf.cast(labels, tf.float32)
    x = lam[:, None, None, None] * x + (1 - lam)[:, None, None, None] * tf.gather(x, partner)
    y = lam[:, None] * y + (1 - lam[:, None]) * tf.gather(y, partner)
    return policies.restore(x, dtype, False), y


def cut_mix(images, labels, seed, *, alpha=1.0):
    """CutMix: paste a box of its partner into each image; mix the labels by the share of pixels each image
    keeps. Box area 1 - lam of the image, lam ~ Beta(alpha, alpha), centre uniform, clipped at the border (the
    label counts the clipped box). Returns (images in the input's dtype, float32 soft labels)."""
    images, labels = policies.check_blend_inputs(images, labels, "CutMix", alpha=alpha)
    x, dtype, _ = policies.as_float_batch(images)
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    s_pair, s_a, s_b, s_y, s_x = policies.split_seeds(seed, 5)
    side = tf.sqrt(1.0 - policies.random_beta([n], s_a, s_b, alpha))      # the box's side, a share of the image's
    cy, cx = tf.random.stateless_uniform([n], s_y) * hf, tf.random.stateless_uniform([n], s_x) * wf
    y0, y1 = tf.clip_by_value(tf.round(cy - side * hf / 2), 0, hf), tf.clip_by_value(tf.round(cy + side * hf / 2), 0, hf)
    x0, x1 = tf.clip_by_value(tf.round(cx - side * wf / 2), 0, wf), tf.clip_by_value(tf.round(cx + side * wf / 2), 0, wf)
    partner = tf.argsort(tf.random.stateless_uniform([n], s_pair))
    x = tf.where(policies.box_mask(h, w, y0, y1, x0, x1)[..., None], tf.gather(x, partner), x)
    kept = 1.0 - (y1 - y0) * (x1 - x0) / (hf * wf)                           # the share of its own pixels
    y = tf.cast(labels, tf.float32)
    y = kept[:, None] * y + (1 - kept[:, None]) * tf.gather(y, partner)
    return policies.restore(x, dtype, False), y


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
