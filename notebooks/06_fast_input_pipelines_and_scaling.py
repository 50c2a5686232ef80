# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/06_fast_input_pipelines_and_scaling.ipynb)

# %% [markdown]
# # 6 · Fast input pipelines, and scaling past one machine
#
# **Objectives.** You will
# - measure, not guess, which input pipeline keeps a model fed: images per second, and the share of each
#   training step spent **waiting for input**;
# - compare the five ways this course has fed `model.fit`: `ImageDataGenerator.flow`, a Python generator,
#   `keras.utils.PyDataset` (1 and N worker threads), `tf.data`, and augmentation inside the model; and measure
#   them against **albumentations**, the library most practitioners reach for;
# - turn the `tf.data` knobs one at a time (parallel `map`, `prefetch`, `cache`, non-deterministic order) and
#   see what each buys, and the one that silently breaks augmentation;
# - decide where augmentation should run: the CPU pipeline or the accelerator;
# - write a `tf.data` pipeline with every knob spelled out: `num_parallel_calls`, `prefetch`, where the `cache`
#   goes, `deterministic`;
# - build and compile a model inside `strategy.scope()`, and know what changes for several GPUs
#   (batch size, learning rate, mixed precision) and several machines (`TF_CONFIG`, sharding);
# - run two real workers under `MultiWorkerMirroredStrategy` on this machine, and a **tf.data service**
#   (a dispatcher and input workers in processes of their own), and say when each pays.
#
# **Runtime.** Quick mode: about two minutes on a 2-core CPU (the benchmark on small workloads, one timed pass
# each, and two short multi-process runs). Full mode: about 15 minutes on the same CPU (the benchmark takes 10 of
# them; `make bench` runs it from a terminal).

# %%
# On Google Colab only: get the course, install its helpers, fetch this lesson's data. Elsewhere: nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("/content/augmentation-course"):
        subprocess.run(["git", "clone", "--depth", "1", "https://github.com/augmentation-course/augmentation-course", "/content/augmentation-course"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "/content/augmentation-course"], check=True)
    sys.path.insert(0, "/content/augmentation-course")  # this kernel started before the install
    os.chdir("/content/augmentation-course/notebooks")
    from helpers import datasets

    for name in ["cifar10", "flowers", "membrane"]:
        datasets.fetch(name)

# %%
from helpers import config

print(config.banner("6 · Fast input pipelines and scaling"))

# %%
import json
import math
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from helpers import (
    augment,
    bench,
    datasets,
    feeders,
    imagefolders,
    measured,
    models,
    readers,
    recipes,
    scaling,
    workloads,
)
from helpers.taught import cifar_pipeline

# %% [markdown]
# ## Why: the model must never wait for data
#
# Training is a producer and a consumer. The **input pipeline** reads, decodes, augments and batches images;
# the **training step** consumes one batch. If the pipeline is slower, the accelerator idles, and every
# augmentation you add makes training slower. Two numbers tell you where you stand:
#
# - **images/s of the pipeline alone**: the most it can ever deliver;
# - **input wait**: of each training step's wall time, the share spent in `next()` waiting for the batch. Under
#   5% is good. A GPU makes the step short, so a pipeline that keeps up on a CPU can starve a GPU.
#
# How each method feeds the model, and what replaced what:
#
# | method | where the work runs | legacy Keras 2 | Keras 3 / TF 2 |
# |---|---|---|---|
# | `imagedatagenerator` | one Python thread, SciPy per image | `fit_generator(datagen.flow(...))` | deprecated; still in `tf.keras.preprocessing` |
# | `python_generator` | the training thread, between steps | `fit_generator(gen, workers=...)` | `fit(gen)`; no workers for plain generators |
# | `pydataset` | N Python threads (or processes) | `keras.utils.Sequence` | `keras.utils.PyDataset(workers=, use_multiprocessing=)` |
# | `tf_data` | TensorFlow's C++ thread pool, overlapped with the step | - | `tf.data` with `map(num_parallel_calls)` + `prefetch` |
# | `in_model` | inside the compiled training step (on the GPU if there is one) | - | preprocessing layers in the model, or a custom `train_step` |
#
# Every method here applies the **same** augmentation to the same data: the lesson's fused affine
# (`helpers.augment.random_affine`, one resampling) for the generator, PyDataset, `tf.data` and in-model
# methods, and the matching `ImageDataGenerator` arguments for the legacy one. Only the plumbing differs.

# %% [markdown]
# ## The benchmark
#
# `helpers.bench` runs three workloads, each with its lesson's own model:
#
# - `cifar_32px`: lesson 2, the post's rotation/shift/zoom, the post's CNN, batch 128;
# - `flowers_224px`: lesson 3's augmentation (rotation, zoom, shift, shear, flip) at 224x224, lesson 3's CNN, batch 32;
# - `membrane_512px_pairs`: lesson 5, a random 256x256 crop of each 512x512 image **and its mask**, then flips,
#   rotation, zoom and shift shared by both, the lesson-5 U-Net, batch 4.
#
# For each method: warm-up batches, then the median of several timed passes; then training steps with
# `train_on_batch`, timing `next()` apart from the step. In quick mode only the flowers workload runs, at 96 px
# and timed once, with four of the methods, so its numbers only prove the code runs.

# %%
quick_methods = ["imagedatagenerator", "pydataset", "tf_data", "albumentations"]  # a sample, to keep it short
rows = bench.run(config.pick(quick=["flowers"], full=list(workloads.WORKLOADS)),  # quick mode: one workload,
                 methods=config.pick(quick=quick_methods, full=list(feeders.METHODS)))  # four methods

# %%
mine = {(r["workload"].split("_")[0], r["method"], r["workers"]): r for r in rows}
full = measured.load("bench")["rows"]
for r in full:
    own = mine.get((r["workload"].split("_")[0], r["method"], r["workers"]))
    unit = "process" if r["method"] == "tf_data_service" else "thread"
    r["label"] = r["method"] + (f", {r['workers']} {unit}{'es' * (unit == 'process') + 's' * (unit == 'thread')}"
                                if r["workers"] and r["workers"] > 1 else f", 1 {unit}" if r["workers"] else "")
    r["yours"] = own["images_per_s"] if own else None
    r["your_wait"] = 100 * own["input_wait_fraction"] if own else None
    r["wait"] = 100 * r["input_wait_fraction"]
measured.show(measured.markdown_table(full, [
    ("workload", "workload", ""), ("method", "label", ""), ("measured images/s", "images_per_s", ",.0f"),
    ("vs ImageDataGenerator", "vs_imagedatagenerator", ".1f"), ("measured input wait %", "wait", ".1f"),
    ("step (s)", "step_seconds", ".3f"), ("your images/s", "yours", ",.0f"), ("your input wait %", "your_wait", ".1f")]));

# %% [markdown]
# ### What the full-mode measurements say
#
# The "measured" columns come from `python -m helpers.bench` in full mode on a 2-core CPU with no GPU
# (`notebooks/measured/bench.json`, which says which data, passes and steps). **Step** is the whole wall time of one
# training step, the wait included, so batch size / step is the training speed. Your columns come from the cell
# above; in quick mode only the small flowers workload runs, at 96 px, with four methods and passes of 64 images,
# so thread start-up dominates the multi-thread rows: your numbers only prove the code runs. A second full run a
# few minutes apart agreed within about 10%: treat smaller differences as noise.
#
# Three rows are not ways this course has fed a model so far: `albumentations` (the same recipe through that
# library), `tf_data_files` (the `tf_data` augmentation, but each image read and decoded from its file every time,
# as a remote input worker must) and `tf_data_service` (that file pipeline run by tf.data service processes). They
# come up in the sections below.

# %%
by = {(r["workload"], r["method"], r["workers"]): r for r in full}
for workload in ("cifar_32px", "flowers_224px", "membrane_512px_pairs"):
    legacy, fast = by[workload, "imagedatagenerator", None], by[workload, "tf_data", None]
    print(f"{workload:<22} tf_data {fast['images_per_s'] / legacy['images_per_s']:4.1f}x ImageDataGenerator; "
          f"input wait {100 * legacy['input_wait_fraction']:4.1f}% -> {100 * fast['input_wait_fraction']:.1f}%")

# %% [markdown]
# - **The legacy generator starves even a CPU.** At 224 px, two thirds of every step wait for
#   `ImageDataGenerator`: SciPy warps each image and channel in one Python thread, and nothing overlaps with training.
# - **Most of the gain is the fused op, not the framework.** The Python generator and the PyDataset call the
#   same compiled graph as `tf.data`. At 224 px the generator and the 1-thread PyDataset deliver 81% and 88% of its
#   images/s; on CIFAR's small images and the membrane pairs, Python overhead per batch leaves them further behind. What they lack is
#   *overlap*: the generator runs between steps in the training thread, so its time shows up as input wait (a
#   third of each step at 224 px, against 1% for `tf.data`).
# - **More PyDataset threads are not free.** On 2 cores, 2 threads beat 1 on CIFAR, where each batch is small and
#   the threads overlap Python overhead; they *lose* at 224 px and on the membrane crops, where each batch is
#   already one multithreaded TensorFlow call and extra threads only compete for the cores. Their input-wait
#   *share* still falls, because the step itself gets longer: judge by the step time, not by the share alone.
# - **`in_model`** does the same work as `tf_data`, but in the training step: its throughput counts one batch at a
#   time with no overlap. Its step is no longer than `tf_data`'s here, because `tf_data`'s threads slow the step by
#   about as much as the augmentation costs inside it: on 2 cores, every thread takes from the same budget.
# - The last three methods in the table are the subject of the sections below.

# %% [markdown]
# ### Against the library most people pick: albumentations
#
# **albumentations** is the most used augmentation library, and the usual choice for image/mask pairs. It works
# on NumPy arrays with OpenCV, one image at a time. The benchmark gives it the same recipe: `Recipe.albumentations()`
# builds it from the same definition as the fused op (one `Affine` for rotation, shift, zoom and shear, then the
# flips; a `RandomCrop` first for the membranes). It feeds `fit` the way its users do, from a `PyDataset` with
# worker threads. Two differences in meaning hide in the translation: `scale` magnifies where `zoom_range` shrinks, and the
# legacy shear is a shear along x only (0.15 degrees here: almost none, as in the post). For pairs, image and mask go through **one call**, so they share one draw,
# and the mask is resampled nearest-neighbour:

# %%
import cv2

flowers_aug = recipes.FLOWERS.albumentations(seed=0)
print(flowers_aug.transforms[0])
print(f"  read: border_mode {cv2.BORDER_REPLICATE} = BORDER_REPLICATE (fill_mode='nearest'), interpolation "
      f"{cv2.INTER_LINEAR} = bilinear, mask_interpolation {cv2.INTER_NEAREST} = nearest; rotate, shear in degrees")
membrane_aug = recipes.MEMBRANE.without_elastic().albumentations(seed=0, crop=256)
em_images, em_masks, _ = readers.load_membrane()
pair = membrane_aug(image=em_images[0], mask=em_masks[0])      # one call: one draw for image and mask
print("image", pair["image"].shape, pair["image"].dtype, "| mask", pair["mask"].shape,
      "values", np.unique(pair["mask"]).tolist())

# %%
for workload in ("flowers_224px", "membrane_512px_pairs"):
    fast = by[workload, "tf_data", None]
    for threads in (1, 2):
        alb = by[workload, "albumentations", threads]
        print(f"{workload:<22} albumentations, {threads} thread{'s' * (threads > 1)}: "
              f"{alb['images_per_s'] / fast['images_per_s']:.2f} x tf_data's images/s;  training step "
              f"{1000 * alb['step_seconds']:.0f} ms (input wait {100 * alb['input_wait_fraction']:.1f}%) against "
              f"{1000 * fast['step_seconds']:.0f} ms ({100 * fast['input_wait_fraction']:.1f}%)")


# %% [markdown]
# Read images/s, input wait and the step together:
#
# - **As an augmenter, albumentations wins.** With one thread it produces about twice the images/s of `tf.data` at
#   224 px, and about as many on the membrane pairs. OpenCV warps uint8 pixels in a tight C++ loop; the course's
#   op converts to float32 and back and uses TensorFlow's general projective-transform kernel.
# - **Its input wait is higher, yet its steps are shorter.** At 224 px, a sixth of each step waits for
#   albumentations, against 1% for `tf.data`, but the whole step takes 75 ms against 100. Each image passes through
#   Python (the `Compose` call, the NumPy stacking), which holds the GIL while the step needs it, hence the wait.
#   `tf.data` runs its graph in C++ threads that never take the GIL, but those threads take the two cores the
#   step needs, which lengthens the step. On this CPU-only machine the net result favours albumentations at
#   224 px and is a tie on the membranes.
# - **A second thread makes albumentations slower here**, as it did for the PyDataset above: OpenCV already uses its
#   own threads, and there are only 2 cores.
#
# So the course's fused op is not the fastest augmenter on a CPU: its strengths are elsewhere (one resampling,
# explicit seeds, the same op inside `tf.data`, a training step or the service). With a GPU running the step, the
# CPU does nothing but feed it, and the pipeline's own images/s decides, which again favours albumentations at
# 224 px on 2 cores; with many cores, `tf.data`'s parallel map scales without the GIL. Measure your machine with
# `make bench`.

# %% [markdown]
# ## The `tf.data` knobs, one at a time
#
# A `tf.data` pipeline is a chain of transformations, each with a knob:
#
# - **`map(f, num_parallel_calls=tf.data.AUTOTUNE)`** runs `f` on several elements at once on TensorFlow's
#   thread pool. AUTOTUNE picks the parallelism from the CPU budget.
# - **`prefetch(tf.data.AUTOTUNE)`** at the end keeps a few batches ready, so producing batch k+1 overlaps
#   with training on batch k. It only helps when something consumes the batches, which is the training step.
# - **`cache()`** keeps elements in memory (or in a file) after their first pass. Put it **after decoding and
#   before any random augmentation**. After augmentation, it freezes epoch 1's random draws, and every epoch
#   replays them.
# - **`deterministic=False`** (or `options.deterministic`) lets a parallel map hand out whichever element is
#   ready first, instead of holding it back to keep the order. It is a little faster; the order then varies
#   between runs, which breaks bit-for-bit reproducibility of the batch order.
#
# TensorFlow 2 also applies some of these on its own: it parallelises a stateless `map` and injects a
# `prefetch`. The pipeline below turns these automatic rewrites off (`tf.data.Options`), so that each knob is
# measured on its own; the last variant turns them back on. Every knob is an argument:
#
# We read the flower photos **from disk** (decode, resize, augment per image), and measure two rates: the
# pipeline alone, and the pipeline feeding a **simulated accelerator** that needs 40 ms per batch of 32 (800
# images/s) without using the CPU, as a GPU would. A real CPU training step would use the same two cores as
# the pipeline, which hides the effect of the knobs; the simulated step shows what a GPU would see.

# %%
#@save
from helpers.taught.feeding import decode  # lesson 3's file reader


def knob_pipeline(paths, labels, *, size, batch_size, seed=0, parallel=True, prefetch=True, cache=None,
                  deterministic=True, automatic=False):
    """Endless (uint8 images, labels) batches read from files, one tf.data knob per argument."""
    calls = dict(num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic) if parallel else {}
    base = tf.constant(seed, tf.int64)
    augmented = lambda k, xy: (recipes.FLOWERS.fused(xy[0], tf.stack([base, k])), xy[1])  # noqa: E731

    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], np.asarray(labels)))
    ds = ds.map(lambda path, label: (decode(path, (size, size)), label), **calls)
    if cache == "decoded":         # right: decoding is the same every epoch, augmentation is not
        ds = ds.cache()
    if cache == "augmented":       # wrong: freezes the first epoch's random draws
        ds = ds.enumerate().map(augmented, **calls).cache().shuffle(len(paths), seed=seed).repeat()
    else:
        ds = ds.shuffle(len(paths), seed=seed).repeat().enumerate().map(augmented, **calls)
    ds = ds.batch(batch_size)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    if not automatic:
        options = tf.data.Options()
        options.experimental_optimization.map_parallelization = False
        options.experimental_optimization.inject_prefetch = False
        ds = ds.with_options(options)
    return ds


for name, knobs in bench.KNOB_VARIANTS.items():
    print(f"{name:<40}{knobs}")

# %%
flowers = imagefolders.scan(datasets.fetch("flowers"))
knobs = bench.tf_data_knobs(flowers.paths[:config.pick(quick=32, full=None)], flowers.labels[:config.pick(quick=32, full=None)],
                            size=config.pick(quick=96, full=224), batch_size=config.pick(quick=8, full=32),
                            epochs=config.pick(quick=1, full=3), train_step=bench.simulated_accelerator(0.04),
                            pipeline=knob_pipeline)

# %% [markdown]
# Measured in full mode on a 2-core CPU (`notebooks/measured/tf_data_knobs.json`: 200 photos at 224x224, batch
# 32, 3 timed passes; that run's augmentation lacked the flower recipe's 0.15° shear, which changes nothing
# measurable), beside your run:

# %%
yours = {r["variant"]: r for r in knobs}
table = [{**r, "yours": yours.get(r["variant"], {}).get("images_per_s"), "repeats": 100 * r["repeated_augmentations"]}
         for r in measured.load("tf_data_knobs")["rows"]]
measured.show(measured.markdown_table(table, [
    ("variant", "variant", ""), ("pipeline alone (images/s)", "images_per_s", ",.0f"),
    ("feeding an 800 images/s device", "training_images_per_s", ",.0f"), ("pass 2 repeats pass 1 (%)", "repeats", ".0f"),
    ("yours, pipeline alone", "yours", ",.0f")]));

# %% [markdown]
# - **Parallel map** gives about a third more here; with 2 cores there is not much more to take. On an 8-core
#   machine the gain is larger.
# - **Prefetch** adds a few per cent when a consumer is running. Without it, the sequential pipeline's time and the
#   device's 40 ms per batch simply add up.
# - **Caching the decoded images** about doubles the rate. Decoding a JPEG and resizing it is the most expensive
#   step, and it is the same every epoch. Only the random augmentation needs to run again.
# - **Non-deterministic order** adds a little, within the noise of a single run.
# - **The wrong cache** looks like the fastest pipeline in the table. It is not augmentation at all: every pass 2
#   image is byte-identical to a pass 1 image.
# - TensorFlow's automatic rewrites recover the parallel-map speed without being asked. Writing the knobs out still
#   documents the intent, and it keeps the speed when a `map` is not stateless.

# %% [markdown]
# ## The pitfall: speed knobs from Keras 2, and a cache in the wrong place
#
# The flower post lists `fit_generator`'s speed knobs: `max_queue_size` (10), `workers` (1) and
# `use_multiprocessing`. Three things changed, and one mistake is easy to make:
#
# 1. **`fit_generator` is gone.** `fit` takes a generator, but it accepts no `workers` for it: a plain generator
#    runs in the training thread, between steps (its input wait is in the table above). The knobs moved to
#    `keras.utils.PyDataset(workers=..., use_multiprocessing=..., max_queue_size=...)` (lesson 3 wrote one). A PyDataset indexes
#    batches (`__getitem__(i)`), so parallel workers cannot step on each other the way threads sharing one
#    generator did.
# 2. **More workers is not faster by default.** It depends on where the work runs. Measured above: 2 threads
#    won on CIFAR and lost at 224 px and on the membranes.
# 3. **Workers and global random state do not mix.** Lesson 5 measured it: two `ImageDataGenerator`s stay
#    aligned only because each batch reseeds NumPy's global RNG. One extra draw from another thread left
#    20% of mask pixels misaligned. The course's pipelines derive every batch's seed from (seed, batch index),
#    so the worker count never changes the result: 2 PyDataset threads yield exactly the batches of 1 thread.
# 4. **`cache()` after a random `map`** freezes the augmentation (the 100% row above). Fix: cache the
#    decoded images, then augment.

# %% [markdown]
# ## Where should augmentation run?
#
# - **In the `tf.data` pipeline (CPU)**: it overlaps with training, keeps the model clean for export, and works
#   for any model. It is the default choice, and the fastest of the course's own methods here.
# - **Inside the model (accelerator)**: Keras preprocessing layers placed in the model, or a custom
#   `train_step`, run augmentation on the GPU as part of the step. Choose it when the CPU is the bottleneck,
#   which happens with a fast GPU, few CPU cores, or large images. The GPU is much faster at warping images,
#   at the price of a slightly longer step.
# - Layers inside the model see only the **inputs**. A segmentation mask is a target, so paired augmentation
#   must happen either in the pipeline or in the training step.
#   `helpers.models.AugmentInTrainStep` does the latter: it wraps a model and augments (image, mask) batches
#   in the compiled step, with a seed derived from the optimizer step. That is the `in_model` row of the
#   membrane workload.
#
# Here it is on a few CIFAR images. The wrapped model trains on raw uint8 batches. At inference it only
# rescales them.

# %%
(x_small, y_small), _ = readers.load_cifar10(256)
on_device = models.AugmentInTrainStep(
    models.cifar_cnn(),
    augment=lambda x, y, seed: (augment.random_affine(x, seed=seed, rotation=20, shift=0.2, zoom=0.2), y),
    preprocess=cifar_pipeline.scale, seed=0)
on_device.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = on_device.fit(x_small, y_small.astype("int32"), batch_size=64, epochs=1, verbose=0)
print(f"1 epoch on {len(x_small)} raw uint8 images: loss {history.history['loss'][-1]:.3f}; "
      f"optimizer steps {int(on_device.optimizer.iterations)} (each used seed (0, step))")

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
# the last layer (softmax or sigmoid) should compute in float32 (`dtype="float32"`), and `fit` applies loss
# scaling automatically. On a CPU, float16 is slower, so the cell below only switches it on when a GPU is present.

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
# epoch. `fit` does this itself through `tf.data.Options().experimental_distribute.auto_shard_policy`:
# - `FILE`: each worker reads its own subset of the input **files**. This is best with many TFRecord files.
# - `DATA`: every worker reads everything and keeps every k-th element. It works for anything, at k times the
#   reading cost.
# - `OFF`: you shard yourself, for example with `dataset.shard(num_workers, worker_index)`.
#
# The `DATA` policy, shown on 10 samples and 3 workers:

# %%
for worker, indices in enumerate(scaling.shard_owners(10, 3)):
    print(f"worker {worker} reads samples {indices}")

# %% [markdown]
# With no `TF_CONFIG`, `MultiWorkerMirroredStrategy` runs as a cluster of one worker. It is the same code
# path, so this cell runs it here, through `helpers.scaling.mirrored_fit`, which wraps the cell above in a
# function. With one worker, `fit` works. With two, it does not; the next section shows what does.

# %%
result = scaling.mirrored_fit(tf.distribute.MultiWorkerMirroredStrategy(), x_cifar, y_cifar.astype("int32"),
                              per_replica_batch=64, base_batch=128, base_lr=1e-3)
print({key: result[key] for key in ("strategy", "replicas", "global_batch", "learning_rate", "loss")})

# %% [markdown]
# ### Two workers for real, on loopback
#
# `python -m helpers.scaling --workers 2` starts two worker processes on this machine. Each gets its own
# `TF_CONFIG`: the same cluster of two `127.0.0.1:<port>` addresses, and its own index. Each creates a
# `MultiWorkerMirroredStrategy` and trains the lesson-2 CNN on the lesson-2 pipeline for a few steps, then prints
# one line: its process id, the steps, the loss, and digests (short hashes) of its trainable weights, of its
# BatchNorm statistics, and of all its weights.
#
# The training step is written out. As of Keras 3.15, `fit` fails under `MultiWorkerMirroredStrategy` with two
# workers ("Attempt to convert a value (PerReplica...)", reported as keras-team/keras issue 20585), although it
# works with one.
# This is the function every worker runs:

# %%
import inspect

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
# - **BatchNorm is synchronised.** Its moving mean and variance are not gradients, so the all-reduce never sees them.
#   With plain `BatchNormalization`, each worker averages the statistics of its own half of the batch. Training
#   uses each batch's own statistics, so the trainable weights and the loss stay identical, but the moving averages
#   that inference uses differ: each worker would save a different model, and nothing in the training log shows it. `BatchNormalization(synchronized=True)`
#   computes the statistics over the global batch. The next cell runs the same two workers without it
#   (in quick mode it shows the measured full-mode run).

# %%
if config.quick_mode():
    print("measured in full mode with --local-bn:")
    print("\n".join(json.dumps(row) for row in measured.load("multi_worker")["local_bn_rows"]))
else:
    drift = subprocess.run([sys.executable, "-m", "helpers.scaling", "--workers", "2", "--steps", str(steps),
                            "--images", str(images), "--local-bn"], capture_output=True, text=True, timeout=600)
    print(drift.stdout)

# %% [markdown]
# What changes on real machines:
#
# - **Addresses.** Each machine's hostname and a port open between the machines, in the same list on every worker;
#   each worker has its own index. A scheduler (Slurm, Kubernetes) usually writes `TF_CONFIG` for you.
# - **One process per machine**, started by the scheduler, not by a parent script as here. A worker with several
#   GPUs has several replicas: `num_replicas_in_sync` counts all of them.
# - **Checkpoints.** Every worker must call `save`, because saving is collective, but only the chief (worker 0)
#   writes to the real path; the others write to temporary paths and delete them.
# - **Fault tolerance.** A worker that dies stalls the others at the next all-reduce. `keras.callbacks.BackupAndRestore`
#   (with `fit`) or a `tf.train.CheckpointManager` (in a custom loop) lets the restarted cluster resume from the
#   last backup instead of from the start.
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
#   files) between the workers, so each element arrives **exactly once** per epoch. The source must be splittable.
# - `"parallel_epochs"`: every worker runs the **whole** dataset. With k workers, each sample arrives k times per
#   epoch, in k different orders. That is fine for an endless stream of random augmentations, wrong when an epoch
#   must mean one pass.
#
# `helpers.service.LocalService` starts a dispatcher and worker servers as processes on 127.0.0.1, which shows the
# mechanics on one machine:

# %%
from helpers.service import LocalService

with LocalService(workers=2) as service:                     # a dispatcher + 2 worker processes on 127.0.0.1
    epoch = tf.data.Dataset.range(20).apply(tf.data.experimental.service.distribute(
        processing_mode="distributed_epoch", service=service.target, job_name="lesson-6"))
    got = [int(i) for i in epoch]
    print(f"distributed_epoch: {len(got)} elements, each of the 20 exactly once: {sorted(got) == list(range(20))}; "
          f"arrival order {got[:10]} ...")
    both = tf.data.Dataset.range(20).apply(tf.data.experimental.service.distribute(
        processing_mode="parallel_epochs", service=service.target))
    print(f"parallel_epochs:   {len(list(both))} elements: each of the 2 workers ran the whole epoch")

# %% [markdown]
# The benchmark's service method runs the flowers and membrane augmentation through such a service. The workers
# cannot receive the images from the trainer, so they read the files themselves. This is the pipeline they run. Note
# how each batch gets its seed: from the **sample counter of the source**, not from `enumerate()`. An `enumerate`
# after the split would restart at 0 on every worker, and two workers would draw the same augmentations.

# %%
print(inspect.getsource(feeders.file_batches))

# %%
for workload in ("flowers_224px", "membrane_512px_pairs"):
    local = by[workload, "tf_data_files", None]
    for n in (1, 2):
        remote = by[workload, "tf_data_service", n]
        print(f"{workload:<22} service, {n} process{'es' * (n > 1)}: {remote['images_per_s']:6.0f} images/s = "
              f"{remote['images_per_s'] / local['images_per_s']:.2f} x the same pipeline run locally, "
              f"{remote['images_per_s'] / by[workload, 'tf_data', None]['images_per_s']:.2f} x in-memory tf_data")

# %% [markdown]
# On one 2-core machine the service only adds work. Its workers share the trainer's two cores, and every batch is
# serialised, sent over a local socket and deserialised. So the service delivers less than the same pipeline run in
# the trainer, and a second worker process does not help: there is no idle CPU for it to use. It even doubles the
# flowers training step in the table, because its decoding now competes with the step for the two cores. The in-memory
# `tf_data` method is faster still, because it decodes nothing. The service pays in the opposite situation: an
# accelerator host whose own CPUs are the bottleneck, and spare CPU machines on a fast network. Then each added
# worker host adds its whole CPU to the pipeline.

# %% [markdown]
# ## How throughput grows with parallel calls and service workers
#
# The figure shows the images/s of the file-reading flowers pipeline (the pipeline alone) against its map
# parallelism (1, 2, AUTOTUNE) and against the number of tf.data service workers (1, 2), measured in full mode on
# this 2-core CPU, beside your run. In quick mode your run measures AUTOTUNE only, at 96 px, on fewer images.

# %%
import matplotlib.pyplot as plt

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
# pipeline run locally; the figure's run, so they differ a little from the benchmark table), assuming the workers
# are separate machines like this one and the network is not the limit. Put in your accelerator's training speed:

# %%
import math

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
# 1. Run `make bench` (or `python -m helpers.bench --workloads flowers`) on your machine. Does `tf_data` keep
#    its lead over `ImageDataGenerator`? How does the PyDataset with N threads do if you have more cores?
# 2. Replace the fused affine in the flowers workload with the chain of five Keras layers (rotation, zoom,
#    translation, shear, flip) and rerun the 224-px workload. How much of the lead is left?
# 3. Rerun the knob measurement with `bench.simulated_accelerator(0.01)` (a faster GPU). Which knobs start to matter
#    more? At what device speed does even the best variant make the device wait?
# 4. Train the lesson-5 U-Net with `models.AugmentInTrainStep` and paired augmentation in the step, instead of in
#    the pipeline. Compare the step time, and check with lesson 5's synthetic pair that image and mask are still
#    aligned.
# 5. Write the `TF_CONFIG` for worker 1 of the cluster above. Which paths must worker 1 not write to?
# 6. Run `python -m helpers.scaling --workers 2 --local-bn`. Which digests differ, and why does the loss not show it?
# 7. Start a `LocalService(workers=2)` and read the lesson-2 pipeline (`cifar_pipeline.prepare`) through it in
#    `distributed_epoch` mode. Which two things break: look at how it draws its seeds, and at its source.
#
# ## Summary
#
# - Measure two numbers: pipeline images/s and **input wait** per step. Aim for an input wait under 5%.
# - Measured on a 2-core CPU at 224x224: `tf.data` with one fused augmentation op delivers several times the
#   images/s of `ImageDataGenerator`, and its input wait is near zero where the legacy generator's is about two thirds of each step.
# - Most of the speed comes from doing augmentation as one compiled op. Most of the remaining input wait
#   disappears with `tf.data`'s overlap (parallel map and prefetch).
# - `cache()` the decoded images, **before** the random map. After it, augmentation is frozen.
# - PyDataset workers replace `fit_generator(workers=...)`; more threads can be slower, so measure.
#   Per-batch seeds keep the results independent of the worker count.
# - Augment in the pipeline by default. Move it into the model or the training step when the CPU cannot keep
#   up with the accelerator. Paired masks need the pipeline or the training step, not a layer inside the model.
# - albumentations augments about twice as fast as the fused op on this CPU at 224 px, and its training steps are
#   shorter, although more of each step waits for input. Judge a pipeline by the step time and the input wait
#   together, on your own machine.
# - Scaling: build under `strategy.scope()`, feed the global batch, and scale the learning rate with it. Use
#   mixed precision on GPUs, and `TF_CONFIG` plus sharding for several machines. Under Keras 3, write the
#   multi-worker step yourself, and synchronise BatchNorm, or the workers' models drift apart.
# - The tf.data service moves the input pipeline to machines of its own. It pays when the training host's CPUs
#   starve its accelerators; on one small machine it only adds overhead.
