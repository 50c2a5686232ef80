# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 4 · exercises: fine-tuning ResNet50
#
# **Read first:** `04_hotdog_resnet50_finetuning.ipynb`, which fine-tunes ResNet50 on hot dogs and explains why the original run sat at 50%. These exercises practise it: ResNet50's own `preprocess_input` and its inverse, unfreezing the last N residual blocks without their BatchNorm layers and counting what trains, a new head on pooled features, and caching a frozen backbone's features. Building ResNet50 itself is slow on a CPU, so the exercises use a small stand-in backbone whose layers are named like ResNet50's; your functions work unchanged on the real one.
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
# TensorFlow's start-up (14 s while another job kept both cores busy). Nothing here
# depends on the mode: small arrays and a handful of real images, and no training beyond a few steps, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import keras
import numpy as np
import tensorflow as tf
from keras.applications.resnet50 import preprocess_input

from helpers import config, datasets, imagefolders

print(config.banner("Lesson 4 · exercises"))

# Eight real photos: four hot dogs and four other foods from the training folder, resized to 64x64.
train = imagefolders.scan(datasets.fetch("hotdog") / "train")
picked = [i for c in range(2) for i in np.flatnonzero(np.asarray(train.labels) == c)[:4]]
photos = imagefolders.load_images([train.paths[i] for i in picked], (64, 64))  # uint8 RGB
print("photos", photos.shape, photos.dtype, "classes", train.class_names)


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): ResNet50's own preprocessing, and back
#
# **Why it matters.** Keras's ImageNet ResNet50 was trained on *caffe-style* inputs: 0-255 pixels in **BGR**
# order with the ImageNet channel means subtracted (B 103.939, G 116.779, R 123.68), so its inputs run from
# about -124 to +151. The post fed `rescale=1/255` pixels in [0, 1]: all within 1 of the mean colour, so
# every image looked like the same flat picture. Two more traps: `preprocess_input` on a NumPy float array
# **writes into it** (run it twice on a cached batch and the means are subtracted twice), and to look at a
# preprocessed batch you must undo it.
#
# **What to write.**
# - `preprocess(images)`: RGB images (uint8 or float, 0-255) in, `preprocess_input`'s output out (float32),
#   with the caller's array left unchanged;
# - `to_rgb(x)`: the inverse, for display: add the means back, reorder BGR to RGB, clip to [0, 255], round,
#   uint8.
#
# **Hints.** `np.array(images, dtype="float32")` makes a float copy. The lesson's `MEAN_BGR` holds the
# three means in B, G, R order; `x[..., ::-1]` reverses the channels.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def preprocess(images):
    """RGB images (N, H, W, 3), 0-255 -> float32 BGR minus the ImageNet means; the input is not modified."""
    ### BEGIN SOLUTION
    return preprocess_input(np.array(images, dtype="float32", copy=True))
    ### END SOLUTION


def to_rgb(x):
    """The inverse of preprocess, for display: uint8 RGB (N, H, W, 3)."""
    ### BEGIN SOLUTION
    bgr = np.asarray(x, dtype="float32") + np.array([103.939, 116.779, 123.68], dtype="float32")
    return np.round(np.clip(bgr[..., ::-1], 0, 255)).astype("uint8")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-preprocess", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
images = photos.astype("float32")
kept = images.copy()
x = np.asarray(preprocess(images))
np.testing.assert_array_equal(images, kept, err_msg="preprocess changed the caller's array")
np.testing.assert_array_equal(np.asarray(preprocess(images)), x, err_msg="a second call must give the same result")
assert x.dtype == np.float32 and x.shape == photos.shape
red = np.zeros((1, 1, 1, 3), "float32")
red[..., 0] = 255.0
np.testing.assert_allclose(np.asarray(preprocess(red))[0, 0, 0], [-103.939, -116.779, 255 - 123.68], atol=1e-3,
                           err_msg="pure red: expected BGR order with the ImageNet means subtracted")
assert x.min() < -90 and x.max() > 110, f"values from {x.min():.0f} to {x.max():.0f}: ResNet50 expects about -124 to +151"
np.testing.assert_array_equal(np.asarray(preprocess(photos)), x, err_msg="uint8 photos must work too")
print("ok: caffe-style inputs, and the caller's array untouched")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-to-rgb", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
back = np.asarray(to_rgb(preprocess(photos)))
assert back.dtype == np.uint8, back.dtype
np.testing.assert_array_equal(back, photos, err_msg="to_rgb(preprocess(photos)) must give the photos back")
assert np.asarray(to_rgb(np.full((1, 1, 1, 3), 500.0))).tolist() == [[[[255, 255, 255]]]], "clip to [0, 255]"
print("ok: to_rgb undoes preprocess exactly")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (class): unfreeze the last N residual blocks, count what trains
#
# **Why it matters.** After the new head has trained, fine-tuning unfreezes the end of the backbone at a 10x
# smaller learning rate. How much to unfreeze is a knob: the lesson opens the whole `conv5_*` stage, but a
# small data set may call for fewer blocks and a larger one for more, so a fine-tuning script takes a number
# of **residual blocks** and reports how many parameters will train. Whatever N is, the BatchNormalization
# layers must stay frozen. In Keras 3, a BatchNorm layer whose `trainable` is False always runs in inference
# mode, with the moving statistics it learned on ImageNet; `backbone(inputs, training=False)` is not enough on
# its own, because Keras 3's `fit` calls the nested backbone's layers in training mode anyway.
#
# **What to write.** `unfreeze_last_blocks(backbone, n)`. ResNet50's layer names say which residual block
# a layer belongs to: `conv4_block3_2_conv` is in block `conv4_block3`, while layers such as `conv1_conv` or
# `pool1_pad` belong to no block. Blocks come in the order their first layer appears in `backbone.layers`.
# Set `backbone.trainable = True`, then make each layer trainable if and only if it belongs to one of the
# **last `n` blocks** and is not a `keras.layers.BatchNormalization`; every other layer is frozen (also
# when the backbone was unfrozen differently before). `n = 0` freezes everything; `n` larger than the number
# of blocks unfreezes every block. Return the number of **trainable parameters** of the backbone (scalars,
# not weight tensors) as an `int`.
#
# The cell below builds the stand-in: a tiny backbone with ResNet50's names, a stem, three blocks in stage 4
# and two in stage 5, frozen and called with `training=False` under a new head, as in the lesson.
#
# **Hints.** `re.match(r"conv\d+_block\d+", name)`; `layer.trainable_weights`; `np.prod(w.shape)`.

# %% nbgrader={"grade": false, "grade_id": "ex2-setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import re


def stand_in(seed=0):
    """(backbone, classifier): a tiny backbone named like ResNet50's stages 4 and 5, frozen, called with
    training=False under a head named "head", as lesson 4 builds the real one."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = inputs
    for stage in (4, 5):
        x = keras.layers.Conv2D(4, 3, padding="same", name=f"conv{stage}_block1_1_conv")(x)
        x = keras.layers.BatchNormalization(name=f"conv{stage}_block1_1_bn")(x)
        x = keras.layers.Activation("relu", name=f"conv{stage}_block1_out")(x)
    backbone = keras.Model(inputs, x, name="stand_in_backbone")
    backbone.trainable = False
    outer = keras.Input((16, 16, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(outer, training=False))
    return backbone, keras.Model(outer, keras.layers.Dense(2, activation="softmax", name="head")(pooled))


def blocks_stand_in(seed=0):
    """(backbone, classifier): a stem conv1_*, residual blocks conv4_block1..3 (1x1 convolutions, 20
    parameters each) and conv5_block1..2 (3x3 convolutions, 148 each), each with a BatchNorm layer (4 + 4
    trainable parameters, 8 moving statistics); frozen, under a head, as stand_in."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv1_conv")(inputs)
    x = keras.layers.BatchNormalization(name="conv1_bn")(x)
    for stage, blocks, kernel in ((4, 3, 1), (5, 2, 3)):
        for block in range(1, blocks + 1):
            name = f"conv{stage}_block{block}"
            y = keras.layers.Conv2D(4, kernel, padding="same", name=f"{name}_1_conv")(x)
            y = keras.layers.BatchNormalization(name=f"{name}_1_bn")(y)
            x = keras.layers.Activation("relu", name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([x, y]))
    backbone = keras.Model(inputs, x, name="blocks_stand_in")
    backbone.trainable = False
    outer = keras.Input((16, 16, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(outer, training=False))
    return backbone, keras.Model(outer, keras.layers.Dense(2, activation="softmax", name="head")(pooled))


backbone, classifier = blocks_stand_in()
print([layer.name for layer in backbone.layers])


# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def unfreeze_last_blocks(backbone, n):
    """Make only the layers of the last n residual blocks trainable, BatchNorm excluded; return the
    number of trainable parameters."""
    ### BEGIN SOLUTION
    def block_of(layer):
        found = re.match(r"conv\d+_block\d+", layer.name)
        return found.group(0) if found else None

    blocks = list(dict.fromkeys(block_of(layer) for layer in backbone.layers if block_of(layer)))
    chosen = set(blocks[len(blocks) - n:]) if n > 0 else set()
    backbone.trainable = True
    for layer in backbone.layers:
        frozen_kind = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = block_of(layer) in chosen and not frozen_kind
    return int(sum(np.prod(w.shape) for w in backbone.trainable_weights))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test-counts", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
backbone, classifier = blocks_stand_in()
counts = {n: unfreeze_last_blocks(backbone, n) for n in (3, 1, 0, 2, 5, 99)}  # one backbone, in this order
assert all(isinstance(c, int) for c in counts.values()), "return an int"
expected = {3: 20 + 2 * 148, 1: 148, 0: 0, 2: 2 * 148, 5: 3 * 20 + 2 * 148, 99: 3 * 20 + 2 * 148}
assert counts == expected, f"trainable parameters per n: {counts}, expected {expected}"
unfreeze_last_blocks(backbone, 3)
flags = {layer.name: layer.trainable for layer in backbone.layers if layer.weights}
assert [name for name, on in flags.items() if on] == \
    ["conv4_block3_1_conv", "conv5_block1_1_conv", "conv5_block2_1_conv"], flags
assert sum(int(np.prod(w.shape)) for w in backbone.trainable_weights) == 20 + 2 * 148, "the count must be what trains"
print("ok: the last n blocks' convolutions train, BatchNorm and the stem stay frozen, counts right")

# %% nbgrader={"grade": true, "grade_id": "ex2-test-fit", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
backbone, classifier = blocks_stand_in()
unfreeze_last_blocks(backbone, 2)
layers = {layer.name: layer for layer in backbone.layers if layer.weights}
before = {name: [w.numpy().copy() for w in layer.weights] for name, layer in layers.items()}
classifier.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
x = np.random.default_rng(0).normal(2.0, 3.0, (16, 16, 16, 3)).astype("float32")
classifier.fit(x, np.arange(16) % 2, batch_size=8, epochs=1, verbose=0)
changed = sorted(name for name, layer in layers.items()
                 if not all(np.array_equal(a, w.numpy()) for a, w in zip(before[name], layer.weights)))
assert changed == ["conv5_block1_1_conv", "conv5_block2_1_conv"], f"changed by fit: {changed}"
print("ok: fit trains the last two blocks' convolutions and leaves every BatchNorm statistic alone")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 3 (class): a new head on pooled features
#
# **Why it matters.** The post put its new layer on ResNet50's 1000-way ImageNet softmax: a squashed vector
# of probabilities, most of them near 0, that says little about hot dogs. The new head belongs on the
# backbone's **pooled features**, and only the head trains at first.
#
# **What to write.** `transfer_classifier(backbone, num_classes=2)`: freeze the backbone, call it with
# `training=False` on a new `keras.Input` of the backbone's input shape, then global average pooling,
# `Dropout(0.2)`, and a softmax `Dense(num_classes)` layer named `"head"`.
#
# **Hints.** `backbone.input_shape[1:]` is the shape of one image. The lesson's `transfer_classifier` and
# `new_head`.

# %% nbgrader={"grade": false, "grade_id": "ex3-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def transfer_classifier(backbone, num_classes=2):
    """Frozen backbone (training=False) -> global average pooling -> dropout -> softmax layer named "head"."""
    ### BEGIN SOLUTION
    backbone.trainable = False  # only the head trains
    inputs = keras.Input(backbone.input_shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs, training=False))
    dropped = keras.layers.Dropout(0.2)(pooled)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(dropped))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3-test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
backbone, _ = stand_in()
backbone.trainable = True  # transfer_classifier must freeze it
model = transfer_classifier(backbone, 3)
x = np.random.default_rng(1).normal(0.0, 1.0, (5, 16, 16, 3)).astype("float32")
probs = np.asarray(model.predict(x, verbose=0))
assert probs.shape == (5, 3), probs.shape
assert not np.allclose(np.asarray(model(x, training=True)), probs, atol=1e-6), \
    "Dropout(0.2) between the pooling and the head: in training it must drop features"
assert not backbone.trainable, "the backbone must be frozen"
trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
assert trainable == 4 * 3 + 3, f"only the head trains (4 features x 3 classes + 3 biases = 15), not {trainable}"
head = model.get_layer("head")
pooled = np.asarray(backbone.predict(x, verbose=0)).mean(axis=(1, 2))  # the average-pooled features
logits = pooled @ head.kernel.numpy() + head.bias.numpy()
expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
np.testing.assert_allclose(probs, expected, atol=1e-5, err_msg="the head must sit on the average-pooled backbone features")
print("ok: a 15-parameter head on the pooled features of a frozen backbone")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 4 (homework): cache the frozen backbone's features
#
# **Why it matters.** While the backbone is frozen, its output for an image never changes, yet training end
# to end recomputes it for every image in every epoch; on a CPU that is nearly all the time. Compute the
# features **once**, then train the head on them: over 5 epochs the lesson measured it about 4 times faster. The price:
# cached images cannot be augmented anew each epoch.
#
# **What to write.**
# - `cached_features(backbone, images, batch_size=32)`: the backbone's outputs for all images, as one
#   NumPy array, in inference mode;
# - `head_on_features(feature_shape, num_classes=2)`: a model whose input is one image's features (shape
#   `feature_shape`), with the same head as the stand-in classifier: global average pooling, then a softmax
#   `Dense(num_classes)` named `"head"`.
#
# The test copies the stand-in classifier's head weights into your model and checks that features-then-head
# gives exactly the end-to-end predictions.

# %% nbgrader={"grade": false, "grade_id": "ex4-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cached_features(backbone, images, batch_size=32):
    """The frozen backbone's outputs for all images, computed once: NumPy (N, h, w, channels)."""
    ### BEGIN SOLUTION
    return backbone.predict(images, batch_size=batch_size, verbose=0)
    ### END SOLUTION


def head_on_features(feature_shape, num_classes=2):
    """features (h, w, channels) -> global average pooling -> softmax Dense named "head"."""
    ### BEGIN SOLUTION
    inputs = keras.Input(feature_shape)
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(pooled))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex4-test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
backbone, end_to_end = stand_in(seed=2)
x = np.random.default_rng(2).normal(0.0, 1.0, (10, 16, 16, 3)).astype("float32")
features = np.asarray(cached_features(backbone, x, batch_size=4))
assert features.shape == (10, 16, 16, 4), features.shape
head = head_on_features(features.shape[1:], 2)
assert sum(int(np.prod(w.shape)) for w in head.trainable_weights) == 4 * 2 + 2, "the head alone: 10 parameters"
head.get_layer("head").set_weights(end_to_end.get_layer("head").get_weights())
np.testing.assert_allclose(head.predict(features, verbose=0), end_to_end.predict(x, verbose=0), atol=1e-5,
                           err_msg="features once + head must predict exactly what the end-to-end model does")
print("ok: the cached features and the head reproduce the end-to-end predictions")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (class): why did the original run sit at 50%?
#
# The post's run reported validation accuracies of 0.51, 0.48 and 0.49 over 3 epochs at a loss of 0.693.
# Give the two causes the lesson names, and say how you could have detected from the run's own outputs,
# without ImageNet expertise, that the model had learned nothing.

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# Causes: (1) the wrong input scale: the post fed `rescale=1/255` pixels in [0, 1] to a network trained on
# caffe-style inputs (0-255, BGR, ImageNet means subtracted, about -124 to +151); to it every image is nearly
# the mean colour, so all images give about the same features. (2) The new head sat on the frozen 1000-way
# ImageNet softmax, a squashed probability vector, instead of on the pooled 2048 features before it.
# Detection: the test set is balanced, so 50% is exactly the majority-class (chance) accuracy; the loss 0.693
# is ln 2, the loss of predicting 50/50 for every image; the predictions are (nearly) all one class, which
# a confusion matrix or `np.bincount` of the predicted labels shows at once; and the backbone's outputs for
# different images barely differ (tiny spread across a batch). Any one of these says "nothing learned".

# %% [markdown]
# ## Summary
#
# You used ResNet50's own preprocessing without touching the caller's array and undid it for display,
# unfroze the last N residual blocks and counted their trainable parameters while every BatchNorm statistic
# stayed put under `fit`, put a new head on pooled features, and showed that cached features give exactly the end-to-end predictions.
