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
# - turn the `tf.data` knobs one at a time and find the one that silently breaks augmentation;
# - decide where augmentation should run: the CPU pipeline or the accelerator.
#
# Lesson 8 takes the input pipeline and the training to several machines.
#
# **Runtime.** Quick mode: about 30 s on a 2-core CPU (one small workload, one timed pass each). Full mode: not
# measured as a whole; its benchmark, `fit` included, takes about 15 minutes on the same CPU.

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

from helpers import (
    bench,
    datasets,
    feeders,
    imagefolders,
    layer_costs,
    measured,
    models,
    plots,
    readers,
    recipes,
    workloads,
)
from helpers.taught import basic_ops, cifar_pipeline

# %% [markdown]
# ## Why: the model must never wait for data
#
# The **input pipeline** reads, decodes, augments and batches images; the **training step** consumes them. If the
# pipeline is slower, the accelerator idles. Two numbers tell: the **images/s of the pipeline alone**, and the
# **input wait**, the share of each step spent waiting for the batch (under 5% is good). A GPU shortens the step:
# a pipeline that keeps up on a CPU can starve it.
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
# Every method applies the **same** augmentation: the fused affine (lesson 1's `random_affine`), or the matching
# `ImageDataGenerator` arguments. Only the plumbing differs.

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
# For each method: the median of several timed passes of the pipeline alone, after a warm-up. Then the benchmark's
# **own training loop**, not `fit`: `next()` for a batch, then one `train_on_batch` step, each timed. That loop
# prefetches nothing: a method that makes its batch inside `next()` (`ImageDataGenerator`, the generator, the
# 1-thread PyDataset) shows its whole cost as input wait; one with threads of its own has the batch ready.

# %%
quick_methods = ["imagedatagenerator", "tf_data", "albumentations_tf_data_batch"]  # a sample, to keep it short
rows = bench.run(config.pick(quick=["flowers"], full=list(workloads.WORKLOADS)),  # quick mode: one workload,
                 methods=config.pick(quick=quick_methods, full=list(feeders.METHODS)))  # three methods

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
# (`notebooks/measured/bench.json` says which data, passes and steps). **Step** is the wall time of one step of the
# benchmark's loop, the wait included. Your columns, in quick mode (96 px, passes of 64 images), only prove the code
# runs. Other days' runs differed twofold or more: trust only large differences. `tf_data_files` and
# `tf_data_service` (each image read from its file every time) are lesson 8's.

# %%
by = {(r["workload"], r["method"], r["workers"]): r for r in full}
for workload in ("cifar_32px", "flowers_224px", "membrane_512px_pairs"):
    legacy, fast = by[workload, "imagedatagenerator", None], by[workload, "tf_data", None]
    print(f"{workload:<22} tf_data {fast['images_per_s'] / legacy['images_per_s']:4.1f}x ImageDataGenerator; "
          f"input wait {100 * legacy['input_wait_fraction']:4.1f}% -> {100 * fast['input_wait_fraction']:.1f}%")

# %% [markdown]
# - **The legacy generator starves even a CPU.** At 224 px, over three quarters of every step of the loop wait for
#   `ImageDataGenerator`: SciPy warps each image and channel in one Python thread, inside `next()`.
# - **Most of the gain is the fused op, not the framework.** The Python generator and the PyDataset call `tf.data`'s
#   compiled graph; alone, with one thread, deliver about three quarters of its images/s. In the loop they make
#   each batch inside `next()`, so it all shows as input wait: almost half of each step at 224 px, against under 1%
#   for `tf.data`, whose threads have the batch ready.
# - **More PyDataset threads are not free.** 2 threads deliver more images/s than 1 on CIFAR (small images; the
#   threads overlap Python overhead), little more at 224 px, and fewer on the membrane crops, where each batch is
#   already one multithreaded TensorFlow call.
# - **`in_model`** does `tf_data`'s work inside the step, with no overlap. Yet in this loop its step is not much
#   longer than `tf_data`'s, sometimes shorter: `tf_data`'s threads slow the step by about as much. On 2 cores every
#   thread takes from the same budget.

# %% [markdown]
# ### What `fit` itself waits for
#
# `fit` prefetches, so the loop above overstates what a Python method costs under `fit`. To measure `fit` itself,
# time its steps with a callback, fed by the method and fed the same batches **held in memory**, which cost nothing
# to hand out. The growth is what prefetching did not hide: the wait, and, on a CPU, the cores the pipeline takes
# from the step. (Keras calls a callback in the training thread after each step.)

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
    ("step lost under fit %", "fit_wait", ".1f"), ("fit images/s", "fit_images_per_s", ",.1f"),
    ("fit step (s)", "fit_step_seconds", ".3f"), ("in memory (s)", "in_memory_step_seconds", ".3f"),
    ("fit / in memory", "fit_step_ratio", ".2f"), ("yours, under fit %", "your_fit_wait", ".1f")]));
for workload in dict.fromkeys(r["workload"] for r in fitted):
    widest = max((r for r in fitted if r["workload"] == workload), key=bench.round_spread)
    print(f"{workload}: a method's rounds (fit / in memory) differed by up to {bench.round_spread(widest):.0%} "
          f"({widest['label']}: {widest['fit_step_ratio_runs']})")

# %% [markdown]
# Two rounds; each method's `fit` runs between two in-memory runs. **fit / in memory**: its step over their mean;
# **step lost**: 1 - their mean over its step (0 if shorter); medians of the rounds. Drift moves both steps of a
# round alike and cancels; read only differences larger than the spread printed under the table.
#
# - **`fit` hides the loop's differences, not the work.** At 224 px the methods that run the fused op lose about a
#   third to a half of `fit`'s step, where the loop showed almost half for some and under 1% for others. Prefetching
#   overlaps the batch with the step, but both need the same 2 cores: what remains is the augmentation's cost, and
#   how its threads share the cores with the step. `ImageDataGenerator` loses about three quarters.
# - **A long step hides a light pipeline; noise hides the rest.** On the membranes each pipeline but
#   `ImageDataGenerator` needs 1-3% of the U-Net step's CPU, yet they lose 0 to about 14%, some even with agreeing
#   rounds. CIFAR's lose about 5-13% (`ImageDataGenerator` 21%, per image in `tf.data` 36%).
# - With a GPU running the step, the CPU is free for the pipeline, and the first table's images/s decides.

# %% [markdown]
# ### Against the library most people pick: albumentations
#
# **albumentations**, the usual choice for image/mask pairs, works on NumPy arrays with OpenCV, one image at a
# time. `Recipe.albumentations()` builds the same recipe as the fused op (one
# `Affine`, then the flips; a `RandomCrop` first for the membranes), fed to `fit` from a `PyDataset` with 1 and 2
# threads. Two meanings change in translation: `scale` magnifies where `zoom_range` shrinks, and the legacy shear is
# along x only. A pair goes through **one call**, one draw, the mask resampled nearest-neighbour:

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
# albumentations' own advice for TensorFlow users: call the `Compose` from a `tf.data` map through
# `tf.numpy_function`. The map's threads overlap the augmentation with the step, and OpenCV releases the GIL while it
# warps. One call **per image** (map, then batch) or **per batch** (batch, then map a loop)? Their docs draw from
# global random state; here each call reseeds its thread's `Compose` from (seed, the call's place in the stream), so
# the same seed gives the same batches, whatever the thread count.

# %%
#@save
import random
import threading


def albumentations_numpy(make_compose, *, paired=False):
    """A NumPy function (images, targets, seed) -> (images, targets) for tf.numpy_function: make_compose(0)'s
    transforms, reseeded from seed (an int64 pair), applied to each image in turn; with paired, each mask
    (H, W, 1) goes through its image's call. uint8 in, uint8 out; targets that are labels pass through."""
    local = threading.local()  # a Compose holds random state: each tf.data thread keeps its own

    def run(images, targets, seed):
        if not hasattr(local, "compose"):
            local.compose = make_compose(0)
        compose, key = local.compose, int(np.random.SeedSequence(seed.tolist()).generate_state(1)[0])
        # one generator pair for every step: set_random_seed would seed each step alike, and two flips would agree
        compose.set_random_state(np.random.default_rng(key), random.Random(key))
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
def membrane_pairs(per_batch):
    return albumentations_dataset(
        em_images, em_masks, lambda s: recipes.MEMBRANE.without_elastic().albumentations(s, crop=256), batch_size=4,
        seed=0, preprocess=lambda x: tf.cast(x, tf.float32) / 255, paired=True, per_batch=per_batch, crop=256)


for per_batch in (False, True):
    (x, y), (again, _) = (next(iter(membrane_pairs(per_batch))) for _ in range(2))  # built twice, same seed
    print(f"per {'batch' if per_batch else 'image'}: images {x.shape} {x.dtype}, masks {y.shape} {y.dtype} values "
          f"{np.unique(y).tolist()}; the same first batch when built again: {np.array_equal(x, again)}")

# %%
workload_names = list(dict.fromkeys(r["workload"] for r in full))
for workload in workload_names:
    for r in fitted:
        if r["workload"] == workload and (r["method"] == "tf_data" or r["method"].startswith("albumentations")):
            print(f"{workload:<22}{r['label']:<36}alone {r['images_per_s']:>6,.0f} images/s, "
                  f"{r['cpu_ms_per_image']:5.2f} CPU ms each | under fit {r['fit_images_per_s']:5,.1f} images/s, "
                  f"{r['fit_wait']:4.1f}% of the step lost")

# %% [markdown]
# - **Call albumentations once per batch, not per image.** Each `tf.numpy_function` call crosses into Python and
#   reseeds: per image, that costs about two to six times the CPU (pipeline alone) of per-batch calls.
# - **Image size decides between OpenCV and the fused op.** At 32 px a CIFAR image is 3 KB: the Python call per image
#   costs more than the warp, and the fused op in `tf.data` is about twice as fast. At 224 px and on the 256-px
#   membrane crops, OpenCV warps uint8 pixels in a tight loop while the fused op goes through float32 and a general
#   projective kernel: albumentations needs a third (224 px) to a half (membranes) of the CPU per image, and per
#   batch in `tf.data` it is among the fastest pipelines alone.

# %% [markdown]
# ### Which method? A rule, and what it picks
#
# Pick by what `fit` gets, not by the pipeline alone. The benchmark applies one rule per workload and marks its
# choice in `bench.json`:

# %%
print(bench.RECOMMENDATION_RULE, "\n")
for workload in workload_names:
    candidates = [r for r in fitted if r["workload"] == workload]
    pick = next(r for r in candidates if r["recommended"])
    fastest_alone = max((r for r in full if r["workload"] == workload), key=lambda r: r["images_per_s"])
    augment_cpu = pick["cpu_ms_per_image"] * pick["batch_size"]  # ms per batch, pipeline alone
    print(f"{workload}: {pick['label']}\n  under fit {pick['fit_images_per_s']:,.1f} images/s, {pick['fit_wait']:.1f}% "
          f"of the step lost: {'within' if pick['within_wait_budget'] else 'OVER'} the 5% budget; augmentation "
          f"{augment_cpu:.0f} CPU ms per batch, the step {1000 * pick['in_memory_step_cpu_seconds']:.0f}\n  alone {pick['images_per_s']:,.0f} images/s, "
          f"{pick['images_per_s'] / fastest_alone['images_per_s']:.0%} of the fastest pipeline ({fastest_alone['label']})")

# %% [markdown]
# The budget holds where the step dwarfs the augmentation: on the membranes, a few percent of the step's CPU.
# CIFAR's pick needs under a tenth yet loses a tenth; at 224 px the cheapest needs over a quarter, and the pick just
# misses. On 2 cores the pipeline's time comes out of the step, by its CPU and by how its threads share the cores.
# Remedies: more cores (lesson 8), a cheaper augmentation, or an accelerator.
#
# **The fastest pipeline alone is not the fastest under `fit`**: at 224 px, albumentations per batch in `tf.data`
# leads alone, yet loses several times more of `fit`'s step than the same `Compose` behind a 2-thread PyDataset.
# **Where the step hides every pipeline, `fit` cannot rank them**: the membranes' pick is the noise's; the tie
# absorbs only the noise a method's own rounds show. `make bench` makes yours.

# %% [markdown]
# ## What each Keras augmentation layer costs
#
# Inside the model or in the pipeline, a preprocessing layer costs time and memory, and both grow with the image.
# `python -m helpers.layer_costs` measures every augmentation layer this course uses or names, the lesson-3 chain
# of five layers and the course's fused op, on a batch of 8 images from 224 to 2048 px, in a parallel `tf.data`
# map and in a compiled call as in `fit`'s step. Each measurement runs in a fresh process, whose peak resident
# memory above its start is the layer's own.

# %%
costs = measured.load("layer_costs")["rows"]
sizes = sorted({r["size"] for r in costs})
columns = [("layer", "layer", "")] + [(f"{place} {size}", f"{place} {size}", ",.2f")
                                      for size in sizes for place in ("tf_data", "model")]
measured.show("**Milliseconds per image**\n\n" + measured.markdown_table(
    layer_costs.table(costs, "ms_per_image"), columns))
plots.layer_costs(costs);

# %%
measured.show("**Peak memory above the start (MB), for a batch of 8**\n\n" + measured.markdown_table(
    layer_costs.table(costs, "peak_mb_above_start"), columns[:1] + [(h, k, ",.0f") for h, k, _ in columns[1:]]));

# %% [markdown]
# - **Cost follows the pixels**: each doubling of the side about quadruples the cost per image.
# - **Chained layers add up.** At 224 px the four resampling layers cost 1.5-2 ms per image each, the flip under 1,
#   the lesson-3 chain 7-8 ms; the fused op does all five in one resampling for about the price of one.
# - **Policies are the dear ones.** RandAugment computes every one of its operations on the whole batch, for each
#   of its `num_ops` steps, and keeps one with `where` (`rand_augment.py`): 33-44 ms per image at 224 px, seconds at
#   2048 px. The elastic transform grows faster than the pixels: Keras blurs its field with a Gaussian whose σ is up
#   to 5% of the side, drawn per call (`random_elastic_transform.py`), so its timings vary; at 2048 px a batch did
#   not finish within a minute.
# - **Memory** peaks at a few copies of the batch (8 float32 images of 2048 px are 400 MB): 1-2 GB for most layers,
#   4-6 GB for RandAugment and AugMix. `tf.data` usually peaks higher, holding prefetched batches.

# %% [markdown]
# ## The `tf.data` knobs, one at a time
#
# A `tf.data` pipeline is a chain of transformations, each with a knob:
#
# - **`map(f, num_parallel_calls=tf.data.AUTOTUNE)`** runs `f` on several elements at once on TensorFlow's
#   thread pool, with a parallelism AUTOTUNE picks from the CPU budget.
# - **`prefetch(tf.data.AUTOTUNE)`** at the end keeps a few batches ready, so producing batch k+1 overlaps with
#   whatever handles batch k.
# - **`cache()`** keeps elements after their first pass. Put it **after decoding and before any random
#   augmentation**: after augmentation, it freezes epoch 1's random draws.
# - **`deterministic=False`** lets a parallel map hand out whichever element is ready first. A little faster; the
#   batch order then varies between runs.
#
# TensorFlow 2 also parallelises a stateless `map` and injects a `prefetch` on its own. The pipeline below turns
# these rewrites off (`tf.data.Options`) so that each knob is measured alone; the last variant turns them back on.
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
#    ahead of the step, since a generator cannot be called from two threads at once. The knobs moved to
#    `keras.utils.PyDataset(workers=..., use_multiprocessing=..., max_queue_size=...)` (lesson 3 wrote one), which
#    indexes batches, so parallel workers cannot step on each other.
# 2. **More workers is not faster by default.** Compare the 1- and 2-thread rows above, alone and under `fit`.
# 3. **Workers and global random state do not mix.** Lesson 5 measured it: two `ImageDataGenerator`s stay
#    aligned only because each batch reseeds NumPy's global RNG; one extra draw from another thread left 20% of
#    mask pixels misaligned. The course derives every batch's seed from (seed, batch index), so 2 PyDataset
#    threads yield exactly the batches of 1.
# 4. **`cache()` after a random `map`** freezes the augmentation (the 100% row above). Fix: cache the
#    decoded images, then augment.

# %% [markdown]
# ## Where should augmentation run?
#
# - **In the input pipeline (CPU)**: it overlaps with training, keeps the model clean for export, and works for
#   any model. Which method: the rule above, on your machine's `bench.json`.
# - **Inside the model (accelerator)**: layers in the model, or a custom `train_step`, augment on the GPU as part
#   of the step. Choose it when the CPU cannot keep up; the layer costs say what each layer adds.
# - Layers inside the model see only the **inputs**, and a mask is a target, so paired augmentation happens in the
#   pipeline or in the training step, as `helpers.models.AugmentInTrainStep` does (the `in_model` rows, seeded by
#   the optimizer step). Here it is on a few CIFAR images:

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
# 1. Run `make bench` (or `python -m helpers.bench --workloads flowers`) on your machine. Which method does the
#    rule pick? With more cores, does the input wait under `fit` fall below 5%, and for which methods?
# 2. Replace the fused affine in the flowers workload with the chain of five Keras layers and rerun the 224-px
#    workload. Does the slowdown match what the layer-cost table predicts?
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
# - Measure pipeline images/s and the **input wait** per step, in a loop and under `fit` (its step against batches
#   held in memory). Aim for under 5%.
# - On a 2-core CPU at 224 px, the fused op in `tf.data` delivers several times `ImageDataGenerator`'s images/s,
#   mostly thanks to one compiled op; its overlap removes the loop's wait.
# - `cache()` decoded images **before** the random map.
# - PyDataset workers replace `fit_generator(workers=...)`; more threads can be slower. Per-batch seeds keep the
#   results independent of the worker count.
# - albumentations needs less CPU per image than the fused op from 224 px up; from `tf.data`, call it per batch,
#   seeded per call. At 32 px, the fused op is faster alone.
# - Pick by a rule, on your machine: fastest under `fit`, ties (within the measurement's noise) to the most
#   headroom. On 2 cores only the membranes' pick met the budget, and the fastest pipeline alone may lose far more
#   than the pick.
# - Layer costs follow the pixels; RandAugment and the elastic transform cost most; one fused op beats a chain.
# - Paired masks need the pipeline or the training step, not a layer inside the model.
# - When one machine is not enough, lesson 8 spreads the training and the input pipeline over several.
