"""Lesson 5's paired image/mask pipeline and U-Net.

GENERATED from ``notebooks/05_unet_membrane_segmentation.py``
by ``python -m coursetools.export``, which copies the lesson's cells marked ``#@save``. Do not edit
this file: edit the lesson and run the command again (tests/test_export.py fails when it is stale).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from scipy import ndimage

from helpers import augment, metrics, paired
from helpers.taught.basic_ops import apply_affine, blur_float_batch, image_seeds, random_affine_matrices
from helpers.taught.feeding import batches


def legacy_paired_generators(images, masks, *, batch_size, seed, **augmentation):
    """zhixuhao/unet's recipe: two ImageDataGenerators with the same arguments and seed, zipped.
    Yields (image batch, mask batch), float32 in the input's range; the masks come out interpolated."""
    legacy = tf.keras.preprocessing.image.ImageDataGenerator
    image_flow = legacy(**augmentation).flow(images.astype("float32"), batch_size=batch_size, seed=seed)
    mask_flow = legacy(**augmentation).flow(masks.astype("float32"), batch_size=batch_size, seed=seed)
    return zip(image_flow, mask_flow)


def paired_crop_generator(images, masks, *, crop, batch_size, seed=0):
    """The post's random-crop generator, fixed: endless (images, masks) batches of crop x crop windows, every
    pair once per pass in a new order, each pair at its own position (batch k cropped with the seed (seed, k))."""
    for k, (x, y) in enumerate(batches(images, masks, batch_size, seed=seed)):
        x_crop, y_crop = paired.paired_random_crop(x, y, crop, seed=(seed, k))
        yield x_crop.numpy(), y_crop.numpy()


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


def grid_elastic_field(seed, height, width, *, grid=3, sigma=10.0):
    """The U-Net paper's displacement field (H, W, 2) in pixels (dy, dx): a grid x grid of vectors drawn from
    N(0, sigma^2), interpolated bicubically to every pixel. paired_elastic(field="grid") applies it."""
    coarse = tf.random.stateless_normal([1, grid, grid, 2], augment.as_seed(seed), stddev=sigma)
    return tf.image.resize(coarse, tf.stack([height, width]), method="bicubic")[0]


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
