# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 7 · exercises: modern augmentation policies
#
# **Read first:** `07_modern_augmentation_policies.ipynb`, which compares RandAugment, TrivialAugment, AugMix, random erasing, MixUp, CutMix and test-time augmentation on lesson 2's setting. These exercises practise it: MixUp's loss with class ids, test-time augmentation by flip averaging, and CutMix with its label weighted by the pasted area.
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
# ## Exercise 1 (class): MixUp with class ids, by mixing the loss
#
# **Why it matters.** The lesson's `mix_up` blends one-hot labels: image i, made of `lam_i` of its own image and
# `1 - lam_i` of its partner's, gets the label `lam_i * onehot(a_i) + (1 - lam_i) * onehot(b_i)`. A model trained
# with class ids and `sparse_categorical_crossentropy` cannot take that label. It does not need to: cross-entropy
# is linear in its target, `CE(lam * t1 + (1 - lam) * t2, p) = lam * CE(t1, p) + (1 - lam) * CE(t2, p)`, so the
# two losses can be mixed instead, and the labels stay class ids.
#
# **What to write.** `mixup_sparse_loss(ids, partner, lam, probs)`, where `ids` int (N,) are the class ids of the
# batch before blending, `partner` int (N,) says that image i was blended with image `partner[i]`, `lam` float
# (N,) is image i's own share in [0, 1], and `probs` float32 (N, K) are the model's predicted probabilities on the
# **blended** images. Return the per-image losses, float32 (N,), equal to the categorical cross-entropy of the
# blended one-hot labels. `ids` that are not one class id per image (for example one-hot labels, shape (N, K))
# raise `ValueError` saying that this loss takes class ids.
#
# **Hints.** `keras.losses.sparse_categorical_crossentropy(ids, probs)` gives one loss per image. Which class
# does image i's partner contribute: `ids[partner[i]]`. Mix the two losses, not the probabilities: the log of a
# mixture is not the mixture of the logs.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mixup_sparse_loss(ids, partner, lam, probs):
    """Per-image MixUp loss from class ids: ids, partner int (N,); lam float (N,); probs (N, K). Returns float32 (N,)."""
    ### BEGIN SOLUTION
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"mixup_sparse_loss takes class ids, one per image (shape (N,)), got shape {ids.shape}; "
                         "for one-hot labels blend the labels with mix_up instead")
    partner_ids = ids[np.asarray(partner)]
    own = keras.losses.sparse_categorical_crossentropy(ids, probs)
    other = keras.losses.sparse_categorical_crossentropy(partner_ids, probs)
    lam = tf.cast(lam, own.dtype)
    return tf.cast(lam * own + (1 - lam) * other, tf.float32)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-equal", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(7)
n, k = 16, 10
ids = rng.integers(0, k, n)
partner = rng.permutation(n)
lam = rng.beta(0.2, 0.2, n).astype("float32")
probs = tf.nn.softmax(rng.normal(size=(n, k)).astype("float32") * 2).numpy()
onehot = keras.utils.to_categorical(ids, k)
blended = lam[:, None] * onehot + (1 - lam[:, None]) * onehot[partner]  # the lesson's soft labels
expected = np.asarray(keras.losses.categorical_crossentropy(blended, probs))
loss = np.asarray(mixup_sparse_loss(ids, partner, lam, probs))
assert loss.shape == (n,), f"one loss per image: expected shape ({n},), got {loss.shape}"
assert loss.dtype == np.float32, loss.dtype
np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-6,
                           err_msg="not the cross-entropy of the blended one-hot labels")
print("ok: equal to the categorical cross-entropy of the lesson's soft labels, image by image")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-cases", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(8)
ids = rng.integers(0, 5, 8)
ids_before = ids.copy()
probs = tf.nn.softmax(rng.normal(size=(8, 5)).astype("float32")).numpy()
plain = np.asarray(keras.losses.sparse_categorical_crossentropy(ids, probs))
itself = np.arange(8)  # every image blended with itself: any lam gives the plain loss
np.testing.assert_allclose(mixup_sparse_loss(ids, itself, np.full(8, 0.3, "float32"), probs), plain, rtol=1e-5,
                           err_msg="an image blended with itself must keep its plain loss")
swapped = np.arange(8)[::-1]
partners_class = np.asarray(keras.losses.sparse_categorical_crossentropy(ids[swapped], probs))
np.testing.assert_allclose(mixup_sparse_loss(ids, swapped, np.zeros(8, "float32"), probs), partners_class, rtol=1e-5,
                           err_msg="lam = 0: the image is all partner, so its loss is that of the partner's class")
np.testing.assert_array_equal(ids, ids_before, err_msg="the caller's ids were changed")
print("ok: self-pairs keep the plain loss, lam = 0 takes the partner's class")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-onehot", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
try:
    mixup_sparse_loss(keras.utils.to_categorical(np.arange(4), 4), np.arange(4), np.ones(4, "float32"),
                      np.full((4, 4), 0.25, "float32"))
except ValueError as error:
    assert "class id" in str(error), f"say that the loss takes class ids: {error}"
else:
    raise AssertionError("one-hot labels (N, K) must raise ValueError")
print("ok: one-hot labels are refused with a hint")


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
