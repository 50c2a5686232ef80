# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 7 · exercises: modern augmentation policies
#
# **Read first:** `07_modern_augmentation_policies.ipynb`, which compares RandAugment, TrivialAugment, AugMix, random erasing, MixUp, CutMix and test-time augmentation on lesson 2's setting. These exercises practise it: MixUp on a batch with one-hot labels, test-time augmentation by flip averaging, and CutMix with its label weighted by the pasted area.
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
# TensorFlow's start-up (12 s while another job kept both cores busy). Nothing here
# depends on the mode: small arrays and a handful of real images, and no training beyond a few steps, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import keras
import numpy as np
import tensorflow as tf

from helpers import config, datasets, readers

print(config.banner("Lesson 7 · exercises"))

(x_few, y_few), _ = readers.load_cifar10(16)
images = x_few.astype("float32") / 255.0  # 16 CIFAR-10 training images in [0, 1]
print("images", images.shape, "classes", [datasets.CIFAR10_CLASSES[c] for c in y_few[:8]], "...")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): MixUp on a batch
#
# **Why it matters.** MixUp trains on blends: image i becomes `lam * x_i + (1 - lam) * x_j` with a partner j
# from the same batch, and its label becomes the same blend of the two one-hot labels, with `lam` drawn
# from Beta(alpha, alpha) for every image. It needs a batch (a partner) and one-hot labels: blending class
# *ids* gives numbers that are no class (a 50/50 blend of classes 2 and 8 is not class 5).
#
# **What to write.** `mix_up(images, labels, seed, alpha=0.2)` for float32 images (N, H, W, C) and one-hot
# float labels (N, K): draw a `lam` per image from Beta(alpha, alpha) and a random partner per image (a
# random permutation of the batch), all from `seed`; return the blended images and soft labels (float32).
# Labels that are not one-hot (shape (N,)) raise `ValueError` with a message that says to one-hot encode
# them.
#
# **Hints.** Split `seed` in three with `tf.random.split`. If a ~ Gamma(alpha) and b ~ Gamma(alpha), then
# a / (a + b) ~ Beta(alpha, alpha): `tf.random.stateless_gamma([n], seed, alpha)`. A random permutation:
# `tf.argsort` of `n` uniform numbers. `tf.gather(x, partner)` picks the partners. Give `lam` the shape
# (N, 1, 1, 1) for images and (N, 1) for labels.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mix_up(images, labels, seed, alpha=0.2):
    """images float32 (N, H, W, C); labels one-hot (N, K). Returns (blended images, soft labels float32)."""
    ### BEGIN SOLUTION
    labels = tf.convert_to_tensor(labels)
    if labels.shape.rank != 2:
        raise ValueError(f"MixUp blends labels, so they must be one-hot (N, classes), got shape {labels.shape}: "
                         "use keras.utils.to_categorical")
    labels = tf.cast(labels, tf.float32)
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
    a_seed, b_seed, partner_seed = tf.unstack(tf.random.split(seed, 3))
    a = tf.random.stateless_gamma([n], a_seed, alpha)
    b = tf.random.stateless_gamma([n], b_seed, alpha)
    lam = a / (a + b)
    partner = tf.argsort(tf.random.stateless_uniform([n], partner_seed))
    mixed = lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * tf.gather(images, partner)
    soft = lam[:, None] * labels + (1 - lam[:, None]) * tf.gather(labels, partner)
    return mixed, soft
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-blend", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
labels = keras.utils.to_categorical(np.arange(16), 16)  # each image its own class: a soft label names both images
mixed, soft = mix_up(images, labels, tf.constant([0, 1]))
mixed, soft = np.asarray(mixed), np.asarray(soft)
assert mixed.shape == images.shape and soft.shape == (16, 16), (mixed.shape, soft.shape)
assert mixed.dtype == np.float32 and soft.dtype == np.float32
np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-5, err_msg="soft labels must sum to 1")
assert ((soft > 1e-6).sum(axis=1) <= 2).all(), "MixUp blends two images, so a soft label has at most two classes"
for i in range(16):  # the label says which images were blended, and with which weights
    np.testing.assert_allclose(mixed[i], np.tensordot(soft[i], images, axes=1), atol=1e-5,
                               err_msg=f"image {i} is not blended with the weights of its label")


def partners(soft_labels):
    """Image i's partner, read from its soft label (i itself when it was paired with itself)."""
    others = np.asarray(soft_labels).copy()
    np.fill_diagonal(others, 0)
    return np.where(others.max(axis=1) > 1e-6, others.argmax(axis=1), np.arange(len(others)))


first, second = partners(soft), partners(mix_up(images, labels, tf.constant([5, 1]))[1])
assert len(set(first)) > 8, "partners must vary across the batch"
moved = first != np.arange(16)  # the images blended with another one
assert len(set(np.round(soft.max(axis=1)[moved], 6))) > 1, "draw a lam for every image, not one for the whole batch"
paired = (first != np.arange(16)) & (second != np.arange(16))
assert np.any(first[paired] != second[paired]), "the partners must be drawn at random from the seed, not fixed"
np.testing.assert_array_equal(np.asarray(mix_up(images, labels, tf.constant([0, 1]))[1]), soft, err_msg="same seed, different blend")
print("ok: every image blended with one partner, with the weights its soft label gives")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-beta", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
labels = keras.utils.to_categorical(np.arange(16), 16)


def share_mostly_one(alpha):
    """Over 40 batches, the share of images that keep more than 90% of one picture."""
    weights = [np.asarray(mix_up(images, labels, tf.constant([s, 2]), alpha=alpha)[1]).max(axis=1) for s in range(40)]
    return float(np.mean(np.concatenate(weights) > 0.9))


peaked, flat = share_mostly_one(0.2), share_mostly_one(1.0)
# Beta(0.2, 0.2) piles up near 0 and 1 (67% of lam beyond 0.1 or 0.9); Beta(1, 1) is uniform (20%)
assert 0.55 < peaked < 0.85, f"alpha 0.2: {peaked:.0%} of the images are mostly one picture, expected about 69%"
assert 0.12 < flat < 0.40, f"alpha 1: {flat:.0%} of the images are mostly one picture, expected about 25%"
print(f"ok: mostly one picture in {peaked:.0%} of the blends at alpha 0.2, {flat:.0%} at alpha 1")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-sparse", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
for sparse in (np.arange(16), np.arange(16).astype("float32")):
    try:
        mix_up(images, sparse, tf.constant([0, 0]))
    except ValueError as error:
        assert "one-hot" in str(error) or "to_categorical" in str(error), f"say how to fix it: {error}"
    else:
        raise AssertionError(f"{sparse.dtype} class ids of shape (16,) must raise ValueError")
print("ok: class ids are refused with a hint")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): flip test-time augmentation
#
# **Why it matters.** A model trained with random flips has learned that a mirrored cat is a cat.
# Test-time augmentation uses that when predicting: average the class probabilities of the image and of its
# mirror. It costs one more forward pass per image; in the lesson's measurements it bought between half a point
# and 1.3 points of test accuracy. Averaged that way, the prediction for an image and for its mirror are exactly the same.
#
# **What to write.** `predict_flip_tta(model, images)`: the mean of `model`'s class probabilities on
# `images` (N, H, W, C) and on their left-right mirrors, as a NumPy array (N, K).
#
# **Hints.** `model.predict(x, verbose=0)`. The width axis of a batch is axis 2.

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def predict_flip_tta(model, images):
    """Class probabilities averaged over the images and their left-right mirrors: (N, K)."""
    ### BEGIN SOLUTION
    as_is = model.predict(images, verbose=0)
    mirrored = model.predict(images[:, :, ::-1], verbose=0)
    return (as_is + mirrored) / 2.0
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")])
p = np.asarray(predict_flip_tta(model, images))
assert p.shape == (16, 10), p.shape
np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5, err_msg="an average of probabilities sums to 1")
np.testing.assert_allclose(p, np.asarray(predict_flip_tta(model, images[:, :, ::-1])), atol=1e-5,
                           err_msg="flip TTA must give an image and its mirror the same prediction")
upside_down = np.asarray(predict_flip_tta(model, images[:, ::-1]))
assert not np.allclose(p, upside_down, atol=1e-4), "average over left-right mirrors, not up-down ones"
assert not np.allclose(p, model.predict(images, verbose=0), atol=1e-4), "this is the plain prediction"
print("ok: the same prediction for an image and its mirror")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 3 (homework): CutMix and its label
#
# **Why it matters.** CutMix pastes a box of a partner image into each image and mixes the two labels by
# **area**: the share of pixels that came from the partner. A box drawn around a random centre often
# reaches past the border; it is clipped there, and the label must use the clipped area, or it claims
# pixels that were never pasted.
#
# **What to write.** `cut_mix(images, labels, box)` for a batch of images (N, H, W, C) and one-hot labels
# (N, K), with the box `(top, left, height, width)` in pixels, which may reach outside the image: clip the
# box to the image; each image `i` gets the pixels of its partner `N - 1 - i` (the batch reversed) inside
# the box; its label becomes `(1 - s) * label_i + s * label_partner`, where `s` is the pasted share of the
# image's pixels. Return new arrays: the caller's images stay as they are.
#
# **Hints.** Clip the top and bottom rows to [0, H] and the columns to [0, W]; a box clipped to nothing
# pastes nothing.

# %% nbgrader={"grade": false, "grade_id": "ex3-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cut_mix(images, labels, box):
    """Paste box (top, left, height, width) of the reversed batch into each image; labels mixed by the pasted area."""
    ### BEGIN SOLUTION
    images = np.asarray(images)
    labels = np.asarray(labels, dtype="float32")
    height, width = images.shape[1], images.shape[2]
    top, left, box_height, box_width = box
    y0, y1 = min(max(top, 0), height), min(max(top + box_height, 0), height)
    x0, x1 = min(max(left, 0), width), min(max(left + box_width, 0), width)
    mixed = images.copy()
    mixed[:, y0:y1, x0:x1] = images[::-1, y0:y1, x0:x1]
    share = (y1 - y0) * (x1 - x0) / (height * width)
    return mixed, (1 - share) * labels + share * labels[::-1]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3-test-area", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
flat = np.stack([np.full((10, 10, 1), float(i)) for i in range(4)]).astype("float32")  # image i is all i
kept = flat.copy()
onehot = keras.utils.to_categorical(np.arange(4), 4)
expected_share = {(2, 3, 4, 5): 0.2, (-3, 6, 8, 10): 0.2, (8, 8, 5, 5): 0.04, (0, 0, 0, 4): 0.0,
                  (0, 0, 10, 10): 1.0, (12, 0, 5, 5): 0.0}
for box, share in expected_share.items():
    mixed, soft = cut_mix(flat, onehot, box)
    mixed, soft = np.asarray(mixed), np.asarray(soft)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-6, err_msg=f"box {box}: soft labels must sum to 1")
    for i in range(4):
        pasted = np.mean(mixed[i] == 3 - i)
        assert set(np.unique(mixed[i])) <= {i, 3 - i}, f"box {box}: image {i} holds pixels of other images"
        assert abs(pasted - share) < 1e-9, f"box {box}: {pasted:.0%} of image {i} pasted, expected {share:.0%}"
        np.testing.assert_allclose(soft[i, [i, 3 - i]], [1 - share, share], atol=1e-6,
                                   err_msg=f"box {box}: the label must weigh the partner by the pasted share")
np.testing.assert_array_equal(flat, kept, err_msg="cut_mix changed the caller's images")
print("ok: boxes clipped at the border, labels weighted by the pasted area")

# %% nbgrader={"grade": true, "grade_id": "ex3-test-real", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
onehot = keras.utils.to_categorical(y_few[:4], 10)
mixed, soft = cut_mix(images[:4], onehot, (-4, 20, 16, 20))  # clipped to rows 0-11, columns 20-31
mixed = np.asarray(mixed)
np.testing.assert_array_equal(mixed[0, :12, 20:], images[3, :12, 20:], err_msg="the box's pixels come from the partner")
np.testing.assert_array_equal(mixed[0, 12:], images[0, 12:], err_msg="outside the box the image is unchanged")
np.testing.assert_array_equal(mixed[0, :, :20], images[0, :, :20], err_msg="outside the box the image is unchanged")
share = 12 * 12 / (32 * 32)
np.testing.assert_allclose(np.asarray(soft)[0], (1 - share) * onehot[0] + share * onehot[3], atol=1e-6,
                           err_msg="the label: 14% the partner's class")
print("ok: a 12x12 corner of the partner pasted into a real image, labelled 14% partner")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (class): training accuracy far below test accuracy
#
# In the lesson's study, two arms ended with a training accuracy far below their test accuracy:
# `crop_flip+cutmix` (last training accuracy 0.56, test accuracy 0.7154) and `crop_flip+randaugment_n2_m9`
# (0.53 and 0.7109). Do both mean the same thing? What does Keras's training accuracy measure in each case,
# what would you conclude for each arm, and what would you watch instead of the training accuracy?

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# Not the same thing. With CutMix (and MixUp), Keras's `accuracy` compares the predicted class with the
# largest weight of the *soft* label on blended images: a 55/45 blend counts as wrong when the model
# answers the 45% class, although that answer is half right. It is low by construction and says nothing
# about underfitting; the lesson leaves it out of the table for that reason. With RandAugment N=2, M=9
# the labels are one-hot and the training accuracy is a real accuracy, but on heavily distorted images
# (two strong operations on every image): the small model cannot even fit the augmented training set
# in 80 epochs. That is the lesson's sign that the policy holds a small model back: it would need
# milder operations (N=1, M=5 did better), more epochs or a larger model. For both, judge the fit on
# clean images: validation/test accuracy and loss, and the accuracy on the training images evaluated
# without augmentation (a model that underfits is poor there too).

# %% [markdown]
# ## Summary
#
# You wrote MixUp with Beta-drawn weights and random partners that refuses class ids, flip test-time
# augmentation that gives an image and its mirror the same prediction, and CutMix whose label counts only
# the pixels actually pasted.
