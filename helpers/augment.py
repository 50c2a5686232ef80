"""Seeded image augmentation ops that TensorFlow and Keras do not ship ready-made (the paired image/mask ops,
built on these, are in ``helpers.paired``).

Every op:
- takes one image (H, W, C) or a batch (N, H, W, C), eagerly or inside ``tf.data.Dataset.map``;
- takes ``seed`` as an int or a stateless seed pair (shape [2]) and returns the same output for the
  same seed; in a batch, every sample gets its own draw (sample i uses ``sample_seeds(seed, N)[i]``);
- keeps dtype and range: uint8 in [0, 255] -> uint8; float in [0, 1] -> same float dtype in [0, 1];
- refuses float input outside [0, 1], NaN or inf (a forgotten ``/ 255`` would otherwise come back as
  a white sheet): ValueError when called eagerly, InvalidArgumentError with the same message inside
  ``tf.data`` or ``tf.function``, where values are only known when the graph runs;
- raises ValueError for a bad rank, a bad channel count or a float seed.

The rest (flips, brightness, contrast, hue, saturation, erasing) is in ``tf.image.stateless_*`` and
``keras.layers``; lesson 1 shows them side by side. Blur is here because Keras 3.15's
``RandomGaussianBlur`` accepts sigma only up to 1 pixel.
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


def _check_image(image: tf.Tensor, channels: Sequence[int] = (1, 3, 4)) -> tf.Tensor:
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


def _per_sample(fn: Callable, inputs, seed: Seed, out_spec=None):
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


def _is_scalar(value) -> bool:
    """A Python or NumPy number (np.int64(3), np.float32(0.1), a 0-d array)."""
    return isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0)


def _pair(value, name: str) -> tuple:
    pair = (value, value) if _is_scalar(value) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a number or a pair, got {value!r}")
    return pair


# ---------------------------------------------------------------- crops


def random_resized_crop_box(height, width, area=(0.08, 1.0), ratio=(3 / 4, 4 / 3), *, seed: Seed,
                            attempts: int = 10) -> tf.Tensor:
    """The crop box (top, left, crop_height, crop_width), int32 [4], that ``random_resized_crop``
    cuts from a ``height`` x ``width`` image: Inception's sampling, as torchvision does it.

    Up to ``attempts`` tries: an area uniform in ``area`` (fractions of the image area) and an
    aspect ratio w/h log-uniform in ``ratio`` (so 1/2 and 2 are equally likely); the first box that
    fits wins, at a position uniform over ALL positions where it fits (right and bottom edges
    included). If none fits, the whole image, centre-cropped to the nearest allowed ratio.
    Written out because ``tf.image.sample_distorted_bounding_box`` draws the ratio linearly
    (68% landscape on a square image) and never reaches the right and bottom edges.
    """
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    u = tf.random.stateless_uniform([attempts, 4], as_seed(seed))
    target_area = h * w * (area[0] + (area[1] - area[0]) * u[:, 0])
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = tf.exp(log_lo + (log_hi - log_lo) * u[:, 1])
    crop_w, crop_h = tf.round(tf.sqrt(target_area * aspect)), tf.round(tf.sqrt(target_area / aspect))
    fits = (crop_w >= 1) & (crop_h >= 1) & (crop_w <= w) & (crop_h <= h)
    first = tf.argmax(tf.cast(fits, tf.int32), output_type=tf.int32)
    # Fallback: the largest centred box whose ratio lies in the allowed range.
    image_ratio = w / h
    fallback_w = tf.where(image_ratio > ratio[1], tf.round(h * ratio[1]), w)
    fallback_h = tf.where(image_ratio < ratio[0], tf.round(w / ratio[0]), h)
    found = tf.reduce_any(fits)
    box_h = tf.where(found, crop_h[first], fallback_h)
    box_w = tf.where(found, crop_w[first], fallback_w)
    top = tf.where(found, tf.floor(u[first, 2] * (h - box_h + 1)), tf.floor((h - box_h) / 2))
    left = tf.where(found, tf.floor(u[first, 3] * (w - box_w + 1)), tf.floor((w - box_w) / 2))
    return tf.cast(tf.stack([top, left, box_h, box_w]), tf.int32)


def random_resized_crop(
    image, size, area=(0.08, 1.0), ratio=(3 / 4, 4 / 3), *, seed: Seed, antialias: bool = True
) -> tf.Tensor:
    """Crop a random box covering ``area`` (fractions of the image area) with width/height
    ``ratio``, then resize it to ``size`` = (height, width) or one int. The box is drawn by
    ``random_resized_crop_box`` (Inception's and torchvision's sampling; defaults are theirs).

    This is what the hotdog post described but ``tf.image.random_crop`` does not do: that
    cuts a fixed-size window and never rescales. Output (size_h, size_w, C) or batched.
    """
    image = _check_image(image)
    out_h, out_w = (int(s) for s in _pair(size, "size"))
    if out_h < 1 or out_w < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    if not (0 < area[0] <= area[1] <= 1):
        raise ValueError(f"area must satisfy 0 < low <= high <= 1, got {area!r}")
    if not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"ratio must satisfy 0 < low <= high, got {ratio!r}")

    def one(img, s):
        box = random_resized_crop_box(tf.shape(img)[0], tf.shape(img)[1], area, ratio, seed=s)
        crop = img[box[0]: box[0] + box[2], box[1]: box[1] + box[3]]
        resized = tf.image.resize(to_float(crop), (out_h, out_w), antialias=antialias)
        return from_float(resized, img.dtype)

    out_shape = tf.TensorShape([out_h, out_w, image.shape[-1]])
    return _per_sample(one, image, seed, tf.TensorSpec(out_shape, image.dtype))


# ---------------------------------------------------------------- colour and noise


def hsv_contrast(image, low: float = 0.25, high: float = 4.0, *, seed: Seed) -> tf.Tensor:
    """Raise saturation and value of every pixel to powers drawn from [low, high], hue kept.

    RGB only (3 channels). The two exponents are drawn independently and log-uniformly, so
    x^0.5 and x^2 are equally likely: a uniform draw from [0.25, 4] would darken 4 times as
    often as it brightens.
    """
    image = _check_image(image, channels=(3,))
    if not (0 < low <= high):
        raise ValueError(f"need 0 < low <= high, got low={low}, high={high}")

    def one(img, s):
        exponents = tf.exp(tf.random.stateless_uniform([2], s, math.log(low), math.log(high)))
        hsv = tf.image.rgb_to_hsv(to_float(img))
        h, sat, val = tf.unstack(hsv, axis=-1)
        out = tf.image.hsv_to_rgb(tf.stack([h, sat ** exponents[0], val ** exponents[1]], axis=-1))
        return from_float(out, img.dtype)

    return _per_sample(one, image, seed)


def gaussian_noise(image, stddev: float, *, seed: Seed) -> tf.Tensor:
    """Add N(0, stddev^2) noise; ``stddev`` is a fraction of the full range (0.1 = 25.5 grey levels on uint8)."""
    image = _check_image(image)
    if stddev < 0:
        raise ValueError(f"stddev must be >= 0, got {stddev}")
    def one(img, s):
        noise = tf.random.stateless_normal(tf.shape(img), seed=s, stddev=stddev)
        return from_float(to_float(img) + noise, img.dtype)

    return _per_sample(one, image, seed)


def salt_and_pepper(image, amount: float, *, seed: Seed) -> tf.Tensor:
    """Set a fraction ``amount`` of pixels (all channels together) to black or white, half each."""
    image = _check_image(image)
    if not 0 <= amount <= 1:
        raise ValueError(f"amount must be in [0, 1], got {amount}")
    def one(img, s):
        u = tf.random.stateless_uniform(tf.concat([tf.shape(img)[:-1], [1]], 0), seed=s)
        x = tf.where(u < amount / 2, 0.0, to_float(img))
        x = tf.where((u >= amount / 2) & (u < amount), 1.0, x)
        return from_float(x, img.dtype)

    return _per_sample(one, image, seed)


def _blur_float(batch: tf.Tensor, sigma, radius: int) -> tf.Tensor:
    """Separable Gaussian blur of a float batch (N, H, W, C); edges mirrored."""
    small = [d for d in batch.shape[1:3] if d is not None and d < radius]
    if small:
        raise ValueError(f"blur radius {radius} px (3 sigma) is too large for an image of "
                         f"{batch.shape[1]}x{batch.shape[2]}")
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-(x**2) / (2.0 * tf.cast(sigma, tf.float32) ** 2))
    kernel = kernel / tf.reduce_sum(kernel)
    channels = tf.shape(batch)[-1]
    k_rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])
    k_cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
    padded = tf.pad(batch, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    out = tf.nn.depthwise_conv2d(padded, k_rows, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(out, k_cols, [1, 1, 1, 1], "VALID")


def gaussian_blur(image, sigma: float) -> tf.Tensor:
    """Blur with a Gaussian of ``sigma`` pixels (0 = unchanged): one level of a scale space."""
    image = _check_image(image)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return image
    batch = to_float(image if image.shape.rank == 4 else image[None])
    out = _blur_float(batch, sigma, int(math.ceil(3 * sigma)))
    return from_float(out if image.shape.rank == 4 else out[0], image.dtype)


def random_gaussian_blur(image, sigma=(0.1, 2.0), *, seed: Seed) -> tf.Tensor:
    """Blur with a sigma drawn uniformly from ``sigma`` = (low, high) pixels, per sample."""
    image = _check_image(image)
    low, high = sigma
    if not 0 < low <= high:
        raise ValueError(f"sigma must be (low, high) with 0 < low <= high, got {sigma!r}")
    radius = int(math.ceil(3 * high))

    def one(img, s):
        drawn = tf.random.stateless_uniform([], s, low, high)
        return from_float(_blur_float(to_float(img)[None], drawn, radius)[0], img.dtype)

    return _per_sample(one, image, seed)


# ---------------------------------------------------------------- one fused affine transform


def affine_matrix(height, width, *, rotation=0.0, shift=(0.0, 0.0), zoom=(1.0, 1.0), shear=0.0, flip=False,
                  vflip=False):
    """The 3x3 matrix mapping OUTPUT pixel (x, y, 1) to the INPUT pixel it is sampled from.

    rotation and shear in degrees; shift (dx, dy) in pixels; zoom (zx, zy) factors, >1 shows a
    larger area (zooms out, as in ImageDataGenerator); flip mirrors left-right, vflip up-down. The
    parts are composed about the image centre as  centre . R . Shear . Zoom . Flip . (p - centre) + shift.
    Arguments may be scalars or tensors (float32).
    """
    f = lambda v: tf.cast(v, tf.float32)  # noqa: E731
    theta, phi = f(rotation) * (math.pi / 180), f(shear) * (math.pi / 180)
    cx, cy = (f(width) - 1) / 2, (f(height) - 1) / 2
    zx, zy = f(zoom[0]), f(zoom[1])
    sx = tf.where(tf.cast(flip, tf.bool), -1.0, 1.0)
    sy = tf.where(tf.cast(vflip, tf.bool), -1.0, 1.0)
    one, zero = tf.ones_like(theta), tf.zeros_like(theta)
    rot = tf.stack([[tf.cos(theta), -tf.sin(theta)], [tf.sin(theta), tf.cos(theta)]])
    shr = tf.stack([[one, -tf.sin(phi)], [zero, tf.cos(phi)]])
    lin = rot @ shr @ tf.stack([[zx * sx, zero], [zero, zy * sy]])
    centre = tf.stack([cx, cy])
    offset = centre - tf.linalg.matvec(lin, centre) + tf.stack([f(shift[0]), f(shift[1])])
    top = tf.concat([lin, offset[:, None]], axis=1)
    return tf.concat([top, [[0.0, 0.0, 1.0]]], axis=0)


def apply_affine(image, matrices, *, fill_mode: str = "nearest", interpolation: str = "bilinear", fill_value=0.0):
    """Warp with output->input matrices (3x3, or N x 3 x 3 for a batch): ONE resampling per image."""
    image = _check_image(image)
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    batch = to_float(image if image.shape.rank == 4 else image[None])
    m = tf.reshape(tf.cast(matrices, tf.float32), [-1, 3, 3])
    m = m / m[:, 2:3, 2:3]
    transforms = tf.reshape(m, [-1, 9])[:, :8]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=batch,
        transforms=transforms,
        output_shape=tf.shape(batch)[1:3],
        fill_value=tf.cast(fill_value, tf.float32),
        interpolation=interpolation.upper(),
        fill_mode=fill_mode.upper(),
    )
    out = out if image.shape.rank == 4 else out[0]
    return from_float(out, image.dtype)


def random_affine_matrices(
    seeds, height, width, *, rotation: float = 0.0, shift=0.0, zoom=0.0, shear: float = 0.0,
    horizontal_flip: bool = False, vertical_flip: bool = False,
) -> tf.Tensor:
    """One random output->input matrix per seed: seeds (n, 2) -> (n, 3, 3) float32.

    Units as in ImageDataGenerator: rotation and shear in degrees, shift as a fraction of the size,
    zoom z -> factors in [1-z, 1+z] drawn separately for x and y (or a (low, high) pair); each flip
    happens with probability 1/2.
    """
    shift_x, shift_y = _pair(shift, "shift")
    zoom_lo, zoom_hi = (1 - zoom, 1 + zoom) if _is_scalar(zoom) else zoom
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)

    def draw(s):
        u = tf.random.stateless_uniform([8], s)
        lerp = lambda lo, hi, t: lo + (hi - lo) * t  # noqa: E731
        return affine_matrix(
            height, width,
            rotation=lerp(-rotation, rotation, u[0]),
            shift=(lerp(-shift_x, shift_x, u[1]) * w, lerp(-shift_y, shift_y, u[2]) * h),
            zoom=(lerp(zoom_lo, zoom_hi, u[3]), lerp(zoom_lo, zoom_hi, u[4])),
            shear=lerp(-shear, shear, u[5]),
            flip=horizontal_flip and u[6] < 0.5,
            vflip=vertical_flip and u[7] < 0.5,
        )

    return tf.map_fn(draw, tf.cast(seeds, tf.int64), fn_output_signature=tf.TensorSpec([3, 3], tf.float32))


def random_affine(
    image,
    *,
    seed: Seed,
    rotation: float = 0.0,
    shift: float | tuple[float, float] = 0.0,
    zoom: float | tuple[float, float] = 0.0,
    shear: float = 0.0,
    horizontal_flip: bool = False,
    fill_mode: str = "nearest",
    interpolation: str = "bilinear",
) -> tf.Tensor:
    """ImageDataGenerator-style random geometry in ONE resampling per image.

    Parameters use the legacy units: ``rotation`` degrees (uniform in [-r, r]); ``shift`` fraction
    of width/height (one value or (x, y)); ``zoom`` z -> factors in [1-z, 1+z], drawn separately
    for x and y like ``zoom_range``; ``shear`` degrees. Chaining RandomRotation ->
    RandomTranslation -> RandomZoom resamples three times and blurs small images; this composes
    the matrices first.
    """
    image = _check_image(image)
    matrices = _matrices_for(image, seed, rotation=rotation, shift=shift, zoom=zoom, shear=shear,
                             horizontal_flip=horizontal_flip)
    return apply_affine(image, matrices, fill_mode=fill_mode, interpolation=interpolation)


def _matrices_for(image: tf.Tensor, seed: Seed, **params) -> tf.Tensor:
    """Random matrices (n, 3, 3) for ``image``: one per sample of a batch, drawn with
    ``sample_seeds(seed, N)``; a single image (n = 1) uses ``seed`` itself."""
    seeds = sample_seeds(seed, tf.shape(image)[0]) if image.shape.rank == 4 else as_seed(seed)[None]
    return random_affine_matrices(seeds, tf.shape(image)[-3], tf.shape(image)[-2], **params)
