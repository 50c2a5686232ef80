"""The ways to feed ``model.fit`` that lesson 6's benchmark compares, for any workload of ``helpers.workloads``.

``ImageDataGenerator``, lesson 3's Python generator and ``PyDataset`` (1 and N threads), lessons 2 and 7's
``tf.data`` pipeline, augmentation inside the training step, albumentations behind a ``PyDataset`` or called from
a ``tf.data`` map (per image or per batch), the ``tf.data`` pipeline reading its files, and that pipeline run by a
tf.data service. Each yields the same kind of batch: augmented, preprocessed, ready for the workload's model.
``feeders`` hands them out one at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from helpers import config, models
from helpers.taught import feeding, input_knobs, policy_training, segmentation
from helpers.workloads import Workload

METHODS = ("imagedatagenerator", "python_generator", "pydataset", "tf_data", "in_model", "albumentations",
           "albumentations_tf_data", "albumentations_tf_data_batch", "tf_data_files", "tf_data_service")
SERVICE_WORKERS = (1, 2)  # tf.data service worker processes measured (quick mode: 2 only)
# Keras versions whose private PyDatasetAdapter the benchmark has been run with (tests/test_feeders.py checks
# the installed one); the adapter is what starts a PyDataset's worker threads, and Keras has no public one.
PY_DATASET_ADAPTER_TESTED = ("3.14", "3.15")


def py_dataset_adapter():
    """Keras's own ``PyDatasetAdapter`` (private: Keras has no public way to run a PyDataset's workers
    outside ``fit``). Raises RuntimeError naming the tested Keras versions if this Keras moved it."""
    try:
        from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter
    except ImportError as exc:
        raise RuntimeError(f"Keras {keras.version()} has no keras.src...PyDatasetAdapter; the benchmark's PyDataset "
                           f"methods were tested with Keras {', '.join(PY_DATASET_ADAPTER_TESTED)}") from exc
    return PyDatasetAdapter


def legacy_batches(w: Workload, seed: int) -> Iterator:
    """``ImageDataGenerator.flow``; for pairs, two generators zipped (lesson 5), then a NumPy crop
    with one position per pair and the masks re-thresholded."""
    if not w.paired:
        flow = tf.keras.preprocessing.image.ImageDataGenerator(**w.legacy).flow(
            w.images.astype("float32"), w.targets, batch_size=w.batch_size, seed=seed, shuffle=True)
        for xb, yb in flow:
            yield np.asarray(w.preprocess(xb)), yb
        return
    rng = np.random.default_rng(seed)
    for xb, mb in segmentation.legacy_paired_generators(w.images, w.targets, batch_size=w.batch_size, seed=seed,
                                                     **w.legacy):
        tops = rng.integers(0, xb.shape[1] - w.crop + 1, len(xb))
        lefts = rng.integers(0, xb.shape[2] - w.crop + 1, len(xb))
        window = lambda a, t, s: a[t:t + w.crop, s:s + w.crop]  # noqa: E731
        xs = np.stack([window(a, t, s) for a, t, s in zip(xb, tops, lefts)])
        ms = np.stack([window(a, t, s) for a, t, s in zip(mb, tops, lefts)])
        yield np.asarray(w.preprocess(xs)), (ms > 0.5).astype("float32")


def generator_batches(w: Workload, seed: int) -> Iterator:
    """Lesson 3's corrected Python generator; batch k of the run goes through the workload's compiled
    graph with the seed (seed, k), images and targets together (a mask moves with its image)."""
    for k, (xb, yb) in enumerate(feeding.batches(w.images, w.targets, w.batch_size, seed=seed)):
        yield w.numpy_augment(xb, yb, (seed, k))


class ReadyBatches(feeding.FlowerBatches):
    """Lesson 3's ``PyDataset`` whose batch i of epoch e goes through ``ready(x, y, seed)`` with the seed
    (seed, e * len + i), images and targets together: what the benchmark feeds for every workload."""

    def __init__(self, x, y, batch_size, *, seed, ready, **kwargs):
        super().__init__(x, y, batch_size, seed=seed, augment=None, **kwargs)
        self.ready = ready

    def __getitem__(self, i):
        xb, yb = super().__getitem__(i)
        return self.ready(xb, yb, (self.seed, self.epoch * len(self) + i))


def _pydataset_batches(w: Workload, seed: int, workers: int, augment: Callable | None = None) -> Iterator:
    """Batches of lesson 3's ``PyDataset`` exactly as ``fit`` draws them, epoch after epoch; ``augment``
    (default: the workload's compiled graph, ``w.numpy_augment``) makes each NumPy batch."""
    ds = ReadyBatches(w.images, w.targets, w.batch_size, seed=seed, ready=augment or w.numpy_augment,
                       workers=workers, use_multiprocessing=False, max_queue_size=10)
    adapter = py_dataset_adapter()(ds, shuffle=False)
    while True:
        adapter.on_epoch_begin()
        yield from adapter.get_numpy_iterator()
        adapter.on_epoch_end()


def tf_data_batches(w: Workload, seed: int, *, augment_in_pipeline: bool = True) -> tf.data.Dataset:
    """Lessons 2 and 7's ``prepare``: shuffle -> repeat -> batch -> parallel map(augment images and targets,
    batch k with seed (seed, k)) -> map(preprocess) -> prefetch.

    In-memory arrays need no ``cache``; reading files, cache the decoded images BEFORE the random
    map. Without ``augment_in_pipeline`` it yields raw uint8 batches (for ``in_model``).
    """
    if not augment_in_pipeline:
        return policy_training.prepare(w.images, w.targets, batch_size=w.batch_size, seed=seed, preprocess=tf.identity)
    return policy_training.prepare(w.images, w.targets, batch_size=w.batch_size, seed=seed, augment=w.augment,
                                   with_labels=True, preprocess=w.preprocess)


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


def albumentations_tf_data_batches(w: Workload, seed: int, *, per_batch: bool = False) -> tf.data.Dataset:
    """Lesson 6's ``albumentations_dataset``: the workload's albumentations pipeline called from a parallel
    ``tf.data`` map through ``tf.numpy_function``, once per image or once per batch (each call reseeded from its place
    in the stream, so the same seed gives the same batches whatever the thread count)."""
    return input_knobs.albumentations_dataset(w.images, w.targets, w.albumentations, batch_size=w.batch_size, seed=seed,
                                              preprocess=w.preprocess, paired=w.paired, per_batch=per_batch,
                                              crop=w.crop)


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
            yield Feeder(method, legacy_batches(w, seed), shared)
        elif method == "python_generator":
            yield Feeder(method, generator_batches(w, seed), shared)
        elif method == "pydataset":
            for n in sorted({1, workers}):
                yield Feeder(method, _pydataset_batches(w, seed, n), shared, workers=n)
        elif method == "tf_data":
            yield Feeder(method, iter(tf_data_batches(w, seed)), shared)
        elif method == "in_model":
            model = models.AugmentInTrainStep(w.build_model(), w.augment, w.preprocess, seed=seed)
            model.compile(optimizer="adam", loss=shared.loss)
            work = tf.function(model.augment_batch)
            yield Feeder(method, iter(tf_data_batches(w, seed, augment_in_pipeline=False)), model, device_work=work)
        elif method == "albumentations":
            for n in sorted({1, workers}) if w.albumentations is not None else ():
                # albumentations behind a PyDataset with n threads, the way it is fed to fit
                yield Feeder(method, _pydataset_batches(w, seed, n, albumentations_augment(w)), shared, workers=n)
        elif method in ("albumentations_tf_data", "albumentations_tf_data_batch"):
            if w.albumentations is not None:
                batches = albumentations_tf_data_batches(w, seed, per_batch=method.endswith("_batch"))
                yield Feeder(method, iter(batches), shared)
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
