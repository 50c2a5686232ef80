# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/06_fast_input_pipelines.ipynb)

# %% [markdown]
# # 6 · Fast input pipelines
#
# **Objectives.** You will
# - measure, not guess, which input pipeline keeps a model fed: images per second, and the share of each
#   training step lost **waiting for input**, in a plain loop and under `fit`;
# - compare the five ways this course has fed `model.fit` (`ImageDataGenerator.flow`, a Python generator,
#   `keras.utils.PyDataset`, `tf.data`, augmentation inside the model) with **albumentations**, behind a
#   `PyDataset` and inside `tf.data`;
# - pick a method by a stated rule, and read what each Keras augmentation layer costs from 224 to 2048 px;
# - turn the `tf.data` knobs one at a time (parallel `map`, `prefetch`, `cache`, order) and find the one that
#   silently breaks augmentation;
# - decide where augmentation should run: the CPU pipeline or the accelerator.
#
# Everything here runs on one machine. Lesson 8 takes the input pipeline and the training to several.
#
# **Runtime.** Quick mode: about 26 s on a 2-core CPU (one small workload, one timed pass each). Full mode: not
# measured as a whole; the benchmark and the `fit` measurement take about 10 minutes each on the same CPU.

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

    for name in ["cifar10", "flowers", "membrane"]:
        datasets.fetch(name)

# %%
from helpers import config

print(config.banner("6 · Fast input pipelines"))

# %%
import numpy as np
import tensorflow as tf

from helpers import bench, datasets, feeders, imagefolders, measured, models, readers, recipes, workloads
from helpers.taught import basic_ops, cifar_pipeline

# %% [markdown]
# ## Why: the model must never wait for data
#
# Training is a producer and a consumer. The **input pipeline** reads, decodes, augments and batches images;
# the **training step** consumes one batch. If the pipeline is slower, the accelerator idles, and every
# augmentation you add makes training slower. Two numbers tell you where you stand:
#
# - **images/s of the pipeline alone**: the most it can ever deliver;
# - **input wait**: of each training step's wall time, the share spent waiting for the batch. Under 5% is good. A
#   GPU makes the step short, so a pipeline that keeps up on a CPU can starve a GPU.
#
# How each method feeds `fit`, and what replaced what:
#
# | method | where the work runs under `fit` (Keras 3.15) | legacy Keras 2 | Keras 3 / TF 2 |
# |---|---|---|---|
# | `imagedatagenerator` | `flow` returns a 1-worker `PyDataset`: SciPy per image, in a prefetch thread | `fit_generator(datagen.flow(...))` | deprecated; still in `tf.keras.preprocessing` |
# | `python_generator` | a prefetch thread, one batch ahead or more | `fit_generator(gen, workers=...)` | `fit(gen)`; no workers for plain generators |
# | `pydataset` | 1 worker: as the generator; N: N Python threads (or processes) | `keras.utils.Sequence` | `keras.utils.PyDataset(workers=, use_multiprocessing=)` |
# | `tf_data` | TensorFlow's C++ thread pool, overlapped with the step | - | `tf.data` with `map(num_parallel_calls)` + `prefetch` |
# | `in_model` | inside the compiled training step (on the GPU if there is one) | - | preprocessing layers in the model, or a custom `train_step` |
#
# **What `fit` does with Python input** (Keras 3.15, `keras/src/trainers/data_adapters/`): a generator, or a
# 1-worker `PyDataset`, becomes `tf.data.Dataset.from_generator(...).prefetch(AUTOTUNE)`, so a tf.data thread calls
# your code while the step runs; a `PyDataset` with `workers > 1` gets a pool of threads (or processes) filling a
# queue of `max_queue_size` batches. Every method overlaps with training, but Python code holds the GIL while it runs.
#
# Every method applies the **same** augmentation to the same data: the fused affine (lesson 1's `random_affine`,
# one resampling), or the matching `ImageDataGenerator` arguments for the legacy method. Only the plumbing differs.

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
# For each method: warm-up batches, then the median of several timed passes of the pipeline alone. Then the
# benchmark's **own training loop**, not `fit`: `next()` for a batch, then one `train_on_batch` step, each timed
# (`helpers.bench.input_wait`). That loop prefetches nothing: a method that makes its batch inside `next()`
# (`ImageDataGenerator`, the generator, the 1-thread PyDataset) shows its whole cost as input wait, and one with
# threads of its own (N-thread PyDataset, `tf.data`) has the batch ready.

# %%
quick_methods = ["imagedatagenerator", "pydataset", "tf_data", "albumentations"]  # a sample, to keep it short
rows = bench.run(config.pick(quick=["flowers"], full=list(workloads.WORKLOADS)),  # quick mode: one workload,
                 methods=config.pick(quick=quick_methods, full=list(feeders.METHODS)))  # four methods

# %%
def label(r):
    """The method's name, with its threads (or tf.data service processes)."""
    unit = "process" if r["method"] == "tf_data_service" else "thread"
    many = "es" if unit == "process" else "s"
    return r["method"] + (f", {r['workers']} {unit}{many * (r['workers'] > 1)}" if r["workers"] else "")


mine = {(r["workload"].split("_")[0], r["method"], r["workers"]): r for r in rows}
full = measured.load("bench")["rows"]
for r in full:
    own = mine.get((r["workload"].split("_")[0], r["method"], r["workers"]))
    r["label"], r["wait"] = label(r), 100 * r["input_wait_fraction"]
    r["yours"] = own["images_per_s"] if own else None
    r["your_wait"] = 100 * own["input_wait_fraction"] if own else None
measured.show(measured.markdown_table(full, [
    ("workload", "workload", ""), ("method", "label", ""), ("measured images/s", "images_per_s", ",.0f"),
    ("vs ImageDataGenerator", "vs_imagedatagenerator", ".1f"), ("measured input wait %", "wait", ".1f"),
    ("step (s)", "step_seconds", ".3f"), ("your images/s", "yours", ",.0f"), ("your input wait %", "your_wait", ".1f")]));

# %% [markdown]
# ### What the full-mode measurements say
#
# The "measured" columns come from `python -m helpers.bench` in full mode on a 2-core CPU with no GPU
# (`notebooks/measured/bench.json` says which data, passes and steps). **Step** is the whole wall time of one step
# of the benchmark's loop, the wait included. Your columns come from the cell above; in quick mode (96 px, four
# methods, passes of 64 images) thread start-up dominates, so they only prove the code runs. Runs on other days
# differed by a factor of two or more, and so did some ratios: trust only large differences. Three rows are new: `albumentations` (below), and
# `tf_data_files` and `tf_data_service` (each image read from its file every time; lesson 8's subject).

# %%
by = {(r["workload"], r["method"], r["workers"]): r for r in full}
for workload in ("cifar_32px", "flowers_224px", "membrane_512px_pairs"):
    legacy, fast = by[workload, "imagedatagenerator", None], by[workload, "tf_data", None]
    print(f"{workload:<22} tf_data {fast['images_per_s'] / legacy['images_per_s']:4.1f}x ImageDataGenerator; "
          f"input wait {100 * legacy['input_wait_fraction']:4.1f}% -> {100 * fast['input_wait_fraction']:.1f}%")

# %% [markdown]
# - **The legacy generator starves even a CPU.** At 224 px, two thirds of every step of the benchmark's loop wait for
#   `ImageDataGenerator`: SciPy warps each image and channel in one Python thread, inside `next()`.
# - **Most of the gain is the fused op, not the framework.** The Python generator and the PyDataset call the
#   same compiled graph as `tf.data`. At 224 px the generator and the 1-thread PyDataset deliver 81% and 88% of its
#   images/s; on CIFAR and the membrane pairs, Python overhead per batch leaves them further behind. In the loop
#   they make each batch inside `next()`, so it all shows up as input wait (a third of each step at 224 px,
#   against 1% for `tf.data`, whose threads have the batch ready).
# - **More PyDataset threads are not free.** On 2 cores, 2 threads deliver more images/s than 1 on CIFAR, where
#   each batch is small and the threads overlap Python overhead, and fewer at 224 px and on the membrane crops,
#   where each batch is already one multithreaded TensorFlow call. In the training loop the verdict differs: the
#   step is shorter with 2 threads on CIFAR and the membranes, longer at 224 px. Judge by the step time.
# - **`in_model`** does the same work as `tf_data`, but in the training step: its throughput counts one batch at a
#   time with no overlap. Its step is no longer than `tf_data`'s here, because `tf_data`'s threads slow the step by
#   about as much as the augmentation costs inside it: on 2 cores, every thread takes from the same budget.

# %% [markdown]
# ### What `fit` itself waits for
#
# `fit` prefetches, so the loop above overstates what a Python method costs under `fit`. To measure `fit` itself,
# time its steps with a callback and compare two runs on the same model: one fed by the method, one fed the same
# kind of batch already **held in memory**, which costs nothing to hand out. What the step time grows by is what
# `fit`'s prefetching did not hide: waiting for the batch, and, on a CPU, the cores the pipeline takes from the
# step. On the TensorFlow backend Keras calls a callback in the training thread right after each step.

# %%
#@save
import time

import keras


class StepClock(keras.callbacks.Callback):
    """Wall-clock times (s): when training starts, then when each batch ends inside fit."""

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def fit_seconds_per_step(model, data, steps, *, warmup_steps=1):
    """Mean wall seconds per batch of one fit epoch on data (a generator, a PyDataset or a tf.data.Dataset):
    the step plus whatever fit waited for its batch. The warm-up batches (tracing, thread start) are not timed."""
    clock = StepClock()
    model.fit(data, steps_per_epoch=warmup_steps + steps, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
    return (clock.times[-1] - clock.times[warmup_steps]) / steps


def held_in_memory(dataset, n):
    """The first n (x, y) batches of a tf.data.Dataset, made now and kept in memory."""
    xs, ys = zip(*dataset.take(n).as_numpy_iterator())
    return tf.data.Dataset.from_tensor_slices((np.stack(xs), np.stack(ys)))


# %%
fitted = [r for r in full if r.get("fit_step_seconds")]  # the methods that feed fit from memory
for r in fitted:
    own = mine.get((r["workload"].split("_")[0], r["method"], r["workers"]))
    r["fit_wait"] = 100 * r["fit_input_wait_fraction"]
    r["your_fit_wait"] = 100 * own["fit_input_wait_fraction"] if own and "fit_input_wait_fraction" in own else None
measured.show(measured.markdown_table(fitted, [
    ("workload", "workload", ""), ("method", "label", ""), ("wait in the benchmark's loop %", "wait", ".1f"),
    ("step lost under fit %", "fit_wait", ".1f"), ("fit images/s", "fit_images_per_s", ",.0f"),
    ("fit step (s)", "fit_step_seconds", ".3f"), ("in memory (s)", "in_memory_step_seconds", ".3f"),
    ("yours, under fit %", "your_fit_wait", ".1f")]));

# %% [markdown]
# Measured with `python -m helpers.bench --fit` on the same workloads (`notebooks/measured/fit_wait.json`: three
# rounds, medians; runs of one method still spread by about 10%). Your column is the quick run above.
#
# - **`fit` hides the loop's differences, not the work.** At 224 px the generator, both PyDatasets and `tf.data`
#   all lose 36-43% of `fit`'s step, where the loop showed 34% against 1%. Prefetching overlaps the batch with the
#   step, but on 2 cores both need the same cores: what remains is the cost of the augmentation itself, whoever
#   runs it. `ImageDataGenerator` loses three quarters: its SciPy warps take longer than the step.
# - **A long step hides a light pipeline.** The U-Net's half-second step on 4 crops loses 1.5% with `tf.data` and
#   2% with the 1-thread PyDataset; CIFAR's small batches lose 9-21%.
# - With a GPU running the step, the CPU is free for the pipeline, and the first table's images/s decides.

# %% [markdown]
# ### Against the library most people pick: albumentations
#
# **albumentations** is the most used augmentation library, and the usual choice for image/mask pairs. It works
# on NumPy arrays with OpenCV, one image at a time. The benchmark gives it the same recipe: `Recipe.albumentations()`
# builds it from the same definition as the fused op (one `Affine` for rotation, shift, zoom and shear, then the
# flips; a `RandomCrop` first for the membranes). It feeds the model the way its users feed `fit`, from a
# `PyDataset` with 1 and 2 worker threads. Two differences in meaning hide in the translation: `scale` magnifies where `zoom_range` shrinks, and the
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

# %% [markdown]
# ### albumentations inside `tf.data`
#
# albumentations' own advice for TensorFlow users is to call the `Compose` from a `tf.data` map through
# `tf.numpy_function`. The map's threads then overlap the augmentation with the step; OpenCV releases the GIL while
# it warps, and Python holds it only around the calls. Two ways to cut the work: one call **per image** (map, then
# batch), or one call **per batch** (batch, then map a loop over its images). Their docs draw from global random
# state; here each call reseeds its thread's `Compose` from (seed, the call's place in the stream), so the same seed
# gives the same batches, whatever the thread count. Reseeding costs about 0.1 ms, once per call.

# %%
#@save
import threading


def albumentations_numpy(make_compose, *, paired=False):
    """A NumPy function (images, targets, seed) -> (images, targets) for tf.numpy_function: make_compose(0)'s
    transforms, reseeded from seed (an int64 pair), applied to each image in turn; with paired, each mask
    (H, W, 1) goes through its image's call. uint8 in, uint8 out; targets that are labels pass through."""
    local = threading.local()  # a Compose holds random state: each tf.data thread keeps its own

    def run(images, targets, seed):
        if not hasattr(local, "compose"):
            local.compose = make_compose(0)
        compose = local.compose
        compose.set_random_seed(int(np.random.SeedSequence(seed.tolist()).generate_state(1)[0]))
        outs = [compose(image=x, mask=y) if paired else compose(image=x) for x, y in zip(images, targets)]
        ys = [out["mask"] for out in outs] if paired else targets
        return np.stack([out["image"] for out in outs]), np.stack(ys)

    return run


def albumentations_dataset(images, targets, make_compose, *, batch_size, seed, preprocess, paired=False,
                           per_batch=False, crop=None):
    """Endless model-ready (x, y) batches with albumentations called from a parallel tf.data map: one call per
    image, or per batch. images uint8 (N, H, W, C); targets int labels (N,) or uint8 masks (N, H, W, 1), which
    come out float32 {0, 1}; crop: the side the Compose crops to, if it does."""
    run = albumentations_numpy(make_compose, paired=paired)
    side = images.shape[1:3] if crop is None else (crop, crop)
    x_shape, y_shape = (None, *side, images.shape[-1]), (None, *side, 1) if paired else (None,)

    def augment(k, x, y):  # k: the call's place in the stream
        key = tf.stack([tf.constant(seed, tf.int64), k])
        xa, ya = tf.numpy_function(run, [x, y, key], [x.dtype, y.dtype], stateful=False)
        return tf.ensure_shape(xa, x_shape), tf.ensure_shape(ya, y_shape)

    calls = dict(num_parallel_calls=tf.data.AUTOTUNE)
    ds = tf.data.Dataset.from_tensor_slices((images, targets)).shuffle(len(images), seed=seed).repeat()
    if per_batch:
        ds = ds.batch(batch_size, drop_remainder=True).enumerate().map(lambda k, xy: augment(k, *xy), **calls)
    else:
        one = lambda i, xy: [t[0] for t in augment(i, xy[0][None], xy[1][None])]  # noqa: E731
        ds = ds.enumerate().map(one, **calls).batch(batch_size, drop_remainder=True)
    ready = lambda x, y: (preprocess(x), tf.cast(y, tf.float32) if paired else y)  # noqa: E731
    return ds.map(ready, **calls).prefetch(tf.data.AUTOTUNE)


# %%
pairs_per_image, pairs_per_batch = (albumentations_dataset(
    em_images, em_masks, lambda s: recipes.MEMBRANE.without_elastic().albumentations(s, crop=256), batch_size=4,
    seed=0, preprocess=lambda x: tf.cast(x, tf.float32) / 255, paired=True, per_batch=b, crop=256) for b in (False, True))
for name, ds in (("per image", pairs_per_image), ("per batch", pairs_per_batch)):
    x, y = next(iter(ds))
    again = next(iter(ds))[0]  # a new iterator: the same seed, the same first batch
    print(f"{name}: images {x.shape} {x.dtype}, masks {y.shape} {y.dtype} values {np.unique(y).tolist()}; "
          f"same first batch again: {np.array_equal(x, again)}")

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
# - **As an augmenter, albumentations wins.** With one thread it produces several times the images/s of `tf.data`
#   at 224 px, and more on the membranes too: OpenCV warps uint8 pixels in a tight C++ loop, where the
#   course's op goes through float32 and TensorFlow's general projective-transform kernel.
# - **Its input wait is higher, yet its steps are shorter.** At 224 px, with one thread, a large share of each
#   step waits for albumentations, against under 1% for `tf.data`, yet its whole step is shorter. With one
#   thread the benchmark's loop makes each batch inside `next()`, so all of its augmentation is wait. With two, the
#   batch is made ahead, but each image passes through Python (the `Compose` call, the NumPy stacking), which holds
#   the GIL while the step needs it. `tf.data` runs its graph in C++ threads that never take the GIL, but they take
#   the two cores the step needs, which lengthens the step. Here the net result favours albumentations at 224 px
#   and is a tie on the membranes.
# - **A second thread makes albumentations slower here**, as it did for the PyDataset above: OpenCV already uses its
#   own threads, and there are only 2 cores.
#
# So the course's fused op is not the fastest augmenter on a CPU; its strengths are one resampling, explicit seeds,
# and the same op in `tf.data`, a training step or a tf.data service. With many cores, `tf.data`'s parallel map
# scales without the GIL. Measure your machine with `make bench`.

# %% [markdown]
# ## The `tf.data` knobs, one at a time
#
# A `tf.data` pipeline is a chain of transformations, each with a knob:
#
# - **`map(f, num_parallel_calls=tf.data.AUTOTUNE)`** runs `f` on several elements at once on TensorFlow's
#   thread pool. AUTOTUNE picks the parallelism from the CPU budget.
# - **`prefetch(tf.data.AUTOTUNE)`** at the end keeps a few batches ready in a background thread, so producing
#   batch k+1 overlaps with whatever handles batch k: the training step, or the batching stage itself.
# - **`cache()`** keeps elements in memory (or in a file) after their first pass. Put it **after decoding and
#   before any random augmentation**. After augmentation, it freezes epoch 1's random draws, and every epoch
#   replays them.
# - **`deterministic=False`** (or `options.deterministic`) lets a parallel map hand out whichever element is
#   ready first, instead of holding it back to keep the order. It is a little faster; the order then varies
#   between runs, which breaks bit-for-bit reproducibility of the batch order.
#
# TensorFlow 2 also parallelises a stateless `map` and injects a `prefetch` on its own. The pipeline below turns
# these automatic rewrites off (`tf.data.Options`) so that each knob is measured alone; the last variant turns
# them back on. Every knob is an argument.
#
# We read the flower photos **from disk** (decode, resize, augment per image), and measure two rates: the
# pipeline alone, and the pipeline feeding a **simulated accelerator** that needs 40 ms per batch of 32 (800
# images/s) without using the CPU, as a GPU would (a CPU step would take the pipeline's cores, as `fit` showed).

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
# 32, 3 timed passes, the flower augmentation without its 0.15° shear, which changes nothing measurable), beside
# your run:

# %%
yours = {r["variant"]: r for r in knobs}
table = [{**r, "yours": yours.get(r["variant"], {}).get("images_per_s"), "repeats": 100 * r["repeated_augmentations"]}
         for r in measured.load("tf_data_knobs")["rows"]]
measured.show(measured.markdown_table(table, [
    ("variant", "variant", ""), ("pipeline alone (images/s)", "images_per_s", ",.0f"),
    ("feeding an 800 images/s device", "training_images_per_s", ",.0f"), ("pass 2 repeats pass 1 (%)", "repeats", ".0f"),
    ("yours, pipeline alone", "yours", ",.0f")]));

# %% [markdown]
# - **Parallel map** gives about a third more here; 2 cores leave little more to take.
# - **Prefetch** adds about 15% alone and 10% feeding the device: batching and the consumer stop waiting for each other.
# - **Caching the decoded images** about doubles the rate: decoding and resizing a JPEG is the costliest step, and the
#   same every epoch. Only the random augmentation must run again.
# - **Non-deterministic order** adds a little, within the noise of one run.
# - **The wrong cache** looks fastest, and is not augmentation at all: every pass 2 image is byte-identical to one of
#   pass 1. (A cache needs a finite input, so this variant also counts its seeds within a pass, which alone would
#   replay pass 1's draws.) Count seeds over the whole stream, after `repeat`, and cache before the random `map`.
# - TensorFlow's automatic rewrites recover the parallel map unasked; writing the knobs out documents the intent.

# %% [markdown]
# ## The pitfall: speed knobs from Keras 2, and a cache in the wrong place
#
# The flower post lists `fit_generator`'s speed knobs: `max_queue_size` (10), `workers` (1) and
# `use_multiprocessing`. Three things changed, and one mistake is easy to make:
#
# 1. **`fit_generator` is gone.** `fit` takes a generator but no `workers` for it: one tf.data thread calls it
#    ahead of the step (above), and only one, since a generator cannot be called from two threads at once. The
#    knobs moved to `keras.utils.PyDataset(workers=..., use_multiprocessing=..., max_queue_size=...)` (lesson 3
#    wrote one), which indexes batches (`__getitem__(i)`), so parallel workers cannot step on each other.
# 2. **More workers is not faster by default.** It depends on where the work runs. Measured above: by step time,
#    2 threads won on CIFAR and the membranes and lost at 224 px.
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
#   for any model. It is the default choice.
# - **Inside the model (accelerator)**: Keras preprocessing layers in the model, or a custom `train_step`, run
#   augmentation on the GPU as part of the step. Choose it when the CPU cannot keep up: a fast GPU, few CPU cores,
#   or large images.
# - Layers inside the model see only the **inputs**, and a segmentation mask is a target, so paired augmentation
#   happens in the pipeline or in the training step. `helpers.models.AugmentInTrainStep` does the latter (the
#   `in_model` rows): it augments each batch in the compiled step, with a seed derived from the optimizer step.
#   Here it is on a few CIFAR images; at inference it only rescales them.

# %%
(x_small, y_small), _ = readers.load_cifar10(256)
on_device = models.AugmentInTrainStep(
    models.cifar_cnn(),
    augment=lambda x, y, seed: (basic_ops.random_affine(x, seed=seed, rotation=20, shift=0.2, zoom=0.2), y),
    preprocess=cifar_pipeline.scale, seed=0)
on_device.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = on_device.fit(x_small, y_small.astype("int32"), batch_size=64, epochs=1, verbose=0)
print(f"1 epoch on {len(x_small)} raw uint8 images: loss {history.history['loss'][-1]:.3f}; "
      f"optimizer steps {int(on_device.optimizer.iterations)} (each used seed (0, step))")

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
# 5. **A faster step.** Rerun `bench.fit_wait` on the flowers workload with a much smaller model (give
#    `dataclasses.replace(workload, build_model=...)` a model of one `Conv2D(8, 3)` and a pooling head). Which
#    methods' wait under `fit` grows, which stays put, and why?
#
# ## Summary
#
# - Measure two numbers: pipeline images/s and **input wait** per step. Aim for an input wait under 5%.
# - Measured on a 2-core CPU at 224x224: `tf.data` with one fused augmentation op delivers several times the
#   images/s of `ImageDataGenerator`, and its input wait is near zero where the legacy generator's is about two thirds of each step.
# - Most of the speed comes from doing augmentation as one compiled op. Most of the remaining input wait
#   disappears with `tf.data`'s overlap (parallel map and prefetch).
# - `cache()` the decoded images, **before** the random map. After it, augmentation is frozen.
# - `fit` prefetches a Python generator or a 1-worker PyDataset itself; PyDataset workers replace
#   `fit_generator(workers=...)`. More threads can be slower, so measure. Per-batch seeds keep the results
#   independent of the worker count.
# - The benchmark's loop has no prefetch; `fit` has. Measure `fit` by its step time against batches held in
#   memory.
# - Augment in the pipeline by default. Move it into the model or the training step when the CPU cannot keep
#   up with the accelerator. Paired masks need the pipeline or the training step, not a layer inside the model.
# - albumentations augments several times as fast as the fused op on this CPU at 224 px. Judge a pipeline by
#   the step time and the input wait together, on your own machine.
# - When one machine is not enough, lesson 8 spreads the training and the input pipeline over several.
