"""Input pipelines that several lessons and the drivers share: seeded, shuffled, augmented batches
for ``model.fit`` as ``tf.data`` streams, a corrected Python generator and a ``keras.utils.PyDataset``.

Lessons 2, 3 and 5 write their own pipeline in their cells; these are the library copies that the
benchmark, the studies and lesson 6 reuse. ``tests/test_lessons.py`` checks that each lesson's
version gives the same batches as its copy here.
"""

from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from helpers import augment as aug  # aliased: several functions take an `augment` callable

# (batch uint8 (N, H, W, C), seed int64 [2]) -> augmented batch, same shape and dtype
BatchAugment = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def scale_to_symmetric(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the CIFAR post's scaling."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def training_batches(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    augment: BatchAugment | None = None,
    preprocess: Callable[[tf.Tensor], tf.Tensor] | None = scale_to_symmetric,
    augment_targets: bool = False,
) -> tuple[tf.data.Dataset, int]:
    """An endless, reshuffled-every-epoch stream of (batch, labels), and the steps in one epoch.

    Batch k is augmented with the stateless seed (seed, k), so a run is reproducible and every
    epoch sees fresh draws. Pass ``steps_per_epoch`` to ``model.fit`` (the stream never ends).
    ``augment_targets=True``: ``augment(x, y, seed)`` returns the (x, y) pair. ``preprocess=None``
    leaves the batches as ``augment`` made them. Raises ValueError if ``batch_size`` is larger than the data.
    """
    n = len(x)
    _check_batch(n, len(y), batch_size)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.repeat().batch(batch_size)
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        ds = ds.enumerate().map(lambda k, xy: _augmented(xy[0], xy[1], augment, tf.stack([base, k]), augment_targets),
                                num_parallel_calls=tf.data.AUTOTUNE)
    if preprocess is not None:
        ds = ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), steps_per_epoch(n, batch_size)


def evaluation_batches(
    x: np.ndarray, y: np.ndarray, *, batch_size: int, preprocess: Callable = scale_to_symmetric
) -> tf.data.Dataset:
    """A finite, unshuffled, unaugmented dataset for validation and testing."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------- generators and PyDataset (lesson 3)

ArrayAugment = Callable[[np.ndarray, int], np.ndarray]  # (batch, seed) -> augmented copy, same dtype


def batch_generator(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int = 0, shuffle: bool = True,
                    augment: ArrayAugment | None = None, epochs: int | None = None, augment_targets: bool = False):
    """The corrected generator: each epoch is one pass in a new random order, in batches of
    ``batch_size`` (the last one smaller if needed); augmentation works on a copy.

    Endless unless ``epochs`` is given: pass ``steps_per_epoch=steps_per_epoch(len(x), batch_size)``
    to ``model.fit``. Batch k of the whole run is augmented with seed (seed, k).
    ``augment_targets=True`` (segmentation): ``augment(x, y, seed)`` returns the (x, y) pair.
    """
    _check_batch(len(x), len(y), batch_size)
    rng = np.random.default_rng(seed)
    step, epoch = 0, 0
    while epochs is None or epoch < epochs:
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            yield _augmented(x[idx], y[idx], augment, (seed, step), augment_targets)  # x[idx] copies: x is never written
            step += 1
        epoch += 1


def _augmented(x_batch, y_batch, augment, seed, augment_targets: bool):
    if augment is None:
        return x_batch, y_batch
    if augment_targets:
        return augment(x_batch, y_batch, seed)
    return augment(x_batch, seed), y_batch


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in one pass over n samples, counting the last partial one."""
    return math.ceil(n / batch_size)


def _check_batch(n_x: int, n_y: int, batch_size: int) -> None:
    if n_x != n_y:
        raise ValueError(f"{n_x} images but {n_y} labels")
    if not 1 <= batch_size <= n_x:
        raise ValueError(f"batch_size {batch_size} must be between 1 and the number of images ({n_x})")


class AugmentedPyDataset(keras.utils.PyDataset):
    """``keras.utils.PyDataset`` over in-memory arrays: batch i of epoch e is augmented with seed
    (seed, e * len + i), so results do not depend on which worker made the batch.

    ``workers``, ``use_multiprocessing`` and ``max_queue_size`` go to PyDataset: they replace
    the same-named arguments of ``fit_generator``. ``augment_targets`` as in ``batch_generator``.
    """

    def __init__(self, x, y, batch_size: int, *, seed: int = 0, shuffle: bool = True,
                 augment: ArrayAugment | None = None, augment_targets: bool = False, **kwargs):
        super().__init__(**kwargs)
        _check_batch(len(x), len(y), batch_size)
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.shuffle, self.augment, self.augment_targets, self.epoch = shuffle, augment, augment_targets, 0
        self._order()

    def _order(self):
        rng = np.random.default_rng((self.seed, self.epoch))
        self.order = rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))

    def __len__(self):
        return steps_per_epoch(len(self.x), self.batch_size)

    def __getitem__(self, i):
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        return _augmented(self.x[idx], self.y[idx], self.augment, (self.seed, self.epoch * len(self) + i),
                          self.augment_targets)

    def on_epoch_end(self):
        self.epoch += 1
        self._order()


def decode_resized(path: tf.Tensor, size) -> tf.Tensor:
    """Read and decode one image file (JPEG, PNG, BMP, GIF's first frame) to RGB, resize it
    (bilinear, antialiased) to ``size`` = (H, W): uint8 (H, W, 3)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(image, size, antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0, 255)), tf.uint8)


def image_file_dataset(paths, labels, *, size: tuple[int, int], batch_size: int, seed: int = 0,
                       shuffle: bool = True, repeat: bool = False, augment: BatchAugment | None = None,
                       preprocess: Callable[[tf.Tensor], tf.Tensor] | None = None) -> tf.data.Dataset:
    """Stream images from disk: read, decode to RGB, resize (bilinear) to ``size``, batch,
    augment (batch k of the whole run with seed (seed, k)), preprocess, prefetch.

    ``repeat=True`` for training: an endless stream of epochs, each one pass in a new order
    with its last batch partial; pass ``steps_per_epoch``. Without it, one pass per iteration
    (but then the k-th batch of every epoch gets the same augmentation draw).

    Give it paths that ``imagefolders.scan`` accepted: a corrupt file would stop an epoch.
    Images leave decoding as uint8 (N, H, W, 3); ``labels`` are passed through.
    """
    _check_batch(len(paths), len(labels), batch_size)
    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], np.asarray(labels)))
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)

    ds = ds.map(lambda path, label: (decode_resized(path, size), label),
                num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)
    if repeat:
        ds = ds.repeat()  # after batch: epoch boundaries and the partial last batch are kept
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        ds = ds.enumerate().map(lambda k, xy: (augment(xy[0], tf.stack([base, k])), xy[1]),
                                num_parallel_calls=tf.data.AUTOTUNE)
    if preprocess is not None:
        ds = ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------- paired image/mask batches (lesson 5)

PairAugment = Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


def paired_training_batches(images: np.ndarray, masks: np.ndarray, *, crop: int, batch_size: int, seed: int,
                            augment: PairAugment | None = None) -> tuple[tf.data.Dataset, int]:
    """Endless batches of random ``crop`` x ``crop`` windows of (image, mask) pairs, a position per
    sample, then ``augment(images, masks, seed)`` on the batch (one draw per pair, shared by both).
    Batch k's crop and augmentation seeds are split from (seed, k) with ``tf.random.split``.

    images uint8 (N, H, W, 1); masks uint8 {0, 1} (N, H, W, 1). Yields (float32 [0, 1] images,
    float32 {0, 1} masks). Each pass visits every image once, in a new order. Returns the stream
    and the steps in one pass.
    """
    _check_batch(len(images), len(masks), batch_size)
    base = tf.constant(seed, tf.int64)
    ds = tf.data.Dataset.from_tensor_slices((images, masks)).shuffle(len(images), seed=seed,
                                                                     reshuffle_each_iteration=True)
    ds = ds.repeat().batch(batch_size).enumerate()

    def step(k, pair):
        x, y = crop_and_augment(pair[0], pair[1], crop=crop, seed=tf.stack([base, k]), augment=augment)
        return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.float32)

    ds = ds.map(step, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), steps_per_epoch(len(images), batch_size)


def crop_and_augment(images, masks, *, crop: int, seed, augment: PairAugment | None = None):
    """One batch of pairs: a random ``crop`` x ``crop`` window per pair, then ``augment(images, masks, seed)``.
    The crop and augmentation seeds are split from ``seed`` (a stateless pair) with ``tf.random.split``.
    Dtypes and channels unchanged."""
    crop_seed, augment_seed = tf.unstack(tf.random.split(aug.as_seed(seed), 2))
    images, masks = aug.paired_random_crop(images, masks, crop, seed=crop_seed)
    if augment is not None:
        images, masks = augment(images, masks, augment_seed)
    return images, masks


def paired_crop_generator(images: np.ndarray, masks: np.ndarray, *, crop: int, batch_size: int, seed: int = 0,
                          epochs: int | None = None):
    """The segmentation post's random-crop generator, fixed: every pass visits each pair once in a
    new order, and every pair gets its own crop position (``augment.paired_random_crop``).

    The post drew ``randint(0, batches)`` (inclusive: an empty last batch), one position per
    batch, never shuffled. Yields (images uint8 (B, crop, crop, C), masks (B, crop, crop, 1)).
    """
    for step, (x, y) in enumerate(batch_generator(images, masks, batch_size, seed=seed, epochs=epochs)):
        x_crop, y_crop = aug.paired_random_crop(x, y, crop, seed=(seed, step))
        yield x_crop.numpy(), y_crop.numpy()


def legacy_paired_generators(images: np.ndarray, masks: np.ndarray, *, batch_size: int, seed: int, **augmentation):
    """The zhixuhao/unet recipe: two ImageDataGenerators with the same arguments and seed, zipped.

    Returns the zipped iterator of (image batch, mask batch), float32 in the input's range. The
    masks come out interpolated; threshold them. The two stay in step only because each ``next()``
    reseeds NumPy's global RNG and draws right after it; another thread drawing in between breaks that.
    """
    legacy = tf.keras.preprocessing.image.ImageDataGenerator
    image_flow = legacy(**augmentation).flow(images.astype("float32"), batch_size=batch_size, seed=seed, shuffle=True)
    mask_flow = legacy(**augmentation).flow(masks.astype("float32"), batch_size=batch_size, seed=seed, shuffle=True)
    return zip(image_flow, mask_flow)


# ---------------------------------------------------------------- helpers for finite datasets


def dataset_arrays(ds: tf.data.Dataset, limit_batches: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Materialise a finite dataset of (x, y) batches as two NumPy arrays (at most ``limit_batches``)."""
    xs, ys = [], []
    for x, y in ds.take(-1 if limit_batches is None else limit_batches):
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)
