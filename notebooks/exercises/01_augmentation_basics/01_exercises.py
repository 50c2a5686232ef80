# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 1 · exercises: augmentation basics
#
# **Read first:** `01_augmentation_basics.ipynb`, which covers the classic transforms, seeds, the three APIs and their units, and the label rule. These exercises practise it: a seeded crop-and-flip, a log-uniform draw, legacy arguments turned into Keras layers, and a check of which digits survive a transform.
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
# TensorFlow's start-up (12 s while another job kept both cores busy). Nothing here
# depends on the mode: small arrays and a handful of real images, and no training beyond a few steps, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_sample_image

from helpers import config

print(config.banner("Lesson 1 · exercises"))

# The lesson's flower photo, made small so that a test can look at every possible crop position.
photo = tf.image.resize(load_sample_image("flower.jpg"), (40, 56), antialias=True)
photo = tf.cast(tf.round(photo), tf.uint8).numpy()
print("photo", photo.shape, photo.dtype)


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): a seeded random crop and flip
#
# **Why it matters.** A run you cannot repeat is a run you cannot debug. The `tf.image.stateless_*` ops
# take their randomness from a seed you pass in, so the same seed gives the same crop on every run and on
# every machine. When one augmentation uses two random ops, each needs its **own** seed: reusing one seed
# ties the two draws together, and `seed + 1` can collide with the seed of the next image.
# `tf.random.split` derives independent seeds from one.
#
# **What to write.** `crop_flip(image, seed, size)`: for one image (H, W, C), a random `size`×`size` crop,
# then a random left-right flip (probability 1/2). Split `seed` in two with `tf.random.split(seed, 2)`: the
# first row seeds the crop, the second the flip. Keep the input's dtype. It must also work inside
# `tf.data`, where the seed is a tensor.
#
# **Hints.** `tf.image.stateless_random_crop` takes the output size as `[size, size, channels]`;
# `image.shape[-1]` is the number of channels. `tf.unstack` turns the (2, 2) result of `tf.random.split`
# into two seeds.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def crop_flip(image, seed, size=32):
    """image (H, W, C); seed an integer tensor of shape (2,). Returns (size, size, C), same dtype."""
    ### BEGIN SOLUTION
    crop_seed, flip_seed = tf.unstack(tf.random.split(seed, 2))
    window = tf.image.stateless_random_crop(image, [size, size, image.shape[-1]], seed=crop_seed)
    return tf.image.stateless_random_flip_left_right(window, seed=flip_seed)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-windows", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def windows(full, size):
    """Every size x size window of `full` as bytes: (the windows, their mirror images)."""
    plain, mirrored = set(), set()
    for top in range(full.shape[0] - size + 1):
        for left in range(full.shape[1] - size + 1):
            window = full[top:top + size, left:left + size]
            plain.add(window.tobytes())
            mirrored.add(window[:, ::-1].tobytes())
    return plain, mirrored

plain, mirrored = windows(photo, 32)
out = crop_flip(photo, tf.constant([1, 2]), 32)
assert out.shape == (32, 32, 3) and out.dtype == tf.uint8, (out.shape, out.dtype)
np.testing.assert_array_equal(out, crop_flip(photo, tf.constant([1, 2]), 32), err_msg="same seed, different result")
results = [crop_flip(photo, tf.constant([s, 7]), 32).numpy().tobytes() for s in range(40)]
assert all(r in plain | mirrored for r in results), "every result must be a 32x32 window of the photo, maybe mirrored"
assert len(set(results)) > 25, f"40 seeds gave only {len(set(results))} different crops"
flipped = sum(r in mirrored for r in results)
assert 8 <= flipped <= 32, f"{flipped} of 40 results were mirrored: a random flip mirrors about half"
flip_seeds = [tf.random.split(tf.constant([s, 7]), 2)[1] for s in range(40)]
split_says = [not np.array_equal(tf.image.stateless_random_flip_left_right(photo, seed=f), photo) for f in flip_seeds]
assert [r in mirrored for r in results] == split_says, \
    "each random op needs its own seed: the flip must follow the second row of tf.random.split(seed, 2), not the crop's seed"
print("ok: 32x32 windows of the photo, mirrored about half the time by a flip with its own seed, the same for the same seed")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-tf-data", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Inside tf.data the seed is a tensor built from the element's index, as in lesson 2's pipelines.
stream = tf.data.Dataset.from_tensors(photo).repeat(6).enumerate()
stream = stream.map(lambda k, image: crop_flip(image, tf.stack([tf.constant(9, tf.int64), k]), 24))
crops = [c.numpy() for c in stream]
assert all(c.shape == (24, 24, 3) for c in crops), [c.shape for c in crops]
assert len({c.tobytes() for c in crops}) > 3, "each element of the stream should get its own crop"
print("ok: runs in tf.data with a seed per element")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): draw exponents log-uniformly
#
# **Why it matters.** The lesson's HSV power contrast raises saturation and value (both in [0, 1]) to a
# random power e in [0.25, 4]. A power above 1 darkens, a power below 1 brightens. Drawn *uniformly* from
# [0.25, 4], e is above 1 in 3 draws of 3.75, so this "random contrast" darkens 80% of the time. Drawn
# *log-uniformly*, e and 1/e are equally likely: x^0.5 comes up as often as x^2.
#
# **What to write.**
# - `log_uniform(n, low, high, seed)`: `n` float32 values whose logarithm is uniform between `log(low)`
#   and `log(high)`, from `tf.random.stateless_uniform` with `seed` (the same seed gives the same draws);
# - `darkening_share(exponents)`: the fraction of the exponents that darken, as a Python float.
#
# **Hints.** Draw uniformly between the two logarithms (the `minval` and `maxval` arguments), then undo the
# logarithm with `tf.exp`.

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def log_uniform(n, low, high, seed):
    """n float32 values, log-uniform in [low, high]; seed an integer tensor of shape (2,)."""
    ### BEGIN SOLUTION
    logs = tf.random.stateless_uniform([n], seed=seed, minval=np.log(low), maxval=np.log(high))
    return tf.exp(logs)
    ### END SOLUTION


def darkening_share(exponents):
    """The fraction of exponents that darken values in [0, 1], a float in [0, 1]."""
    ### BEGIN SOLUTION
    return float(np.mean(np.asarray(exponents) > 1.0))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test-draws", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
e = np.asarray(log_uniform(20_000, 0.25, 4.0, tf.constant([0, 1])))
assert e.shape == (20_000,) and e.dtype == np.float32, (e.shape, e.dtype)
assert e.min() >= 0.25 * 0.9999 and e.max() <= 4.0 * 1.0001, (e.min(), e.max())
np.testing.assert_array_equal(e, log_uniform(20_000, 0.25, 4.0, tf.constant([0, 1])), err_msg="same seed, different draws")
assert not np.array_equal(e, log_uniform(20_000, 0.25, 4.0, tf.constant([1, 1]))), "the seed must matter"
# log-uniform: each quarter of the range [log 0.25, log 4] holds a quarter of the draws
quarters = np.histogram(np.log(e), bins=4, range=(np.log(0.25), np.log(4.0)))[0] / len(e)
np.testing.assert_allclose(quarters, 0.25, atol=0.02, err_msg=f"share of the draws per quarter of the log range: {quarters}")
print("ok: log-uniform draws in [0.25, 4], reproducible")

# %% nbgrader={"grade": true, "grade_id": "ex2-test-share", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert abs(darkening_share(log_uniform(20_000, 0.25, 4.0, tf.constant([2, 0]))) - 0.5) < 0.02
assert abs(darkening_share(log_uniform(20_000, 0.5, 4.0, tf.constant([2, 0]))) - 2 / 3) < 0.02  # log 4 / log 8
assert abs(darkening_share(np.random.default_rng(0).uniform(0.25, 4.0, 20_000)) - 0.8) < 0.02
assert darkening_share(np.array([0.5, 1.0, 2.0, 3.0])) == 0.5, "a power of exactly 1 changes nothing"
print("ok: half of the log-uniform exponents darken, 80% of the uniform ones")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 3 (homework): legacy arguments as Keras 3 layers, units and defaults included
#
# **Why it matters.** Old tutorials are written with `ImageDataGenerator`. Translated argument by argument,
# they silently change meaning: a rotation of `15` means 15 degrees to the legacy generator and 15 *full
# turns* to `RandomRotation`; the legacy generator fills uncovered borders with `"nearest"`, the Keras
# layers with `"reflect"`; its zoom draws x and y separately, `RandomZoom` keeps the aspect ratio unless
# you give it a `width_factor`.
#
# **What to write.** `modern_layers(seed)`: a `keras.Sequential` of `RandomRotation`, `RandomTranslation`,
# `RandomZoom` and `RandomFlip` that does what
# `ImageDataGenerator(rotation_range=15, width_shift_range=0.1, height_shift_range=0.05, zoom_range=0.2, horizontal_flip=True)`
# does: the same ranges, x and y zoom drawn separately, and the legacy fill mode. Give each layer its own
# seed (`seed`, `seed + 1`, ...).
#
# **Hints.** The lesson's table "What changed, argument by argument". Check your ranges by drawing from a
# layer: `layer.get_random_transformation(batch, training=True)` returns the drawn angles (degrees),
# translations (pixels) and zoom factors.

# %% nbgrader={"grade": false, "grade_id": "ex3-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def modern_layers(seed=0):
    """keras.Sequential doing what ImageDataGenerator(rotation_range=15, width_shift_range=0.1,
    height_shift_range=0.05, zoom_range=0.2, horizontal_flip=True) does."""
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.layers.RandomRotation(15 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(height_factor=0.05, width_factor=0.1, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(height_factor=0.2, width_factor=0.2, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3-test-ranges", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
model = modern_layers()
layers = {type(layer).__name__: layer for layer in model.layers}
assert set(layers) == {"RandomRotation", "RandomTranslation", "RandomZoom", "RandomFlip"}, sorted(layers)
probe = np.zeros((2000, 20, 40, 3), "float32")  # 20 px high, 40 px wide
angles = np.asarray(layers["RandomRotation"].get_random_transformation(probe, training=True)["angle"])
assert angles.min() >= -15.01 and angles.max() <= 15.01 and angles.min() < -13 and angles.max() > 13, \
    f"angles drawn from {angles.min():.1f} to {angles.max():.1f} degrees: expected -15 to +15"
shifts = np.abs(np.asarray(layers["RandomTranslation"].get_random_transformation(probe, training=True)["translations"]))
assert 3.5 < shifts[:, 0].max() <= 4.01 and 0.8 < shifts[:, 1].max() <= 1.01, \
    f"largest shifts {shifts.max(axis=0)} px (x, y): expected 10% of 40 px across and 5% of 20 px down"
zoom = layers["RandomZoom"].get_random_transformation(probe, training=True)
for axis in ("height_zoom", "width_zoom"):
    z = np.asarray(zoom[axis])
    assert 0.8 - 1e-4 <= z.min() < 0.82 and 1.18 < z.max() <= 1.2 + 1e-4, f"{axis} from {z.min():.3f} to {z.max():.3f}"
assert not np.allclose(zoom["height_zoom"], zoom["width_zoom"]), "draw the x and y zoom separately, as zoom_range does"
print("ok: ±15 degrees, shifts of 10% across and 5% down, zoom 0.8-1.2 per axis")

# %% nbgrader={"grade": true, "grade_id": "ex3-test-defaults", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
model = modern_layers()
layers = {type(layer).__name__: layer for layer in model.layers}
for name in ("RandomRotation", "RandomTranslation", "RandomZoom"):
    fill = layers[name].get_config()["fill_mode"]
    assert fill == "nearest", f"{name} fills with {fill!r}; ImageDataGenerator's default is 'nearest'"
assert layers["RandomFlip"].get_config()["mode"] == "horizontal"
batch = photo[None].astype("float32")
np.testing.assert_array_equal(model(batch, training=False), batch, err_msg="at inference the layers pass images through")
assert not np.array_equal(model(batch, training=True), batch), "in training the layers must change the image"
print("ok: the legacy fill mode, a horizontal flip, and no augmentation at inference")

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 4 (homework): which digits survive a transform?
#
# **Why it matters.** An augmentation is allowed only if the label of the transformed image is still true.
# The lesson checked it for mirrored digits: a reader trained on the original digits scores the transformed
# ones, digit by digit. Here you write that check as a function, so you can run it on any transform.
#
# The cell below trains the reader: a 3-nearest-neighbour classifier on half of scikit-learn's 8x8 digits
# (it is fast and reads clean digits almost perfectly). `x_test` holds the other half, shape (N, 8, 8).

# %% nbgrader={"grade": false, "grade_id": "ex4-setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

digits = load_digits()
x_train, x_test, y_train, y_test = train_test_split(digits.images, digits.target, test_size=0.5,
                                                    stratify=digits.target, random_state=0)
reader = KNeighborsClassifier(3).fit(x_train.reshape(len(x_train), -1), y_train)
mirror = lambda images: images[:, :, ::-1]  # noqa: E731  (left-right)


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4-what", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What to write.**
# - `per_digit_accuracy(reader, images, labels, transform)`: apply `transform` to the (N, 8, 8) images,
#   let `reader` predict them (it takes flat rows of 64 pixels), and return a float array of 10 accuracies,
#   one per true digit 0-9;
# - `surviving_digits(reader, images, labels, transform, threshold)`: the sorted list of digits whose
#   accuracy under `transform` is at least `threshold`.
#
# **Hints.** `images.reshape(len(images), -1)` makes the rows; `predictions[labels == d] == d` marks the
# correct answers for digit `d`.

# %% nbgrader={"grade": false, "grade_id": "ex4-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def per_digit_accuracy(reader, images, labels, transform):
    """Accuracy of `reader` on transform(images) for each true digit 0-9: float array (10,)."""
    ### BEGIN SOLUTION
    changed = np.asarray(transform(images))
    predictions = reader.predict(changed.reshape(len(changed), -1))
    return np.array([np.mean(predictions[labels == digit] == digit) for digit in range(10)])
    ### END SOLUTION


def surviving_digits(reader, images, labels, transform, threshold):
    """Sorted digits whose accuracy under `transform` is at least `threshold`."""
    ### BEGIN SOLUTION
    accuracy = per_digit_accuracy(reader, images, labels, transform)
    return [digit for digit in range(10) if accuracy[digit] >= threshold]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex4-test-accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from sklearn.metrics import recall_score

as_is = np.asarray(per_digit_accuracy(reader, x_test, y_test, lambda images: images))
assert as_is.shape == (10,), as_is.shape
reference = recall_score(y_test, reader.predict(x_test.reshape(len(x_test), -1)), average=None)
np.testing.assert_allclose(as_is, reference, err_msg="accuracy per true digit (the recall of each class)")
mirrored = np.asarray(per_digit_accuracy(reader, x_test, y_test, mirror))
assert mirrored[0] > 0.95 and max(mirrored[3], mirrored[5], mirrored[6]) < 0.05, np.round(mirrored, 2)
print("ok: a mirrored 0 is still a 0; a mirrored 3, 5 or 6 is not")

# %% nbgrader={"grade": true, "grade_id": "ex4-test-survivors", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert surviving_digits(reader, x_test, y_test, lambda images: images, 0.9) == list(range(10))
assert surviving_digits(reader, x_test, y_test, mirror, 0.75) == [0, 8]
upside_down = lambda images: images[:, ::-1, ::-1]  # noqa: E731  (rotated by 180 degrees)
kept = surviving_digits(reader, x_test, y_test, upside_down, 0.5)
assert 0 in kept and 6 not in kept and 9 not in kept, kept
print("ok: mirroring keeps only 0 and 8; turning upside down loses 6 and 9")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (class): which transforms keep the label true?
#
# For each task, name one geometric transform from the lesson that you would allow and one that you would
# not, and justify each with the label rule: (a) satellite images classified by land use, (b) photos of
# handwritten words, (c) photos of cars classified by make and model.

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# (a) Satellite images: allow flips in both directions and rotations by any multiple of 90° (or any angle):
# a top-down view has no "up", and a field or a forest stays one when turned. Refuse strong zoom or
# random-resized crops that change the apparent ground size, where size is part of the class (a house
# against a warehouse), and colour changes that turn fields into water.
# (b) Handwritten words: allow small shifts, small rotations (a few degrees) and mild zoom or shear, as
# handwriting varies that way. Refuse left-right or up-down flips and large rotations: mirrored or upside-down
# writing is not the word any more ("b" becomes "d", "p" becomes "q").
# (c) Cars: allow the horizontal flip (a mirrored car is the same make and model, seen from the other side),
# small rotations and crops that keep most of the car. Refuse vertical flips and 180° rotations (no test
# photo shows a car upside down) and crops so tight that the parts telling the models apart are cut off.

# %% [markdown]
# ## Summary
#
# You wrote a crop-and-flip whose two random ops get their own seeds from `tf.random.split`, drew exponents
# log-uniformly so that brightening and darkening are equally likely, translated legacy generator arguments
# into Keras layers with the right units and fill, and measured which digits keep their label under a
# transform.
