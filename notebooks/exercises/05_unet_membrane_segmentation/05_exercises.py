# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 5 · exercises: paired augmentation for segmentation
#
# **Read first:** `05_unet_membrane_segmentation.ipynb`, which trains a U-Net on the ISBI-2012 membranes with image and mask augmented by one random draw. These exercises practise it: a crop that cuts image and mask at one place, flips and rotations shared by both, the lesson's paired stream extended with a class-balanced per-pixel weight map, and the IoU and Dice scores it reports.
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
# TensorFlow's start-up (16 s while another job kept both cores busy). Nothing here
# depends on the mode: small arrays and a handful of real images, and no training beyond a few steps, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import keras
import numpy as np
import tensorflow as tf

from helpers import config, metrics, paired, readers

print(config.banner("Lesson 5 · exercises"))

images, masks, names = readers.load_membrane()  # uint8 (N, 512, 512, 1); masks {0, 1}, 1 = cell
print(f"{len(images)} pairs, images {images.shape[1:]} {images.dtype}, mask values {np.unique(masks).tolist()}")


def coordinates(height, width):
    """An "image" whose every pixel holds its own position, row * width + column. A crop, flip or rotation
    of it tells exactly where each pixel came from."""
    return np.arange(height * width, dtype=np.int32).reshape(height, width, 1)


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): one crop for image and mask
#
# **Why it matters.** Every geometric transform must move an image and its mask **identically**, or the
# network learns to put membranes where there are none. A random crop is the simplest such transform, and
# the safest for masks: it cuts pixels and never resamples them, so mask values survive exactly. Its one
# classic bug is an off-by-one that never cuts at the bottom or right edge.
#
# **What to write.** `paired_crop(image, mask, size, seed)` for one pair, image (H, W, C) and mask (H, W, 1):
# the same random `size`×`size` window of both. Draw the top row and left column uniformly from **every**
# position where the window fits, `0 ... H - size` and `0 ... W - size` inclusive, with
# `tf.random.stateless_uniform` and seeds split from `seed`. A window larger than the image raises
# `ValueError` with a message that gives the sizes.
#
# **Hints.** `tf.random.stateless_uniform([], seed, minval, maxval, dtype=tf.int32)` draws an int in
# `[minval, maxval)`: mind the excluded end. Slice both arrays with the same `top` and `left`.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def paired_crop(image, mask, size, seed):
    """image (H, W, C), mask (H, W, 1), seed an integer pair -> both cut to (size, size, .) at one place."""
    ### BEGIN SOLUTION
    height, width = image.shape[0], image.shape[1]
    if size > height or size > width:
        raise ValueError(f"a {size}x{size} crop does not fit in a {height}x{width} image")
    top_seed, left_seed = tf.unstack(tf.random.split(seed, 2))
    top = tf.random.stateless_uniform([], top_seed, 0, height - size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], left_seed, 0, width - size + 1, dtype=tf.int32)
    return image[top:top + size, left:left + size], mask[top:top + size, left:left + size]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-aligned", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
grid = coordinates(512, 512)
real_mask = masks[0]
for s in range(10):
    x, y = paired_crop(grid, real_mask, 64, tf.constant([s, 1]))
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (64, 64, 1) and y.shape == (64, 64, 1), (x.shape, y.shape)
    assert y.dtype == np.uint8 and set(np.unique(y)) <= {0, 1}, "mask values must be kept exactly"
    top, left = divmod(int(x[0, 0, 0]), 512)
    np.testing.assert_array_equal(x, grid[top:top + 64, left:left + 64], err_msg="the image crop must be one window")
    np.testing.assert_array_equal(y, real_mask[top:top + 64, left:left + 64],
                                  err_msg="the mask was cut at another place than the image")
a = paired_crop(grid, real_mask, 64, tf.constant([3, 3]))
b = paired_crop(grid, real_mask, 64, tf.constant([3, 3]))
np.testing.assert_array_equal(a[0], b[0], err_msg="same seed, different crop")
print("ok: image and mask cut at the same place, mask values unchanged")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-positions", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
small = coordinates(6, 9)
corners = set()
for s in range(300):
    x, _ = paired_crop(small, small, 4, tf.constant([s, 0]))
    corners.add(divmod(int(np.asarray(x)[0, 0, 0]), 9))
everywhere = {(top, left) for top in range(3) for left in range(6)}
assert corners == everywhere, f"top-left corners never drawn: {sorted(everywhere - corners)}"
print("ok: every position is drawn, the last row and column included")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-error", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
for height, width in ((40, 50), (50, 40)):  # too low, then too narrow
    try:
        paired_crop(coordinates(height, width), coordinates(height, width), 48, tf.constant([0, 0]))
    except ValueError as error:
        assert "48" in str(error), f"say which crop did not fit: {error}"
    else:
        raise AssertionError(f"a 48x48 crop of a {height}x{width} image must raise ValueError")
x, y = paired_crop(coordinates(40, 50), coordinates(40, 50), 40, tf.constant([0, 0]))
assert x.shape == (40, 40, 1), "a crop as high as the image fits"
print("ok: a crop that does not fit is refused with its size")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): the same flip and rotation for both
#
# **Why it matters.** Flips and quarter turns are the cheapest paired augmentations for this data
# (micrographs have no "up"), and like crops they never resample. The classic mistake is to draw the flip
# for the image and again for the mask: two draws that agree only by luck, or only as long as nothing
# else draws from the same random stream in between (the lesson's two `ImageDataGenerator`s).
#
# **What to write.** `paired_flip_rotate(image, mask, seed)`: decide **once**, from `seed`, whether to flip
# left-right (probability 1/2) and how many quarter turns to rotate (0, 1, 2 or 3, equally likely); apply
# the same decision to the image and the mask. For a square image the result is one of its 8 flips and
# rotations.
#
# **Hints.** Split `seed` with `tf.random.split`. `tf.reverse(x, axis=[1])` flips left-right;
# `tf.image.rot90(x, k)` accepts a tensor `k`; `tf.cond(flag, true_fn, false_fn)` chooses between two
# results.

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def paired_flip_rotate(image, mask, seed):
    """image (H, W, C), mask (H, W, 1): one random left-right flip and k quarter turns, the same for both."""
    ### BEGIN SOLUTION
    flip_seed, turn_seed = tf.unstack(tf.random.split(seed, 2))
    flip = tf.random.stateless_uniform([], flip_seed) < 0.5
    turns = tf.random.stateless_uniform([], turn_seed, 0, 4, dtype=tf.int32)
    image, mask = tf.convert_to_tensor(image), tf.convert_to_tensor(mask)
    image, mask = tf.cond(flip, lambda: (tf.reverse(image, [1]), tf.reverse(mask, [1])), lambda: (image, mask))
    return tf.image.rot90(image, turns), tf.image.rot90(mask, turns)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test-aligned", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
grid = coordinates(8, 8)
table = np.random.default_rng(0).integers(0, 2, 64).astype(np.uint8)
marks = table[grid]  # a mask defined by the image: mask == table[image] wherever they are aligned
seen = set()
for s in range(64):
    x, y = paired_flip_rotate(grid, marks, tf.constant([s, 5]))
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (8, 8, 1) and y.shape == (8, 8, 1) and y.dtype == np.uint8
    np.testing.assert_array_equal(y, table[x], err_msg="image and mask were moved differently")
    assert sorted(x.ravel()) == list(range(64)), "pixels must be moved, never changed"
    seen.add(x.tobytes())
assert len(seen) == 8, f"{len(seen)} of the 8 flips and rotations of a square came up in 64 draws"
a = paired_flip_rotate(grid, marks, tf.constant([1, 1]))[0]
np.testing.assert_array_equal(a, paired_flip_rotate(grid, marks, tf.constant([1, 1]))[0], err_msg="same seed, different result")
print("ok: one draw for both, all 8 flips and rotations")

# %% nbgrader={"grade": true, "grade_id": "ex2-test-real", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x, y = paired_flip_rotate(images[0], masks[0], tf.constant([4, 2]))
x, y = np.asarray(x), np.asarray(y)
assert x.shape == (512, 512, 1) and x.dtype == np.uint8 and set(np.unique(y)) <= {0, 1}
np.testing.assert_array_equal(np.sort(x.ravel()), np.sort(images[0].ravel()), err_msg="no pixel may be resampled")
print("ok: a real pair keeps its pixel values")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 3 (homework): a paired stream with a per-pixel weight map
#
# **Why it matters.** The membrane masks are unbalanced: most pixels are cell (1), and the thin membranes (0)
# that matter for segmentation are a small minority, so a plain loss can score well while drawing membranes
# badly. A common fix is a **weight map** that gives each class the same total weight in a batch. A second
# one: a "same"-padded U-Net sees zeros beyond the border, so its outputs near the edge of a crop are less
# reliable, and some pipelines give the outermost pixels no weight at all. `fit` accepts a stream of
# `(x, y, sample_weight)` triples, and for a segmentation model the weights can be one per pixel. The map
# must follow the pixels: compute it from the mask **after** crop and transform (as here), or transform it with
# the same draw (as lesson 5 does with the paper's weight map); a map computed before and left alone weighs
# pixels that have moved.
#
# **What to write.** `weighted_stream(images, masks, *, crop, batch_size, seed, margin, transform=None)`: an
# endless stream of `(x, y, w)`, where `x` and `y` are exactly the batches of lesson 5's
# `segmentation.paired_stream(images, masks, crop=crop, batch_size=batch_size, seed=seed,
# transform=transform)` (already imported for you; call it), and `w` is float32, shaped like `y`:
# - pixels closer than `margin` to the crop's edge (row or column `< margin` or `>= crop - margin`) get 0;
# - the other pixels, the **interior**, are weighted per **batch**: with `n` interior pixels in the batch,
#   `n_c` of them of class `c`, a pixel of class `c` gets `n / (2 * n_c)`, so each class totals `n / 2` and
#   the interior weights average 1; when the batch's interior holds only one class, every interior pixel
#   gets 1.
#
# **Hints.** `Dataset.map` a function of `(x, y)` that returns three tensors. Build the interior as a
# (crop, crop) 0/1 pattern and broadcast it. `tf.reduce_sum` over the whole batch; `tf.where` chooses per
# pixel.

# %% nbgrader={"grade": false, "grade_id": "ex3-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
from helpers.taught import segmentation  # lesson 5's cells, saved


def weighted_stream(images, masks, *, crop, batch_size, seed, margin, transform=None):
    """Endless (x, y, w): lesson 5's paired batches and float32 per-pixel weights shaped like y."""
    ### BEGIN SOLUTION
    inside = tf.range(crop)
    inside = tf.cast((inside >= margin) & (inside < crop - margin), tf.float32)
    interior = (inside[:, None] * inside[None, :])[None, :, :, None]  # (1, crop, crop, 1)

    def with_weights(x, y):
        region = interior * tf.ones_like(y)
        cells = tf.reduce_sum(region * y)
        total = tf.reduce_sum(region)
        membranes = total - cells
        both = (cells > 0) & (membranes > 0)
        per_cell = tf.where(both, total / (2.0 * tf.maximum(cells, 1.0)), 1.0)
        per_membrane = tf.where(both, total / (2.0 * tf.maximum(membranes, 1.0)), 1.0)
        w = region * tf.where(y > 0.5, per_cell, per_membrane)
        return x, y, w

    stream = segmentation.paired_stream(images, masks, crop=crop, batch_size=batch_size, seed=seed,
                                        transform=transform)
    return stream.map(with_weights, num_parallel_calls=tf.data.AUTOTUNE)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "ex3-test-helper", "locked": true, "schema_version": 3, "solution": false, "task": false}
def expected_weights(y, margin):
    """The weight map of one batch of masks y (B, crop, crop, 1), in NumPy."""
    y = np.asarray(y)
    crop = y.shape[1]
    interior = np.zeros_like(y, dtype=bool)
    interior[:, margin:crop - margin, margin:crop - margin] = True
    w = np.zeros(y.shape, np.float64)
    n = interior.sum()
    counts = {c: (interior & (y == c)).sum() for c in (0.0, 1.0)}
    for c, n_c in counts.items():
        w[interior & (y == c)] = n / (2 * n_c) if min(counts.values()) > 0 else 1.0
    return w


# %% nbgrader={"grade": true, "grade_id": "ex3-test-same-as-lesson", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from helpers import recipes

flips_and_affine = recipes.MEMBRANE.without_elastic().paired  # the lesson's recipe without the elastic field
mine = weighted_stream(images[:6], masks[:6], crop=64, batch_size=3, seed=1, margin=8, transform=flips_and_affine)
course = segmentation.paired_stream(images[:6], masks[:6], crop=64, batch_size=3, seed=1, transform=flips_and_affine)
for (x, y, w), (x_ref, y_ref) in zip(mine.take(4), course.take(4)):
    np.testing.assert_allclose(x, x_ref, atol=1e-6, err_msg="x must be lesson 5's batch")
    np.testing.assert_array_equal(y, y_ref, err_msg="y must be lesson 5's batch")
    assert w.dtype == tf.float32 and w.shape == y.shape, (w.dtype, w.shape)
    w = np.asarray(w)
    assert np.all(w[:, :8] == 0) and np.all(w[:, -8:] == 0) and np.all(w[:, :, :8] == 0) and np.all(w[:, :, -8:] == 0), \
        "the `margin` outermost rows and columns get weight 0"
    np.testing.assert_allclose(w, expected_weights(y, 8), rtol=1e-5,
                               err_msg="interior weights: n / (2 n_c) for class c, counted over the whole batch")
y = np.asarray(y)
inner = (slice(None), slice(8, 56), slice(8, 56))
assert np.isclose(w[inner][y[inner] == 0].sum(), w[inner][y[inner] == 1].sum(), rtol=1e-4), "both classes weigh the same"
print("ok: lesson 5's batches, with a class-balanced weight map and a zero border")

# %% nbgrader={"grade": true, "grade_id": "ex3-test-batch", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# two synthetic pairs: one almost all cell, one half cell; balancing must count the batch, not each image
pair_x = np.full((2, 32, 32, 1), 128, np.uint8)
pair_y = np.ones((2, 32, 32, 1), np.uint8)
pair_y[0, 10:12] = 0   # two membrane rows
pair_y[1, :, :16] = 0  # half membrane
x, y, w = next(iter(weighted_stream(pair_x, pair_y, crop=32, batch_size=2, seed=0, margin=4)))
np.testing.assert_allclose(w, expected_weights(y, 4), rtol=1e-5,
                           err_msg="count n and n_c over the interior of the whole batch, after the crop")
x, y, w = next(iter(weighted_stream(pair_x[:1], np.ones_like(pair_y[:1]), crop=32, batch_size=1, seed=0, margin=0)))
assert np.all(np.asarray(w) == 1.0), "one class only, no margin: every weight is 1"
print("ok: weights balanced over the batch; a one-class batch is weighted 1")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 4 (homework): IoU and Dice for one class
#
# **Why it matters.** About 78% of the pixels are cell interior, so a model that predicts "cell" everywhere
# has 78% pixel accuracy and finds no membrane at all. The lesson scores each class on its own. For one class
# let P be the pixels predicted as that class and T the pixels that truly are: IoU = |P ∩ T| / |P ∪ T|,
# Dice = 2 |P ∩ T| / (|P| + |T|).
#
# **What to write.** `iou_and_dice(y_true, y_pred, class_id)` for two label arrays of one shape (values 0
# and 1): the IoU and the Dice of class `class_id`, as two Python floats. When the class appears in neither
# array, both are 1.0 (nothing to find, nothing found).
#
# **Hints.** `y == class_id` gives the pixel sets as boolean arrays; `np.logical_and`, `np.logical_or`.

# %% nbgrader={"grade": false, "grade_id": "ex4-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iou_and_dice(y_true, y_pred, class_id):
    """IoU and Dice of class `class_id` between two label arrays of one shape: (float, float)."""
    ### BEGIN SOLUTION
    truth = np.asarray(y_true) == class_id
    guess = np.asarray(y_pred) == class_id
    both = np.logical_and(truth, guess).sum()
    either = np.logical_or(truth, guess).sum()
    if either == 0:
        return 1.0, 1.0
    return float(both / either), float(2 * both / (truth.sum() + guess.sum()))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex4-test-report", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
truth = masks[:2]
near_miss = np.roll(truth, 3, axis=2)  # the true masks moved 3 pixels to the right
report = metrics.segmentation_report(truth, near_miss.astype("float32"))  # what lesson 5 prints
for class_id, name in enumerate(("membrane", "cell")):
    iou, dice = iou_and_dice(truth, near_miss, class_id)
    assert isinstance(iou, float) and isinstance(dice, float)
    assert abs(iou - report[f"iou_{name}"]) < 1e-4, (name, iou, report[f"iou_{name}"])
    assert abs(dice - report[f"dice_{name}"]) < 1e-4, (name, dice, report[f"dice_{name}"])
    assert abs(dice - 2 * iou / (1 + iou)) < 1e-9, "Dice = 2 IoU / (1 + IoU)"
print(f"ok: a 3-pixel shift leaves membrane IoU {report['iou_membrane']:.3f}, cell IoU {report['iou_cell']:.3f}")

# %% nbgrader={"grade": true, "grade_id": "ex4-test-edges", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
truth = masks[:2]
assert iou_and_dice(truth, truth, 0) == (1.0, 1.0)
all_cell = np.ones_like(truth)
assert iou_and_dice(truth, all_cell, 0) == (0.0, 0.0), "predicting 'cell' everywhere finds no membrane"
assert iou_and_dice(np.ones((4, 4)), np.ones((4, 4)), 0) == (1.0, 1.0), "a class in neither array scores 1"
iou, dice = iou_and_dice(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]), 1)
assert abs(iou - 1 / 3) < 1e-12 and abs(dice - 0.5) < 1e-12
print("ok: the edge cases")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (class): why nearest-neighbour for masks?
#
# A rotation or a zoom resamples pixels. Why may the image be resampled bilinearly while the mask must be
# resampled with nearest-neighbour interpolation? What goes wrong otherwise, and how would you catch it in
# a batch before training on it?

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Bilinear interpolation averages neighbouring pixels. For the image that is harmless (grey values stay
# plausible grey values), but at every cell/membrane boundary the mask gets values between 0 and 1 that
# belong to no class. Trained on them as targets, the network learns blurred, uncertain boundaries; if they
# are thresholded again, the boundary moves by up to a pixel and thin membranes (a few pixels wide) can
# break up or thicken. Nearest-neighbour only copies existing values, so every mask pixel stays 0 or 1.
# Catch it by checking each augmented mask batch: `np.unique(mask)` must be a subset of {0, 1}; and check
# alignment with a pair whose mask is defined by the image (the lesson's synthetic blocks), or overlay mask
# and image.

# %% [markdown]
# ## Summary
#
# You cut image and mask with one window drawn from every position, flipped and rotated both with one draw,
# added a class-balanced weight map with a zero border to the paired stream lesson 5 trains on, and wrote
# the per-class IoU and Dice it reports, checked against the course's own report.
