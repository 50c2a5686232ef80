"""Input-pipeline benchmark for lesson 6: ``python -m helpers.bench`` (or ``make bench``).

Every method delivers the same kind of batch for a workload: augmented, preprocessed, ready for
the lesson's model. Two measurements per method, side by side in one run:

- ``images_per_s``: how fast the pipeline alone delivers batches. Warm-up batches first, then
  the median of ``repeats`` timed passes over ``n_images``.
- ``input_wait_fraction``: the share of a training step (``train_on_batch`` on the lesson's
  own model) spent waiting in ``next()`` for the batch. 0 means that input never held training up.

Results go to ``<output dir>/bench/bench.json`` (a list of rows) and ``bench.png``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from helpers import augment, config, datasets, imagefolders, models, pipelines, recipes

METHODS = ("imagedatagenerator", "python_generator", "pydataset", "tf_data", "in_model", "albumentations",
           "tf_data_files", "tf_data_service")
SERVICE_WORKERS = (1, 2)  # tf.data service worker processes measured (quick mode: 2 only)


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
    (x, y), _ = datasets.load_cifar10(n)
    recipe = recipes.POST_CIFAR
    return Workload(
        name="cifar_32px", images=x, targets=y.astype("int32"), unique_images=len(x),
        batch_size=config.pick(quick=64, full=128), n_images=config.pick(quick=256, full=5120),
        wait_steps=config.pick(quick=3, full=30),
        augment=lambda xb, yb, s: (recipe.fused(xb, s), yb),
        preprocess=pipelines.scale_to_symmetric,
        legacy=recipe.legacy_kwargs(),
        build_model=lambda: _compiled(models.cifar_cnn(), "sparse_categorical_crossentropy"),
        details=dict(model="cifar_cnn (lesson 2)", augmentation=f"recipes.{recipe.name} (lesson 2)"),
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
    return lambda i: (pipelines.decode_resized(tf.gather(paths, i), (size, size)), tf.gather(labels, i))


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
    images, masks, names = datasets.load_membrane()
    folder = datasets.fetch("membrane") / "train"
    pairs = [(folder / "image" / name, folder / "label" / name) for name in names]
    crop = config.pick(quick=128, full=256)
    n = config.pick(quick=8, full=64)

    recipe = recipes.MEMBRANE.without_elastic()

    def paired(xb, yb, s):
        xb, yb = pipelines.crop_and_augment(xb, yb, crop=crop, seed=s, augment=recipe.paired)
        return xb, tf.cast(yb, tf.float32)

    filters = config.pick(quick=8, full=16)
    return Workload(
        name="membrane_512px_pairs", images=_tile(images, n), targets=_tile(masks, n), unique_images=len(images),
        batch_size=4, n_images=n, wait_steps=config.pick(quick=2, full=8), paired=True, crop=crop,
        augment=paired, preprocess=lambda xb: tf.cast(xb, tf.float32) / 255.0,
        legacy=recipe.legacy_kwargs(),
        build_model=lambda: _compiled(models.unet((crop, crop, 1), base_filters=filters, depth=4), "binary_crossentropy"),
        details=dict(model=f"unet base_filters={filters} depth 4 (lesson 5)", crop=crop,
                     augmentation=f"recipes.{recipe.name} (lesson 5)"),
        read=_pair_reader(pairs), albumentations=lambda seed: recipe.albumentations(seed, crop=crop),
    )


WORKLOADS = {"cifar": cifar_workload, "flowers": flowers_workload, "membrane": membrane_workload}


# ---------------------------------------------------------------- the five ways to feed a model


def _legacy_batches(w: Workload, seed: int) -> Iterator:
    """``ImageDataGenerator.flow``; for pairs, two generators zipped (lesson 5), then a NumPy crop
    with one position per pair and the masks re-thresholded."""
    if not w.paired:
        flow = tf.keras.preprocessing.image.ImageDataGenerator(**w.legacy).flow(
            w.images.astype("float32"), w.targets, batch_size=w.batch_size, seed=seed, shuffle=True)
        for xb, yb in flow:
            yield np.asarray(w.preprocess(xb)), yb
        return
    rng = np.random.default_rng(seed)
    for xb, mb in pipelines.legacy_paired_generators(w.images, w.targets, batch_size=w.batch_size, seed=seed,
                                                     **w.legacy):
        tops = rng.integers(0, xb.shape[1] - w.crop + 1, len(xb))
        lefts = rng.integers(0, xb.shape[2] - w.crop + 1, len(xb))
        window = lambda a, t, s: a[t:t + w.crop, s:s + w.crop]  # noqa: E731
        xs = np.stack([window(a, t, s) for a, t, s in zip(xb, tops, lefts)])
        ms = np.stack([window(a, t, s) for a, t, s in zip(mb, tops, lefts)])
        yield np.asarray(w.preprocess(xs)), (ms > 0.5).astype("float32")


def _generator_batches(w: Workload, seed: int) -> Iterator:
    """The corrected Python generator (lesson 3), augmenting each batch through one compiled graph."""
    return pipelines.batch_generator(w.images, w.targets, w.batch_size, seed=seed, augment=w.numpy_augment,
                                     augment_targets=True)


def _pydataset_batches(w: Workload, seed: int, workers: int, augment: Callable | None = None) -> Iterator:
    """Batches of ``AugmentedPyDataset`` exactly as ``fit`` draws them, epoch after epoch; ``augment``
    (default: the workload's compiled graph, ``w.numpy_augment``) makes each NumPy batch.

    Keras 3 has no public iterator that starts a PyDataset's worker threads outside ``fit``, so this
    uses the adapter that ``fit`` itself uses (private API; the Keras version is pinned).
    """
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    ds = pipelines.AugmentedPyDataset(w.images, w.targets, w.batch_size, seed=seed,
                                      augment=augment or w.numpy_augment, augment_targets=True, workers=workers,
                                      use_multiprocessing=False, max_queue_size=10)
    adapter = PyDatasetAdapter(ds, shuffle=False)
    while True:
        adapter.on_epoch_begin()
        yield from adapter.get_numpy_iterator()
        adapter.on_epoch_end()


def tf_data_batches(w: Workload, seed: int, *, augment_in_pipeline: bool = True) -> tf.data.Dataset:
    """The course's ``pipelines.training_batches``: shuffle -> repeat -> batch -> parallel
    map(augment + preprocess, batch k with seed (seed, k)) -> prefetch.

    In-memory arrays need no ``cache``; reading files, cache the decoded images BEFORE the random
    map. Without ``augment_in_pipeline`` it yields raw uint8 batches (for ``in_model``).
    """
    ds, _ = pipelines.training_batches(w.images, w.targets, batch_size=w.batch_size, seed=seed,
                                       augment=w.ready if augment_in_pipeline else None, augment_targets=True,
                                       preprocess=None)
    return ds


def albumentations_augment(w: Workload) -> Callable:
    """``(x, y, seed) -> (x, y)`` on a NumPy batch with the workload's albumentations pipeline, one
    image at a time (how its users call it), then the workload's preprocessing. For pairs, image
    and mask go through one call, so they share a draw. A fresh Compose per batch, seeded from
    ``seed``, keeps batches reproducible whichever PyDataset worker thread makes them."""
    def run(xb, yb, seed):
        compose = w.albumentations(int(np.random.SeedSequence(list(seed)).generate_state(1)[0]))
        if w.paired:
            outs = [compose(image=x, mask=m) for x, m in zip(xb, yb)]
            xs, ys = np.stack([o["image"] for o in outs]), np.stack([o["mask"] for o in outs]).astype("float32")
        else:
            xs, ys = np.stack([compose(image=x)["image"] for x in xb]), yb
        return np.asarray(w.preprocess(xs)), ys

    return run


def file_batches(w: Workload, seed: int, *, passes: int = 10_000, parallel_calls=tf.data.AUTOTUNE) -> tf.data.Dataset:
    """The file-reading pipeline that the tf.data service runs: a sample counter i (a splittable
    ``range``, so ``distributed_epoch`` can hand out its elements) -> read file i mod N -> local
    shuffle -> batch -> augment + preprocess (both maps with ``parallel_calls``: an int, or AUTOTUNE).
    Each batch's seed is (seed, smallest i in it): unique,
    whichever worker makes the batch. (An ``enumerate`` counter would restart at 0 on every service
    worker, giving two workers the same draws.)"""
    n = w.unique_images
    ds = tf.data.Dataset.range(n * passes)
    ds = ds.map(lambda i: (*w.read(i % n), i), num_parallel_calls=parallel_calls)
    ds = ds.shuffle(4 * w.batch_size, seed=seed).batch(w.batch_size, drop_remainder=True)
    base = tf.constant(seed, tf.int64)
    return ds.map(lambda x, y, i: w.ready(x, y, tf.stack([base, tf.reduce_min(i)])),
                  num_parallel_calls=parallel_calls)


def service_batches(w: Workload, seed: int, service_target: str, job_name: str) -> tf.data.Dataset:
    """``file_batches`` run by the tf.data service's workers, each sample exactly once per pass
    (``distributed_epoch``); the training process only receives finished batches."""
    ds = file_batches(w, seed).apply(tf.data.experimental.service.distribute(
        processing_mode="distributed_epoch", service=service_target, job_name=job_name))
    return ds.prefetch(tf.data.AUTOTUNE)


def input_scaling(w: Workload, *, seed: int = 0, calls=(1, 2, "autotune"), service_workers=(1, 2),
                  repeats: int = 3, verbose: bool = True) -> list[dict]:
    """How the file-reading pipeline's images/s grows with its map parallelism (``calls``) and with
    tf.data service workers (each a process; maps AUTOTUNE inside): the pipeline alone, median of
    ``repeats`` passes of ``w.n_images`` after a warm-up. One row per setting."""
    from helpers.service import LocalService

    rows = []

    def measure(kind, setting, batches):
        feeder = Feeder(kind, iter(batches), model=None)
        rate, _ = throughput(feeder, w.n_images, batch_size=w.batch_size, repeats=repeats)
        rows.append({"workload": w.name, "how": kind, "setting": setting, "images_per_s": round(rate, 1)})
        if verbose:
            print(f"{w.name:<22}{kind:<26}{setting!s:<10}{rate:>9.1f} images/s", flush=True)

    for c in calls:
        parallel = tf.data.AUTOTUNE if c == "autotune" else int(c)
        measure("parallel calls", c, file_batches(w, seed, parallel_calls=parallel).prefetch(tf.data.AUTOTUNE))
    for n in service_workers:
        with LocalService(n) as service:
            measure("tf.data service workers", n, service_batches(w, seed, service.target, f"scaling-{n}-{seed}"))
    return rows


# ---------------------------------------------------------------- lesson 6: the tf.data knobs, one at a time

KNOB_VARIANTS = {
    # TF 2.x's automatic rewrites (parallelising a stateless map, injecting a prefetch) are switched
    # off in every variant but the last, so that each knob is measured on its own.
    "sequential map": dict(parallel=False, prefetch=False),
    "parallel map": dict(parallel=True, prefetch=False),
    "parallel map + prefetch": dict(parallel=True, prefetch=True),
    "+ cache decoded images": dict(parallel=True, prefetch=True, cache="decoded"),
    "+ non-deterministic order": dict(parallel=True, prefetch=True, cache="decoded", deterministic=False),
    "cache AFTER augmentation (wrong)": dict(parallel=True, prefetch=True, cache="augmented"),
    "sequential map, automatic rewrites on": dict(parallel=False, prefetch=False, automatic=True),
}


def knob_pipeline(paths, labels, *, size: int, batch_size: int, seed: int = 0, parallel: bool = True,
                  prefetch: bool = True, cache: str | None = None, deterministic: bool = True,
                  automatic: bool = False, augment_one: Callable | None = None) -> tf.data.Dataset:
    """An endless file-reading pipeline with each tf.data knob exposed: read + decode + resize to
    ``size``, optional ``cache`` ("decoded": before augmentation; "augmented": after it, which
    freezes the first epoch's random draws), shuffle, per-image augmentation (default: lesson 3's
    ``recipes.FLOWERS``) with seed (seed, k), batch.
    ``automatic=False`` turns off tf.data's own map parallelisation and prefetch injection.
    Elements: (uint8 (B, size, size, 3), labels).
    """
    calls = tf.data.AUTOTUNE if parallel else None
    augment_one = augment_one or recipes.FLOWERS.fused
    base = tf.constant(seed, tf.int64)

    def augmented(k, xy):
        return augment_one(xy[0], tf.stack([base, k])), xy[1]

    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], np.asarray(labels)))
    order = dict(num_parallel_calls=calls, deterministic=deterministic) if parallel else {}
    ds = ds.map(lambda path, label: (pipelines.decode_resized(path, (size, size)), label), **order)
    if cache == "decoded":
        ds = ds.cache()
    if cache == "augmented":
        ds = ds.enumerate().map(augmented, **order).cache()
        ds = ds.shuffle(len(paths), seed=seed).repeat()
    else:
        ds = ds.shuffle(len(paths), seed=seed).repeat()
        ds = ds.enumerate().map(augmented, **order)
    ds = ds.batch(batch_size)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    if not automatic:
        options = tf.data.Options()
        options.experimental_optimization.map_parallelization = False
        options.experimental_optimization.inject_prefetch = False
        ds = ds.with_options(options)
    return ds


def simulated_accelerator(step_seconds: float) -> Callable:
    """A stand-in training step that sleeps for ``step_seconds`` (so it uses no CPU), as the host does
    while a GPU runs the step: it shows what prefetching buys when the device, not the CPU, trains."""
    return lambda x, y: time.sleep(step_seconds)


def tf_data_knobs(paths, labels, *, size: int = 224, batch_size: int = 32, epochs: int = 3, seed: int = 0,
                  variants=tuple(KNOB_VARIANTS), train_step: Callable | None = None, pipeline: Callable | None = None,
                  verbose: bool = True) -> list[dict]:
    """Measure each ``KNOB_VARIANTS`` pipeline on the same image files, timed after two untimed passes.
    ``pipeline`` builds them (default ``knob_pipeline``; lesson 6 passes its own, written in the lesson):

    - ``images_per_s``: the pipeline alone, over ``epochs`` passes;
    - ``training_images_per_s``: the same with ``train_step(x, y)`` consuming every batch (one pass),
      which is where ``prefetch`` shows: it overlaps the next batch with the current step;
    - ``repeated_augmentations``: the share of pass-2 images byte-identical to a pass-1 image
      (0 for a correct pipeline, which draws fresh augmentation every epoch).
    """
    n = len(paths) - len(paths) % batch_size
    paths, labels = list(paths)[:n], list(labels)[:n]
    steps, rows = n // batch_size, []
    pipeline = pipeline or knob_pipeline
    for name in variants:
        it = iter(pipeline(paths, labels, size=size, batch_size=batch_size, seed=seed, **KNOB_VARIANTS[name]))
        seen = lambda: [image.tobytes() for _ in range(steps) for image in next(it)[0].numpy()]  # noqa: E731
        pass_one = set(seen())  # also the warm-up: fills caches and buffers
        repeated = sum(image in pass_one for image in seen())
        start = time.perf_counter()
        for _ in range(epochs * steps):
            next(it)
        row = {"variant": name, "images_per_s": round(epochs * n / (time.perf_counter() - start), 1),
               "repeated_augmentations": repeated / n}
        if train_step is not None:
            start = time.perf_counter()
            for _ in range(steps):
                train_step(*next(it))
            row["training_images_per_s"] = round(n / (time.perf_counter() - start), 1)
        rows.append(row)
        if verbose:
            training = f"   training {row['training_images_per_s']:7.1f} images/s" if train_step else ""
            print(f"{name:<38}pipeline {row['images_per_s']:8.1f} images/s{training}"
                  f"   pass 2 repeats pass 1: {repeated / n:.0%}", flush=True)
    return rows


# ---------------------------------------------------------------- measuring


@dataclass
class Feeder:
    """One method, ready to measure: an endless iterator of batches, the model that consumes
    them, and (for in_model) the per-step work the model does on each raw batch."""

    method: str
    batches: Iterator
    model: keras.Model
    workers: int | None = None
    device_work: Callable | None = None  # raw batch -> augmented batch, as inside the train step
    close: Callable[[], None] = lambda: None  # stops what the method started (tf.data service servers)


class ServicePool:
    """tf.data service clusters by worker count, started on first use and shared by every workload
    of a run (a service runs any number of jobs); ``close()`` stops them all."""

    def __init__(self):
        self.services = {}

    def get(self, workers: int):
        from helpers.service import LocalService

        if workers not in self.services:
            self.services[workers] = LocalService(workers).__enter__()
        return self.services[workers]

    def close(self) -> None:
        for service in self.services.values():
            service.close()
        self.services = {}


def feeders(w: Workload, seed: int = 0, workers: int | None = None, methods=METHODS,
            service_workers=None, services: ServicePool | None = None) -> Iterator[Feeder]:
    """Every requested method for workload ``w``, one at a time (a method's servers run only while it
    is measured); PyDataset and albumentations appear with 1 and with ``workers`` threads, the
    tf.data service with each count in ``service_workers``. Methods a workload cannot run (no
    files, no albumentations twin) are left out. Without ``services``, each service feeder starts
    its own cluster and its ``close`` stops it."""
    workers = workers or os.cpu_count() or 2
    service_workers = service_workers or config.pick(quick=SERVICE_WORKERS[-1:], full=SERVICE_WORKERS)
    shared = w.build_model()  # every pipeline method feeds the same compiled model
    for method in methods:
        if method == "imagedatagenerator":
            yield Feeder(method, _legacy_batches(w, seed), shared)
        elif method == "python_generator":
            yield Feeder(method, _generator_batches(w, seed), shared)
        elif method == "pydataset":
            for n in sorted({1, workers}):
                yield Feeder(method, _pydataset_batches(w, seed, n), shared, workers=n)
        elif method == "tf_data":
            yield Feeder(method, iter(tf_data_batches(w, seed)), shared)
        elif method == "in_model":
            model = models.AugmentInTrainStep(w.build_model(), w.augment, w.preprocess, seed=seed)
            model.compile(optimizer="adam", loss=shared.loss)
            work = tf.function(lambda x, y, k: model.augment_batch(x, y, k))
            yield Feeder(method, iter(tf_data_batches(w, seed, augment_in_pipeline=False)), model, device_work=work)
        elif method == "albumentations":
            for n in sorted({1, workers}) if w.albumentations is not None else ():
                # albumentations behind a PyDataset with n threads, the way it is fed to fit
                yield Feeder(method, _pydataset_batches(w, seed, n, albumentations_augment(w)), shared, workers=n)
        elif method == "tf_data_files":
            if w.read is not None:
                yield Feeder(method, iter(file_batches(w, seed).prefetch(tf.data.AUTOTUNE)), shared)
        elif method == "tf_data_service":
            for n in service_workers if w.read is not None else ():
                pool = services or ServicePool()
                batches = iter(service_batches(w, seed, pool.get(n).target, f"{w.name}-{n}-{seed}"))
                yield Feeder(method, batches, shared, workers=n, close=pool.close if services is None else lambda: None)
        else:
            raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def _pull(feeder: Feeder, n_images: int, step: list) -> int:
    """Take batches until n_images images have arrived; returns the count."""
    count = 0
    while count < n_images:
        xb, yb = next(feeder.batches)
        if feeder.device_work is not None:
            xb, yb = feeder.device_work(xb, yb, tf.constant(step[0], tf.int64))
            step[0] += 1
        count += len(xb)
    return count


def throughput(feeder: Feeder, n_images: int, *, batch_size: int, repeats: int = 3, warmup_batches: int = 3):
    """Median images/s over ``repeats`` passes of ``n_images`` (after a warm-up), and the images per pass."""
    step = [0]
    _pull(feeder, warmup_batches * batch_size, step)
    rates, counts = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        counts.append(_pull(feeder, n_images, step))
        rates.append(counts[-1] / (time.perf_counter() - start))
    return statistics.median(rates), counts


def input_wait(feeder: Feeder, steps: int, *, warmup_steps: int = 2) -> dict:
    """Train ``steps`` steps with ``train_on_batch`` and split each step's wall time into waiting for
    the batch (``next()``) and the step itself. Returns the wait fraction and the mean step seconds."""
    for _ in range(warmup_steps):
        feeder.model.train_on_batch(*next(feeder.batches))
    waited = busy = 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(feeder.batches)
        t1 = time.perf_counter()
        feeder.model.train_on_batch(*batch)  # returns the loss as a number: the step has finished
        waited, busy = waited + (t1 - t0), busy + (time.perf_counter() - t1)
    return {"input_wait_fraction": waited / (waited + busy), "step_seconds": (waited + busy) / steps}


def run_workload(w: Workload, *, seed: int = 0, repeats: int = 3, workers: int | None = None,
                 methods=METHODS, service_workers=None, services: ServicePool | None = None,
                 verbose: bool = True) -> list[dict]:
    """Throughput and input wait of every method on one workload; one row per method (and worker count)."""
    rows = []
    for f in feeders(w, seed, workers, methods, service_workers, services):
        try:
            rate, counts = throughput(f, w.n_images, batch_size=w.batch_size, repeats=repeats)
            wait = input_wait(f, w.wait_steps)
        finally:
            f.close()
        row = {"workload": w.name, "method": f.method, "images_per_s": round(rate, 1),
               "input_wait_fraction": round(wait["input_wait_fraction"], 4),
               "step_seconds": round(wait["step_seconds"], 4), "workers": f.workers,
               "images_per_pass": counts, "batch_size": w.batch_size, "unique_images": w.unique_images}
        rows.append(row)
        if verbose:
            label = f.method + (f" ({f.workers} worker{'s' * (f.workers > 1)})" if f.workers else "")
            print(f"{w.name:<22}{label:<26}{rate:>9.1f} images/s   input wait {wait['input_wait_fraction']:6.1%}"
                  f"   step {wait['step_seconds'] * 1000:6.0f} ms", flush=True)
    base = next((r["images_per_s"] for r in rows if r["method"] == "imagedatagenerator"), None)
    for r in rows:
        r["vs_imagedatagenerator"] = round(r["images_per_s"] / base, 2) if base else None
    return rows


def run(workloads=tuple(WORKLOADS), *, seed: int = 0, repeats: int | None = None, workers: int | None = None,
        methods=METHODS, service_workers=None, out_dir=None, verbose: bool = True) -> list[dict]:
    """The whole benchmark: rows for every workload (a name in WORKLOADS, or a Workload) and method,
    saved as ``bench.json`` and ``bench.png`` in ``out_dir`` (default ``<output dir>/bench``)."""
    from helpers import plots

    config.set_seed(seed)
    repeats = repeats or config.pick(quick=1, full=5)
    rows, details, services = [], {}, ServicePool()
    try:
        for workload in workloads:
            w = WORKLOADS[workload]() if isinstance(workload, str) else workload
            details[w.name] = {**w.details, "batch_size": w.batch_size, "images_per_pass": w.n_images,
                               "unique_images": w.unique_images, "image_shape": list(w.images.shape[1:])}
            rows += run_workload(w, seed=seed, repeats=repeats, workers=workers, methods=methods,
                                 service_workers=service_workers, services=services, verbose=verbose)
    finally:
        services.close()
    out_dir = Path(out_dir) if out_dir else config.output_dir("bench")
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {**config.describe(), "repeats": repeats, "seed": seed, "workloads": details}
    (out_dir / "bench.json").write_text(json.dumps(rows, indent=1))
    (out_dir / "bench_machine.json").write_text(json.dumps(meta, indent=1))
    plots.bench_chart(rows, save_to=out_dir / "bench.png")
    if verbose:
        print(f"saved {out_dir / 'bench.json'} and bench.png")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the course's input pipelines (images/s, input wait).")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--repeats", type=int, default=None, help="timed passes per method (median reported)")
    parser.add_argument("--workers", type=int, default=None, help="PyDataset threads besides 1 (default: CPU count)")
    parser.add_argument("--service-workers", type=int, nargs="+", default=None,
                        help="tf.data service worker processes to measure (default: 1 2; quick mode: 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scaling", action="store_true",
                        help="instead: images/s against map parallelism and tf.data service workers "
                             "(input_scaling.json)")
    args = parser.parse_args(argv)
    print(config.banner("benchmark"))
    if args.scaling:
        rows = [row for name in args.workloads if name != "cifar"
                for row in input_scaling(WORKLOADS[name](), seed=args.seed, repeats=args.repeats or 3)]
        out = config.output_dir("bench") / "input_scaling.json"
        out.write_text(json.dumps(rows, indent=1))
        print(f"saved {out}")
        return
    run(args.workloads, seed=args.seed, repeats=args.repeats, workers=args.workers, methods=args.methods,
        service_workers=args.service_workers)


if __name__ == "__main__":
    main()
