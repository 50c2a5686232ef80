"""Paired (image, mask) cropping for segmentation: ``paired_random_crop`` cuts an image and its mask at one random
position (one per pair of a batch), so the two stay aligned pixel for pixel and mask values are kept. The paired
affine and elastic transforms are lesson 5's subject, written there and exported to ``helpers.taught.segmentation``;
they use ``check_pair``. Seeds, batches and range checks follow ``helpers.augment``.
"""

from __future__ import annotations

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
    h, w = (int(s) for s in augment.as_pair(size, "size"))
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
    return augment.per_sample(one, (image, mask), seed, specs)


# ---------------------------------------------------------------- the pair check lesson 5's transforms use


def check_pair(image, mask):
    """(image, mask) checked as ``helpers.augment`` checks an image (the mask with one channel), or ValueError
    when their N, H, W differ."""
    image, mask = augment.check_image(image), augment.check_image(mask, channels=(1,))
    if image.shape.rank != mask.shape.rank or not image.shape[:-1].is_compatible_with(mask.shape[:-1]):
        raise ValueError(f"image and mask must have the same N, H, W; got {image.shape} and {mask.shape}")
    return image, mask
