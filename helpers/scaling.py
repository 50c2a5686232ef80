"""Lesson 6: the same training code on one device, several GPUs (MirroredStrategy) or several
machines (MultiWorkerMirroredStrategy). ``python -m helpers.scaling --cpu-replicas 2`` runs it
with the CPU split into logical devices, to show two replicas on a machine without GPUs."""

from __future__ import annotations

import argparse
import json
import time

import keras
import numpy as np
import tensorflow as tf

from helpers import config, models, pipelines


def scaled_learning_rate(base_lr: float, base_batch: int, global_batch: int) -> float:
    """The linear scaling rule (Goyal et al., 2017): k times the batch, k times the learning rate.
    Use it with a warm-up for large k; Adam is often fine with a smaller increase."""
    return base_lr * global_batch / base_batch


def split_cpu(n: int) -> None:
    """Expose the CPU as ``n`` logical devices, so MirroredStrategy makes ``n`` replicas.
    Must run before TensorFlow initialises its devices (first thing in a fresh process)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)


def mirrored_fit(strategy: tf.distribute.Strategy, x: np.ndarray, y: np.ndarray, *, per_replica_batch: int = 64,
                 base_batch: int = 128, base_lr: float = 1e-3, epochs: int = 1, seed: int = 0) -> dict:
    """Train the lesson-2 CNN under ``strategy`` with the lesson-2 input pipeline.

    x uint8 (N, 32, 32, 3), y int labels. The global batch is ``per_replica_batch`` times the
    replicas; ``fit`` splits each global batch across them and all-reduces the gradients. Returns
    replicas, devices, global batch, learning rate, per-epoch loss and seconds.
    """
    replicas = strategy.num_replicas_in_sync
    global_batch = per_replica_batch * replicas
    lr = scaled_learning_rate(base_lr, base_batch, global_batch)
    config.set_seed(seed)
    train, steps = pipelines.training_batches(x, y, batch_size=min(global_batch, len(x)), seed=seed)
    with strategy.scope():  # variables (weights, optimizer slots) are created once per replica
        model = models.cifar_cnn()
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(train, steps_per_epoch=steps, epochs=epochs, verbose=0, shuffle=False)  # shuffled already
    return {"strategy": type(strategy).__name__, "replicas": replicas,
            "devices": list(strategy.extended.worker_devices), "global_batch": global_batch,
            "learning_rate": lr, "loss": [round(float(v), 4) for v in history.history["loss"]],
            "seconds": round(time.perf_counter() - start, 1)}


def shard_owners(n: int, num_workers: int) -> list[list[int]]:
    """Which sample indices each worker reads with ``Dataset.shard(num_workers, index)`` (what
    ``AutoShardPolicy.DATA`` does when the input is not split into files)."""
    ds = tf.data.Dataset.range(n)
    return [[int(i) for i in ds.shard(num_workers, w)] for w in range(num_workers)]


def tf_config(workers: list[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON that worker ``index`` of ``workers`` ("host:port") needs, set as an
    environment variable before the strategy is created."""
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Train the lesson-2 CNN under MirroredStrategy.")
    parser.add_argument("--cpu-replicas", type=int, default=1, help="split the CPU into this many logical devices")
    parser.add_argument("--images", type=int, default=1024)
    args = parser.parse_args(argv)
    if args.cpu_replicas > 1:
        split_cpu(args.cpu_replicas)
    from helpers import datasets

    (x, y), _ = datasets.load_cifar10(args.images)
    print(json.dumps(mirrored_fit(tf.distribute.MirroredStrategy(), x, y.astype("int32")), indent=1))


if __name__ == "__main__":
    main()
