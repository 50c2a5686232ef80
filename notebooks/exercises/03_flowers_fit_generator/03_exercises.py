# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 3 · exercises: training from a generator
#
# **Read first:** `03_flowers_fit_generator.ipynb`, which shows the two bugs in the flower post's generator and the three ways to feed `model.fit` that replaced `fit_generator`. These exercises practise it: a finite generator of class-balanced batches, a `keras.utils.PyDataset` that reads its files lazily and whose batches do not depend on the order they are asked for, and a `tf.data` stream that reads the photos from disk.
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
# **Runtime.** About 8 s in quick mode (`COURSE_QUICK=1`) on a 2-core CPU, most of it
# TensorFlow's start-up (13 s while another job kept both cores busy). Nothing here
# depends on the mode: small arrays and a handful of real images, and no training beyond a few steps, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import math

import keras
import numpy as np
import tensorflow as tf

from helpers import config, datasets, imagefolders
from helpers.taught.feeding import decode  # lesson 3's file reader

print(config.banner("Lesson 3 · exercises"))

report = imagefolders.scan(datasets.fetch("flowers"))  # the photos that decode, with their class ids
paths = [str(p) for p in report.paths]
print(f"{len(paths)} flower photos in {len(report.class_names)} classes: {report.class_names}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): a finite generator of class-balanced batches
#
# **Why it matters.** The post's generator never ended, so `fit` had to be told `steps_per_epoch`. A
# generator can also end by itself after a fixed number of epochs, and it can decide what a batch holds.
# On an unbalanced data set (the flower classes range from about 600 to 900 photos, other sets far worse)
# a common choice is the **class-balanced batch**: every batch holds the same number of samples of every
# class, so the rare class is never missing from a step. An epoch then ends when the rarest class runs out,
# and the larger classes contribute a different random subset every epoch. Two contracts carry over from
# the lesson: the caller's array is never written, and augmentation seeds follow the batch count.
#
# **What to write.**
# - `balanced_steps(y, batch_size)`: the batches in one epoch. With `K` classes (the distinct values of `y`),
#   a batch holds `batch_size // K` samples of each class, so an epoch has `min_c(n_c) // (batch_size // K)`
#   batches. A `batch_size` that is not a multiple of `K` raises `ValueError`.
# - `balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None)`: a generator that yields
#   `epochs * balanced_steps(y, batch_size)` batches `(x_batch, y_batch)` and then **stops**. In each epoch,
#   every class is put in a new random order (one `np.random.default_rng(seed)` for the whole run) and the
#   batches take consecutive slices of those orders, `batch_size // K` per class, so no sample appears twice
#   in an epoch. The order of the samples within a batch is up to you. With `augment`, batch `k` of the run
#   (0, 1, 2, ... across epochs) becomes `augment(x_batch, (seed, k))`, applied to a **copy**.
#
# **Hints.** `np.unique(y)`; `np.flatnonzero(y == c)` gives the positions of class `c`; `rng.permutation`;
# `np.concatenate` the per-class slices. A `return` (or the end of the function) ends a generator.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def balanced_steps(y, batch_size):
    """Class-balanced batches per epoch: the rarest class's count // (batch_size // number of classes)."""
    ### BEGIN SOLUTION
    classes, counts = np.unique(y, return_counts=True)
    if batch_size % len(classes):
        raise ValueError(f"batch_size {batch_size} is not a multiple of the {len(classes)} classes")
    return int(counts.min() // (batch_size // len(classes)))
    ### END SOLUTION


def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    """epochs * balanced_steps batches, each with batch_size // K samples of every class; then stops."""
    ### BEGIN SOLUTION
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    rng = np.random.default_rng(seed)
    k = 0
    for _ in range(epochs):
        shuffled = [rng.permutation(group) for group in groups]
        for j in range(steps):
            idx = np.concatenate([order[j * share:(j + 1) * share] for order in shuffled])
            chosen = x[idx]
            if augment is not None:
                chosen = augment(chosen, (seed, k))
            k += 1
            yield chosen, y[idx]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-balanced", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import itertools

labels = np.repeat([0, 1, 2], [30, 20, 10])
np.random.default_rng(0).shuffle(labels)  # 30, 20 and 10 samples of classes 0, 1, 2, mixed
x = np.arange(60).reshape(60, 1)          # sample = position: labels[x] is its class
assert balanced_steps(labels, 6) == 5 and balanced_steps(labels, 3) == 10 and balanced_steps(labels, 30) == 1
for bad in (4, 7):
    try:
        balanced_steps(labels, bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"batch_size {bad} is not a multiple of 3 classes: raise ValueError")
out = list(itertools.islice(balanced_batches(x, labels, 6, epochs=3, seed=0), 16))
assert len(out) == 15, f"3 epochs of 5 batches, then the generator must stop; got {len(out)} batches"
for x_batch, y_batch in out:
    assert len(y_batch) == 6 and np.bincount(y_batch, minlength=3).tolist() == [2, 2, 2], \
        f"every batch holds 2 samples of each class, got {np.bincount(y_batch, minlength=3)}"
    np.testing.assert_array_equal(labels[x_batch[:, 0]], y_batch, err_msg="samples and labels must stay paired")
epochs = [np.concatenate([b[0][:, 0] for b in out[e * 5:(e + 1) * 5]]) for e in range(3)]
for samples in epochs:
    assert len(set(samples)) == 30, "no sample twice in an epoch"
    assert set(np.flatnonzero(labels == 2)) <= set(samples), "the rarest class is used up in every epoch"
majority = [frozenset(s for s in samples if labels[s] == 0) for samples in epochs]
assert len(set(majority)) == 3, "the large classes need a new random subset every epoch"
again = [b[1].tolist() for b in balanced_batches(x, labels, 6, epochs=1, seed=0)]
assert again == [b[1].tolist() for b in out[:5]], "same seed, different batches"
print("ok: balanced batches, every sample at most once per epoch, a new draw each epoch, and an end")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-copy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
seeds = []

def scribble(batch, seed):
    """Augments the way the post's code did: in place. It also records the seed it is given."""
    seeds.append(tuple(seed))
    batch += 100
    return batch

labels = np.arange(40) % 4
x = np.arange(40).reshape(40, 1)
kept = x.copy()
out = list(itertools.islice(balanced_batches(x, labels, 8, epochs=2, seed=7, augment=scribble), 20))
assert len(out) == 10, "2 epochs of 5 batches"
np.testing.assert_array_equal(x, kept, err_msg="the training array changed: augment a copy of the batch")
assert all(np.array_equal(b[0][:, 0] % 4, b[1]) and np.all((b[0] >= 100) & (b[0] < 140)) for b in out), \
    "every batch augmented, once"
assert seeds == [(7, k) for k in range(10)], f"batch k of the run needs the seed (seed, k), got {seeds[:6]}"
print("ok: the training array is never written; batch k gets the seed (seed, k)")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): a `PyDataset` that reads its files lazily
#
# **Why it matters.** Lesson 3's `FlowerBatches` holds every image in memory. With a larger data set that
# no longer fits, so the `PyDataset` keeps only the **paths** and reads a batch's files when Keras asks for
# that batch, from several worker threads, in whatever order they finish. Two things must then hold: the
# constructor and the epoch change read nothing (they must be cheap), and batch `i` must be the same
# whichever batch was asked for before it, so the epoch's order must follow from the epoch number, not from
# a counter that runs as batches are made.
#
# **What to write.** `FlowerFiles(paths, labels, batch_size, *, read, seed=0, **kwargs)`, where
# `read(path)` returns one uint8 image (H, W, 3), the same size for every file:
# - `__init__` and `on_epoch_end` call `read` **never**;
# - `__len__`: the batches per epoch, the last one smaller when `batch_size` does not divide the files;
# - `__getitem__(i)`: `(images, labels)` of batch `i` in the current epoch's order, images a uint8 NumPy
#   array (b, H, W, 3), labels a NumPy array; it calls `read` once for each file of that batch and for
#   no other;
# - epoch `e`'s order (epoch 0 first, `on_epoch_end` moves to the next) is
#   `np.random.default_rng((seed, e)).permutation(len(paths))`.
#
# `super().__init__(**kwargs)` passes `workers`, `use_multiprocessing` and `max_queue_size` on to Keras (it
# is written for you).
#
# **Hints.** Keep `paths` and `labels` as NumPy arrays so an index array picks a batch. `np.stack` a list
# of images.

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
class FlowerFiles(keras.utils.PyDataset):
    """Batches read from image files on demand; epoch e's order from (seed, e)."""

    def __init__(self, paths, labels, batch_size, *, read, seed=0, **kwargs):
        super().__init__(**kwargs)
        ### BEGIN SOLUTION
        self.paths, self.labels = np.asarray(paths), np.asarray(labels)
        self.batch_size, self.read, self.seed = batch_size, read, seed
        self.epoch = 0
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return math.ceil(len(self.paths) / self.batch_size)
        ### END SOLUTION

    def __getitem__(self, i):
        ### BEGIN SOLUTION
        order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.paths))
        picked = order[i * self.batch_size:(i + 1) * self.batch_size]
        return np.stack([self.read(path) for path in self.paths[picked]]), self.labels[picked]
        ### END SOLUTION

    def on_epoch_end(self):
        ### BEGIN SOLUTION
        self.epoch += 1
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test-lazy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
reads = []

def read(path):
    """Lesson 3's decode at 48x48, recording every file it reads."""
    reads.append(str(path))
    return decode(path, (48, 48)).numpy()

few = paths[::29][:7]  # 7 photos from all five classes
data = FlowerFiles(few, np.arange(7), 3, read=read, seed=1)  # label = position in `few`
assert isinstance(data, keras.utils.PyDataset)
assert len(data) == 3 and reads == [], f"{len(data)} batches; the constructor read {len(reads)} files"
images, ids = data[1]
assert isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape == (3, 48, 48, 3), \
    (type(images), getattr(images, "shape", None))
assert sorted(reads) == sorted(few[i] for i in ids), "batch 1 must read its own 3 files, each once, and no other"
for image, i in zip(images, ids):
    np.testing.assert_array_equal(image, decode(few[i], (48, 48)).numpy(), err_msg=f"image labelled {i} is not {few[i]}")
assert len(data[2][1]) == 1, "7 files in batches of 3: the last batch holds 1"
reads.clear()
data.on_epoch_end()
assert reads == [], "on_epoch_end must not read files"
assert FlowerFiles(few, np.arange(7), 3, read=read, workers=2).workers == 2, "pass **kwargs on to PyDataset"
print("ok: nothing read up front, each batch reads exactly its own files")

# %% nbgrader={"grade": true, "grade_id": "ex2-test-order", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def fake_read(path):
    """A stand-in file reader: a 2x2 image whose pixels hold the file's number."""
    return np.full((2, 2, 3), int(path.split("_")[1]), np.uint8)

names = [f"file_{i}" for i in range(50)]
data = FlowerFiles(names, np.arange(50), 16, read=fake_read, seed=3)
assert len(data) == 4 and [len(data[i][1]) for i in range(4)] == [16, 16, 16, 2]
backwards = [data[i] for i in (3, 2, 1, 0)][::-1]  # asked for in reverse, as a slow worker might
forwards = [data[i] for i in range(4)]
for (_, y_b), (x_f, y_f) in zip(backwards, forwards):
    np.testing.assert_array_equal(y_b, y_f, err_msg="batch i must not depend on the order batches are asked for")
    np.testing.assert_array_equal(x_f[:, 0, 0, 0], y_f, err_msg="images and labels must stay paired")
for e in range(3):
    got = {i: data[i][1] for i in (2, 0, 3, 1)}  # asked for out of order
    order = np.concatenate([got[i] for i in range(4)])
    np.testing.assert_array_equal(order, np.random.default_rng((3, e)).permutation(50),
                                  err_msg=f"epoch {e}'s order comes from (seed, {e})")
    data.on_epoch_end()
print("ok: batch i is the same whatever order the workers ask in; a new order each epoch, from (seed, e)")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 3 (homework): `tf.data` streaming from disk
#
# **Why it matters.** The third way to feed `fit` reads, decodes and resizes the files in a TensorFlow graph,
# in parallel, with `prefetch`: nothing has to fit in memory, and no Python thread holds the training step
# up. Two details matter for epochs: shuffle the **paths** (cheap) with `reshuffle_each_iteration=True`, and
# put `repeat` **after** `batch`, so every epoch ends with its own smaller last batch instead of mixing
# the end of one epoch with the start of the next.
#
# **What to write.** `file_stream(paths, labels, *, size, batch_size, seed=0)`: an endless stream of
# `(uint8 images (B, size, size, 3), labels)`, each epoch one pass over the files in a new order. Decode and
# resize each file exactly as lesson 3's `decode(path, (size, size))` does (you may call it), with
# `num_parallel_calls=tf.data.AUTOTUNE`, and end with `prefetch`.
#
# **Hints.** `tf.data.Dataset.from_tensor_slices((list(paths), labels))`; the lesson's `file_stream` does
# the same with augmentation added.

# %% nbgrader={"grade": false, "grade_id": "ex3-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def file_stream(paths, labels, *, size, batch_size, seed=0):
    """Endless batches (uint8 (B, size, size, 3), labels) read from image files, a new order every epoch."""
    ### BEGIN SOLUTION
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda path, label: (decode(path, (size, size)), label),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3-test-stream", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
few = paths[::29][:7]  # 7 photos from all five classes
ids = np.arange(7)     # label = position in `few`, so each image can be checked against its file
stream = file_stream(few, ids, size=48, batch_size=3, seed=0)
images_spec, labels_spec = stream.element_spec
assert images_spec.dtype == tf.uint8 and images_spec.shape.as_list() == [None, 48, 48, 3], images_spec
got = list(stream.take(6))
assert [len(b[1]) for b in got] == [3, 3, 1, 3, 3, 1], "batch, then repeat: every epoch ends with its own smaller batch"
epochs = [np.concatenate([b[1].numpy() for b in got[:3]]), np.concatenate([b[1].numpy() for b in got[3:]])]
assert all(sorted(e) == list(range(7)) for e in epochs), "each epoch reads every file once"
assert not np.array_equal(*epochs), "each epoch needs a new order"
for images, labels in got[:3]:
    for image, i in zip(images.numpy(), labels.numpy()):
        reference = decode(few[i], (48, 48)).numpy()
        assert np.abs(image.astype(int) - reference).max() <= 1, f"the image labelled {i} is not the photo {few[i]}"
print("ok: uint8 photos with their labels, a new order each epoch, a partial last batch per epoch")

# %% nbgrader={"grade": true, "grade_id": "ex3-test-seed", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
few, ids = paths[::29][:7], np.arange(7)
a = [b[1].numpy().tolist() for b in file_stream(few, ids, size=32, batch_size=3, seed=5).take(6)]
b = [b[1].numpy().tolist() for b in file_stream(few, ids, size=32, batch_size=3, seed=5).take(6)]
c = [b[1].numpy().tolist() for b in file_stream(few, ids, size=32, batch_size=3, seed=6).take(6)]
assert a == b, "same seed, different order"
assert a != c, "another seed should give another order"
print("ok: the order follows the seed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (class): `steps_per_epoch`
#
# A student passes lesson 3's endless generator `batches` to `fit` with `steps_per_epoch=len(x)` (the number of
# *images*) and a batch size of 32, and `epochs=10`. What actually happens to the training, the epoch count,
# and callbacks such as early stopping or a checkpoint per epoch? Why does a `PyDataset` or a finite
# `tf.data.Dataset` not need `steps_per_epoch`?

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Each reported "epoch" then runs len(x) batches, i.e. 32 passes over the data, so the 10 "epochs" are really
# 320 passes: training takes 32 times longer than planned, and everything counted per epoch is off by that
# factor (learning-rate schedules, early stopping's patience, one checkpoint or validation per 32 real
# passes, the learning curves' x axis). The generator cannot say where an epoch ends, so Keras only knows
# what it is told. A PyDataset has a length (`__len__` batches per epoch) and a finite `tf.data.Dataset`
# ends, so Keras finds the epoch boundary itself and `steps_per_epoch` is not needed (it is needed again
# for an endless `repeat()` stream).

# %% [markdown]
# ## Summary
#
# You wrote a generator that ends by itself and balances the classes in every batch (augmenting a copy),
# a `PyDataset` that reads only the files of the batch asked for, whatever worker asks first, and a `tf.data`
# stream that reads photos from disk with a partial last batch in every epoch.
