"""The benchmark's three workloads (lesson 6): each lesson's data, augmentation and model at benchmark scale.

A ``Workload`` holds uint8 images with their labels or masks, the augmentation as TensorFlow ops, the model's
preprocessing, the matching ``ImageDataGenerator`` arguments and albumentations pipeline, and the model that
consumes the batches. ``helpers.feeders`` turns a workload into batches; ``helpers.bench`` times them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import augment, config, datasets, imagefolders, models, readers, recipes
from helpers.taught import cifar_pipeline, feeding, segmentation


@dataclass
class Workload:
    """One lesson's data, augmentation and model, at benchmark scale.

    images uint8 (N, H, W, C); targets int labels (N,) or, when ``paired``, uint8 {0, 1} masks
    (N, H, W, 1). ``augment(x, y, seed) -> (x, y)`` transforms a raw uint8 batch with TensorFlow
    ops (x stays uint8; masks come out float32 {0, 1}); ``preprocess(x)`` then makes the model's
    input. ``legacy`` holds the matching ImageDataGenerator arguments.
    """

    name: str
    images: np.ndarray
    targets: np.ndarray
    batch_size: int
    n_images: int  # per timed pass; a multiple of batch_size
    wait_steps: int
    augment: Callable
    preprocess: Callable  # uint8 or float [0, 255] -> model input
    legacy: dict
    build_model: Callable[[], keras.Model]
    paired: bool = False
    crop: int | None = None
    unique_images: int = 0
    details: dict = field(default_factory=dict)
    # file index (int64 scalar tensor) -> one raw example (x uint8 (H, W, C), y) read from disk;
    # for the file-reading methods (tf_data_files, tf_data_service). None: the workload has no files.
    read: Callable | None = None
    # seed -> an albumentations.Compose of the same augmentation (the albumentations method)
    albumentations: Callable | None = None

    def __post_init__(self):
        # Full batches only: partial last batches would make methods deliver different image counts.
        for what, n in (("images", len(self.images)), ("n_images", self.n_images)):
            if n < self.batch_size or n % self.batch_size:
                raise ValueError(f"{self.name}: {what} = {n} must be a positive multiple of batch_size {self.batch_size}")
        if len(self.images) != len(self.targets):
            raise ValueError(f"{self.name}: {len(self.images)} images but {len(self.targets)} targets")

    def ready(self, x, y, seed):
        """augment then preprocess: raw uint8 batch -> model-ready (x, y)."""
        xa, ya = self.augment(x, y, seed)
        return self.preprocess(xa), ya

    @functools.cached_property
    def numpy_augment(self) -> Callable:
        """``ready`` as one compiled graph called from Python on NumPy batches (what a generator or a
        PyDataset worker runs); built once per workload and shared by its feeders."""
        graph = tf.function(self.ready, reduce_retracing=True)

        def run(xb, yb, seed):
            xa, ya = graph(tf.convert_to_tensor(xb), tf.convert_to_tensor(yb), augment.as_seed(seed))
            return xa.numpy(), ya.numpy()

        return run


# ---------------------------------------------------------------- workloads


def _tile(x: np.ndarray, n: int) -> np.ndarray:
    """Repeat the first axis cyclically to n entries (the offline copies are small)."""
    return x[np.arange(n) % len(x)]


def _compiled(model: keras.Model, loss: str) -> keras.Model:
    model.compile(optimizer="adam", loss=loss)
    return model


def cifar_workload() -> Workload:
    """CIFAR-10 32x32, lesson 2's post augmentation (``recipes.POST_CIFAR``) as one fused affine."""
    n = config.pick(quick=512, full=10_240)  # the lesson's 10,000, rounded up to whole batches of 128
    (x, y), _ = readers.load_cifar10(n)
    recipe = recipes.POST_CIFAR
    return Workload(
        name="cifar_32px", images=x, targets=y.astype("int32"), unique_images=len(x),
        batch_size=config.pick(quick=64, full=128), n_images=config.pick(quick=256, full=2560),
        wait_steps=config.pick(quick=3, full=15),
        augment=lambda xb, yb, s: (recipe.fused(xb, s), yb),
        preprocess=cifar_pipeline.scale,
        legacy=recipe.legacy_kwargs(),
        build_model=lambda: _compiled(models.cifar_cnn(), "sparse_categorical_crossentropy"),
        details=dict(model="cifar_cnn (lesson 2)", augmentation=f"recipes.{recipe.name} (lesson 2)"),
        albumentations=lambda seed: recipe.albumentations(seed),
    )


def flowers_workload() -> Workload:
    """Flowers at 224x224 (96 in quick mode), the lesson-3 augmentation (rotation, zoom, shift, shear,
    flip) as one fused affine, the lesson-3 CNN. The offline copy's 200 photos are tiled to 512."""
    size = config.pick(quick=96, full=224)
    report = imagefolders.scan(datasets.fetch("flowers"))
    x = imagefolders.load_images(report.paths, (size, size))
    y = np.asarray(report.labels, dtype="int32")
    n = config.pick(quick=64, full=512)
    recipe = recipes.FLOWERS
    classes = int(y.max()) + 1
    return Workload(
        name=f"flowers_{size}px", images=_tile(x, n), targets=_tile(y, n), unique_images=len(x),
        batch_size=config.pick(quick=16, full=32), n_images=n, wait_steps=config.pick(quick=3, full=12),
        augment=lambda xb, yb, s: (recipe.fused(xb, s), yb),
        preprocess=lambda xb: tf.cast(xb, tf.float32),
        legacy=recipe.legacy_kwargs(),
        build_model=lambda: _compiled(models.flower_cnn((size, size, 3), classes), "sparse_categorical_crossentropy"),
        details=dict(model=f"flower_cnn (lesson 3) at {size} px", augmentation=recipe.affine),
        read=_file_reader([str(p) for p in report.paths], y, size),
        albumentations=lambda seed: recipe.albumentations(seed),
    )


def _file_reader(paths: list[str], labels: np.ndarray, size: int) -> Callable:
    """index -> (decoded, resized uint8 image, label): what the file-reading methods run per example."""
    paths, labels = tf.constant(paths), tf.constant(labels)
    return lambda i: (feeding.decode(tf.gather(paths, i), (size, size)), tf.gather(labels, i))


def _pair_reader(pairs: list[tuple[Path, Path]]) -> Callable:
    """index -> (image uint8 (H, W, 1), mask uint8 {0, 1} (H, W, 1)) decoded from the PNG pair."""
    images, masks = (tf.constant([str(pair[k]) for pair in pairs]) for k in (0, 1))

    def read(i):
        image = tf.io.decode_png(tf.io.read_file(tf.gather(images, i)), channels=1)
        mask = tf.io.decode_png(tf.io.read_file(tf.gather(masks, i)), channels=1)
        return image, tf.cast(mask > 127, tf.uint8)

    return read


def membrane_workload() -> Workload:
    """ISBI membrane 512x512 pairs: a random paired crop, then flips, rotation, zoom and shift shared
    by image and mask (``recipes.MEMBRANE`` without the elastic field), the lesson-5 U-Net."""
    images, masks, names = readers.load_membrane()
    folder = datasets.fetch("membrane") / "train"
    pairs = [(folder / "image" / name, folder / "label" / name) for name in names]
    crop = config.pick(quick=128, full=256)
    n = config.pick(quick=8, full=64)

    recipe = recipes.MEMBRANE.without_elastic()

    def paired(xb, yb, s):  # lesson 5's crop and transform; the masks become the model's float targets
        xb, yb = segmentation.crop_and_transform(xb, yb, augment.as_seed(s), crop=crop, transform=recipe.paired)
        return xb, tf.cast(yb, tf.float32)

    filters = config.pick(quick=8, full=16)
    return Workload(
        name="membrane_512px_pairs", images=_tile(images, n), targets=_tile(masks, n), unique_images=len(images),
        batch_size=4, n_images=n, wait_steps=config.pick(quick=2, full=6), paired=True, crop=crop,
        augment=paired, preprocess=lambda xb: tf.cast(xb, tf.float32) / 255.0,
        legacy=recipe.legacy_kwargs(),
        build_model=lambda: _compiled(segmentation.unet(base_filters=filters, depth=4), "binary_crossentropy"),
        details=dict(model=f"unet base_filters={filters} depth 4 (lesson 5)", crop=crop,
                     augmentation=f"recipes.{recipe.name} (lesson 5)"),
        read=_pair_reader(pairs), albumentations=lambda seed: recipe.albumentations(seed, crop=crop),
    )


WORKLOADS = {"cifar": cifar_workload, "flowers": flowers_workload, "membrane": membrane_workload}
