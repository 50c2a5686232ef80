"""The operations of lesson 7's augmentation policies, as PIL defines them, on float batches in TensorFlow.

- ``apply_ops``: operation ``names[ops[i]]`` at magnitude ``magnitudes[i]`` on image i of a batch (the 14
  operations of ``OPS``, each tested against PIL);
- what the policies are built from: ``as_float_batch``/``restore``, ``split_seeds``, ``random_signs``,
  ``random_beta``, ``box_mask``, ``check_blend_inputs``;
- ``tta_views``: the views of test-time augmentation (flipped and shifted); lesson 7 writes ``predict_tta``.

The policies themselves are lesson 7's subject and are written there (``#@save``), exported to
``helpers.taught.policy_training``: RandAugment (Cubuk et al., 2020), TrivialAugment-style (Mueller & Hutter,
2021), AugMix's mixing (Hendrycks et al., 2020, without the Jensen-Shannon loss), random erasing (Zhong et al.,
AAAI 2020 (arXiv 2017)), not Cutout (DeVries & Taylor, 2017), and the batch blends MixUp and CutMix.

Keras 3.15 ships ``RandAugment``, ``AugMix``, ``RandomErasing``, ``MixUp`` and ``CutMix`` as layers, and lesson 7
shows them. The course writes its own because those layers draw from their own stateful generators and ignore
a per-batch seed, so a batch cannot be reproduced from its seed; and ``RandAugment`` and ``AugMix`` choose their
operations once per batch (``AugMix`` with Python's ``random``, once per traced graph). Lesson 7 measures both.

Images are uint8 [0, 255] or float [0, 1]. The same seed gives the same batch in every traced copy (every
``tf.data`` pipeline). An eager call draws the same operations, but its last-bit float rounding may differ,
which a posterize after another op can turn into one 8-bit step on a few pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

from helpers import augment

# The operations and their strength at magnitude 1 (RandAugment's M = 10 on the 0-10 scale of its reference code).
OPS = ("identity", "auto_contrast", "equalize", "rotate", "solarize", "color", "posterize", "contrast", "brightness",
       "sharpness", "shear_x", "shear_y", "translate_x", "translate_y")
AUGMIX_OPS = ("auto_contrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y", "translate_x",
              "translate_y")  # AugMix leaves out the colour ops that resemble the corruptions of its test sets
MAX_ROTATE = 30.0      # degrees
MAX_SHEAR = 0.3        # tan of the shear angle (16.7 degrees)
MAX_TRANSLATE = 0.3    # fraction of the side (about 10 px on a 32-px image)
MAX_ENHANCE = 0.9      # brightness, colour, contrast, sharpness: factor 1 +- 0.9 (0 = grey/black/blurred, 1 = unchanged)
MAX_POSTERIZE = 4      # bits removed (8 -> 4)
FILL = 0.5             # grey, what the geometric ops show where they uncover the border
_GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
_SIGNED = _GEOMETRIC + ("color", "contrast", "brightness", "sharpness")


# ---------------------------------------------------------------- the operations, on float batches


def _grey(x: tf.Tensor) -> tf.Tensor:
    """Luma (N, H, W, 1) of a float batch (ITU-R 601-2, as PIL's convert('L'))."""
    if x.shape[-1] == 1:
        return x
    return tf.reduce_sum(x[..., :3] * tf.constant([0.299, 0.587, 0.114]), axis=-1, keepdims=True)


def _per_image(v: tf.Tensor) -> tf.Tensor:
    return v[:, None, None, None]


def _smooth(x: tf.Tensor) -> tf.Tensor:
    """PIL's SMOOTH filter (centre weight 5 of 13) inside the image; the one-pixel border kept, as PIL does. An
    empty batch, or images with no inside (under 3x3 pixels), come back as they are."""
    c = x.shape[-1]
    kernel = tf.constant([[1, 1, 1], [1, 5, 1], [1, 1, 1]], tf.float32) / 13.0
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, c, 1])

    def smoothed():
        inner = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")
        border = tf.pad(tf.ones_like(inner), [[0, 0], [1, 1], [1, 1], [0, 0]])
        return border * tf.pad(inner, [[0, 0], [1, 1], [1, 1], [0, 0]]) + (1 - border) * x

    shape = tf.shape(x)
    return tf.cond((shape[0] > 0) & (shape[1] >= 3) & (shape[2] >= 3), smoothed, lambda: tf.identity(x))


def _equalize(x: tf.Tensor) -> tf.Tensor:
    """Histogram equalisation per image and channel, PIL's ImageOps.equalize on 8-bit values."""
    shape = tf.shape(x)
    n, c = shape[0], shape[3]
    v = tf.cast(tf.round(x * 255.0), tf.int32)
    rows = tf.reshape(tf.transpose(v, [0, 3, 1, 2]), [n * c, -1])                 # (N*C, H*W)
    offsets = tf.range(n * c)[:, None] * 256
    hist = tf.reshape(tf.math.bincount(rows + offsets, minlength=n * c * 256, maxlength=n * c * 256), [n * c, 256])
    last = tf.gather(hist, tf.reduce_max(rows, axis=1), batch_dims=1)               # count of the top value
    step = (tf.reduce_sum(hist, axis=1) - last) // 255
    safe = tf.maximum(step, 1)[:, None]
    lut = tf.minimum((safe // 2 + tf.cumsum(hist, axis=1, exclusive=True)) // safe, 255)
    out = tf.where(step[:, None] > 0, tf.gather(lut, rows, batch_dims=1), rows)
    out = tf.transpose(tf.reshape(out, [n, c, shape[1], shape[2]]), [0, 2, 3, 1])
    return tf.cast(out, tf.float32) / 255.0


def _warp(x: tf.Tensor, ops: tf.Tensor, v: tf.Tensor, names: Sequence[str]) -> tf.Tensor:
    """The geometric ops, one resampling per image: an identity matrix for images whose op is not geometric."""
    def amount(name, scale):
        return tf.where(ops == names.index(name), v * scale, 0.0) if name in names else tf.zeros_like(v)

    theta = amount("rotate", MAX_ROTATE * math.pi / 180)
    shx, shy = amount("shear_x", MAX_SHEAR), amount("shear_y", MAX_SHEAR)
    h, w = tf.cast(tf.shape(x)[1], tf.float32), tf.cast(tf.shape(x)[2], tf.float32)
    tx, ty = amount("translate_x", MAX_TRANSLATE) * w, amount("translate_y", MAX_TRANSLATE) * h
    cos, sin = tf.cos(theta), tf.sin(theta)
    # output pixel p -> input pixel  c + A (p - c) - t,  A = R(theta) [[1, shx], [shy, 1]]
    a00, a01 = cos - sin * shy, cos * shx - sin
    a10, a11 = sin + cos * shy, sin * shx + cos
    cx, cy = (w - 1) / 2, (h - 1) / 2
    b0 = cx - a00 * cx - a01 * cy - tx
    b1 = cy - a10 * cx - a11 * cy - ty
    zero = tf.zeros_like(theta)
    transforms = tf.stack([a00, a01, b0, a10, a11, b1, zero, zero], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(images=x, transforms=transforms, output_shape=tf.shape(x)[1:3],
                                                 fill_value=FILL, interpolation="BILINEAR", fill_mode="CONSTANT")


def apply_ops(images, ops, magnitudes, signs=None, names: Sequence[str] = OPS) -> tf.Tensor:
    """Apply operation ``names[ops[i]]`` at magnitude ``magnitudes[i]`` to image i of a batch.

    images: float32 (N, H, W, C) in [0, 1]; ops: int (N,); magnitudes: float (N,) in [0, 1] (1 = the
    MAX_* constants); signs: (N,) of +1/-1 for the ops that have a direction (None: all +1).
    Magnitude 0 leaves every op's image unchanged, except auto_contrast and equalize, which have none.
    Returns float32 (N, H, W, C) in [0, 1].
    """
    x = tf.convert_to_tensor(images, tf.float32)
    ops = tf.cast(ops, tf.int32)
    m = tf.cast(magnitudes, tf.float32)
    s = tf.ones_like(m) if signs is None else tf.cast(signs, tf.float32)
    v = m * s
    factor = _per_image(1.0 + MAX_ENHANCE * v)

    def blend(base):  # PIL's ImageEnhance: base + factor (x - base)
        return base + factor * (x - base)

    candidates = {
        "identity": lambda: x,
        "auto_contrast": lambda: _auto_contrast(x),
        "equalize": lambda: _equalize(x),
        "solarize": lambda: tf.where(x * 255.0 >= _per_image(256.0 * (1.0 - m)), 1.0 - x, x),
        "posterize": lambda: _posterize(x, m),
        "color": lambda: blend(_grey(x)),
        "contrast": lambda: blend(tf.reduce_mean(_grey(x), axis=[1, 2, 3], keepdims=True)),
        "brightness": lambda: factor * x,
        "sharpness": lambda: blend(_smooth(x)),
    }
    warped = _warp(x, ops, v, names) if any(n in _GEOMETRIC for n in names) else x
    results = [warped if name in _GEOMETRIC else candidates[name]() for name in names]
    picked = tf.gather_nd(tf.stack(results), tf.stack([ops, tf.range(tf.shape(x)[0])], axis=1))
    return tf.clip_by_value(picked, 0.0, 1.0)


def _auto_contrast(x: tf.Tensor) -> tf.Tensor:
    lo = tf.reduce_min(x, axis=[1, 2], keepdims=True)
    hi = tf.reduce_max(x, axis=[1, 2], keepdims=True)
    return tf.where(hi > lo, (x - lo) / tf.maximum(hi - lo, 1e-6), x)


def _posterize(x: tf.Tensor, m: tf.Tensor) -> tf.Tensor:
    step = _per_image(tf.pow(2.0, tf.round(MAX_POSTERIZE * m)))   # keep 8 - round(4 m) bits
    return tf.floor(tf.round(x * 255.0) / step) * step / 255.0


# ---------------------------------------------------------------- what lesson 7's policies are built from
# The policies themselves (RandAugment, TrivialAugment-style, AugMix, random erasing, MixUp, CutMix) are written
# in lesson 7 and exported to helpers.taught.policy_training.


def as_float_batch(images):
    """(float32 batch (N, H, W, C) in [0, 1], the input's dtype, whether the input was one (H, W, C) image).
    Takes uint8 [0, 255] or float [0, 1] images with 1 or 3 channels."""
    images = augment.check_image(tf.convert_to_tensor(images), channels=(1, 3))
    single = images.shape.rank == 3
    batch = images[None] if single else images
    return augment.to_float(batch), images.dtype, single


def restore(batch, dtype, single):
    """``as_float_batch`` undone: the float batch back to ``dtype`` (and to one image if ``single``)."""
    out = augment.from_float(batch, dtype)
    return out[0] if single else out


def split_seeds(seed, k: int) -> list[tf.Tensor]:
    """``k`` independent stateless seeds split from ``seed`` (an int or a pair) with ``tf.random.split``."""
    return tf.unstack(tf.random.split(augment.as_seed(seed), k))


def check_erasing(probability, area, ratio) -> None:
    """ValueError unless 0 <= probability <= 1, area = (low, high) with 0 < low <= high <= 1 (shares of the
    image) and ratio = (low, high) with 0 < low <= high."""
    if not 0 <= probability <= 1:
        raise ValueError(f"probability must be in [0, 1], got {probability!r}")
    if not 0 < area[0] <= area[1] <= 1:
        raise ValueError(f"area must be (low, high) shares of the image with 0 < low <= high <= 1, got {area!r}")
    if not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"ratio must be (low, high) with 0 < low <= high, got {ratio!r}")


def random_signs(n, seed) -> tf.Tensor:
    """(n,) float32 of -1 and +1, each with probability 1/2: the direction of each image's operation."""
    return tf.where(tf.random.stateless_uniform([n], seed) < 0.5, -1.0, 1.0)


def random_beta(shape, seed_a, seed_b, alpha) -> tf.Tensor:
    """Beta(alpha, alpha) draws in [0, 1], as g1 / (g1 + g2) of two Gamma(alpha) draws (TF has no stateless Beta)."""
    alpha = tf.constant(alpha, tf.float32)
    g1 = tf.random.stateless_gamma(shape, seed_a, alpha=alpha)
    g2 = tf.random.stateless_gamma(shape, seed_b, alpha=alpha)
    return g1 / (g1 + g2)


def box_mask(height, width, y0, y1, x0, x1) -> tf.Tensor:
    """(N, H, W) bool: True inside rows [y0, y1) and columns [x0, x1) of each image (float bounds, shape (N,))."""
    rows = tf.range(tf.cast(height, tf.float32))[None, :, None]
    cols = tf.range(tf.cast(width, tf.float32))[None, None, :]
    return ((rows >= y0[:, None, None]) & (rows < y1[:, None, None])
            & (cols >= x0[:, None, None]) & (cols < x1[:, None, None]))


def check_blend_inputs(images, labels, what: str, *, alpha: float = 1.0):
    """(images, labels) as tensors, or ValueError: a blend needs a batch (N, H, W, C), float (N, classes) labels
    and a Beta parameter ``alpha`` > 0 (at 0 or below the Beta draws are NaN)."""
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"{what}'s alpha is a Beta(alpha, alpha) parameter and must be a finite number > 0, "
                         f"got {alpha!r}")
    images = tf.convert_to_tensor(images)
    labels = tf.convert_to_tensor(labels)
    if images.shape.rank != 4:
        raise ValueError(f"{what} blends the images of a batch: give it a batch (N, H, W, C), after .batch(), "
                         f"not shape {images.shape}")
    if labels.shape.rank != 2 or not labels.dtype.is_floating:
        raise ValueError(f"{what} blends labels, so it needs one-hot (or soft) float labels of shape (N, classes), "
                         f"got {labels.dtype.name} labels of shape {labels.shape}. Integer class ids cannot be "
                         "blended (a 50/50 mix of classes 2 and 8 is not class 5): use keras.utils.to_categorical "
                         "and categorical_crossentropy")
    return images, labels


# ---------------------------------------------------------------- test-time augmentation


def _shift(images, dy: int, dx: int):
    """Shift a batch by whole pixels, mirroring at the border (the edge pixel not repeated)."""
    pad = max(abs(dy), abs(dx))
    if pad == 0:
        return images
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    h, w = tf.shape(images)[1], tf.shape(images)[2]
    return padded[:, pad - dy:pad - dy + h, pad - dx:pad - dx + w]


TTA_VIEWS = {
    "none": [(0, 0, False)],
    "flip": [(0, 0, False), (0, 0, True)],
    "flip_shift": [(dy, dx, f) for dy, dx in ((0, 0), (-2, 0), (2, 0), (0, -2), (0, 2)) for f in (False, True)],
}


def tta_views(images, views: str = "flip") -> list[tf.Tensor]:
    """The views a test-time augmentation averages over: ``"none"`` (1), ``"flip"`` (the image and its mirror,
    2), ``"flip_shift"`` (those two, each also shifted 2 px up, down, left and right, 10). Same dtype."""
    if views not in TTA_VIEWS:
        raise ValueError(f"views must be one of {sorted(TTA_VIEWS)}, got {views!r}")
    images = tf.convert_to_tensor(images)
    out = []
    for dy, dx, flip in TTA_VIEWS[views]:
        view = _shift(images, dy, dx)
        out.append(tf.reverse(view, axis=[2]) if flip else view)
    return out

