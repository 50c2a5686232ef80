"""Paired (image, mask) augmentation for segmentation: one random draw applied to an image and its mask, so the
two stay aligned pixel for pixel. A crop cut at one position (``paired_random_crop``), one affine matrix
(``paired_random_affine``) and one smooth displacement field (``elastic_field``, ``paired_elastic``); the image is
resampled bilinearly and the mask by nearest neighbour, so mask values are kept. Seeds, batches (one draw per
sample), dtypes and range checks follow ``helpers.augment``, whose building blocks these ops use.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from helpers import augment

# ---------------------------------------------------------------- crop


def _crop_offsets(height, width, size, seed) -> tuple[tf.Tensor, tf.Tensor]:
    """A uniform top-left corner so that a ``size`` window fits: 0..H-h inclusive."""
    h, w = size
    offsets = tf.random.stateless_uniform(
        [2], seed=seed, minval=0, maxval=tf.int64.max, dtype=tf.int64
    ) % tf.cast(tf.stack([height - h + 1, width - w + 1]), tf.int64)
    return offsets[0], offsets[1]


def paired_random_crop(image, mask, size, *, seed: augment.Seed) -> tuple[tf.Tensor, tf.Tensor]:
    """Crop an image and its mask at one random position; in a batch, one position per sample.

    image (H, W, C) or (N, H, W, C), any dtype; mask with the same N, H, W and any channels and
    dtype. ``size`` = (h, w) or one int. Pixels are cut, never resampled, so mask values are
    kept exactly. Raises ValueError if the window is larger than the image or the shapes differ.
    """
    image, mask = tf.convert_to_tensor(image), tf.convert_to_tensor(mask)
    if image.dtype.is_floating:  # cut, not resampled, so any range is fine; NaN and inf are not
        image = augment._check_range(image, -np.inf, np.inf)
    if image.shape.rank not in (3, 4) or mask.shape.rank != image.shape.rank:
        raise ValueError(f"image and mask must both be (H, W, C) or (N, H, W, C); got {image.shape} and {mask.shape}")
    if not image.shape[:-1].is_compatible_with(mask.shape[:-1]):
        raise ValueError(f"image and mask differ in size: {image.shape} vs {mask.shape}")
    h, w = (int(s) for s in augment._pair(size, "size"))
    img_h, img_w = image.shape[-3], image.shape[-2]
    if (img_h is not None and h > img_h) or (img_w is not None and w > img_w) or h < 1 or w < 1:
        raise ValueError(f"crop {h}x{w} does not fit in an image of {img_h}x{img_w}")
    tf.debugging.assert_equal(tf.shape(image)[:-1], tf.shape(mask)[:-1], message="image and mask differ in size")

    def one(img, msk, s):
        shape = tf.shape(img)
        tf.debugging.assert_less_equal([h, w], shape[:2], message=f"crop {h}x{w} larger than the image")
        top, left = _crop_offsets(shape[0], shape[1], (h, w), s)
        return img[top : top + h, left : left + w], msk[top : top + h, left : left + w]

    specs = (
        tf.TensorSpec([h, w, image.shape[-1]], image.dtype),
        tf.TensorSpec([h, w, mask.shape[-1]], mask.dtype),
    )
    return augment._per_sample(one, (image, mask), seed, specs)


# ---------------------------------------------------------------- geometry


def _check_pair(image, mask):
    image, mask = augment._check_image(image), augment._check_image(mask, channels=(1,))
    if image.shape.rank != mask.shape.rank or not image.shape[:-1].is_compatible_with(mask.shape[:-1]):
        raise ValueError(f"image and mask must have the same N, H, W; got {image.shape} and {mask.shape}")
    return image, mask


def paired_random_affine(image, mask, *, seed: augment.Seed, rotation: float = 0.0, shift=0.0, zoom=0.0,
                         shear: float = 0.0, horizontal_flip: bool = False, vertical_flip: bool = False,
                         fill_mode: str = "reflect"):
    """One random affine draw applied to an image (bilinear) and its mask (nearest: values kept).

    image (H, W, C) or (N, H, W, C); mask (.., 1), uint8 or float. Returns (image, mask), shapes
    and dtypes unchanged. Parameters as in ``augment.random_affine``; ``fill_mode`` applies to both.
    """
    image, mask = _check_pair(image, mask)
    m = augment._matrices_for(image, seed, rotation=rotation, shift=shift, zoom=zoom, shear=shear,
                              horizontal_flip=horizontal_flip, vertical_flip=vertical_flip)
    return (augment.apply_affine(image, m, fill_mode=fill_mode, interpolation="bilinear"),
            augment.apply_affine(mask, m, fill_mode=fill_mode, interpolation="nearest"))


def _sample(image: tf.Tensor, ys: tf.Tensor, xs: tf.Tensor, nearest: bool) -> tf.Tensor:
    """Sample a float image (H, W, C) at float coordinates (H, W); edges clamp (fill 'nearest')."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    clamp_y = lambda v: tf.clip_by_value(v, 0, h - 1)  # noqa: E731
    clamp_x = lambda v: tf.clip_by_value(v, 0, w - 1)  # noqa: E731
    if nearest:
        idx = tf.stack([clamp_y(tf.cast(tf.round(ys), tf.int32)), clamp_x(tf.cast(tf.round(xs), tf.int32))], -1)
        return tf.gather_nd(image, idx)
    y0, x0 = tf.floor(ys), tf.floor(xs)
    wy, wx = (ys - y0)[..., None], (xs - x0)[..., None]
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    corner = lambda dy, dx: tf.gather_nd(image, tf.stack([clamp_y(y0 + dy), clamp_x(x0 + dx)], -1))  # noqa: E731
    top = corner(0, 0) * (1 - wx) + corner(0, 1) * wx
    bottom = corner(1, 0) * (1 - wx) + corner(1, 1) * wx
    return top * (1 - wy) + bottom * wy


def elastic_field(seed: augment.Seed, height: int, width: int, *, alpha: float = 34.0,
                  sigma: float = 4.0) -> tf.Tensor:
    """A smooth random displacement field (H, W, 2) in pixels (dy, dx): uniform noise in [-1, 1],
    Gaussian-smoothed with ``sigma`` pixels, then scaled so that its largest component is ``alpha / 2``
    pixels. (Simard et al., 2003 multiply the smoothed field by alpha instead; normalising the peak makes
    ``alpha`` mean the same whatever ``sigma`` and the image size.)"""
    noise = tf.random.stateless_uniform([1, height, width, 2], augment.as_seed(seed), -1.0, 1.0)
    smooth = augment._blur_float(noise, sigma, int(math.ceil(3 * sigma)))[0]
    return smooth * (alpha / (tf.reduce_max(tf.abs(smooth)) + 1e-8)) * 0.5


def paired_elastic(image, mask, *, seed: augment.Seed, alpha: float = 34.0, sigma: float = 4.0):
    """Elastic deformation with ONE field shared by the image (bilinear) and its mask (nearest).

    The U-Net paper's key augmentation for this EM data. Keras 3.15's RandomElasticTransform
    moves the mask differently from the image; this one does not. Returns (image, mask), shapes
    and dtypes unchanged; in a batch each sample gets its own field.
    """
    image, mask = _check_pair(image, mask)

    def one(img, msk, s):
        h, w = tf.shape(img)[0], tf.shape(img)[1]
        field = elastic_field(s, h, w, alpha=alpha, sigma=sigma)
        grid_y, grid_x = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")
        ys, xs = grid_y + field[..., 0], grid_x + field[..., 1]
        warped = augment.from_float(_sample(augment.to_float(img), ys, xs, nearest=False), img.dtype)
        warped_mask = augment.from_float(_sample(augment.to_float(msk), ys, xs, nearest=True), msk.dtype)
        return warped, warped_mask

    return augment._per_sample(one, (image, mask), seed)
