"""The seeded-op toolkit under the course's augmentation ops, and two noise ops.

Lesson 1 writes the course's own ops (random-resized crop, HSV power contrast, Gaussian blur, the fused affine)
and exports them to ``helpers.taught.basic_ops``; the paired image/mask ops are in ``helpers.paired``. They all
follow the rules this module checks:
- one image (H, W, C) or a batch (N, H, W, C), eagerly or inside ``tf.data.Dataset.map`` (``per_sample``);
- ``seed`` an int or a stateless seed pair (shape [2]): the same seed gives the same output; in a batch, sample
  i uses ``sample_seeds(seed, N)[i]``;
- dtype and range kept: uint8 in [0, 255] -> uint8; float in [0, 1] -> same float dtype in [0, 1];
- float input outside [0, 1], NaN or inf refused (a forgotten ``/ 255`` would otherwise come back as a white
  sheet): ValueError when called eagerly, InvalidArgumentError with the same message inside ``tf.data`` or
  ``tf.function``, where values are only known when the graph runs (``check_image``);
- ValueError for a bad rank, a bad channel count or a float seed.

The rest (flips, brightness, contrast, hue, saturation, erasing) is in ``tf.image.stateless_*`` and
``keras.layers``; lesson 1 shows them side by side.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

Seed = int | Sequence[int] | tf.Tensor

FILL_MODES = ("reflect", "wrap", "constant", "nearest")


# ---------------------------------------------------------------- seeds, shapes, dtypes


def as_seed(seed: Seed) -> tf.Tensor:
    """An int (Python, NumPy or a scalar integer tensor) or a pair of ints -> an int64 stateless
    seed of shape [2]. Float seeds are refused: truncating 0.7 and 0.2 to 0 would give two "different"
    seeds the same draws."""
    if isinstance(seed, bool):
        raise ValueError("seed must be an int or a pair of ints, got a bool")
    if isinstance(seed, numbers.Integral):
        return tf.constant([int(seed), 0], tf.int64)
    tensor = tf.convert_to_tensor(seed)
    if not tensor.dtype.is_integer:
        raise ValueError(f"seed must be an int or a pair of ints, got {tensor.dtype.name} values "
                         "(a float seed would be truncated silently)")
    tensor = tf.cast(tensor, tf.int64)
    if tensor.shape.rank == 0:
        return tf.stack([tensor, tf.constant(0, tf.int64)])
    if tensor.shape.rank != 1 or (tensor.shape[0] is not None and tensor.shape[0] != 2):
        raise ValueError(f"seed must be an int or a pair of ints, got shape {tensor.shape}")
    return tensor


def sample_seeds(seed: Seed, n) -> tf.Tensor:
    """``n`` independent stateless seeds (n, 2) derived from ``seed``; ``n`` may be a tensor."""
    return tf.random.stateless_uniform([n, 2], seed=as_seed(seed), minval=None, maxval=None, dtype=tf.int64)


def check_image(image: tf.Tensor, channels: Sequence[int] = (1, 3, 4)) -> tf.Tensor:
    image = tf.convert_to_tensor(image)
    if image.shape.rank not in (3, 4):
        raise ValueError(f"expected an image (H, W, C) or a batch (N, H, W, C), got shape {image.shape}")
    c = image.shape[-1]
    if c is not None and c not in channels:
        raise ValueError(f"expected {' or '.join(map(str, channels))} channels, got {c} (shape {image.shape})")
    if not (image.dtype == tf.uint8 or image.dtype.is_floating):
        raise ValueError(f"expected uint8 in [0, 255] or float in [0, 1], got dtype {image.dtype.name}")
    return _check_range(image) if image.dtype.is_floating else image


RANGE_TOLERANCE = 0.01  # float arithmetic may step a hair past 0 or 1; a forgotten /255 is far beyond


def _check_range(image: tf.Tensor, low: float = 0.0, high: float = 1.0) -> tf.Tensor:
    """``image`` unchanged if every value is finite and in [low, high] (within RANGE_TOLERANCE)."""
    ok = tf.reduce_all(tf.math.is_finite(image) & (image >= low - RANGE_TOLERANCE)
                       & (image <= high + RANGE_TOLERANCE))
    message = ("float images must be finite" if math.isinf(low) else
               f"float images must be finite and in [{low:g}, {high:g}]; if yours are in [0, 255], did you "
               "forget /255? (uint8 images are taken as they are.)") + " Found values from"
    if tf.executing_eagerly():
        if not bool(ok):
            finite = tf.boolean_mask(image, tf.math.is_finite(image))
            found = (f"{float(tf.reduce_min(finite)):g} to {float(tf.reduce_max(finite)):g}"
                     if tf.size(finite) else "nothing finite")
            bad = int(tf.size(image)) - int(tf.size(finite))
            raise ValueError(f"{message} {found}" + (f", and {bad} NaN or inf" if bad else ""))
        return image
    check = tf.debugging.Assert(ok, [message, tf.reduce_min(image), "to", tf.reduce_max(image)])
    with tf.control_dependencies([check]):
        return tf.identity(image)


def to_float(image: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] or float [0, 1] -> float32 [0, 1]."""
    if image.dtype == tf.uint8:
        return tf.cast(image, tf.float32) / 255.0
    return tf.cast(image, tf.float32)


def from_float(image: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """float32 [0, 1] -> ``dtype`` in its range (uint8 is rounded and saturated)."""
    image = tf.clip_by_value(image, 0.0, 1.0)
    if dtype == tf.uint8:
        return tf.cast(tf.round(image * 255.0), tf.uint8)
    return tf.cast(image, dtype)


def per_sample(fn: Callable, inputs, seed: Seed, out_spec=None):
    """Apply ``fn(*inputs, seed)`` to one sample, or to each sample of a batch with its own seed.

    ``inputs``: a tensor, or a tuple of tensors sharing the batch axis (an image and its mask).
    """
    single = not isinstance(inputs, tuple)
    inputs = (inputs,) if single else inputs
    seed = as_seed(seed)
    if inputs[0].shape.rank == 3:
        return fn(*inputs, seed)
    seeds = sample_seeds(seed, tf.shape(inputs[0])[0])
    specs = tuple(tf.TensorSpec(t.shape[1:], t.dtype) for t in inputs)
    spec = out_spec or (specs[0] if single else specs)
    return tf.map_fn(lambda args: fn(*args), (*inputs, seeds), fn_output_signature=spec)


def check_numbers(**values) -> None:
    """ValueError unless every value (a number or a sequence of numbers) is finite: a NaN rotation or an infinite
    shift would otherwise come out as a black or unchanged image, with no error."""
    for name, value in values.items():
        numbers_ = [value] if is_scalar(value) else list(value)
        if not all(is_scalar(v) and math.isfinite(v) for v in numbers_):
            raise ValueError(f"{name} must be a finite number (or a pair of them), got {value!r}")


def is_scalar(value) -> bool:
    """A Python or NumPy number (np.int64(3), np.float32(0.1), a 0-d array)."""
    return isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0)


def as_pair(value, name: str) -> tuple:
    pair = (value, value) if is_scalar(value) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a number or a pair, got {value!r}")
    return pair


# ---------------------------------------------------------------- colour and noise


def gaussian_noise(image, stddev: float, *, seed: Seed) -> tf.Tensor:
    """Add N(0, stddev^2) noise; ``stddev`` is a fraction of the full range (0.1 = 25.5 grey levels on uint8)."""
    image = check_image(image)
    if not (math.isfinite(stddev) and stddev >= 0):
        raise ValueError(f"stddev must be a finite number >= 0, got {stddev}")
    def one(img, s):
        noise = tf.random.stateless_normal(tf.shape(img), seed=s, stddev=stddev)
        return from_float(to_float(img) + noise, img.dtype)

    return per_sample(one, image, seed)


def salt_and_pepper(image, amount: float, *, seed: Seed) -> tf.Tensor:
    """Set a fraction ``amount`` of pixels (all channels together) to black or white, half each."""
    image = check_image(image)
    if not 0 <= amount <= 1:
        raise ValueError(f"amount must be in [0, 1], got {amount}")
    def one(img, s):
        u = tf.random.stateless_uniform(tf.concat([tf.shape(img)[:-1], [1]], 0), seed=s)
        x = tf.where(u < amount / 2, 0.0, to_float(img))
        x = tf.where((u >= amount / 2) & (u < amount), 1.0, x)
        return from_float(x, img.dtype)

    return per_sample(one, image, seed)
