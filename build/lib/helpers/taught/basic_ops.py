"""Lesson 1's augmentation ops: random-resized crop, HSV power contrast, Gaussian blur, the fused affine.

GENERATED from ``notebooks/01_augmentation_basics.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import math

import tensorflow as tf

from helpers import augment


def hsv_contrast(image, low=0.25, high=4.0, *, seed):
    """Raise saturation and value to powers drawn log-uniformly from [low, high], hue kept. RGB, uint8 or [0, 1]
    float, one image or a batch (each image its own exponents); same shape and dtype."""
    image = augment.check_image(image, channels=(3,))
    if not (0 < low <= high):
        raise ValueError(f"need 0 < low <= high, got low={low}, high={high}")

    def one(img, s):
        exponents = tf.exp(tf.random.stateless_uniform([2], s, math.log(low), math.log(high)))
        h, sat, val = tf.unstack(tf.image.rgb_to_hsv(augment.to_float(img)), axis=-1)
        out = tf.image.hsv_to_rgb(tf.stack([h, sat ** exponents[0], val ** exponents[1]], axis=-1))
        return augment.from_float(out, img.dtype)

    return augment.per_sample(one, image, seed)


def blur_float_batch(batch, sigma, radius):
    """Separable Gaussian blur of a float batch (N, H, W, C), edges mirrored; the kernel spans ±radius pixels."""
    small = [d for d in batch.shape[1:3] if d is not None and d < radius]
    if small:
        raise ValueError(f"blur radius {radius} px (3 sigma) is too large for an image of "
                         f"{batch.shape[1]}x{batch.shape[2]}")
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-(x**2) / (2.0 * tf.cast(sigma, tf.float32) ** 2))
    kernel = kernel / tf.reduce_sum(kernel)
    channels = tf.shape(batch)[-1]
    k_rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])   # a column filter, then a row one
    k_cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
    padded = tf.pad(batch, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    out = tf.nn.depthwise_conv2d(padded, k_rows, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(out, k_cols, [1, 1, 1, 1], "VALID")


def gaussian_blur(image, sigma):
    """Blur with a Gaussian of sigma pixels (0: unchanged); one image or a batch, same shape and dtype."""
    image = augment.check_image(image)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return image
    batch = augment.to_float(image if image.shape.rank == 4 else image[None])
    out = blur_float_batch(batch, sigma, int(math.ceil(3 * sigma)))
    return augment.from_float(out if image.shape.rank == 4 else out[0], image.dtype)


def random_gaussian_blur(image, sigma=(0.1, 2.0), *, seed):
    """Blur with a sigma drawn uniformly from sigma = (low, high) pixels, per image; same shape and dtype."""
    image = augment.check_image(image)
    low, high = sigma
    if not 0 < low <= high:
        raise ValueError(f"sigma must be (low, high) with 0 < low <= high, got {sigma!r}")
    radius = int(math.ceil(3 * high))

    def one(img, s):
        drawn = tf.random.stateless_uniform([], s, low, high)
        return augment.from_float(blur_float_batch(augment.to_float(img)[None], drawn, radius)[0], img.dtype)

    return augment.per_sample(one, image, seed)


def affine_matrix(height, width, *, rotation=0.0, shift=(0.0, 0.0), zoom=(1.0, 1.0), shear=0.0, flip=False,
                  vflip=False):
    """The 3x3 float32 matrix from OUTPUT pixel (x, y, 1) to the INPUT pixel it samples. rotation and shear in
    degrees; shift (dx, dy) in pixels; zoom (zx, zy) factors, > 1 shows more (zooms out, as ImageDataGenerator);
    flip mirrors left-right, vflip up-down. Composed as centre + R . Shear . Zoom . Flip . (p - centre) + shift.
    Scalars or tensors."""
    f = lambda v: tf.cast(v, tf.float32)
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


def apply_affine(image, matrices, *, fill_mode="nearest", interpolation="bilinear", fill_value=0.0):
    """Warp with output->input matrices (3, 3), or (N, 3, 3) for a batch: ONE resampling per image. fill_mode:
    reflect, wrap, constant or nearest. uint8 or [0, 1] float; same shape and dtype."""
    image = augment.check_image(image)
    if fill_mode not in augment.FILL_MODES:
        raise ValueError(f"fill_mode must be one of {augment.FILL_MODES}, got {fill_mode!r}")
    batch = augment.to_float(image if image.shape.rank == 4 else image[None])
    m = tf.reshape(tf.cast(matrices, tf.float32), [-1, 3, 3])
    m = m / m[:, 2:3, 2:3]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=batch, transforms=tf.reshape(m, [-1, 9])[:, :8], output_shape=tf.shape(batch)[1:3],
        fill_value=tf.cast(fill_value, tf.float32), interpolation=interpolation.upper(), fill_mode=fill_mode.upper())
    return augment.from_float(out if image.shape.rank == 4 else out[0], image.dtype)


def random_affine_matrices(seeds, height, width, *, rotation=0.0, shift=0.0, zoom=0.0, shear=0.0,
                           horizontal_flip=False, vertical_flip=False):
    """One random output->input matrix per seed: seeds (n, 2) -> (n, 3, 3) float32. Units of ImageDataGenerator:
    rotation and shear in degrees, shift a share of the size (one value or (x, y)), zoom z -> factors in
    [1 - z, 1 + z] drawn apart for x and y (or a (low, high) pair); each flip with probability 1/2."""
    augment.check_numbers(rotation=rotation, shift=shift, zoom=zoom, shear=shear)
    shift_x, shift_y = augment.as_pair(shift, "shift")
    zoom_lo, zoom_hi = (1 - zoom, 1 + zoom) if augment.is_scalar(zoom) else zoom
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)

    def draw(s):
        u = tf.random.stateless_uniform([8], s)
        lerp = lambda lo, hi, t: lo + (hi - lo) * t
        return affine_matrix(
            height, width, rotation=lerp(-rotation, rotation, u[0]),
            shift=(lerp(-shift_x, shift_x, u[1]) * w, lerp(-shift_y, shift_y, u[2]) * h),
            zoom=(lerp(zoom_lo, zoom_hi, u[3]), lerp(zoom_lo, zoom_hi, u[4])), shear=lerp(-shear, shear, u[5]),
            flip=horizontal_flip and u[6] < 0.5, vflip=vertical_flip and u[7] < 0.5)

    return tf.map_fn(draw, tf.cast(seeds, tf.int64), fn_output_signature=tf.TensorSpec([3, 3], tf.float32))


def image_seeds(image, seed):
    """The seeds (n, 2) of the images of `image`: augment.sample_seeds(seed, N) for a batch, seed itself for one."""
    return augment.sample_seeds(seed, tf.shape(image)[0]) if image.shape.rank == 4 else augment.as_seed(seed)[None]


def random_affine(image, *, seed, rotation=0.0, shift=0.0, zoom=0.0, shear=0.0, horizontal_flip=False,
                  fill_mode="nearest", interpolation="bilinear"):
    """ImageDataGenerator-style random geometry in ONE resampling per image (random_affine_matrices' units).
    uint8 or [0, 1] float, one image (H, W, C) or a batch (N, H, W, C); same shape and dtype."""
    image = augment.check_image(image)
    matrices = random_affine_matrices(image_seeds(image, seed), tf.shape(image)[-3], tf.shape(image)[-2],
                                      rotation=rotation, shift=shift, zoom=zoom, shear=shear,
                                      horizontal_flip=horizontal_flip)
    return apply_affine(image, matrices, fill_mode=fill_mode, interpolation=interpolation)


def random_resized_crop_box(height, width, area=(0.08, 1.0), ratio=(3 / 4, 4 / 3), *, seed, attempts=10):
    """The crop box (top, left, box_height, box_width), int32 [4], for a height x width image: up to `attempts`
    tries of an area uniform in `area` (shares of the image) and a ratio w/h log-uniform in `ratio`. The first box
    that fits wins, at a position uniform over every place it fits. If none fits: the whole image, centre-cropped
    to the nearest allowed ratio."""
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    u = tf.random.stateless_uniform([attempts, 4], augment.as_seed(seed))
    target_area = h * w * (area[0] + (area[1] - area[0]) * u[:, 0])
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = tf.exp(log_lo + (log_hi - log_lo) * u[:, 1])                 # log-uniform: 1/2 and 2 equally likely
    crop_w, crop_h = tf.round(tf.sqrt(target_area * aspect)), tf.round(tf.sqrt(target_area / aspect))
    fits = (crop_w >= 1) & (crop_h >= 1) & (crop_w <= w) & (crop_h <= h)
    first = tf.argmax(tf.cast(fits, tf.int32), output_type=tf.int32)
    image_ratio = w / h                                                   # the fallback: largest centred box
    fallback_w = tf.where(image_ratio > ratio[1], tf.round(h * ratio[1]), w)
    fallback_h = tf.where(image_ratio < ratio[0], tf.round(w / ratio[0]), h)
    found = tf.reduce_any(fits)
    box_h = tf.where(found, crop_h[first], fallback_h)
    box_w = tf.where(found, crop_w[first], fallback_w)
    top = tf.where(found, tf.floor(u[first, 2] * (h - box_h + 1)), tf.floor((h - box_h) / 2))  # +1: edges included
    left = tf.where(found, tf.floor(u[first, 3] * (w - box_w + 1)), tf.floor((w - box_w) / 2))
    return tf.cast(tf.stack([top, left, box_h, box_w]), tf.int32)


def random_resized_crop(image, size, area=(0.08, 1.0), ratio=(3 / 4, 4 / 3), *, seed, antialias=True):
    """Cut a random_resized_crop_box, then resize it to size = (height, width) or one int. uint8 or [0, 1]
    float, one image (H, W, C) or a batch (each image its own box); returns (..., size_h, size_w, C), same dtype."""
    image = augment.check_image(image)
    out_h, out_w = (int(s) for s in augment.as_pair(size, "size"))
    if out_h < 1 or out_w < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    if not (0 < area[0] <= area[1] <= 1):
        raise ValueError(f"area must satisfy 0 < low <= high <= 1, got {area!r}")
    if not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"ratio must satisfy 0 < low <= high, got {ratio!r}")

    def one(img, s):
        box = random_resized_crop_box(tf.shape(img)[0], tf.shape(img)[1], area, ratio, seed=s)
        crop = img[box[0]: box[0] + box[2], box[1]: box[1] + box[3]]
        resized = tf.image.resize(augment.to_float(crop), (out_h, out_w), antialias=antialias)
        return augment.from_float(resized, img.dtype)

    out_shape = tf.TensorShape([out_h, out_w, image.shape[-1]])
    return augment.per_sample(one, image, seed, tf.TensorSpec(out_shape, image.dtype))
