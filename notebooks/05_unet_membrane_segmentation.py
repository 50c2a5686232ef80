# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/05_unet_membrane_segmentation.ipynb)

# %% [markdown]
# # 5 · U-Net on the ISBI-2012 membranes, with paired augmentation done right
#
# **Objectives.** You will
# - know what segmentation predicts, and how a U-Net does it (encoder, decoder, skip connections);
# - load image/mask pairs safely: matched by name, masks checked to be binary, and split into three sets of whole
#   images before anything else: one to train, one to choose the checkpoint, one to score once;
# - augment an image and its mask **with the same random transform**, in three ways, and check the alignment
#   every time;
# - write the paired `tf.data` pipeline and the U-Net, compile them with a loss and segmentation metrics, and keep
#   the best epoch with `ModelCheckpoint`;
# - use the U-Net paper's tools (border weight map, elastic deformation, overlap-tile prediction, test-time
#   augmentation over the 8 symmetries of a square) beside a Dice loss and mixed precision, and read what each gives;
# - score whole 512x512 images with pixel accuracy, IoU and Dice per class, and catch the "all black" failure.
#
# **Runtime.** Quick mode (a tiny U-Net, a few steps): 35 s (the sum of the cells' times on a 2-core CPU, kernel
# start-up not included). Full mode: the training cell prints its time; on 2 cores, up to 14 minutes of training
# for the final recipe in bfloat16 (`measured/membrane_unet.json`; about 28 where float32 is faster), plus a minute.

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
    from helpers import datasets

    for name in ["membrane"]:
        datasets.fetch(name)

# %%
import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from helpers import augment, config, measured, metrics, paired, plots, recipes, splits, study_runs

print(config.banner("5 · U-Net membrane segmentation"))
SEED = 0
VERBOSE = config.pick(quick=0, full=2)

# %% [markdown]
# ## Segmentation: an image in, an image out
#
# A classifier maps an image to one label. A **segmentation** network maps it to a label *per pixel*: a mask of
# the same size. Here the images are electron micrographs of neural tissue. The mask is white (1) inside cells and
# black (0) on the thin membranes between them. Finding the membranes is the point.
#
# A fully convolutional network (FCN) replaces the classifier's dense layers by convolutions. It can then take
# any image size and up-sample its coarse features back to full resolution, fusing in finer features through
# **skip connections**. The **U-Net** (Ronneberger et al., 2015) makes this symmetric:
# - an **encoder** halves the size 4 times and doubles the channels each time (what is there);
# - a **decoder** doubles the size back and **concatenates** the encoder features of the same scale (where it is);
# - a final 1x1 convolution gives one probability per pixel.

# %%
plots.unet_diagram(depth=4, base_filters=64);

# %% [markdown]
# ## The data, checked
#
# `helpers.readers.load_membrane` pairs `train/image/N.png` with `train/label/N.png` **by file name**. A missing or
# extra file is an error that lists the offenders. It also checks that every mask holds only two values and maps
# them to {0, 1}. We never hard-code the number of pairs: the complete set has 30, and a smaller copy of the folder
# works too (the next cell prints how many you have).
#
# The original post left one question open: how to hold out validation data with generators. The answer is to
# split **by image, before any augmentation** (`splits.membrane_split`), so no crop of a held-out image is ever
# trained on. Three **validation** pairs, drawn with the seed, choose the best epoch. Five **test** pairs, always
# the same five adjacent sections (`splits.MEMBRANE_TEST_NAMES`), are scored once, at the end (the evaluation
# section says why). Neighbouring sections look alike, so an adjacent block is harder to flatter than sections
# scattered between training ones.

# %%
train_part, val_part, test_part = splits.membrane_split(3, seed=SEED)
(x_train, y_train, names_train), (x_val, y_val, names_val), (x_test, y_test, names_test) = train_part, val_part, test_part
print(f"{len(x_train) + len(x_val) + len(x_test)} labelled pairs of {x_train.shape[1]}x{x_train.shape[2]}; "
      f"train {len(x_train)}, validation {names_val}, test {names_test}")
print(f"mask values {np.unique(y_train).tolist()}; cell (white) fraction {y_train.mean():.3f}")
plots.show_grid([x_train[0], y_train[0], x_train[1], y_train[1]], ["image", "mask", "image", "mask"], ncols=4, size=2.6);


# %% [markdown]
# About 77% of the pixels are cell interior. A model that predicts "cell" everywhere therefore already has 77% pixel
# accuracy and finds no membrane at all. This **class imbalance** is why we score each class on its own, with two
# overlap measures. For one class, let *P* be the set of pixels predicted as that class and *T* the set of pixels
# that truly are:
# - **IoU** (intersection over union, Jaccard index): |P ∩ T| / |P ∪ T|, the overlap as a share of everything
#   either one marks;
# - **Dice** (F1 score of the pixels): 2 |P ∩ T| / (|P| + |T|). It is never below the IoU, and
#   Dice = 2 IoU / (1 + IoU).
#
# Both are 1 for a perfect mask and 0 when the sets do not touch. Watch the membrane class's IoU and Dice.
#
# ## Paired augmentation, three ways
#
# Every geometric transform must hit the image and its mask **identically**. The mask must never be
# interpolated into grey values. To check each method, we use a synthetic pair whose mask is *defined* by the
# image: the image is made of flat blocks, and the mask is "bright block". After a transform, wherever the image is
# still flat, the mask must agree with it exactly.

# %%
def synthetic_pair(n=4, size=128, block=16, seed=0):
    coarse = np.random.default_rng(seed).integers(0, 2, (n, size // block, size // block, 1))
    mask = np.kron(coarse, np.ones((1, block, block, 1))).astype(np.uint8)
    return (mask * 200 + 20).astype(np.uint8), mask


def misaligned_fraction(images, masks):
    """Share of flat image pixels (20 or 220) whose mask disagrees, and the set of mask values."""
    images, masks = np.asarray(images, np.float32), np.asarray(masks, np.float32)
    bright, dark = np.isclose(images, 220, atol=0.5), np.isclose(images, 20, atol=0.5)
    wrong = (masks[bright] != 1).sum() + (masks[dark] != 0).sum()
    return wrong / (bright.sum() + dark.sum()), np.unique(np.round(masks, 3))


pair_x, pair_y = synthetic_pair()

# %% [markdown]
# ### 1. The legacy way: two `ImageDataGenerator`s with one seed
#
# zhixuhao/unet builds one generator for images and one for masks, with the same arguments and the same `seed`, and
# zips them. Its augmentation is `rotation_range=0.2, width_shift_range=0.05, height_shift_range=0.05,
# shear_range=0.05, zoom_range=0.05, horizontal_flip=True, fill_mode="nearest"`. **Pitfall: `rotation_range` is in
# degrees, so 0.2 means a fifth of a degree.** Here we use 20 degrees, so that the alignment check has real
# rotations to test.

# %%
#@save
def legacy_paired_generators(images, masks, *, batch_size, seed, **augmentation):
    """zhixuhao/unet's recipe: two ImageDataGenerators with the same arguments and seed, zipped.
    Yields (image batch, mask batch), float32 in the input's range; the masks come out interpolated."""
    legacy = tf.keras.preprocessing.image.ImageDataGenerator
    image_flow = legacy(**augmentation).flow(images.astype("float32"), batch_size=batch_size, seed=seed)
    mask_flow = legacy(**augmentation).flow(masks.astype("float32"), batch_size=batch_size, seed=seed)
    return zip(image_flow, mask_flow)


legacy = legacy_paired_generators(pair_x, pair_y, batch_size=4, seed=1, rotation_range=20, width_shift_range=0.05,
                                  height_shift_range=0.05, zoom_range=0.05, horizontal_flip=True, fill_mode="nearest")
legacy_x, legacy_y = next(legacy)
wrong, values = misaligned_fraction(legacy_x, np.round(legacy_y))
print(f"mask values straight out of the generator: {len(np.unique(legacy_y))} distinct, e.g. {np.unique(legacy_y)[1:4]}")
print(f"after thresholding at 0.5: misaligned {wrong:.4f}, values {values}")

# %% [markdown]
# The masks come out **interpolated**: bilinear rotation and zoom make grey values along every edge, so they must be
# thresholded again (zhixuhao uses `mask > 0.5`). After that they align, as long as one thread draws the numbers.
#
# Why do they align at all? Each generator's `next()` reseeds NumPy's *global* random generator with
# `seed + batches_seen` and then draws its transform from it. Both draw the same numbers, unless something else
# draws from the global generator in between. With Keras 2's `fit_generator(workers > 1)`, another thread preparing
# another batch did exactly that. We simulate one such stray draw landing between the mask generator's reseed and
# its transform:

# %%
image_gen = tf.keras.preprocessing.image.ImageDataGenerator(rotation_range=20, fill_mode="nearest")
mask_gen = tf.keras.preprocessing.image.ImageDataGenerator(rotation_range=20, fill_mode="nearest")
original_draw = mask_gen.get_random_transform


def draw_after_another_thread(*args, **kwargs):
    np.random.rand()  # another worker thread used the global RNG just now
    return original_draw(*args, **kwargs)


mask_gen.get_random_transform = draw_after_another_thread
x_b = next(image_gen.flow(pair_x.astype("float32"), batch_size=4, seed=1))
y_b = next(mask_gen.flow(pair_y.astype("float32"), batch_size=4, seed=1))
print(f"misaligned with one stray draw: {misaligned_fraction(x_b, np.round(y_b))[0]:.3f}")

# %% [markdown]
# ### 2. The post's random-crop generator, fixed
#
# The segmentation post wrote an endless generator that cropped a whole batch of images and masks at **one** random
# position. It had an inclusive `randint(0, batches)` that could yield an empty batch, never shuffled, and ran no
# other augmentation. The fixed generator below takes its batches from lesson 3's corrected generator (every pair
# once per pass, in a new order) and gives **every pair its own crop position** with
# `helpers.paired.paired_random_crop`. Cropping cuts pixels and never resamples them, so mask values survive exactly.

# %%
#@save
from helpers.taught.feeding import batches  # lesson 3's corrected generator


def paired_crop_generator(images, masks, *, crop, batch_size, seed=0):
    """The post's random-crop generator, fixed: endless (images, masks) batches of crop x crop windows, every
    pair once per pass in a new order, each pair at its own position (batch k cropped with the seed (seed, k))."""
    for k, (x, y) in enumerate(batches(images, masks, batch_size, seed=seed)):
        x_crop, y_crop = paired.paired_random_crop(x, y, crop, seed=(seed, k))
        yield x_crop.numpy(), y_crop.numpy()


crops = paired_crop_generator(pair_x, pair_y, crop=48, batch_size=4, seed=0)
crop_x, crop_y = next(crops)
print("misaligned, mask values:", misaligned_fraction(crop_x, crop_y))
plots.show_grid(list(crop_x) + list(crop_y), ["image crop"] * 4 + ["mask crop"] * 4, ncols=4, size=1.6);


# %% [markdown]
# ### 3. The modern way
#
# **(a) A paired `tf.data` pipeline.** This is how we train. Each batch *k* gets a stateless seed
# `(SEED, k)`, split with `tf.random.split` into one seed for the crop and one for the augmentation: a random
# 256x256 window per pair, then `recipes.MEMBRANE.paired`: flips, rotation ±10°, zoom ±10% and shifts ±5% with
# reflected borders, then one elastic field, each drawn **once per pair** and applied to both (the image
# bilinearly, the mask nearest-neighbour).
#
# The two paired transforms come first. The affine one draws one matrix per pair with lesson 1's
# `random_affine_matrices` and applies it twice. The elastic one draws a smooth displacement field: uniform noise,
# blurred with `sigma` pixels (lesson 1's blur), scaled so that its largest displacement along either axis is
# `alpha / 2` pixels; every pixel of image and mask is then sampled at its displaced position.

# %%
#@save
from helpers.taught.basic_ops import apply_affine, blur_float_batch, image_seeds, random_affine_matrices  # lesson 1


def paired_random_affine(image, mask, *, seed, rotation=0.0, shift=0.0, zoom=0.0, shear=0.0,
                         horizontal_flip=False, vertical_flip=False, fill_mode="reflect"):
    """ONE random affine draw per pair (lesson 1's units), applied to the image (bilinear) and its mask (nearest:
    values kept). image (H, W, C) or (N, H, W, C), mask (..., 1), uint8 or [0, 1] float; shapes and dtypes kept."""
    image, mask = paired.check_pair(image, mask)
    m = random_affine_matrices(image_seeds(image, seed), tf.shape(image)[-3], tf.shape(image)[-2],
                               rotation=rotation, shift=shift, zoom=zoom, shear=shear,
                               horizontal_flip=horizontal_flip, vertical_flip=vertical_flip)
    return (apply_affine(image, m, fill_mode=fill_mode, interpolation="bilinear"),
            apply_affine(mask, m, fill_mode=fill_mode, interpolation="nearest"))


def elastic_field(seed, height, width, *, alpha=34.0, sigma=4.0):
    """A smooth random displacement field (H, W, 2) in pixels (dy, dx), its largest component alpha / 2 pixels.
    (Simard et al., 2003 multiply the blurred noise by alpha; fixing the peak makes alpha mean the same whatever
    sigma and the image size.)"""
    noise = tf.random.stateless_uniform([1, height, width, 2], augment.as_seed(seed), -1.0, 1.0)
    smooth = blur_float_batch(noise, sigma, int(math.ceil(3 * sigma)))[0]
    return smooth * (alpha / (tf.reduce_max(tf.abs(smooth)) + 1e-8)) * 0.5


# %%
#@save
def sample_at(image, ys, xs, nearest):
    """A float image (H, W, C) sampled at float coordinates ys, xs (H, W): bilinear, or the nearest pixel. Edges
    clamp (fill 'nearest')."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    clamp_y = lambda v: tf.clip_by_value(v, 0, h - 1)
    clamp_x = lambda v: tf.clip_by_value(v, 0, w - 1)
    if nearest:
        idx = tf.stack([clamp_y(tf.cast(tf.round(ys), tf.int32)), clamp_x(tf.cast(tf.round(xs), tf.int32))], -1)
        return tf.gather_nd(image, idx)
    y0, x0 = tf.floor(ys), tf.floor(xs)
    wy, wx = (ys - y0)[..., None], (xs - x0)[..., None]
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    corner = lambda dy, dx: tf.gather_nd(image, tf.stack([clamp_y(y0 + dy), clamp_x(x0 + dx)], -1))
    top = corner(0, 0) * (1 - wx) + corner(0, 1) * wx
    bottom = corner(1, 0) * (1 - wx) + corner(1, 1) * wx
    return top * (1 - wy) + bottom * wy


def paired_elastic(image, mask, *, seed, field="dense", **field_args):
    """ONE elastic field per pair, applied to the image (bilinear) and its mask (nearest: values kept). One pair or
    a batch (each pair its own field); shapes and dtypes kept. field: "dense" (elastic_field(alpha=, sigma=)) or
    "grid" (the U-Net paper's, grid_elastic_field(grid=, sigma=), written further down)."""
    image, mask = paired.check_pair(image, mask)
    if field not in ("dense", "grid"):
        raise ValueError(f'field must be "dense" or "grid", got {field!r}')
    make_field = elastic_field if field == "dense" else grid_elastic_field  # the paper's: written further down

    def one(img, msk, s):
        h, w = tf.shape(img)[0], tf.shape(img)[1]
        field = make_field(s, h, w, **field_args)
        grid_y, grid_x = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")
        ys, xs = grid_y + field[..., 0], grid_x + field[..., 1]
        warped = augment.from_float(sample_at(augment.to_float(img), ys, xs, nearest=False), img.dtype)
        warped_mask = augment.from_float(sample_at(augment.to_float(msk), ys, xs, nearest=True), msk.dtype)
        return warped, warped_mask

    return augment.per_sample(one, (image, mask), seed)

# %%
#@save
AUTOTUNE = tf.data.AUTOTUNE


def crop_and_transform(images, masks, seed, *, crop, transform=None):
    """One batch of pairs: a random crop x crop window per pair, then transform(x, y, seed) on both.
    seed: a stateless pair, split into one seed for the crop and one for the transform. Dtypes unchanged."""
    crop_seed, transform_seed = tf.unstack(tf.random.split(seed, 2))
    x, y = paired.paired_random_crop(images, masks, crop, seed=crop_seed)
    if transform is not None:
        x, y = transform(x, y, transform_seed)
    return x, y


def paired_stream(images, masks, *, crop, batch_size, seed, transform=None, weights=None):
    """Endless (image, mask) batches; batch k is cropped and transformed with the seed (seed, k).
    images uint8 (N, H, W, 1), masks {0, 1}; yields float32 images in [0, 1] and float32 masks.
    weights: optional float32 (N, H, W, 1) >= 0, per-pixel loss weights. They go through the same crop and
    transform as the images (same seed, same draw: transform must be geometric and stateless, as the recipes are),
    and the batches become (images, masks, weights)."""
    base = tf.constant(seed, tf.int64)
    scale = float(np.max(weights)) if weights is not None else 1.0  # the transforms take floats in [0, 1]
    parts = (images, masks) if weights is None else (images, masks, np.asarray(weights, np.float32) / scale)
    ds = tf.data.Dataset.from_tensor_slices(parts)
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size).enumerate()

    def step(k, batch):
        x, y = crop_and_transform(batch[0], batch[1], tf.stack([base, k]), crop=crop, transform=transform)
        out = (tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.float32))
        if weights is not None:  # the same seed again: the same windows and the same transform
            w, _ = crop_and_transform(batch[2], batch[1], tf.stack([base, k]), crop=crop, transform=transform)
            out += (w * scale,)
        return out

    return ds.map(step, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


stream = paired_stream(pair_x, pair_y, crop=96, batch_size=4, seed=SEED, transform=recipes.MEMBRANE.paired)
modern_x, modern_y = next(iter(stream))
print("misaligned, mask values:", misaligned_fraction(np.round(modern_x * 255), modern_y))

# %% [markdown]
# **(b) Keras 3 augmentation layers on a dict.** Called on `{"images": x, "segmentation_masks": m}`, a Keras 3
# augmentation layer draws once and transforms both. In Keras 3.15 masks are resampled nearest-neighbour.

# %%
pair = {"images": pair_x.astype("float32"), "segmentation_masks": pair_y.astype("float32")}
keras_layers = [keras.layers.RandomFlip("horizontal_and_vertical", seed=0),
                keras.layers.RandomRotation(0.1, fill_mode="reflect", seed=1),
                keras.layers.RandomZoom(0.2, fill_mode="reflect", seed=2),
                keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=3),
                keras.layers.RandomElasticTransform(factor=(1.0, 1.0), scale=0.5, seed=4)]  # every pair: see the text below
for layer in keras_layers:
    out = layer(dict(pair), training=True)  # a copy: Keras 3.15 layers write their result back into the dict
    wrong, values = misaligned_fraction(out["images"], out["segmentation_masks"])
    print(f"{type(layer).__name__:<24} misaligned {wrong:.4f}   mask values {values}")
wrong, values = misaligned_fraction(*paired_elastic(pair_x, pair_y, seed=4, alpha=20, sigma=6))
print(f"{'paired_elastic (above)':<24} misaligned {wrong:.4f}   mask values {values}")

elastic_x, elastic_y = paired_elastic(pair_x[:1], pair_y[:1], seed=4, alpha=20, sigma=6)
keras_elastic = keras_layers[-1](dict(pair), training=True)
plots.show_grid([pair_x[0], elastic_x[0], elastic_y[0], keras_elastic["images"][0], keras_elastic["segmentation_masks"][0]],
                ["original", "paired_elastic: image", "paired_elastic: mask", "Keras: image", "Keras: mask"],
                ncols=5, size=2.4);


# %% [markdown]
# Flip, rotation, zoom and translation keep the pair aligned. **`RandomElasticTransform` does not**: in Keras 3.15 it
# moves the mask differently from the image, and a share of flat pixels get the wrong label (the figure shows one
# pair). The U-Net paper relies on elastic deformation for exactly this data, which is why this lesson writes
# `paired_elastic`: **one** field for both (`alpha=20`: at most 10 pixels across and 10 down).
#
# The Keras layer there is built with `factor=(1.0, 1.0)`, so it deforms every pair. With its default
# `factor=1.0`, each pair would draw its own probability from U(0, 1) and about half would come out untouched: the
# trap lesson 1 met in `RandomErasing`.
#
# ## The model
#
# The U-Net, written out. Each encoder level is two 3x3 convolutions, then a 2x2 max-pool; the decoder up-samples,
# convolves, concatenates the encoder features of the same size (the skip connection), and convolves twice more.
# With `padding="same"` the output has the input's size, and with no dense layer the network takes **any size
# divisible by 2 ** depth**: we train on 256x256 crops and predict whole 512x512 images.

# %%
#@save
def unet(base_filters=64, depth=4, channels=1, batch_norm=False, dtype=None):
    """U-Net with "same" padding: (N, H, W, channels) -> (N, H, W, 1) sigmoid probabilities of "cell".
    batch_norm: normalise each 3x3 convolution's output before its ReLU (not in the paper). dtype: the hidden
    layers' Keras dtype policy (None: the global one; "mixed_bfloat16": compute in bfloat16, keep float32
    weights); the output layer computes in float32."""
    def double_conv(x, filters):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", activation=None if batch_norm else "relu",
                              kernel_initializer="he_normal", dtype=dtype)(x)
            if batch_norm:
                x = layers.Activation("relu", dtype=dtype)(layers.BatchNormalization(dtype=dtype)(x))
        return x

    inputs = keras.Input((None, None, channels))
    x, skips = inputs, []
    for level in range(depth):                      # encoder: what is there
        x = double_conv(x, base_filters * 2**level)
        skips.append(x)
        x = layers.MaxPooling2D(2, dtype=dtype)(x)
    x = double_conv(x, base_filters * 2**depth)     # bottleneck
    for level in reversed(range(depth)):            # decoder: where it is
        x = layers.UpSampling2D(2, dtype=dtype)(x)
        x = layers.Conv2D(base_filters * 2**level, 2, padding="same", activation="relu", dtype=dtype)(x)
        x = layers.Concatenate(dtype=dtype)([skips[level], x])
        x = double_conv(x, base_filters * 2**level)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"unet_{base_filters}x{depth}")


# %% [markdown]
# The original U-Net has `base_filters=64` (31 million parameters). On 2 CPU cores one step of that takes many
# seconds, so **full mode uses `base_filters=16`**, a 16th of the compute per layer.
#
# **Mixed precision.** With `dtype="mixed_bfloat16"` the hidden layers compute in bfloat16 (float32's range, 2 to 3
# significant digits); the weights, Adam's state and the output layer stay float32. On a 2-core CPU with
# bfloat16 matrix units (Intel's AMX), a step of the 16-filter U-Net took 0.2269 s instead of 0.5501 s
# (`unet_costs.json`). Other hardware may gain nothing, so the training cell times a step both ways first.
#
# ## What the U-Net paper adds
#
# Ronneberger et al. trained on these 30 images and set a new best score on the ISBI challenge's leaderboard.
# Beside elastic deformation they used a weight map in the loss, overlap-tile prediction and averaging over
# rotated inputs. We write each one, add a Dice loss, and measure what each gives.
#
# ### 1. A weight map that makes thin membranes count
#
# The membrane *between two close cells* is only a few pixels wide. A plain cross-entropy barely notices when a
# network blurs such a gap shut, and then two cells merge. The paper weighs each pixel *x* in the loss by (eq. 2)
#
# w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / (2σ²)),
#
# where w_c balances the two classes, d1 and d2 are the distances to the nearest and the second-nearest cell, and
# w0 = 10, σ ≈ 5 pixels. The second term is large only where two cells come close: exactly the thin membranes.
#
# ### 2. A loss that scores the membranes as a whole (not the paper's)
#
# The other common answer is to add a **Dice loss**, 1 − Dice of the membrane class: it counts the overlap of
# predicted and true membrane, whatever their share of the image. `keras.losses.Dice`
# scores the class the masks mark 1 (cell here), so `bce_membrane_dice` below gives it `1 - y`.

# %%
#@save
from scipy import ndimage


def border_weight_map(mask, *, w0=10.0, sigma=5.0):
    """The U-Net paper's weight map (eq. 2) of one mask (H, W, 1) with 1 = cell, 0 = membrane: the class weight
    w_c (0.5 / the class's share of pixels) plus, on membrane pixels, w0 * exp(-(d1 + d2)^2 / (2 sigma^2)), d1 and
    d2 the distances in pixels to the nearest and second-nearest cell. float32 (H, W, 1), all > 0."""
    cell = np.asarray(mask)[..., 0].astype(bool)
    reach = int(4 * sigma)  # farther than this from a cell, its distance adds < w0 * exp(-8) to any weight
    cells, _ = ndimage.label(cell)
    d1, d2 = np.full(cell.shape, np.inf), np.full(cell.shape, np.inf)
    for k, box in enumerate(ndimage.find_objects(cells), start=1):  # one distance map per cell, near that cell
        window = tuple(slice(max(b.start - reach, 0), b.stop + reach) for b in box)
        d = ndimage.distance_transform_edt(cells[window] != k)
        near1, near2 = d1[window], d2[window]
        d2[window] = np.where(d < near1, near1, np.minimum(near2, d))
        d1[window] = np.minimum(near1, d)
    share = np.clip(cell.mean(), 1e-3, 1 - 1e-3)
    class_weight = np.where(cell, 0.5 / share, 0.5 / (1 - share))
    border = np.where(cell, 0.0, w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2)))
    return (class_weight + border).astype(np.float32)[..., None]


@keras.saving.register_keras_serializable(package="course")
def bce_membrane_dice(y_true, y_pred):
    """Binary cross-entropy per pixel plus 1 - (soft Dice of the membranes over the batch). y: (N, H, W, 1),
    y_true {0, 1} with 1 = cell, y_pred the probability of cell."""
    return keras.losses.binary_crossentropy(y_true, y_pred) + keras.losses.Dice()(1.0 - y_true, 1.0 - y_pred)


# %%
weights_train = np.stack([border_weight_map(m) for m in y_train])
print(f"weights of the {len(y_train)} training masks: mean {weights_train.mean():.2f}, max {weights_train.max():.2f}")
plots.show_grid([x_train[0], y_train[0], weights_train[0] / weights_train.max()],
                ["image", "mask", "weight map (eq. 2), scaled to [0, 1]"], ncols=3, size=3.2);

# %% [markdown]
# The brightest pixels are the narrow gaps between two cells; the wide membrane areas get the class weight only.
# `paired_stream(..., weights=weights_train)` transforms the weight map with its pair's seed and yields
# `(images, masks, weights)`: `fit` takes a third element as **per-pixel sample weights**, so the plain
# `"binary_crossentropy"` becomes the paper's weighted loss.
#
# ### 3. Elastic deformation as the paper draws it
#
# Our `elastic_field` blurs per-pixel noise: many small, local swirls. The paper draws **a coarse 3x3 grid of
# random displacement vectors**, each from a normal distribution with a standard deviation of 10 pixels, and
# interpolates them bicubically to every pixel: a few large, smooth bends of the whole crop.

# %%
#@save
def grid_elastic_field(seed, height, width, *, grid=3, sigma=10.0):
    """The U-Net paper's displacement field (H, W, 2) in pixels (dy, dx): a grid x grid of vectors drawn from
    N(0, sigma^2), interpolated bicubically to every pixel. paired_elastic(field="grid") applies it."""
    coarse = tf.random.stateless_normal([1, grid, grid, 2], augment.as_seed(seed), stddev=sigma)
    return tf.image.resize(coarse, tf.stack([height, width]), method="bicubic")[0]


lines = np.full((1, 256, 256, 1), 255, np.uint8)
lines[:, ::16], lines[:, :, ::16] = 0, 0  # a square grid shows the deformation best
views = [(x_train[:1, :256, :256], y_train[:1, :256, :256]), (lines, (lines > 0).astype(np.uint8))]
panels, titles = [], []
for field, args in [("dense", recipes.MEMBRANE.elastic), ("grid", recipes.MEMBRANE_PAPER.elastic)]:
    for image, mask in views:
        panels.append(paired_elastic(image, mask, seed=3, **{"field": field, **args})[0][0])
    titles += [f"{field}: image", f"{field}: a square grid"]
plots.show_grid(panels, titles, ncols=4, size=2.6);


# %% [markdown]
# `recipes.MEMBRANE` is the course's recipe (affine, then the dense field with `alpha=20, sigma=6`);
# `recipes.MEMBRANE_PAPER` has the same affine part and the paper's grid field.
#
# ## Training
#
# One function: the paired stream (with the weight map when the loss needs it), the U-Net, `compile` with a
# learning rate that decays along a cosine to zero, and `fit` with the whole validation images after every epoch.
# `ModelCheckpoint` keeps the epoch with the best validation membrane IoU as a `.keras` file.
#
# Which recipe? `membrane_unet.json` holds every arm of `recipes.UNET_ARMS`: `paper_weighted` and four variants
# that each change one ingredient (1,200 steps, float32), and two that use bfloat16's speed for width (32 filters)
# or steps (3,000). The **final recipe was chosen by the membrane Dice on the validation images**, never the test
# images; the next cell reads that choice, and full mode trains it.

# %%
#@save
def train_unet(train, val, *, transform, loss, path, seed, base_filters=16, depth=4, batch_norm=False, dtype=None,
               epochs=30, steps_per_epoch=40, crop=256, batch_size=4, learning_rate=1e-3, verbose=0, callbacks=()):
    """Train a U-Net on (images, masks) = train, uint8 (N, H, W, 1) and {0, 1}; keep the epoch with the best
    membrane IoU on the whole val images, saved at path. loss: "bce", "weighted" (border_weight_map) or
    "bce_dice" (bce_membrane_dice); dtype: see unet. Returns (best model, History, seconds of training steps)."""
    keras.utils.set_random_seed(seed)
    weights = np.stack([border_weight_map(m) for m in train[1]]) if loss == "weighted" else None
    stream = paired_stream(*train, crop=crop, batch_size=batch_size, seed=seed, transform=transform, weights=weights)
    val_data = tf.data.Dataset.from_tensor_slices((val[0].astype("float32") / 255.0, val[1].astype("float32")))
    model = unet(base_filters, depth, batch_norm=batch_norm, dtype=dtype)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, epochs * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=bce_membrane_dice if loss == "bce_dice" else "binary_crossentropy",
                  metrics=["accuracy", keras.metrics.BinaryIoU(target_class_ids=[0], name="membrane_iou")])
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_membrane_iou", mode="max", save_best_only=True)
    timer = metrics.EpochTimer()
    history = model.fit(stream, steps_per_epoch=steps_per_epoch, epochs=epochs, validation_data=val_data.batch(2),
                        callbacks=[checkpoint, timer, *callbacks], shuffle=False, verbose=verbose)  # shuffled already
    return keras.models.load_model(path), history, sum(timer.times)


# %%
study = measured.load("membrane_unet")
final = study_runs.final_unet_arm(study["rows"])
augmentation, loss, batch_norm, base_filters, dtype, steps = recipes.UNET_ARMS[final]
settings = dict(base_filters=config.pick(quick=4, full=base_filters), depth=4, dtype=dtype,
                epochs=config.pick(quick=1, full=30), steps_per_epoch=config.pick(quick=3, full=steps),
                crop=config.pick(quick=128, full=256), batch_size=4)
if dtype:  # bfloat16 pays only where the hardware computes it fast: time a step both ways, keep the faster
    steps_f32, steps_b16 = study_runs.unet_step_costs([settings["base_filters"]], dtypes=("float32", dtype),
                                                      crop=settings["crop"], repeats=config.pick(quick=1, full=3))
    settings["dtype"] = dtype if steps_b16["seconds_per_step"] < steps_f32["seconds_per_step"] else "float32"
    print(f"one step here: float32 {steps_f32['seconds_per_step']:.2f} s, {dtype} {steps_b16['seconds_per_step']:.2f} s")
print(f"final recipe: {final} ({augmentation.description}; loss {loss}; batch norm {batch_norm})\n{settings}")

# %%
model_path = config.output_dir("models") / "unet_membrane.keras"
model, history, train_seconds = train_unet((x_train, y_train), (x_val, y_val), transform=augmentation.paired,
                                           loss=loss, batch_norm=batch_norm, path=model_path, seed=SEED,
                                           verbose=VERBOSE, **settings)
print(f"trained in {train_seconds / 60:.1f} min of training steps; best epoch saved to {model_path}")

reference = next(r for r in study["rows"] if r["arm"] == final and r["seed"] == SEED)
plots.learning_curves({"U-Net": history.history}, reference={"U-Net": reference["history"]},
                      metrics=("loss", "membrane_iou"));


# %% [markdown]
# The pale curves are the same training measured in full mode on a 2-core CPU.
#
# ## Predicting a whole image: overlap-tile and the eight symmetries
#
# **Overlap-tile** (the paper's Fig. 2). Predicting a large image in tiles keeps memory bounded, but a pixel near a
# tile's edge sees little context. So each tile is predicted with a margin of context, and only its centre is
# kept; at the image border the missing context is filled by **mirroring** the image.
#
# **Test-time augmentation over the dihedral group.** A micrograph has no "up": its 4 right-angle rotations, each
# with and without a flip, are 8 equally valid views. Predict each, turn each prediction back, and average. (The
# paper averaged 7 rotated versions of each input.)

# %%
#@save
def predict_tiles(model, images, *, tile=256, margin=32, batch_size=8):
    """Overlap-tile prediction: mirror the borders, predict tile x tile windows, keep each window's centre
    (tile - 2 * margin pixels square). images float32 (N, H, W, C) in [0, 1], any H and W; returns (N, H, W, 1)
    probabilities. tile: a size the model takes (a multiple of 2**depth)."""
    n, h, w = images.shape[:3]
    step = tile - 2 * margin
    rows, cols = math.ceil(h / step), math.ceil(w / step)
    padded = np.pad(images, [(0, 0), (margin, rows * step - h + margin), (margin, cols * step - w + margin), (0, 0)],
                    mode="reflect")
    corners = [(r * step, c * step) for r in range(rows) for c in range(cols)]
    windows = np.concatenate([padded[:, y:y + tile, x:x + tile] for y, x in corners])
    probs = model.predict(windows, batch_size=batch_size, verbose=0)
    out = np.zeros((n, rows * step, cols * step, probs.shape[-1]), np.float32)
    for i, (y, x) in enumerate(corners):
        out[:, y:y + step, x:x + step] = probs[i * n:(i + 1) * n, margin:margin + step, margin:margin + step]
    return out[:, :h, :w]


def predict_d4(predict, images):
    """predict(images) averaged over the 8 flips and right-angle rotations, each prediction turned back first.
    images (N, H, W, C); predict returns (N, H, W, K) for any H, W."""
    total = 0.0
    for flip in (False, True):
        view = images[:, :, ::-1] if flip else images
        for k in range(4):
            back = np.rot90(predict(np.ascontiguousarray(np.rot90(view, k, axes=(1, 2)))), -k, axes=(1, 2))
            total = total + (back[:, :, ::-1] if flip else back)
    return total / 8


def prediction_ways(model, *, tile=256, margin=32):
    """The four ways to predict whole images that the lesson compares: name -> function(float images) -> probs."""
    whole = lambda x: model.predict(x, batch_size=2, verbose=0)
    tiles = lambda x: predict_tiles(model, x, tile=tile, margin=margin)
    return {"whole": whole, "tiles": tiles, "whole_d4": lambda x: predict_d4(whole, x),
            "tiles_d4": lambda x: predict_d4(tiles, x)}


# %% [markdown]
# ## Evaluation, once, on the test images
#
# The checkpoint was chosen on the validation images, so its validation score is optimistic: we picked the best
# of 30 epochs *because* it scored well there. Hence a **third** set, the test pairs `splits.MEMBRANE_TEST_NAMES`
# (five adjacent sections), touched once, now.
# `metrics.segmentation_report` thresholds the probabilities at 0.5 and scores each class.
#
# Every recipe, measured in full mode (`membrane_unet.json`): the mean over its seeds (± sample standard
# deviation) on the test images, four ways. Read the first five rows against `paper_weighted`, the last two
# against `paper_dice`; the last lines give the validation Dice that chose the final recipe.

# %%
ways = prediction_ways(model, tile=config.pick(quick=128, full=256), margin=config.pick(quick=16, full=32))
scored = slice(config.pick(quick=2, full=None))  # quick mode scores two test pairs, full mode all of them
test_float = x_test[scored].astype("float32") / 255.0
probs = {name: predict(test_float) for name, predict in ways.items()}
scores = {name: metrics.segmentation_report(y_test[scored], p) for name, p in probs.items()}
print(f"{'test images: ' + ', '.join(names_test[scored]):<40}{'your run':>10}{'measured':>10}   (accuracy, membrane Dice)")
for name, s in scores.items():
    m = reference["test"][name]
    print(f"  {name:<38}{s['pixel_accuracy']:>10.4f}{m['pixel_accuracy']:>10.4f}   "
          f"{s['dice_membrane']:.4f} / {m['dice_membrane']:.4f}")
config.quick_note()
print(plots.unet_ablation_table(study["rows"], final))

# %%
paper_way = "tiles_d4"  # overlap-tile and the 8 views, as the paper predicts
plots.segmentation_panel(x_test[:2], y_test[:2], probs[paper_way][:2], names=names_test[:2],
                         save_to=config.output_dir("figures") / "unet_membrane_predictions.png");

row = {"arm": final, **settings, "seed": SEED, "train_names": names_train, "validation_names": names_val,
       "test_names": names_test, "train_seconds": round(train_seconds, 1), "test": scores,
       "history": {k: [float(v) for v in vs] for k, vs in history.history.items()}}
print("saved", measured.write(config.output_dir("results") / f"membrane_unet_{config.load_settings().mode}.json",
                              [row], about="Lesson 5: the final U-Net recipe, scored once on the test pairs",
                              command="notebook 05"))

# %% [markdown]
# Image, truth, prediction (tiles and the eight symmetries) and the error map: red where the model missed a
# membrane, blue where it invented one. In quick mode the tiny model has barely trained, and the single-class
# guard may warn that it predicts one class everywhere: the "all black / all grey" output of the zhixuhao/unet
# issue tracker. Usual causes: inputs scaled unlike the training data, masks in {0, 255}, a threshold on the wrong
# class, or too high a learning rate.
#
# **What the measured table says** (seed 0, test pairs, `tiles_d4`, membrane Dice; three-seed table rows are
# means, spread under 0.01):
# - the grid field gave the largest gain: 0.7963 against the dense field's 0.7679;
# - the weight map (0.7963) and the Dice loss (0.7955) beat plain cross-entropy (0.7777); the weight map costs
#   pixel accuracy (0.9103 against 0.9157): its membranes are thicker;
# - batch normalisation: worse on the test pairs (0.7794), better on validation; no verdict;
# - bfloat16's speed: twice the width gained nothing (0.7955, as `paper_dice`), 2.5 times the steps a little
#   (0.8038) and won the validation vote narrowly (0.8080 against 0.8047);
# - overlap-tile and the 8 views: 0.9195 / 0.7995 (whole image, accuracy / Dice) to 0.9217 / 0.8038, for 17 times
#   the prediction time; within the seed spread.
#
# The best recipes stay near 0.92 pixel accuracy and 0.80 membrane Dice (final recipe, three seeds: 0.9232 /
# 0.8042). After epoch 10 the final recipe's validation loss stopped falling (0.4430, then 0.4755 at the end)
# while its training loss fell: the checkpoint keeps epoch 10; more steps would mostly fit training crops.
# The U-Net paper trained about 10 hours on a GPU, at 16 times our compute per pixel.
#
# To reuse the trained model elsewhere: `model = keras.models.load_model("outputs/models/unet_membrane.keras",
# compile=False)` (no custom loss needed), then `probs = predict_d4(lambda v: predict_tiles(model, v),
# images_uint8[..., None] / 255.0)` from `helpers.taught.segmentation`; `probs[..., 0] < 0.5` is the membrane.
#
# ## Pitfalls, named
#
# - **`rotation_range=0.2` is 0.2 degrees** in `ImageDataGenerator`. Keras 3's `RandomRotation(0.2)` turns by up
#   to 0.2 of a *turn* (±72 degrees). Always check the unit.
# - **Interpolated masks.** Bilinear resampling turns a 0/1 mask into grey values. Resample masks nearest-neighbour,
#   or threshold them again.
# - **Scoring on the images that chose the checkpoint.** `ModelCheckpoint` picks the epoch that scored best on the
#   validation images, so their score flatters the model. Report a third set, scored once.
# - **The sigmoid threshold** decides the class. 0.5 is a choice, and with 77% cell pixels a lower membrane
#   threshold can trade precision for recall. Choose it on the validation images, never on the test images.
# - **Class imbalance.** Pixel accuracy rewards predicting "cell". Watch the membrane IoU and Dice; the weight map
#   and the Dice loss are the two answers measured above.
# - **Paired randomness.** Two generators that share a seed drift apart as soon as anything else draws from the
#   same random stream. Draw once and apply to both; a third array that must move with the pair (the weight map)
#   takes the same seed.
#
# ## Exercises
#
# 1. Train the final recipe with `recipes.MEMBRANE_PAPER.without_elastic().paired` as the transform. Compare the
#    membrane Dice on the test pairs and the learning curves with the measured run. What does the elastic field
#    buy on a few dozen training images, and why would it buy less on a few thousand?
# 2. Choose the threshold: on the **validation** pairs, find the threshold in 0.30, 0.35, ..., 0.70 that gives
#    the best membrane Dice with `tiles_d4` predictions, then score the test pairs once with it. Why would choosing
#    it on the test pairs make the reported score worthless?
# 3. `border_weight_map` looks at each cell only within `4 * sigma` pixels of it. Show that a pixel farther away
#    gains less than `w0 * exp(-8)` from that cell. How large is that next to the class weights?
# 4. `predict_d4` averages 8 views. Which of the 8 would be wrong to use for street photographs, and why are they
#    all right for a micrograph?
# 5. Predict on the unlabelled test images, `config.data_dir() / "membrane" / "test"`, and look at the
#    predictions. Which structures does the model confuse?
#
# ## Summary
#
# - Segmentation predicts a mask of the input's size. A U-Net does it with an encoder, a decoder, and skip
#   connections by concatenation.
# - Pair images and masks by name, check the masks are binary, and split whole images into training, validation
#   and test sets before augmenting. Choose on the validation set; score the test set once.
# - Give the image and its mask **one** random draw. Resample masks nearest-neighbour. Check alignment with a
#   pair whose mask is defined by the image.
# - Keras 3 layers on `{"images", "segmentation_masks"}` keep pairs aligned, except `RandomElasticTransform` in
#   3.15; `paired_elastic` does, with a dense field or the paper's 3x3 grid.
# - The paper's grid field helped most here, then its weight map or a Dice loss, then steps bought with bfloat16;
#   overlap-tile, the 8 views and width gave little. Measure each ingredient alone, on a like budget.
# - Report IoU and Dice per class, and guard against one-class predictions.
