# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/08_scaling_past_one_machine.ipynb)

# %% [markdown]
# # 8 · Scaling past one machine
#
# **Objectives.** You will
# - build and compile a model inside `strategy.scope()`, and say what changes when it trains on several GPUs:
#   the global batch, the learning rate, mixed precision;
# - write a worker's `TF_CONFIG`, and choose how the input is sharded between the workers of a cluster;
# - run two real workers under `MultiWorkerMirroredStrategy` on this machine, check that they hold one model, and
#   see what plain BatchNorm does to them;
# - run a **tf.data service** (a dispatcher and input workers in processes of their own), choose between its two
#   processing modes, and give every sample an augmentation seed that does not depend on the worker;
# - estimate how many CPU hosts keep an accelerator fed, and say what that estimate assumes.
#
# **Runtime.** Quick mode: about 40 s on a 2-core CPU (small data, a two-replica run in a fresh process and a
# local tf.data service; the two-worker runs show their measured full-mode output instead of starting). Full mode:
# not measured (it trains on 4,096 images, runs the two-worker jobs for real and measures the service's throughput).

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

    for name in ["cifar10", "flowers"]:
        datasets.fetch(name)

# %%
from helpers import config

print(config.banner("8 · Scaling past one machine"))

# %%
import inspect
import json
import math
import subprocess
import sys

import keras
import matplotlib.pyplot as plt
import tensorflow as tf

from helpers import bench, feeders, measured, models, readers, scaling, workloads
from helpers.service import LocalService
from helpers.taught import cifar_pipeline

# %% [markdown]
# ## Why: one machine runs out in two ways
#
# Lesson 6 made one machine feed its model as fast as it can. Past that point, one of two things is the limit:
#
# - **The training step.** The model, the images or the dataset are too large for one accelerator to train in the
#   time you have. The answer is **data parallelism**: copies of the model (**replicas**) on several GPUs, then on
#   several machines, each training on its own share of every batch and all applying one identical update.
# - **The input pipeline.** The accelerators are fast and the host's CPUs cannot decode and augment images quickly
#   enough: lesson 6's *input wait* stays high whatever knob you turn. The answer is to run the input pipeline on
#   other machines, with the **tf.data service**.
#
# Both keep the training code and the augmentation of the earlier lessons. What changes is the batch size, the
# learning rate, who reads which samples, where BatchNorm's statistics come from, and how each sample's seed is
# drawn. This lesson runs every piece on one 2-core CPU, with processes on 127.0.0.1 standing in for machines: the
# mechanics are real; the speed-ups are not measurable here.

# %% [markdown]
# ## Scaling to several GPUs: `MirroredStrategy`
#
# `tf.distribute.MirroredStrategy()` copies the model onto every local GPU (**replicas**). `fit` splits each
# **global batch** across them, and the gradients are summed across replicas (**all-reduce**) before one
# identical update everywhere. Three rules:
#
# 1. **Build and compile inside `strategy.scope()`.** Variables created there are mirrored.
# 2. **The batch you give the pipeline is the global batch**: per-replica batch x `num_replicas_in_sync`.
#    Keep the per-replica batch fixed (it is what fits in one GPU's memory) and let the global batch grow.
# 3. **Scale the learning rate with the global batch** (the linear rule: k times the batch, k times the rate,
#    with a few epochs of warm-up for large k; Goyal et al., 2017). With Adam, a smaller increase often works better.
#    Check it on your model.
#
# The input pipeline does not change: `fit` distributes a `tf.data.Dataset` itself. Here lesson 2's pipeline
# (its `prepare`, saved in `helpers.taught.cifar_pipeline`) and model run under the strategy. Without a GPU there is one
# replica, the CPU:

# %%
(x_cifar, y_cifar), _ = readers.load_cifar10(config.pick(quick=512, full=4096))
strategy = tf.distribute.MirroredStrategy()
global_batch = 64 * strategy.num_replicas_in_sync            # per-replica batch x replicas
learning_rate = scaling.scaled_learning_rate(1e-3, base_batch=128, global_batch=global_batch)
train = cifar_pipeline.prepare(x_cifar, y_cifar.astype("int32"), batch_size=global_batch, seed=0)
steps = math.ceil(len(x_cifar) / global_batch)
with strategy.scope():                                       # variables created here are mirrored
    model = models.cifar_cnn()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
history = model.fit(train, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)  # shuffled already
print(f"{strategy.num_replicas_in_sync} replica(s) on {list(strategy.extended.worker_devices)}; global batch "
      f"{global_batch}, learning rate {learning_rate:g}; loss after one epoch {history.history['loss'][-1]:.3f}")

# %% [markdown]
# To see **two replicas** without a GPU, split the CPU into two logical devices. This has to happen before
# TensorFlow starts, so it runs in a fresh process. The global batch doubles to 128, and the learning rate follows.

# %%
out = subprocess.run([sys.executable, "-m", "helpers.scaling", "--cpu-replicas", "2",
                      "--images", str(config.pick(quick=256, full=4096))], capture_output=True, text=True, check=True)
print(out.stdout)

# %% [markdown]
# Both replicas share the same two cores, so this is no faster. It only shows the mechanics: two devices, a
# mirrored model, and a global batch split in two.
#
# ### Mixed precision (on a GPU)
#
# On GPUs with tensor cores (NVIDIA compute capability 7.0 or newer), `keras.mixed_precision.set_global_policy("mixed_float16")` computes in
# float16 and keeps the weights in float32, which halves activation memory. TensorFlow's mixed-precision guide
# reports more than 3x speed-ups on modern GPUs (not measured here: no GPU). Two rules apply:
# the last layer (softmax or sigmoid) should compute in float32 (`dtype="float32"`), and the loss must be scaled:
# `compile` wraps the optimizer in a `LossScaleOptimizer` under this policy, a training step you write yourself
# must do so explicitly. On a CPU, float16 is slower, so the cell below only switches it on when a GPU is present.

# %%
if tf.config.list_physical_devices("GPU"):
    keras.mixed_precision.set_global_policy("mixed_float16")
print("policy:", keras.mixed_precision.global_policy().name,
      "" if tf.config.list_physical_devices("GPU") else "(no GPU here: staying in float32)")

# %% [markdown]
# ### Several machines: `MultiWorkerMirroredStrategy` and `TF_CONFIG`
#
# Every machine (**worker**) runs the same script. Each learns its role from the `TF_CONFIG` environment
# variable, which must be set **before** the strategy is created:

# %%
print(scaling.tf_config(["10.0.0.1:12345", "10.0.0.2:12345"], index=0))

# %% [markdown]
# Worker 0 is also the **chief**: it writes checkpoints and logs, and the others must write to temporary paths.
# Inside, all the replicas of all the workers all-reduce their gradients over the network.
#
# **The input pipeline is sharded per worker**, so that no two workers train on the same examples in an
# epoch. A distributed dataset (`fit`'s, or `strategy.experimental_distribute_dataset` in your own loop) does this
# through `tf.data.Options().experimental_distribute.auto_shard_policy`:
# - `FILE`: each worker reads its own subset of the input **files**. This is best with many TFRecord files.
# - `DATA`: every worker reads everything and keeps every k-th element (after `batch`, an element is a batch), so
#   the element order must be the same on every worker. It works for anything, at k times the reading cost.
# - `OFF`: you shard yourself, for example with `dataset.shard(num_workers, worker_index)`.
#
# The `DATA` policy, shown on 10 samples and 3 workers:

# %%
for worker, indices in enumerate(scaling.shard_owners(10, 3)):
    print(f"worker {worker} reads samples {indices}")

# %% [markdown]
# With no `TF_CONFIG`, `MultiWorkerMirroredStrategy` runs as a cluster of one worker. It is the same code
# path, so this cell runs it here, through `helpers.scaling.mirrored_fit`, which wraps this lesson's first
# `MirroredStrategy` cell in a function (the strategy's class is named `CollectiveAllReduceStrategy`). With one
# worker, `fit` works. With two, it does not; the next section shows what does.

# %%
result = scaling.mirrored_fit(tf.distribute.MultiWorkerMirroredStrategy(), x_cifar, y_cifar.astype("int32"),
                              per_replica_batch=64, base_batch=128, base_lr=1e-3)
print({key: result[key] for key in ("strategy", "replicas", "global_batch", "learning_rate", "loss")})

# %% [markdown]
# ### Two workers for real, on loopback
#
# `python -m helpers.scaling --workers 2` starts two worker processes on this machine. Each gets its own
# `TF_CONFIG`: the same cluster of two `127.0.0.1:<port>` addresses, and its own index. TensorFlow's gRPC servers
# have no authentication and listen on every network interface, whatever the address says, so where bubblewrap is
# installed the two run in a network namespace of their own, whose only interface is loopback. Each creates a
# `MultiWorkerMirroredStrategy` and trains the lesson-2 CNN on the lesson-2 pipeline for a few steps, then prints
# one line: its process id, the steps, the loss, and digests (short hashes) of its trainable weights, of its
# BatchNorm statistics, and of all its weights.
#
# The training step is written out. As of Keras 3.15, `fit` fails under `MultiWorkerMirroredStrategy` with two
# workers ("Attempt to convert a value (PerReplica...)", reported as keras-team/keras issue 20585), although it
# works with one.
# This is the function every worker runs:

# %%
print(inspect.getsource(scaling.worker_fit))

# %%
steps, images = 20, 4096
if config.quick_mode():  # two TensorFlow processes take ~15 s to start: quick mode shows the measured run
    print("measured in full mode:", measured.load("multi_worker")["provenance"]["command"])
    print("\n".join(json.dumps(row) for row in measured.load("multi_worker")["rows"]))
else:
    run = subprocess.run([sys.executable, "-m", "helpers.scaling", "--workers", "2", "--steps", str(steps),
                          "--images", str(images)], capture_output=True, text=True, timeout=600)
    print(run.stdout if run.returncode == 0 else run.stderr[-3000:])

# %% [markdown]
# The digests agree: the two processes hold one model. Two things make that so:
#
# - **The gradients are all-reduced.** `apply_gradients` sums every replica's gradients before the update, so all
#   workers apply the same update to the same starting weights (worker 0 broadcast them when the variables were
#   created in `strategy.scope()`).
# - **BatchNorm is synchronised.** The workers' model uses `BatchNormalization(synchronized=True)`, which computes
#   each batch's mean and variance over the **global** batch, all replicas of all workers together.

# %% [markdown]
# ## The pitfall: what the all-reduce never sees
#
# The tempting way to scale a single-machine script is to wrap it in a strategy and change nothing else. Three
# things then go wrong without an error:
#
# 1. **Plain BatchNorm.** Its moving mean and variance are not gradients, so the all-reduce never sees them. With
#    plain `BatchNormalization`, each worker averages the statistics of its own half of the batch. Training uses
#    each worker's own batch statistics; the trainable weights stay identical on every worker because their
#    gradients are all-reduced, and the printed loss is the same because the step sums it across replicas. But the
#    moving averages that inference uses differ: each worker would save a different model, and nothing in the
#    training log shows it.
#    The next cell runs the same two workers with plain BatchNorm (`--local-bn`; in quick mode it shows the
#    measured full-mode run).
# 2. **A seed counted per worker.** An `enumerate()` after the data is split restarts at 0 on every worker, so two
#    workers draw the same augmentations for different images, and the draws change with the number of workers.
#    The tf.data service section below shows the fix: the seed comes from the sample, not from the worker.
# 3. **The single-machine learning rate.** With k times the global batch and the same rate, each epoch makes k
#    times fewer updates, each about as large as before: training slows down, and nothing fails. Scale the rate
#    (rule 3 above).

# %%
if config.quick_mode():
    print("measured in full mode with --local-bn:")
    print("\n".join(json.dumps(row) for row in measured.load("multi_worker")["local_bn_rows"]))
else:
    drift = subprocess.run([sys.executable, "-m", "helpers.scaling", "--workers", "2", "--steps", str(steps),
                            "--images", str(images), "--local-bn"], capture_output=True, text=True, timeout=600)
    print(drift.stdout)

# %% [markdown]
# The trainable-weight digests and the loss agree; the BatchNorm digests, and with them the whole models, differ.
#
# What changes on real machines:
#
# - **Addresses.** Each machine's hostname and a port open between the machines, in the same list on every worker;
#   each worker has its own index. A scheduler (Slurm, Kubernetes) usually writes `TF_CONFIG` for you.
# - **One process per machine**, started by the scheduler, not by a parent script as here. A worker with several
#   GPUs has several replicas: `num_replicas_in_sync` counts all of them.
# - **Checkpoints.** Every worker must call `save`, because saving is collective, but only the chief (worker 0)
#   writes to the real path; the others write to temporary paths and delete them.
# - **Fault tolerance.** When a worker dies, the others fail at the next collective with `UnavailableError` (a
#   health check aborts it), and the whole cluster must restart. A `tf.train.CheckpointManager` in your training
#   loop (or `keras.callbacks.BackupAndRestore` where `fit` works) lets it resume from the last backup.
# - **Data.** With many TFRecord files, shard by `FILE`, so that each worker reads only its own files.

# %% [markdown]
# ## The tf.data service: input workers on machines of their own
#
# Augmentation has its own way past one host. When a GPU host's CPUs cannot feed its GPUs, the **tf.data service**
# runs the input pipeline elsewhere: a **dispatcher** hands out work, and **worker** servers on CPU machines run the
# pipeline and stream finished batches to the trainer. (These workers only produce batches; they are not the
# training workers of the previous section.) The trainer's pipeline ends with
# `distribute(processing_mode=..., service=...)`:
#
# - `"distributed_epoch"`: the dispatcher splits the dataset's **source** (a `range`, `from_tensor_slices`, a list of
#   files) between the workers, so each element arrives **exactly once** per epoch, as long as no worker restarts
#   (then: at most once). The source must be splittable.
# - `"parallel_epochs"`: every worker runs the **whole** dataset. With k workers, each sample arrives k times per
#   epoch. With a seeded shuffle and per-sample seeds, as in this course, the k copies are identical: same order,
#   same draws. It suits an endless stream whose shuffle and augmentation are not seeded; it is wrong when an epoch
#   must mean one pass.
#
# `helpers.service.LocalService` starts a dispatcher and worker servers as processes on this machine, which shows
# the mechanics. The servers have no authentication and listen on every interface, so where bubblewrap is
# installed they run in a loopback-only network namespace, like the two workers above; this notebook reaches them
# through relays that listen on 127.0.0.1 only and pass each connection into the namespace over a Unix socket only
# you can open. The relay copies every batch once more, a cost the service's measured rates below include.

# %%
with LocalService(workers=2) as service:                     # a dispatcher + 2 worker processes
    print(f"servers in a loopback-only namespace: {service.isolated}; dispatcher at {service.target}")
    epoch = tf.data.Dataset.range(20).apply(tf.data.experimental.service.distribute(
        processing_mode="distributed_epoch", service=service.target, job_name="lesson-8"))
    got = [int(i) for i in epoch]
    print(f"distributed_epoch: {len(got)} elements, each of the 20 exactly once: {sorted(got) == list(range(20))}; "
          f"arrival order {got[:10]} ...")
    both = tf.data.Dataset.range(20).apply(tf.data.experimental.service.distribute(
        processing_mode="parallel_epochs", service=service.target))
    print(f"parallel_epochs:   {len(list(both))} elements: each of the 2 workers ran the whole epoch")

# %% [markdown]
# Lesson 6's benchmark has a method that runs the flowers and membrane augmentation through such a service. The
# workers cannot receive the images from the trainer, so they read the files themselves. This is the pipeline they run. Note
# how each batch gets its seed: from the **sample counter of the source**, not from `enumerate()`. An `enumerate`
# after the split would restart at 0 on every worker, and two workers would draw the same augmentations.

# %%
print(inspect.getsource(feeders.file_batches))

# %% [markdown]
# Here are lesson 6's full-mode measurements of it (`notebooks/measured/bench.json`, a 2-core CPU with no GPU). The
# step times come from the benchmark's own loop: `next()` for a batch, then one `train_on_batch` step of the
# workload's model, timed apart, outside `fit`.

# %%
by = {(r["workload"], r["method"], r["workers"]): r for r in measured.load("bench")["rows"]}
for workload in ("flowers_224px", "membrane_512px_pairs"):
    local = by[workload, "tf_data_files", None]
    for n in (1, 2):
        remote = by[workload, "tf_data_service", n]
        print(f"{workload:<22} service, {n} process{'es' * (n > 1)}: {remote['images_per_s']:6.0f} images/s = "
              f"{remote['images_per_s'] / local['images_per_s']:.2f} x the same pipeline run locally, "
              f"{remote['images_per_s'] / by[workload, 'tf_data', None]['images_per_s']:.2f} x in-memory tf_data; "
              f"step {1000 * remote['step_seconds']:.0f} ms against {1000 * local['step_seconds']:.0f} ms locally")

# %% [markdown]
# On one 2-core machine the service only adds work. Its workers share the trainer's two cores, and every batch is
# serialised, sent over a local socket (here through the relay as well) and deserialised. So the service delivers
# less than the same pipeline run in the trainer. A second worker process does not lift the service past the local
# pipeline (on the membranes it barely changes), and at 224 px it ends the loop's wait but lengthens its step by
# about a quarter: its decoding competes with the step for the two cores. The in-memory `tf_data` method is faster still,
# because it decodes nothing. The service pays in the opposite situation: an
# accelerator host whose own CPUs are the bottleneck, and spare CPU machines on a fast network. Then each added
# worker host adds its whole CPU to the pipeline.

# %% [markdown]
# ## How throughput grows with parallel calls and service workers
#
# The figure shows the images/s of the file-reading flowers pipeline (the pipeline alone) against its map
# parallelism (1, 2, AUTOTUNE: lesson 6's parallel `map`) and against the number of tf.data service workers (1, 2),
# measured in full mode on a 2-core CPU (`notebooks/measured/input_scaling.json`), beside your run. In quick mode
# your run measures AUTOTUNE only, at 96 px, on fewer images.

# %%
scaling_rows = measured.load("input_scaling")["rows"]
yours = bench.input_scaling(workloads.flowers_workload(), calls=config.pick(quick=("autotune",), full=(1, 2, "autotune")), repeats=config.pick(quick=1, full=3),
                            service_workers=config.pick(quick=(), full=(1, 2)), verbose=False)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
for ax, how in zip(axes, ("parallel calls", "tf.data service workers")):
    for rows_, label, style in ((scaling_rows, "measured, 224 px", "o-"), (yours, f"your run, {config.pick(quick=96, full=224)} px", "s--")):
        points = [r for r in rows_ if r["how"] == how]
        if points:
            ax.plot([str(r["setting"]) for r in points], [r["images_per_s"] for r in points], style, label=label)
    ax.set_xlabel(how)
    ax.legend()
axes[0].set_ylabel("images/s (pipeline alone)")
fig.tight_layout()

# %% [markdown]
# Two map calls at a time nearly double the rate of one; AUTOTUNE adds a little more; beyond the two cores there
# is nothing left to take. The service points sit below the local pipeline, for the reasons above.
#
# ### What this would look like on N hosts (arithmetic, not a measurement)
#
# Nothing below was measured: it multiplies two measured per-host rates (the service with one worker, and the same
# pipeline run locally; the figure's run, so they differ a little from lesson 6's benchmark table), assuming the workers
# are separate machines like this one and the network is not the limit. Put in your accelerator's training speed:

# %%
gpu_images_per_s = 3000  # an ASSUMPTION: a GPU training this small CNN at 224 px; measure yours
per_host = {  # images/s one CPU host like this one delivers, two measured bounds
    "as measured through the service (pessimistic: shares cores, pays serialisation)":
        next(r["images_per_s"] for r in scaling_rows if r["how"] == "tf.data service workers" and r["setting"] == 1),
    "the same pipeline run locally (optimistic: a whole host for the pipeline)":
        next(r["images_per_s"] for r in scaling_rows if r["how"] == "parallel calls" and r["setting"] == "autotune"),
}
for label, rate in per_host.items():
    print(f"{rate:.0f} images/s per host, {label}:")
    for hosts in (1, 2, 4, 8, 16):
        print(f"   {hosts:>2} host{'s' * (hosts > 1)}: {hosts * rate:6.0f} images/s = {hosts * rate / gpu_images_per_s:4.0%} of what the GPU takes")
    print(f"   -> about {math.ceil(gpu_images_per_s / rate)} hosts keep that GPU fed")

# %% [markdown]
# ## Exercises
#
# 1. Write the `TF_CONFIG` for worker 1 of the two-machine cluster above. Which paths must worker 1 not write to,
#    and what does it do instead when the model is saved?
# 2. Run `python -m helpers.scaling --workers 2 --local-bn`. Which digests differ, and why does the loss not show it?
#    Which worker's model would you keep, and what would you do to its BatchNorm statistics before using it?
# 3. Start a `LocalService(workers=2)` and read the lesson-2 pipeline (`cifar_pipeline.prepare`) through it in
#    `distributed_epoch` mode. Which two things break: look at how it draws its seeds, and at its source.
# 4. Redo the N-host arithmetic with numbers of your own: your accelerator's images/s (batch size / step time of
#    your model) and the images/s of your pipeline on one of your CPU hosts (lesson 6's benchmark measures it).
#    Which assumption of the estimate would fail first on your network?
# 5. Eight replicas of batch 64 make a global batch of 512. On this CPU, train the lesson-2 CNN with batch 512 for a
#    few epochs three ways: Adam at the rate meant for batch 128 (1e-3), at the linearly scaled rate (4e-3), and at
#    the scaled rate reached after one epoch of linear warm-up. Which has the lowest validation loss after the same
#    number of epochs? Does the linear rule hold for Adam here?
#
# ## Summary
#
# - Data parallelism: build and compile under `strategy.scope()`, feed the **global** batch (per-replica batch x
#   replicas), and scale the learning rate with it, with a warm-up when the factor is large.
# - Use mixed precision on GPUs with tensor cores; keep the last layer in float32.
# - Several machines: the same script on every worker, its role in `TF_CONFIG`, the chief writes checkpoints, and
#   the input is sharded (`FILE` with many files, `DATA` otherwise, or `shard` yourself).
# - Under Keras 3.15, write the multi-worker training step yourself (`fit` fails with two workers), and
#   synchronise BatchNorm, or the workers' models drift apart while the loss looks the same.
# - Give every sample an augmentation seed that comes from the sample, never from a counter that restarts on each
#   worker.
# - The tf.data service moves the input pipeline to machines of its own: `distributed_epoch` for exactly one pass
#   per epoch, `parallel_epochs` for endless random streams. It pays when the training host's CPUs starve its
#   accelerators; on one small machine it only adds overhead.
# - How many input hosts an accelerator needs is arithmetic on two measured rates; measure both on your own
#   machines.
