"""Lesson 8: the same training code on one device, several GPUs (MirroredStrategy) or several
machines (MultiWorkerMirroredStrategy).

- ``python -m helpers.scaling --cpu-replicas 2`` runs MirroredStrategy with the CPU split into
  logical devices, to show two replicas on a machine without GPUs;
- ``python -m helpers.scaling --workers 2`` starts 2 worker processes on 127.0.0.1, each with its own
  ``TF_CONFIG``, that train the lesson-2 CNN together under MultiWorkerMirroredStrategy. Each prints
  one JSON line (pid, steps, loss, a hash of its final weights); the hashes must agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from helpers import config, models, readers
from helpers.taught import cifar_pipeline


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
    batch = min(global_batch, len(x))
    train, steps = cifar_pipeline.prepare(x, y, batch_size=batch, seed=seed), math.ceil(len(x) / batch)
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


def weights_digest(arrays) -> str:
    """A short SHA-256 of a list of weight arrays: equal digests mean bit-identical weights."""
    digest = hashlib.sha256()
    for weight in arrays:
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()[:16]


def worker_fit(x: np.ndarray, y: np.ndarray, *, steps: int, per_worker_batch: int = 32, seed: int = 0,
               synchronized_bn: bool = True) -> dict:
    """One worker's part of a MultiWorkerMirroredStrategy run; ``TF_CONFIG`` must be set already.

    The lesson-2 pipeline is batched with the GLOBAL batch (per-worker batch x workers);
    ``experimental_distribute_dataset`` shards it by batches (``AutoShardPolicy.DATA``: the arrays
    are not files) and splits each global batch between the workers. The step is a custom loop
    under ``strategy.run``: as of Keras 3.15, ``fit`` fails under this strategy with two workers
    (reported as keras-team/keras issue 20585).
    The optimizer all-reduces the gradients every step, so the trainable weights stay identical.
    BatchNorm's moving averages are not gradients: without ``synchronized_bn`` each worker averages
    its own batches and the workers' models drift apart. Returns digests of both kinds of weights.
    """
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    global_batch = per_worker_batch * strategy.num_replicas_in_sync
    config.set_seed(seed)
    train = cifar_pipeline.prepare(x, y, batch_size=global_batch, seed=seed)  # lesson 2's pipeline
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = iter(strategy.experimental_distribute_dataset(train.with_options(options)))
    with strategy.scope():  # variables are created on every worker, kept in sync by all-reduce
        model = models.cifar_cnn(synchronized_bn=synchronized_bn)
        optimizer = keras.optimizers.Adam(scaled_learning_rate(1e-3, 128, global_batch))
        per_example = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            # average over the GLOBAL batch: the all-reduce then sums the replicas' shares
            loss = tf.nn.compute_average_loss(per_example(labels, model(images, training=True)),
                                              global_batch_size=global_batch)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    @tf.function
    def step(batch):
        losses = strategy.run(replica_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    losses = [float(step(next(batches))) for _ in range(steps)]
    return {"worker": task["index"], "pid": os.getpid(), "replicas": strategy.num_replicas_in_sync,
            "global_batch": global_batch, "steps": int(optimizer.iterations.numpy()),
            "loss": round(losses[-1], 4), "synchronized_bn": synchronized_bn,
            "trainable": weights_digest([v.numpy() for v in model.trainable_variables]),
            "bn_statistics": weights_digest([v.numpy() for v in model.non_trainable_variables]),
            "weights": weights_digest(model.get_weights())}


GROUP_ERROR = "worker group error: "  # how the worker group's launcher reports, among TensorFlow's log lines


def multi_worker(workers: int = 2, *, steps: int = 5, images: int = 512, local_bn: bool = False,
                 timeout: float = 300.0, command: list[str] | None = None, isolate: bool | None = None) -> list[dict]:
    """Start ``workers`` processes on 127.0.0.1 (free ports, one ``TF_CONFIG`` each), let them train
    together, and return their JSON results. The workers run in a network namespace of their own
    (``loopback_only``), so nothing outside this machine's process can reach their unauthenticated gRPC servers;
    ``isolate``: True demands it, False skips it, None (default) uses it where it can be had and warns where not.
    Every process is killed if one fails or time runs out, and each dies with this process
    (``service.die_with_parent``). Raises RuntimeError naming the worker that failed FIRST (the others then fail
    at the next collective) and how it ended, with its output. ``command``: the worker command line (default:
    this module's ``--as-worker``), for tests."""
    command = command or ([sys.executable, "-m", "helpers.scaling", "--as-worker", "--steps", str(steps),
                           "--images", str(images)] + (["--local-bn"] if local_bn else []))
    from helpers.service import loopback_only, require_posix

    require_posix("training with worker processes")
    prefix = loopback_only() if isolate is not False else None
    if isolate and prefix is None:
        raise RuntimeError("no network namespace can be made here (bubblewrap missing or not allowed)")
    if prefix is None:
        if isolate is None:
            warnings.warn("bubblewrap cannot make a network namespace here: the workers' gRPC servers listen on "
                          "every interface of this machine while they run", RuntimeWarning, stacklevel=2)
        return _run_workers(workers, command, timeout)
    from helpers.service import PARENT_ENV

    plan = json.dumps({"workers": workers, "command": command, "timeout": timeout})
    env = {k: v for k, v in os.environ.items() if k != PARENT_ENV}  # bwrap stands between: --die-with-parent ties it
    done = subprocess.run(prefix + [sys.executable, "-m", "helpers.scaling", "--worker-group", plan],
                          cwd=config.REPO_ROOT, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True,
                          text=True, timeout=timeout + 60)
    if done.returncode != 0:
        said = [line[len(GROUP_ERROR):] for line in done.stderr.splitlines() if line.startswith(GROUP_ERROR)]
        raise RuntimeError(said[-1] if said else f"the worker group failed (exit {done.returncode}):\n"
                                                 f"{done.stderr[-3000:]}") from None
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _run_workers(workers: int, command: list[str], timeout: float) -> list[dict]:
    """``multi_worker``'s work in the current network namespace."""
    from helpers.service import child_env, free_port

    cluster = [f"127.0.0.1:{free_port()}" for _ in range(workers)]
    processes, outputs, ended = [], {}, []  # ended: worker indices in the order they exited
    readers_, failed, lock = [], [], threading.Lock()

    def collect(index: int, process: subprocess.Popen) -> None:
        outputs[index] = process.communicate()
        with lock:
            ended.append(index)

    try:
        for index in range(workers):
            env = child_env(TF_CONFIG=tf_config(cluster, index), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
            processes.append(subprocess.Popen(command, cwd=config.REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True, start_new_session=True))
        readers_ = [threading.Thread(target=collect, args=(i, p), daemon=True) for i, p in enumerate(processes)]
        for thread in readers_:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in readers_:
            thread.join(max(0.0, deadline - time.monotonic()))
            with lock:
                failed = [i for i in ended if processes[i].returncode != 0]
            if failed:
                break  # one worker failed: the others would wait for it at the next collective
        if len(ended) < workers and not failed:
            raise RuntimeError(f"the {workers} workers did not finish within {timeout:.0f} s")
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for thread in readers_:
        thread.join(5)
    if failed:
        first = failed[0]
        code = processes[first].returncode
        how = (f"was killed by {signal.Signals(-code).name}" if code < 0 else f"failed (exit {code})")
        later = [i for i in ended if i != first and processes[i].returncode != 0]
        after = f"; then worker {', '.join(map(str, later))} failed too" if later else ""
        err = outputs.get(first, ("", ""))[1]
        raise RuntimeError(f"worker {first} {how} first{after}:\n{err[-6000:]}")
    results = []
    for index in range(workers):
        out, err = outputs[index]
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"worker {index} printed no result:\n{err[-6000:]}")
        results.append(json.loads(lines[-1]))
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Train the lesson-2 CNN under MirroredStrategy, or under "
                                                 "MultiWorkerMirroredStrategy with worker processes on 127.0.0.1.")
    parser.add_argument("--cpu-replicas", type=int, default=1, help="split the CPU into this many logical devices")
    parser.add_argument("--workers", type=int, default=0, help="start this many worker processes on loopback")
    parser.add_argument("--steps", type=int, default=5, help="training steps of the multi-worker run")
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--local-bn", action="store_true",
                        help="per-worker BatchNorm statistics (shows the workers drifting apart)")
    parser.add_argument("--as-worker", action="store_true", help=argparse.SUPPRESS)  # set by --workers
    parser.add_argument("--worker-group", default=None, help=argparse.SUPPRESS)  # multi_worker, in its namespace
    args = parser.parse_args(argv)
    if args.worker_group:
        from helpers.service import die_with_parent

        die_with_parent()
        plan = json.loads(args.worker_group)
        try:
            results = _run_workers(plan["workers"], plan["command"], plan["timeout"])
        except RuntimeError as exc:
            print(GROUP_ERROR + str(exc).replace("\n", " | ")[-8000:], file=sys.stderr, flush=True)
            sys.exit(1)
        for row in results:
            print(json.dumps(row), flush=True)
        return
    if args.as_worker:
        from helpers.service import die_with_parent

        die_with_parent()
        (x, y), _ = readers.load_cifar10(args.images)
        print(json.dumps(worker_fit(x, y.astype("int32"), steps=args.steps, synchronized_bn=not args.local_bn)),
              flush=True)
        return
    if args.workers:
        results = multi_worker(args.workers, steps=args.steps, images=args.images, local_bn=args.local_bn)
        for row in results:
            print(json.dumps(row))
        same = len({row["weights"] for row in results}) == 1
        print(f"{len(results)} workers, weights {'IDENTICAL' if same else 'DIFFERENT'} after {results[0]['steps']} steps")
        if not same:
            sys.exit(1)
        return
    if args.cpu_replicas > 1:
        split_cpu(args.cpu_replicas)
    (x, y), _ = readers.load_cifar10(args.images)
    result = mirrored_fit(tf.distribute.MirroredStrategy(), x, y.astype("int32"))
    print(json.dumps(result, indent=1))
    if result["replicas"] != args.cpu_replicas or len(result["devices"]) != args.cpu_replicas:
        sys.exit(f"asked for {args.cpu_replicas} replicas, got {result['replicas']} on {result['devices']}")


if __name__ == "__main__":
    main()
