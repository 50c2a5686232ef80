# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/01_augmentation_basics.ipynb)

# %% [markdown]
# # 1 · Augmentation basics: every classic transform, three APIs, and the rules
#
# **Objectives.** By the end you can
# - apply each classic augmentation family (geometry, colour, blur, noise, erasing) with explicit seeds;
# - write the same transform in `tf.image`, in Keras 3 preprocessing layers and in the legacy `ImageDataGenerator`,
#   and translate arguments between them (units included);
# - tell a random crop from a random-resized crop;
# - decide whether an augmentation keeps the label true;
# - say where augmentation should run, and show that it switches off at inference.
#
# **Runtime.** Quick mode 18 s, full mode 23 s (the sum of the cells' times on a 2-core
# CPU, kernel start-up not included). Nothing is trained; full mode only
# draws more samples per transform.
#
# Everything random here takes a **seed**, so your figures match the ones your neighbour sees.

# %%
# On Google Colab only: get the course, install what it needs that Colab lacks, fetch this lesson's data.
# Elsewhere: nothing. Colab's own TensorFlow is kept (see the course's README, "Google Colab").
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import os
    import subprocess

    course, url = "/content/augmentation-course", "https://github.com/augmentation-course/augmentation-course"
    if not os.path.isdir(course):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", "main", url, course], check=True)
    else:  # cloned earlier in this session: pull (it stops only where new commits change a file you edited)
        subprocess.run(["git", "-C", course, "pull", "--ff-only", "--quiet"], check=False)
    wanted = open(f"{course}/pyproject.toml").read()
    marker = f"{course}/.colab-installed"  # the pyproject.toml installed last
    if importlib.util.find_spec("helpers") is None or not os.path.exists(marker) or open(marker).read() != wanted:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", course], check=True)
        open(marker, "w").write(wanted)
    sys.path.insert(0, course)  # this kernel started before the install
    os.chdir(f"{course}/notebooks")

# %%
from helpers import config

print(config.banner("1 · Augmentation basics"))

# %%
import math

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_sample_image

from helpers import augment, plots

DRAWS = config.pick(quick=3, full=5)
photo = tf.image.resize(load_sample_image("flower.jpg"), (240, 320), antialias=True)
photo = tf.cast(tf.round(photo), tf.uint8).numpy()  # uint8 (240, 320, 3)
china = load_sample_image("china.jpg")              # uint8 (427, 640, 3)
print(photo.shape, photo.dtype, china.shape)


# %% [markdown]
# ## Why augment?
#
# A classifier should not care whether the flower sits 10 pixels to the left, whether the photo is a little
# darker, or whether it was taken from a slightly different angle. A small dataset does not show all those
# variants, so the network memorises the few it sees. Augmentation **draws a new plausible variant of every image
# every epoch**. The network then has to learn what stays constant, which is the label.
#
# How: every transform below is a function `(image, seed) -> image`. The same seed gives the same draw. Different
# seeds give different draws. Each row shows the original and a few draws.
#
# ## Geometry
#
# Flips, rotation, crops, zoom, shift and shear move pixels around. Colour values stay, positions change.

# %%
def keras_layer(layer_cls, **kwargs):
    # A Keras layer as (image, seed) -> image: a fresh seeded layer per draw, run in training mode.
    return lambda image, seed: layer_cls(seed=seed, **kwargs)(image[None].astype("float32"), training=True)[0].numpy().astype("uint8")

geometry = {
    "flip left-right": lambda x, s: tf.image.stateless_random_flip_left_right(x, seed=[s, 0]),
    "flip up-down": lambda x, s: tf.image.stateless_random_flip_up_down(x, seed=[s, 1]),
    "rotation ±30°": keras_layer(keras.layers.RandomRotation, factor=30 / 360, fill_mode="reflect"),
    "rotate k x 90°, k = seed mod 4": lambda x, s: np.rot90(x, k=s % 4),
    "random crop 160x160": lambda x, s: tf.image.stateless_random_crop(x, (160, 160, 3), seed=[s, 2]),
    "zoom ±30%": keras_layer(keras.layers.RandomZoom, height_factor=0.3, fill_mode="nearest"),
    "shift ±20%": keras_layer(keras.layers.RandomTranslation, height_factor=0.2, width_factor=0.2, fill_mode="nearest"),
    "shear": keras_layer(keras.layers.RandomShear, x_factor=0.3, fill_mode="nearest"),
}
plots.show_draws(geometry, photo, draws=DRAWS);

# %% [markdown]
# Notice the **fill**: a rotation or a shift has to invent pixels at the borders. `reflect` mirrors the image,
# `nearest` smears the edge pixel, and `constant` paints black. The 90° rotations need no fill, and they turn a
# landscape photo into a portrait one. The cell below reads the defaults from your installed Keras (its
# `RandomShear` docstring says `constant`, but the code's default is what counts) and from `ImageDataGenerator`:

# %%
import inspect

for layer in (keras.layers.RandomRotation, keras.layers.RandomTranslation, keras.layers.RandomZoom,
              keras.layers.RandomShear):
    print(f"{layer.__name__:<18} fill_mode default: {inspect.signature(layer).parameters['fill_mode'].default!r}")
legacy_default = inspect.signature(tf.keras.preprocessing.image.ImageDataGenerator).parameters["fill_mode"].default
print(f"{'ImageDataGenerator':<18} fill_mode default: {legacy_default!r}")


# %% [markdown]
# ## Colour, blur and noise
#
# These change pixel values and leave positions alone. Two of them are written here. **HSV power contrast** raises
# saturation and value of every pixel to powers drawn from [0.25, 4] and keeps the hue; the exponents are drawn
# *log-uniformly*, so x^0.5 and x^2 are equally likely (raising values in [0, 1] to a power above 1 darkens them,
# so a uniform draw from [0.25, 4] would darken 80% of the time: P(e > 1) = 3 / 3.75). A **Gaussian blur** with a
# random σ is two 1-D convolutions. (Keras 3.15's `RandomGaussianBlur` refuses a single σ above 1, blurs with a
# 3x3 kernel by default and draws one σ per batch.)

# %%
#@save
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


# %%
def on_float(fn):
    # tf.image colour ops work in [0, 1] floats; convert there and back
    return lambda x, s: augment.from_float(fn(augment.to_float(x), [s, 3]), tf.uint8)

colour = {
    "brightness ±0.3": on_float(lambda x, s: tf.image.stateless_random_brightness(x, 0.3, seed=s)),
    "contrast 0.5-1.5": on_float(lambda x, s: tf.image.stateless_random_contrast(x, 0.5, 1.5, seed=s)),
    "saturation 0.3-1.7": on_float(lambda x, s: tf.image.stateless_random_saturation(x, 0.3, 1.7, seed=s)),
    "hue ±0.1": on_float(lambda x, s: tf.image.stateless_random_hue(x, 0.1, seed=s)),
    "HSV power 0.25-4": lambda x, s: hsv_contrast(x, 0.25, 4.0, seed=s),
    "Gaussian blur σ 0.5-4": lambda x, s: random_gaussian_blur(x, (0.5, 4.0), seed=s),
    "Gaussian noise σ=0.08": lambda x, s: augment.gaussian_noise(x, 0.08, seed=s),
    "salt & pepper 5%": lambda x, s: augment.salt_and_pepper(x, 0.05, seed=s),
    # factor=(1.0, 1.0): erase every image. A bare factor=1.0 would erase only about half of them (see below).
    "random erasing": keras_layer(keras.layers.RandomErasing, factor=(1.0, 1.0), scale=(0.05, 0.2), value_range=(0, 255)),
}
plots.show_draws(colour, photo, draws=DRAWS);

# %% [markdown]
# Some notes:
# - The hotdog post used `random_hue(0.5)`. A hue shift of ±0.5 turns the hue wheel by up to 180°, so a red
#   sausage can come out green or blue. Keep hue shifts small (about 0.05-0.1) unless colour carries no meaning.
# - **Blur as scale space:** blurring with a growing σ removes detail coarser and coarser, as if the object were
#   farther away. Here are σ = 0, 1, 2, 4, 8 on one image, with `gaussian_blur` from above.

# %%
sigmas = [0, 1, 2, 4, 8]
scale_space = [gaussian_blur(photo, s) for s in sigmas]
plots.show_grid(scale_space, [f"σ = {s}" for s in sigmas], ncols=5, size=2.2);

# %% [markdown]
# **Random erasing** (Zhong et al., AAAI 2020 (arXiv 2017)) is the modern op the original posts lack. It hides a
# random rectangle, so the network cannot rely on a single part of the object. It is not the same method as
# Cutout (DeVries & Taylor, 2017), which masks a square of fixed size with zeros.
#
# Keras's `RandomErasing` has a trap in its `factor`, the probability of erasing an image. A single number f is
# read as the *range* (0, f): every image draws its own probability from that range. So `factor=1.0` means a
# probability drawn from U(0, 1) per image, and about half the images are left untouched. To erase every image,
# pass the range `(1.0, 1.0)`, as the panel above does. (`RandomElasticTransform` reads its `factor` the same way:
# lesson 5. Lesson 7 returns to Keras's units.) Count the untouched images of 200 both ways:

# %%
copies = np.repeat(photo[None, ::4, ::4], 200, axis=0).astype("float32")  # 200 copies of a 60x80 photo
untouched = {}
for factor in (1.0, (1.0, 1.0)):
    eraser = keras.layers.RandomErasing(factor=factor, scale=(0.05, 0.2), value_range=(0, 255), seed=0)
    erased = eraser(copies, training=True).numpy()
    untouched[factor] = (eraser.factor, np.mean(np.all(erased == copies, axis=(1, 2, 3))))
print("RandomErasing, images left untouched: " + "; ".join(
    f"factor={f!r} (the range {r}) {share:.0%}" for f, (r, share) in untouched.items()))

# %% [markdown]
# Keras 3 also ships `RandAugment`, `AugMix`, `MixUp` and `CutMix`. The last two mix images *and labels*, so they
# belong in the batch pipeline.
#
# ## The same transform in three APIs
#
# The posts used three generations of API. Below: the post's `ImageDataGenerator` 3x3 grid (rotation 90°, shifts
# 0.2, zoom 0.3), then the same ranges written with Keras 3 layers and with the course's single fused affine op.
#
# The fused op composes the whole geometry into **one matrix** and resamples once. A 3x3 matrix maps
# each *output* pixel (x, y, 1) to the *input* pixel it is sampled from; rotation, shear, zoom and flips are
# composed about the image centre, then the shift is added. `tf.raw_ops.ImageProjectiveTransformV3` (the kernel
# under Keras's own geometric layers) applies such matrices to a batch, one per image:

# %%
#@save
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


# %% [markdown]
# The random part draws each parameter per image, in `ImageDataGenerator`'s units, and builds that image's matrix:

# %%
#@save
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

# %%
legacy = tf.keras.preprocessing.image.ImageDataGenerator(
    rotation_range=90, width_shift_range=0.2, height_shift_range=0.2, zoom_range=0.3)
flow = legacy.flow(china[None].astype("float32"), batch_size=1, seed=0)   # an endless iterator
legacy_grid = [next(flow)[0].astype("uint8") for _ in range(9)]

layers = keras.Sequential([
    keras.layers.RandomRotation(90 / 360, fill_mode="nearest", seed=0),        # factor: fraction of a full turn
    keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest", seed=1),
    keras.layers.RandomZoom(0.3, fill_mode="nearest", seed=2),
])
layer_grid = [layers(china[None].astype("float32"), training=True)[0].numpy().astype("uint8") for _ in range(9)]

fused_grid = [random_affine(china, seed=s, rotation=90, shift=0.2, zoom=0.3) for s in range(9)]

for title, grid in [("legacy ImageDataGenerator", legacy_grid), ("Keras 3 layers (3 resamplings)", layer_grid),
                    ("random_affine (1 resampling)", fused_grid)]:
    plots.show_grid(grid, ncols=3, size=2.6, suptitle=title)

# %% [markdown]
# What changed, argument by argument:
#
# | `ImageDataGenerator(...)` | unit | Keras 3 layer | unit | `random_affine` (above) |
# |---|---|---|---|---|
# | `rotation_range=20` | degrees, ±20 | `RandomRotation(20/360)` | **fraction of a full turn** (20/360 = ±20°) | `rotation=20` (degrees) |
# | `width_shift_range=0.2` | fraction of width (or pixels if >= 1) | `RandomTranslation(height_factor, width_factor=0.2)` | fraction of width | `shift=(0.2, ...)` |
# | `height_shift_range=0.2` | fraction of height | `RandomTranslation(height_factor=0.2, ...)` | fraction of height | `shift=(..., 0.2)` |
# | `zoom_range=0.3` | factor in [0.7, 1.3], x and y drawn separately; >1 zooms out | `RandomZoom(0.3)` | [-30%, +30%]; positive zooms **out**; x follows y unless `width_factor` is given | `zoom=0.3` (like the legacy one) |
# | `shear_range=0.15` | **degrees** (0.15°: almost nothing) | `RandomShear(x_factor=...)` | a shear *factor* (tan of the angle) | `shear=` (degrees) |
# | `horizontal_flip=True` | | `RandomFlip("horizontal")` | | `horizontal_flip=True` |
# | `brightness_range=(0.5, 1.5)` | multiplier | `RandomBrightness(factor)` | added delta, fraction of `value_range` | `tf.image.stateless_random_brightness` |
# | `fill_mode="nearest"` (default) | | `fill_mode="reflect"` (**default**) | | `fill_mode="nearest"` (default) |
# | `rescale=1/255` | | `Rescaling(1/255)` or the backbone's `preprocess_input` | | |
# | `seed=` on `flow()` | one global stream | `seed=` per layer | stateful generator | `seed=` per call: **stateless**, same seed gives the same output |
#
# Import paths:
#
# | Keras 2 / TF 1 era | today (TF 2.21, Keras 3) |
# |---|---|
# | `from keras.preprocessing.image import ImageDataGenerator` | fails. Legacy: `tf.keras.preprocessing.image.ImageDataGenerator`. Modern: Keras layers or `tf.data` |
# | `from keras.layers.experimental.preprocessing import RandomFlip` | `from keras.layers import RandomFlip` |
# | `tf.random_crop` (TF 1) | `tf.image.random_crop`; seeded: `tf.image.stateless_random_crop` |
# | `tf.image.random_flip_left_right(x)` | `tf.image.stateless_random_flip_left_right(x, seed=[a, b])` |
# | `model.fit_generator(gen, ...)` | `model.fit(gen_or_dataset, ...)` |
# | `keras.utils.Sequence` | `keras.utils.PyDataset` |
#
# The three grids above use different random draws, so they cannot be compared picture by picture. Here is **one**
# draw made both ways: the same photo, the same rotation (30°), shift (10% right, 10% up) and zoom (20% out), once
# by the three Keras layers with each range pinned to that one value, and once as the three steps' matrices
# composed first (`affine_matrix`) and applied in one resampling. Sharpness is the mean absolute
# Laplacian of the grey image (how much each pixel differs from its four neighbours; blur lowers it), measured on
# the centre, where neither needed a fill.

# %%
from scipy import ndimage

ROTATION, SHIFT, ZOOM = 30.0, (0.1, -0.1), 0.2  # degrees; fractions of the width and height; 20% out
h, w = china.shape[:2]
pinned = keras.Sequential([  # a range (v, v) always draws v
    keras.layers.RandomRotation((ROTATION / 360, ROTATION / 360), fill_mode="nearest"),
    keras.layers.RandomTranslation((SHIFT[1], SHIFT[1]), (SHIFT[0], SHIFT[0]), fill_mode="nearest"),
    keras.layers.RandomZoom((ZOOM, ZOOM), fill_mode="nearest"),
])
chained = pinned(china[None].astype("float32"), training=True)[0].numpy()
matrix = (affine_matrix(h, w, rotation=ROTATION)                          # output -> input matrices,
          @ affine_matrix(h, w, shift=(-SHIFT[0] * w, -SHIFT[1] * h))   # so the first step comes first
          @ affine_matrix(h, w, zoom=(1 + ZOOM, 1 + ZOOM)))
composed = apply_affine(china, matrix, fill_mode="nearest").numpy().astype("float32")


def sharpness(image):  # mean absolute Laplacian of the grey image
    return np.abs(ndimage.laplace(np.asarray(image, "float32").mean(-1))).mean()


centre = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
print(f"sharpness of the centre: three layers {sharpness(chained[centre]):.2f}, "
      f"one composed transform {sharpness(composed[centre]):.2f} (the photo itself: {sharpness(china[centre]):.2f})")
print(f"the two differ by {np.abs(chained[centre] - composed[centre]).mean():.1f} grey levels on average: "
      "one geometry, resampled three times or once")
plots.show_grid([chained[centre][60:160, 100:260], composed[centre][60:160, 100:260]],
                ["three layers (3 resamplings)", "composed (1 resampling)"], ncols=2, size=4.5);

# %% [markdown]
# The composed transform keeps more detail because **three layers resample the image three times**. Each
# interpolation blurs a little, and each fill erases border content that a later zoom-out would have shown again.
# The legacy generator and `random_affine` compose the matrices first and resample once. Lesson 2 measures what
# this costs on 32x32 CIFAR images.

# %% [markdown]
# ## The posts' pitfall: `random_crop` is not a random-resized crop
#
# The hotdog post says its crop "takes 10%-100% of the area with aspect ratio 0.5-2, then resizes to 200x200". Its
# code calls `tf.image.random_crop(image, (200, 200, 3))`. That **cuts a fixed 200x200 window** at a random
# position: the area is always the same, the aspect ratio is always 1, and nothing is rescaled. On the 427x640
# photo, every window covers exactly 14.6% of the image. What the text describes is the Inception-style
# **random-resized crop**, written below and tried with the post's ranges. It samples the box
# the way Inception and torchvision do: the area uniformly within its range, the aspect ratio *log*-uniformly (so
# 1:2 and 2:1 are equally likely; a linear draw from 0.5-2 would give landscape crops two times in three), and the
# position uniformly over every place the box fits, edges included.

# %%
#@save
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


# %% [markdown]
# Both crops on the photo, then both measured over 200 draws by cropping an image whose pixels hold their own
# coordinates:

# %%
plots.show_draws({
    "tf.image.random_crop 200x200": lambda x, s: tf.image.stateless_random_crop(x, (200, 200, 3), seed=[s, 2]),
    "random_resized_crop -> 200x200": lambda x, s: random_resized_crop(x, 200, area=(0.1, 1.0), ratio=(0.5, 2.0), seed=s),
}, photo, draws=DRAWS);
h, w = china.shape[:2]
rows, cols = np.meshgrid(np.arange(h) / (h - 1), np.arange(w) / (w - 1), indexing="ij")
coords = np.stack([rows, cols, np.zeros_like(rows)], -1).astype("float32")

def covered(crop):  # fraction of the image area and width/height ratio of a crop of `coords`
    ch = (np.ptp(crop[..., 0]) * (h - 1)) + 1
    cw = (np.ptp(crop[..., 1]) * (w - 1)) + 1
    return ch * cw / (h * w), cw / ch

fixed = np.array([covered(tf.image.stateless_random_crop(coords, (200, 200, 3), seed=[s, 0]).numpy()) for s in range(200)])
rrc = np.array([covered(random_resized_crop(coords, 200, area=(0.1, 1.0), ratio=(0.5, 2.0), seed=s, antialias=False).numpy()) for s in range(200)])
for name, stats in [("tf.image.random_crop 200x200", fixed), ("random_resized_crop -> 200x200", rrc)]:
    print(f"{name:<32} area {stats[:, 0].min():.3f}-{stats[:, 0].max():.3f}   aspect {stats[:, 1].min():.2f}-{stats[:, 1].max():.2f}")

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].hist([fixed[:, 0], rrc[:, 0]], bins=20, label=["random_crop", "random_resized_crop"])
axes[0].set_xlabel("fraction of the image area")
axes[0].legend()
axes[1].hist([fixed[:, 1], rrc[:, 1]], bins=20)
axes[1].set_xlabel("aspect ratio (width / height)")
for ax in axes:
    ax.set_ylabel(f"crops (of {len(fixed)})")
fig.tight_layout()

# %% [markdown]
# ## Does the label survive? Flipping digits
#
# The ImageDataGenerator post showed a 3x3 grid of horizontally flipped MNIST digits as if they were more training
# data. But a mirrored 3 is not a 3. We check it on scikit-learn's bundled 8x8 digits. A logistic regression
# is trained on half of the original digits, then scored per digit on the other half, as they are and mirrored.

# %%
from sklearn.datasets import load_digits

digits = load_digits()
examples = [digits.images[list(digits.target).index(d)] / 16 for d in range(10)]
plots.show_grid(examples + [e[:, ::-1] for e in examples], [str(d) for d in range(10)] + [f"{d} mirrored" for d in range(10)], ncols=10, size=1.1);

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

x_a, x_b, y_a, y_b = train_test_split(digits.images, digits.target, test_size=0.5, stratify=digits.target, random_state=0)
classifier = LogisticRegression(max_iter=2000).fit(x_a.reshape(len(x_a), -1), y_a)
as_is = classifier.predict(x_b.reshape(len(x_b), -1))
mirrored = classifier.predict(x_b[:, :, ::-1].reshape(len(x_b), -1))   # flip left-right
print("digit  accuracy  mirrored")
for d in range(10):
    print(f"{d:>5}  {np.mean(as_is[y_b == d] == d):>8.2f}  {np.mean(mirrored[y_b == d] == d):>8.2f}")

# %% [markdown]
# Nearly symmetric digits (0, 8) are still recognised when mirrored. A mirrored 3, 5 or 6 is almost never read as
# itself: it is simply not that digit any more. Training on mirrored digits would teach the network wrong labels.
#
# **The general rule: an augmentation is allowed only if the label of the transformed image is still true.**
# - *Orientation-sensitive classes:* digits, letters and text (mirroring, large rotations), road signs
#   ("turn left" mirrored is "turn right"), "6" vs "9" (180° rotation).
# - *Medical images:* left and right matter in a chest X-ray (the heart is on the left). Intensity often encodes
#   tissue, so contrast and colour changes can fake or hide a finding. The CIFAR post warns that some medical
#   images must not be rotated at all. Ask a domain expert which transforms are physically possible.
# - *Cropping:* a crop that loses the object makes a wrong example. Keep the minimum area reasonable for the task.
# - *Segmentation:* the mask must get the **same** geometric transform as the image, and must never be
#   interpolated into grey values (lesson 5).
#
# ## Where augmentation runs
#
# There are two places:
# 1. **In the input pipeline** (`tf.data.Dataset.map`, a generator, a `PyDataset`). It runs on the CPU, in parallel
#    with training, and can use any Python or TF op. The model stays clean for export.
# 2. **Inside the model**, as its first layers. It runs on the accelerator (GPU/TPU) with the rest of the model,
#    which helps when the CPU is the bottleneck. It is saved with the model.
#
# Either way, augmentation is for **training only**. Keras augmentation layers do this themselves: they transform
# unless called with `training=False`, which `predict` and `evaluate` pass. A bare `layer(x)` or `model(x)`, or
# one inside a `Dataset.map`, does augment: its `training` defaults to True.

# %%
augmenting_model = keras.Sequential([
    keras.Input((240, 320, 3)),
    keras.layers.RandomFlip("horizontal", seed=0),
    keras.layers.RandomRotation(0.1, seed=1),
])
batch = photo[None].astype("float32")
at_inference = augmenting_model(batch, training=False).numpy()
in_training = augmenting_model(batch, training=True).numpy()
print("inference output == input:", np.array_equal(at_inference, batch))
print("training output == input: ", np.array_equal(in_training, batch))
assert np.array_equal(at_inference, batch)

# %% [markdown]
# Functions from `tf.image`, `helpers.augment` and the ones written above have no training switch. Put them in the *training* pipeline
# only, never in the validation or test pipeline.
#
# ## Exercises
#
# 1. Change `rotation ±30°` to use `fill_mode="constant"`. Which fill would you choose for aerial photos? For
#    faces?
# 2. Draw 1,000 exponents the way `hsv_contrast` does and as `np.random.uniform(0.25, 4)`. What fraction darkens
#    the image in each case?
# 3. Rerun the crop comparison with `area=(0.5, 1.0)`. How does the histogram change? When would you prefer
#    that range?
# 4. Which of the geometric transforms above would you allow for (a) satellite images, (b) handwritten text,
#    (c) photos of cars? Justify each one with the label rule.
# 5. Time `layers(...)` against `random_affine(...)` on a batch of 64 china images with `%timeit`. Which is
#    faster, and why?
#
# ## Summary
#
# - Every augmentation family is a function `(image, seed) -> image`. Explicit seeds make figures and experiments
#   reproducible. Use the `stateless_*` ops in `tf.image` and the `seed=` argument in Keras layers.
# - The three API generations express the same transforms with different **units** (degrees vs turns,
#   multipliers vs deltas) and different **defaults** (`nearest` vs `reflect`). Translate them with the table.
# - `tf.image.random_crop` cuts a fixed window. A **random-resized crop** varies the area and the aspect ratio,
#   then resizes.
# - A chain of geometric layers resamples once per layer. One fused affine transform resamples once.
# - Augment only when the label stays true, and only at training time.
# - Next: lesson 2 puts these transforms to work on CIFAR-10.
