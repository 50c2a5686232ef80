# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 2 · exercises: the CIFAR-10 experiment
#
# **Read first:** `02_cifar10_augmentation_experiment.ipynb`, which reruns the post's experiment on the first 10,000 CIFAR-10 images and beats it with pad-4 + crop + flip. These exercises practise it: the lesson's data split, the `crop_flip` augmentation on a batch, a training stream that augments per image and keeps only full batches, and an epoch budget that holds the optimizer steps fixed.
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
# **Runtime.** About 10 s in quick mode (`COURSE_QUICK=1`) on a 2-core CPU, most of it
# TensorFlow's start-up (15 s while another job kept both cores busy). Nothing here
# depends on the mode: small arrays and a handful of real images, and no training beyond a few steps, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import math

import keras
import numpy as np
import tensorflow as tf

from helpers import augment, config, readers, splits

print(config.banner("Lesson 2 · exercises"))

(x_train, y_train), _ = readers.load_cifar10(1000)  # the first 1,000 CIFAR-10 training images, class ids
print("images", x_train.shape, x_train.dtype, "| labels", y_train.shape, y_train[:10])


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): the data split
#
# **Why it matters.** Validation data decide when to stop and which run is best. They must not overlap the
# training images, and the test set must stay untouched until the end, or the test score stops being an
# honest estimate. Lesson 2 takes the first `n` CIFAR-10 training images and holds out the **last 10%** of
# them for validation, which is what `fit(validation_split=0.1)` does (it takes the last samples, before
# any shuffling). Labels are one-hot, as in the post.
#
# **What to write.** `split(x, y, n)` returns `(x_fit, y_fit), (x_val, y_val)`: of the first `n` samples,
# the last `max(1, n // 10)` for validation and the rest to fit, order kept; labels one-hot, as floats of
# shape (N, 10).
#
# **Hints.** Negative slice indices count from the end. `keras.utils.to_categorical(labels, 10)`.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def split(x, y, n):
    """x (N, ...), y class ids (N,), n <= N. Returns ((x_fit, y_fit), (x_val, y_val)), labels one-hot."""
    ### BEGIN SOLUTION
    x, y = x[:n], keras.utils.to_categorical(y[:n], 10)
    n_val = max(1, n // 10)
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-cifar", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
(x_fit, y_fit), (x_val, y_val) = split(x_train, y_train, 1000)
assert x_fit.shape == (900, 32, 32, 3) and x_val.shape == (100, 32, 32, 3), (x_fit.shape, x_val.shape)
assert y_fit.shape == (900, 10) and np.issubdtype(y_fit.dtype, np.floating), (y_fit.shape, y_fit.dtype)
# the course's own split, as lesson 2 loads it
(ref_x_fit, ref_y_fit), (ref_x_val, ref_y_val), _ = splits.cifar10_splits(1000, 10)
np.testing.assert_array_equal(x_fit, ref_x_fit, err_msg="the first 90% fit, in their order")
np.testing.assert_array_equal(x_val, ref_x_val, err_msg="the last 10% validate")
np.testing.assert_array_equal(y_fit, ref_y_fit)
np.testing.assert_array_equal(y_val, ref_y_val)
print("ok: the same split as lesson 2")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-small", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ids = np.arange(60)
(a, y_a), (b, y_b) = split(ids, ids % 10, 50)
assert list(a) == list(range(45)) and list(b) == list(range(45, 50)), (a, b)
np.testing.assert_array_equal(y_a.argmax(axis=1), a % 10, err_msg="labels must stay with their samples")
(a, _), (b, _) = split(ids, ids % 10, 5)
assert list(a) == [0, 1, 2, 3] and list(b) == [4], "even 5 samples keep one for validation"
print("ok: order kept, nothing shared, at least one validation sample")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): pad 4, crop, flip, on a batch
#
# **Why it matters.** The standard CIFAR recipe, `crop_flip`, beat the post's augmentation (written as one
# fused transform) on the same model and budget, by 7.0, 10.3 and 7.3 points on seeds 0, 1 and 2
# (`notebooks/measured/cifar_seeds.json`). Padding by 4 pixels and cutting a 32×32 window is a whole-pixel shift
# of up to 4 px, so nothing is interpolated, and a left-right flip keeps every CIFAR class true. The
# pipeline augments whole batches, and **each image needs its own draw**: one crop position for a batch
# would shift all 128 images the same way.
#
# **What to write.** `pad_crop_flip(images, seed)` for a uint8 batch (N, 32, 32, 3) and a stateless seed
# pair: pad every image by 4 pixels on each side with mode `"REFLECT"`, cut a random 32×32 window, and
# flip it left-right with probability 1/2, every image with its own random draws. Same shape and dtype
# out. It must also run inside `tf.data`'s `map`, where N is unknown and the seed is a tensor.
#
# **Hints.** `tf.pad` takes one `[before, after]` pair per axis (the batch axis gets `[0, 0]`).
# `augment.sample_seeds(seed, tf.shape(images)[0])` gives one seed per image, shape (N, 2).
# `tf.map_fn(fn, (padded, seeds), fn_output_signature=tf.uint8)` calls `fn((image, seed))` on each pair;
# inside, split the image's seed in two with `tf.random.split` as in lesson 1.

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pad_crop_flip(images, seed):
    """images uint8 (N, 32, 32, 3); seed an integer pair. Returns uint8 (N, 32, 32, 3), a draw per image."""
    ### BEGIN SOLUTION
    padded = tf.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]], mode="REFLECT")
    seeds = augment.sample_seeds(seed, tf.shape(images)[0])

    def one(pair):
        image, image_seed = pair
        crop_seed, flip_seed = tf.unstack(tf.random.split(image_seed, 2))
        window = tf.image.stateless_random_crop(image, [32, 32, 3], seed=crop_seed)
        return tf.image.stateless_random_flip_left_right(window, seed=flip_seed)

    return tf.map_fn(one, (padded, seeds), fn_output_signature=tf.uint8)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "ex2-test-helper", "locked": true, "schema_version": 3, "solution": false, "task": false}
def shifts_of(image):
    """Every shift of a 32x32 image by up to 4 px with reflected borders, as bytes: (as is, mirrored)."""
    padded = np.pad(image, [(4, 4), (4, 4), (0, 0)], mode="reflect")
    windows = [padded[top:top + 32, left:left + 32] for top in range(9) for left in range(9)]
    return {w.tobytes() for w in windows}, {w[:, ::-1].tobytes() for w in windows}


# %% nbgrader={"grade": true, "grade_id": "ex2-test-shifts", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
batch = x_train[:16]
out = pad_crop_flip(batch, tf.constant([0, 1]))
assert out.shape == (16, 32, 32, 3) and out.dtype == tf.uint8, (out.shape, out.dtype)
out = out.numpy()
for image, result in zip(batch, out):
    as_is, mirrored = shifts_of(image)
    assert result.tobytes() in as_is | mirrored, \
        "each result must be its own image shifted by at most 4 px (reflected border), maybe mirrored"
np.testing.assert_array_equal(out, pad_crop_flip(batch, tf.constant([0, 1])), err_msg="same seed, different batch")
assert not np.array_equal(out, pad_crop_flip(batch, tf.constant([0, 2]))), "another seed should give another batch"
print("ok: whole-pixel shifts of up to 4 px, maybe mirrored; reproducible")

# %% nbgrader={"grade": true, "grade_id": "ex2-test-per-image", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
copies = np.repeat(x_train[:1], 64, axis=0)  # one image, 64 times
draws = pad_crop_flip(copies, tf.constant([5, 5])).numpy()
assert len({d.tobytes() for d in draws}) > 30, "each image of a batch needs its own crop position and flip"
as_is, mirrored = shifts_of(x_train[0])
share = np.mean([d.tobytes() in mirrored for d in draws])
assert 0.3 < share < 0.7, f"{share:.0%} of the images were mirrored: expected about half"
stream = tf.data.Dataset.from_tensor_slices(x_train[:40]).batch(16).enumerate()
stream = stream.map(lambda k, b: pad_crop_flip(b, tf.stack([tf.constant(0, tf.int64), k])))
assert [b.shape[0] for b in stream] == [16, 16, 8], "it must run in tf.data, on a smaller last batch too"
print("ok: a draw per image, half of them mirrored, and it runs in tf.data")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 3 (class): a stream that augments per image and drops the partial batch
#
# **Why it matters.** Lesson 2's `prepare` augments whole batches and lets a batch run across the end of a
# pass. Two other contracts are common, and each changes where the steps go: augmenting **one image at a
# time** (`map` before `batch`, so the augmentation never needs to know the batch size) and keeping only
# **full batches** (every optimizer step sees `batch_size` images, so BatchNorm statistics never come from a
# handful of stragglers). The seed must then follow the image's place in the stream, not the batch.
#
# **What to write.** `prepare_per_image(x, y, *, batch_size, seed, augment_one=None)` returns
# `(stream, steps)`:
# - `steps = len(x) // batch_size`, the full batches in one pass;
# - `stream` is endless; each pass is `steps` full batches of distinct samples, in a new order every pass
#   (drawn with `seed`); the `len(x) % batch_size` samples left over by a pass's order are dropped, and
#   no batch mixes two passes;
# - with `augment_one`, the image at position `p` of batch `k` (both counted from 0, `k` over the whole
#   stream) becomes `augment_one(image, (seed, k * batch_size + p))`, called on **one** uint8 image
#   (H, W, C) with an int64 seed pair, before batching;
# - images come out as float32 `x / 127.5 - 1`, labels unchanged.
#
# **Hints.** `shuffle(..., reshuffle_each_iteration=True)` followed by `take(n)` keeps the first `n` of
# each pass's order. `enumerate()` before `batch` numbers the images of the stream.
# `tf.stack([tf.constant(seed, tf.int64), j])` is a seed pair.

# %% nbgrader={"grade": false, "grade_id": "ex3-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    """(endless stream of full batches (float32 images in [-1, 1], labels), full batches per pass)."""
    ### BEGIN SOLUTION
    steps = len(x) // batch_size
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).take(steps * batch_size).repeat()
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(
            lambda j, pair: (augment_one(pair[0], tf.stack([first, j])), pair[1]),
            num_parallel_calls=tf.data.AUTOTUNE)
    batched = pairs.batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 127.5 - 1.0, labels),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return batched.prefetch(tf.data.AUTOTUNE), steps
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3-test-passes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x_small, ids = x_train[:50], np.arange(50)  # label = position, so every image can be traced
stream, steps = prepare_per_image(x_small, ids, batch_size=16, seed=0)
assert steps == 3, f"50 images make 3 full batches of 16, not {steps}"
assert prepare_per_image(x_small[:48], ids[:48], batch_size=16, seed=0)[1] == 3
batches = list(stream.take(3 * steps))  # three passes
assert all(b[0].shape == (16, 32, 32, 3) and b[0].dtype == tf.float32 for b in batches), \
    "every batch full, float32 images"
passes = [np.concatenate([b[1].numpy() for b in batches[i * steps:(i + 1) * steps]]) for i in range(3)]
for one_pass in passes:
    assert len(set(one_pass)) == 48, "a pass is 48 distinct samples: no batch may run into the next pass"
assert len({tuple(p) for p in passes}) == 3, "every pass needs a new order"
assert len({frozenset(p) for p in passes}) > 1, "the dropped samples should change from pass to pass"
for images, labels in batches:
    np.testing.assert_allclose(images, x_small[labels.numpy()] / 127.5 - 1, atol=1e-6,
                               err_msg="without augmentation: the image of that label, scaled to [-1, 1]")
again = [b[1].numpy().tolist() for b in prepare_per_image(x_small, ids, batch_size=16, seed=0)[0].take(6)]
assert again == [b[1].numpy().tolist() for b in batches[:6]], "same seed, different order"
print("ok: full batches only, every pass distinct samples in a new order, scaled to [-1, 1]")

# %% nbgrader={"grade": true, "grade_id": "ex3-test-seeds", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from helpers.taught import cifar_pipeline


def show_seed(image, seed):
    """A fake augmentation of one image: channel 0 <- seed[0], channels 1, 2 <- seed[1] in base 256."""
    assert image.shape.rank == 3 and image.dtype == tf.uint8, f"augment_one gets one uint8 image, not {image}"
    seed = tf.cast(seed, tf.int32)
    channels = [seed[0], seed[1] % 256, seed[1] // 256]
    return tf.stack([tf.fill(tf.shape(image)[:2], tf.cast(c, tf.uint8)) for c in channels], axis=-1)

x_small, ids = x_train[:40], np.arange(40)
stream, steps = prepare_per_image(x_small, ids, batch_size=8, seed=9, augment_one=show_seed)
for k, (images, _) in enumerate(stream.take(12)):  # more than two passes
    pixels = np.round((images.numpy() + 1) * 127.5).astype(int)
    assert np.all(pixels[:, :, :, 0] == 9), "the first half of every seed pair is `seed`"
    got = pixels[:, 0, 0, 1] + 256 * pixels[:, 0, 0, 2]
    assert got.tolist() == [k * 8 + p for p in range(8)], \
        f"batch {k}: image p needs the seed (seed, {k} * batch_size + p), got second halves {got.tolist()}"
def crop_flip_one(image, s):
    """The course's pad-4 + crop + flip, on one image."""
    return cifar_pipeline.pad_crop_flip(image[None], s)[0]

a = next(iter(prepare_per_image(x_small, ids, batch_size=8, seed=2, augment_one=crop_flip_one)[0]))
b = next(iter(prepare_per_image(x_small, ids, batch_size=8, seed=2, augment_one=crop_flip_one)[0]))
np.testing.assert_array_equal(a[0], b[0], err_msg="same seed, different augmentation")
print("ok: every image seeded with (seed, its place in the stream), before batching")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 4 (homework): an epoch budget that holds the steps fixed
#
# **Why it matters.** Lesson 2's first data-fraction study kept 20 epochs at every training-set size. On 5%
# of CIFAR-10 the plain model then ended near chance on the test set: too few optimizer steps for
# BatchNorm's moving statistics to catch up with the weights. The fix is to compare sizes at the same number
# of **optimizer steps**, giving smaller training sets more epochs.
#
# **What to write.** `epochs_for(n_images, batch_size, steps)`: the smallest whole number of epochs whose
# steps reach `steps`, one epoch being `ceil(n_images / batch_size)` steps (the last batch may be
# partial).

# %% nbgrader={"grade": false, "grade_id": "ex4-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def epochs_for(n_images, batch_size, steps):
    """Smallest int e with e * ceil(n_images / batch_size) >= steps."""
    ### BEGIN SOLUTION
    per_epoch = math.ceil(n_images / batch_size)
    return math.ceil(steps / per_epoch)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex4-test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert epochs_for(9000, 128, 80 * 71) == 80, "lesson 2's crop_flip arm: 71 steps per epoch"
assert epochs_for(2250, 128, 20 * 71) == 79, "5% of CIFAR-10: 18 steps per epoch"
assert epochs_for(1000, 128, 17) == 3, "8 steps per epoch: 2 epochs give only 16"
assert epochs_for(100, 128, 10) == 10, "one partial batch is one step"
assert isinstance(epochs_for(9000, 128, 1420), int)
print("ok")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (homework): was the post's comparison fair?
#
# The post trained its plain model for 20 epochs and its augmented model for 80, the augmented one with no
# validation data (and, the lesson suspects, on all 10,000 images). Is the gain it reported (0.6058 to 0.7057) due to augmentation
# alone? What would you hold fixed, and what do lesson 2's learning curves of the plain arm say about
# training it longer?

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# Not entirely: the two runs differ in more than augmentation. The augmented run trained four times as many
# epochs (and optimizer steps), probably on 1,000 more images, and each figure is a single run, so seed noise (about a point) is not separated from the effect. A fair comparison changes one
# thing: same data (same held-out validation split), same steps or the same stopping rule on validation
# accuracy, several seeds, and the test set used once at the end. Training the plain arm longer would not
# have rescued it: its training accuracy nears 1 while its validation loss is lowest about halfway through
# the 20 epochs and rises afterwards, i.e. it already overfits; more epochs only help the augmented arm,
# which sees new variants every epoch. Without validation data, the post could not have chosen its epoch
# count without looking at the test set.

# %% [markdown]
# ## Summary
#
# You wrote lesson 2's split, the `crop_flip` augmentation with a draw per image, and a training stream
# that augments each image with a seed from its place in the stream and keeps only full batches, and you computed an epoch budget that compares
# training-set sizes at equal optimizer steps.
