# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 6 · exercises: fast input pipelines
#
# **Read first:** `06_fast_input_pipelines.ipynb`, which measures input pipelines against the training step and turns the `tf.data` knobs one at a time. These exercises practise it: a parallel, prefetched pipeline that stays deterministic, a cache in the right place, and a throughput measurement with a warm-up.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Then run the test cells below it: a test that passes prints `ok`,
# one that fails says what is wrong. The tests check what your code *does* (shapes, ranges, seeds,
# alignment, numbers), so any correct solution passes. The grader counts a test cell that writes to
# stderr (an exception, but also a warning) as failed: make sure your code runs without warnings.
# Questions are answered in words, in the cell that says "YOUR ANSWER HERE", and graded by your
# teacher. Each exercise says whether it is meant for **class** (shorter, done together) or
# **homework**. Run the cells in order, from the top.
#
# **Runtime.** About 9 s in quick mode (`COURSE_QUICK=1`) on a 2-core CPU, most of it
# TensorFlow's start-up (13 s while another job kept both cores busy). Nothing here
# depends on the mode: small arrays and a handful of real images, and no training beyond a few steps, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import time

import numpy as np
import tensorflow as tf

from helpers import config

print(config.banner("Lesson 6 · exercises"))


def dataset_ops(ds):
    """The names of the tf.data operations `ds` is built from, e.g. {"ParallelMapDatasetV2", "PrefetchDataset"},
    and the `deterministic` setting of each parallel map."""
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(ds._as_serialized_graph().numpy())
    ops = {node.op for node in graph.node}
    settings = [node.attr["deterministic"].s.decode() for node in graph.node if node.op.startswith("ParallelMap")]
    return ops, settings


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): parallel, prefetched, and still deterministic
#
# **Why it matters.** `map(..., num_parallel_calls=tf.data.AUTOTUNE)` runs the augmentation on several
# elements at once, and `prefetch(tf.data.AUTOTUNE)` prepares the next batches while the model trains on
# this one: together they keep the model from waiting for data. Neither has to cost reproducibility: a
# parallel map still hands out elements in order unless you allow `deterministic=False`, and stateless
# seeds derived from each element's index give the same draws whichever thread runs them.
#
# **What to write.** `fast_pipeline(x, batch_size, seed)`: `from_tensor_slices(x)`, `enumerate`, then a
# parallel `map` that adds Gaussian noise of standard deviation 0.1 to each float image, drawn with
# `tf.random.stateless_normal` from a seed made of `seed` and the element's index; then `batch` and
# `prefetch`, both with `tf.data.AUTOTUNE` where they take it. Two runs with the same seed must give
# identical batches, in the same order.
#
# **Hints.** `tf.random.experimental.stateless_fold_in(tf.constant([seed, 0], tf.int64), i)` derives the
# seed of element `i`; so does `tf.stack` of `seed` and `i`.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fast_pipeline(x, batch_size, seed):
    """x float32 (N, H, W, C). Batches of x plus seeded Gaussian noise (stddev 0.1), parallel and prefetched."""
    ### BEGIN SOLUTION
    base = tf.constant([seed, 0], tf.int64)

    def noisy(i, image):
        element_seed = tf.random.experimental.stateless_fold_in(base, i)
        return image + 0.1 * tf.random.stateless_normal(tf.shape(image), element_seed)

    ds = tf.data.Dataset.from_tensor_slices(x).enumerate()
    ds = ds.map(noisy, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-determinism", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.zeros((40, 8, 8, 1), np.float32)
runs = [[b.numpy() for b in fast_pipeline(x, 8, 5)] for _ in range(2)]
assert len(runs[0]) == 5 and runs[0][0].shape == (8, 8, 8, 1) and runs[0][0].dtype == np.float32
assert all(np.array_equal(a, b) for a, b in zip(*runs)), "same seed, different batches"
assert not np.array_equal(runs[0][0], next(iter(fast_pipeline(x, 8, 6))).numpy()), "the seed must matter"
noise = np.concatenate(runs[0])
assert abs(noise.std() - 0.1) < 0.01 and abs(noise.mean()) < 0.01, f"noise std {noise.std():.3f}, mean {noise.mean():.3f}"
assert not np.array_equal(noise[0], noise[1]), "each image needs noise of its own"
print("ok: identical batches for the same seed, noise of stddev 0.1 per image")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-knobs", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ops, settings = dataset_ops(fast_pipeline(np.zeros((8, 4, 4, 1), np.float32), 4, 0))
assert any(op.startswith("ParallelMapDataset") for op in ops), f"no parallel map among {sorted(ops)}"
assert "PrefetchDataset" in ops, f"no prefetch among {sorted(ops)}"
assert "false" not in settings, "deterministic=False lets the order change from run to run"
print("ok: a parallel map and a prefetch, order kept")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): a cache in the right place
#
# **Why it matters.** Decoding a JPEG and resizing it was the most expensive step of the lesson's flower
# pipeline, and its result is the same every epoch: caching the decoded images about doubled the rate. The
# random augmentation must run again every epoch. Put `cache()` **after** the random `map` and every epoch
# replays epoch 1's draws: the lesson's "wrong cache" row looked like the fastest pipeline and was no
# augmentation at all.
#
# **What to write.** `cached_epochs(files, decode, augment, seed)`: from a dataset of file ids, an endless
# stream of augmented images: `map` `decode` (in parallel), `cache`, `repeat`, `enumerate`, then `map`
# `augment(image, (seed, k))` for the `k`-th element of the whole stream (in parallel). Each file is then
# decoded once, and every epoch draws new augmentations.

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cached_epochs(files, decode, augment, seed):
    """Endless augmented images: decode(file) once per file (cached), augment(image, (seed, k)) every time."""
    ### BEGIN SOLUTION
    base = tf.constant(seed, tf.int64)
    ds = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).cache().repeat()
    return ds.enumerate().map(lambda k, image: augment(image, tf.stack([base, k])),
                              num_parallel_calls=tf.data.AUTOTUNE)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
decoded = []


def slow_decode(file_id):
    """Stands in for reading and decoding a file: counts its calls; the 'image' of file i is all i."""
    def read(i):
        decoded.append(int(i))
        return np.full((4, 4, 1), float(i), np.float32)
    return tf.ensure_shape(tf.numpy_function(read, [file_id], tf.float32), (4, 4, 1))


def noise(image, seed):
    return image + tf.random.stateless_normal(tf.shape(image), seed)


out = [x.numpy() for x in cached_epochs(tf.data.Dataset.range(6), slow_decode, noise, 0).take(18)]  # 3 epochs
assert sorted(decoded) == list(range(6)), \
    f"{len(decoded)} decodes for 3 epochs of 6 files: cache the decoded images, so each file is decoded once"
assert all(abs(o.mean() - j % 6) < 1.5 for j, o in enumerate(out)), "element j of the stream is file j % 6"
assert not any(np.array_equal(a, b) for a, b in zip(out[:6], out[6:12])), \
    "epoch 2 repeats epoch 1's augmentation: the cache must come before the random map"
again = [x.numpy() for x in cached_epochs(tf.data.Dataset.range(6), slow_decode, noise, 0).take(18)]
assert all(np.array_equal(a, b) for a, b in zip(out, again)), "same seed, different stream"
print("ok: each file decoded once, fresh augmentation every epoch")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 3 (class): measure images per second
#
# **Why it matters.** "Measure, not guess" is the lesson's rule, and a throughput number is easy to get
# wrong: the first batch pays for tracing functions, opening files and filling buffers, so timing it makes
# every pipeline look slow; counting batches instead of images makes every batch size look the same.
#
# **What to write.** `images_per_second(ds, batches)`: take one batch from `ds` as a warm-up (not timed),
# then time the next `batches` batches with `time.perf_counter()`, count their **images** (the first
# dimension of each batch), and return images / seconds as a float.

# %% nbgrader={"grade": false, "grade_id": "ex3-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def images_per_second(ds, batches):
    """Images per second over `batches` batches of ds, after one untimed warm-up batch. A float."""
    ### BEGIN SOLUTION
    iterator = iter(ds)
    next(iterator)
    images, start = 0, time.perf_counter()
    for _ in range(batches):
        images += int(tf.shape(next(iterator))[0])
    return images / (time.perf_counter() - start)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3-test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def slow_batch(batch):
    time.sleep(1.0 if batch[0] == 0 else 0.04)  # every pass over ds starts with a slow batch, then 40 ms per batch of 4 images
    return batch


ds = tf.data.Dataset.range(10_000).batch(4).map(lambda b: tf.numpy_function(slow_batch, [b], tf.int64))
options = tf.data.Options()
options.autotune.enabled = False  # no automatic prefetching: one batch at a time, as timed
options.experimental_optimization.inject_prefetch = False
rate = images_per_second(ds.with_options(options), 8)
assert isinstance(rate, float), type(rate)
assert 40 < rate <= 101, f"{rate:.0f} images/s: 8 batches of 4 images at 40 ms each is 100 images/s at most " \
    "(count images, not batches, and time the batches after the warm-up batch, from the same iterator)"
print(f"ok: {rate:.0f} images/s")


# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (homework): is the input pipeline your bottleneck?
#
# You train your own model on a GPU. Which two measurements from the lesson tell you whether the GPU waits for
# data, and what values would say it does? Name two changes that help when it does, and say why the first
# one you would try should not change your results.

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# Measure (1) the pipeline alone: images/s from iterating the dataset after a warm-up, with no training; and
# (2) the input wait: in a loop of your own like the lesson's benchmark (`next()`, then `train_on_batch`, each
# timed), the share of each step's wall time spent in `next()`; under `fit`, which prefetches, compare the step
# time with the real pipeline against the step time on one batch held in memory. The GPU
# waits when the pipeline alone delivers fewer images/s than the training step consumes
# (batch size / step time), and the input wait is well above about 5% of the step. Helps: a parallel `map`
# (`num_parallel_calls=AUTOTUNE`) and `prefetch`; `cache()` of the decoded images before the random
# augmentation; a fused augmentation op instead of a chain of layers; moving augmentation into the model or
# training step on the GPU; more CPU workers (a tf.data service, lesson 8). A parallel map with prefetch should not
# change results: with stateless per-element or per-batch seeds and the default deterministic order, it
# produces the same batches in the same order, only sooner.

# %% [markdown]
# ## Summary
#
# You built a parallel, prefetched pipeline that stays reproducible, put the cache before the random map, and
# measured throughput with a warm-up and in images.
