# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 3 · exercises: training from a generator
#
# **Read first:** `03_flowers_fit_generator.ipynb`, which shows the two bugs in the flower post's generator and the three ways to feed `model.fit` that replaced `fit_generator`. These exercises practise it: the post's generator fixed, a `keras.utils.PyDataset` whose batches do not depend on the order they are asked for, and a `tf.data` stream that reads the photos from disk.
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

import numpy as np
import tensorflow as tf
import keras

from helpers import config, datasets, imagefolders
from helpers.taught.feeding import decode  # lesson 3's file reader

print(config.banner("Lesson 3 · exercises"))

report = imagefolders.scan(datasets.fetch("flowers"))  # the photos that decode, with their class ids
paths = [str(p) for p in report.paths]
print(f"{len(paths)} flower photos in {len(report.class_names)} classes: {report.class_names}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): the post's generator, fixed
#
# **Why it matters.** A generator that never ends gives Keras no epoch boundary, so `fit` counts
# `steps_per_epoch` batches and calls that an epoch. The contract holds only if the generator yields each
# sample once per `steps_per_epoch` batches. The post's generator broke it twice: its window moved by one
# sample, and it wrote the augmented batch back into the training array, so every pass warped the same
# pixels again.
#
# **What to write.**
# - `steps_per_epoch(n, batch_size)`: the batches in one pass, counting a smaller last batch;
# - `batches(x, y, batch_size, *, seed=0, augment=None)`: an endless generator of `(x_batch, y_batch)`.
#   Each pass visits every sample once, in a new order drawn from one `np.random.default_rng(seed)`, in
#   batches of `batch_size` (the last one smaller if needed). With `augment`, batch number `k` of the whole
#   run (0, 1, 2, ... across passes) becomes `augment(x_batch, (seed, k))`, applied to a **copy**: the
#   caller's `x` is never written.
#
# **Hints.** `rng.permutation(len(x))`; `range(0, len(x), batch_size)`; indexing with an index array
# (`x[idx]`) makes a copy, a slice (`x[a:b]`) does not.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def steps_per_epoch(n, batch_size):
    """Batches in one pass over n samples, the last one possibly smaller."""
    ### BEGIN SOLUTION
    return math.ceil(n / batch_size)
    ### END SOLUTION


def batches(x, y, batch_size, *, seed=0, augment=None):
    """Endless (x_batch, y_batch); each pass every sample once in a new order; augment(copy, (seed, k))."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    k = 0
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            x_batch = x[idx]
            if augment is not None:
                x_batch = augment(x_batch, (seed, k))
            yield x_batch, y[idx]
            k += 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-passes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert steps_per_epoch(50, 16) == 4 and steps_per_epoch(48, 16) == 3 and steps_per_epoch(5, 16) == 1
x = np.arange(50).reshape(50, 1)
y = np.arange(50)  # label = position: every sample can be traced
stream = batches(x, y, 16, seed=0)
passes = [[next(stream) for _ in range(steps_per_epoch(50, 16))] for _ in range(3)]
for one_pass in passes:
    assert [len(b[1]) for b in one_pass] == [16, 16, 16, 2], [len(b[1]) for b in one_pass]
    assert sorted(np.concatenate([b[1] for b in one_pass])) == list(range(50)), "each pass: every sample once"
    assert all(np.array_equal(b[0][:, 0], b[1]) for b in one_pass), "samples and labels must stay paired"
assert len({tuple(np.concatenate([b[1] for b in p])) for p in passes}) == 3, "each pass needs a new order"
again = batches(x, y, 16, seed=0)
assert all(np.array_equal(next(again)[1], b[1]) for b in passes[0]), "same seed, different order"
print("ok: every sample once per pass, a new order each pass, the last batch smaller")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-copy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
seeds = []

def scribble(batch, seed):
    """Augments the way the post's code did: in place. It also records the seed it is given."""
    seeds.append(tuple(seed))
    batch += 100
    return batch

x = np.arange(50).reshape(50, 1)
y = np.arange(50)
kept = x.copy()
stream = batches(x, 100 + y, 16, seed=7, augment=scribble)
out = [next(stream) for _ in range(9)]  # more than two passes
np.testing.assert_array_equal(x, kept, err_msg="the training array changed: augment a copy of the batch")
assert all(np.array_equal(b[0][:, 0], b[1]) for b in out), "every batch must be augmented, once"
assert seeds == [(7, k) for k in range(9)], f"batch k of the run needs the seed (seed, k), got {seeds[:5]}"
print("ok: the training array is never written; batch k gets the seed (seed, k)")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): a `PyDataset` whose batches do not depend on who asks first
#
# **Why it matters.** `keras.utils.PyDataset` replaced `fit_generator`'s `workers`: Keras asks for batches
# by index, from several threads, in whatever order they finish. So batch `i` must be the same whichever
# batch was made before it: its shuffle order and its augmentation seed must follow from the epoch and
# `i`, not from a counter that runs as batches are made.
#
# **What to write.** `FlowerBatches(x, y, batch_size, *, seed=0, augment=None, **kwargs)`:
# - `__len__`: the batches per epoch, the last one smaller when `batch_size` does not divide the data;
# - `__getitem__(i)`: batch `i` of the current epoch's order; with `augment`, a copy of it becomes
#   `augment(x_batch, (seed, epoch * len(self) + i))`;
# - `on_epoch_end()`: the next epoch, with a new order. Epoch `e`'s order is
#   `np.random.default_rng((seed, e)).permutation(len(x))`, epoch 0 included.
#
# `super().__init__(**kwargs)` passes `workers`, `use_multiprocessing` and `max_queue_size` on to Keras (it
# is written for you).

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
class FlowerBatches(keras.utils.PyDataset):
    """Batches of in-memory arrays, a new order every epoch; batch i of epoch e augmented with (seed, e * len + i)."""

    def __init__(self, x, y, batch_size, *, seed=0, augment=None, **kwargs):
        super().__init__(**kwargs)
        ### BEGIN SOLUTION
        self.x, self.y, self.batch_size, self.seed, self.augment = x, y, batch_size, seed, augment
        self.epoch = 0
        self.order = np.random.default_rng((seed, 0)).permutation(len(x))
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return math.ceil(len(self.x) / self.batch_size)
        ### END SOLUTION

    def __getitem__(self, i):
        ### BEGIN SOLUTION
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        x_batch = self.x[idx]
        if self.augment is not None:
            x_batch = self.augment(x_batch, (self.seed, self.epoch * len(self) + i))
        return x_batch, self.y[idx]
        ### END SOLUTION

    def on_epoch_end(self):
        ### BEGIN SOLUTION
        self.epoch += 1
        self.order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test-epochs", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.arange(50).reshape(50, 1).astype("float32")
y = np.arange(50)
data = FlowerBatches(x, y, 16, seed=1)
assert isinstance(data, keras.utils.PyDataset)
assert len(data) == 4, f"50 samples in batches of 16 are 4 batches, not {len(data)}"
sizes = [len(data[i][1]) for i in range(len(data))]
assert sizes == [16, 16, 16, 2], sizes
epoch_0 = np.concatenate([data[i][1] for i in range(4)])
assert sorted(epoch_0) == list(range(50)), "every sample exactly once per epoch"
assert all(np.array_equal(data[i][0][:, 0], data[i][1]) for i in range(4)), "samples and labels must stay paired"
data.on_epoch_end()
epoch_1 = np.concatenate([data[i][1] for i in range(4)])
assert sorted(epoch_1) == list(range(50)) and not np.array_equal(epoch_0, epoch_1), "a new order every epoch"
np.testing.assert_array_equal(epoch_1, np.random.default_rng((1, 1)).permutation(50), err_msg="epoch e's order comes from (seed, e)")
assert FlowerBatches(x, y, 16, workers=2).workers == 2, "pass **kwargs on to PyDataset"
print("ok: 4 batches with a smaller last one, every sample once, a new order each epoch")


# %% nbgrader={"grade": true, "grade_id": "ex2-test-order", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def show_seed(batch, seed):
    """An augmentation whose output shows the seed it got: every pixel becomes seed[1]."""
    return np.full_like(batch, seed[1])

x = np.arange(50).reshape(50, 1).astype("float32")
kept = x.copy()
data = FlowerBatches(x, np.arange(50), 16, seed=3, augment=show_seed)
backwards = [data[i] for i in (3, 2, 1, 0)][::-1]  # asked for in reverse, as a slow worker might
forwards = [data[i] for i in range(4)]
for i, ((x_b, y_b), (x_f, y_f)) in enumerate(zip(backwards, forwards)):
    np.testing.assert_array_equal(y_b, y_f, err_msg="batch i must not depend on the order batches are asked for")
    assert np.all(x_f == i), f"batch {i} of epoch 0 must be augmented with (seed, {i})"
data.on_epoch_end()
assert np.all(data[1][0] == len(data) + 1), "batch 1 of epoch 1 is augmented with (seed, 1 * len + 1)"
np.testing.assert_array_equal(x, kept, err_msg="augment a copy: the training array changed")
print("ok: batch i is the same whatever order the workers ask in; seeds (seed, e * len + i)")


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
# A student passes the endless generator of exercise 1 to `fit` with `steps_per_epoch=len(x)` (the number of
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
# You fixed the post's generator (a window that steps by the batch, a new order each pass, augmentation on
# a copy), wrote a `PyDataset` whose batches do not depend on which worker asks first, and a `tf.data`
# stream that reads photos from disk with a partial last batch in every epoch.
