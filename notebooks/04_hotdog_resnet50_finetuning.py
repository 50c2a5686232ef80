# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/04_hotdog_resnet50_finetuning.ipynb)

# %% [markdown]
# # 4 · Hotdog or not: fine-tuning ResNet50, and why the original run sat at 50%
#
# **Objectives.** You will
# - know the four steps of fine-tuning, and when transfer learning helps;
# - build an ImageNet-style input pipeline: `image_dataset_from_directory`, a random-resized crop and a flip for
#   training, a centre crop for testing, and the backbone's own `preprocess_input`;
# - reproduce the original post's broken recipe and name its two causes;
# - fine-tune ResNet50 correctly: pooled features, a new head, a frozen backbone with its BatchNorm layers kept
#   frozen, then its last stage unfrozen at a 10x smaller learning rate;
# - see what `trainable = False` does to BatchNorm in Keras 3;
# - make it practical on a CPU by caching the frozen backbone's features, and measure the speed-up.
#
# **Runtime.** Quick mode (64-px crops, a step or two per model, run eagerly, 32 test images, random weights if the
# ImageNet weights cannot be downloaded): 41 s (the sum of the cells' times on a 2-core
# CPU, kernel start-up not included). Full mode needs the ImageNet weights,
# downloaded automatically once: two files, about 100 MB with ResNet50's 1000-way top (for the post's recipe) and
# about 95 MB without. Its time goes into ResNet50's forward pass, about 0.2 s per 224-pixel image on a 2-core CPU
# (the feature-cache timing below): an epoch over 1,800 training images takes about 6 minutes there, and the whole
# lesson several hours (training from scratch, with its backward passes, the longest). A GPU makes it minutes, and feature caching removes most of it.
#
# **The target.** d2l reports about **0.92** test accuracy on the 800 test images for its version of this
# experiment (PyTorch, ResNet-18 pretrained on ImageNet). Neither that figure nor the ResNet50 recipe below has a
# measured result here: your full-mode run is the measurement. The post's run published val_accuracy 0.5094, 0.4812 and 0.4875
# over 3 epochs, at a loss of 0.693 (= ln 2, chance).

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

    for name in ["hotdog"]:
        datasets.fetch(name)

# %%
from helpers import config

print(config.banner("4 · Hotdog ResNet50 fine-tuning"))

# %%
import math
import time

import keras
import numpy as np
import tensorflow as tf
from keras.applications.resnet50 import preprocess_input  # ResNet50's own: RGB -> BGR, minus the ImageNet means

from helpers import datasets, imagefolders, measured, models, plots
from helpers.taught.basic_ops import random_resized_crop  # lesson 1

LOAD, CROP = config.pick(quick=72, full=256), config.pick(quick=64, full=224)
BATCH = config.pick(quick=16, full=32)
EPOCHS_HEAD, EPOCHS_FINE = config.pick(quick=1, full=5), config.pick(quick=1, full=5)
STEPS = config.pick(quick=2, full=None)  # None: one full pass over the training set per epoch
VERBOSE = config.pick(quick=0, full=2)
# Quick mode runs the ResNet50 models eagerly: on a CPU, tracing each ResNet50 training graph takes 15-40 s,
# far longer than the one or two steps quick mode runs. Full mode compiles them as usual.
EAGER = config.quick_mode()


# %% [markdown]
# ## Fine-tuning in four steps
#
# 1. **Source model**: a network trained on a large source dataset. Here that is ResNet50 on ImageNet (1.28 million
#    images, 1,000 classes).
# 2. **Copy everything but the output layer**. The convolutional layers have learned edges, textures and parts
#    that are useful for most photos.
# 3. **Add a new output layer** for the target classes (hotdog, not-hotdog), initialised at random.
# 4. **Train on the target set**: the new layer from scratch, and the copied layers only gently, or not at all.
#
# It helps most when the target set is **small** (here 1,800 training images, after the validation split) and looks
# like the source (everyday photos). It helps less for very different images, such as X-rays or satellite images.
#
# ## The data and the pipeline
#
# The post loaded the folders with the legacy API, `ImageDataGenerator(rescale=1/255).flow_from_directory(root /
# "train", target_size=(224, 224), batch_size=32)`. Today, `keras.utils.image_dataset_from_directory` returns a
# `tf.data.Dataset` of 0-255 pixels and integer labels, and can split off a validation subset. Training images get
# a **random-resized crop** (8-100% of the area, aspect 3/4 to 4/3, resized to 224: the crop the post described but
# `tf.image.random_crop` does not do) and a random flip, a fresh draw every epoch. Validation and test images get a
# **centre crop**. Everything then goes through ResNet50's own `preprocess_input`.

# %%
def imagenet_style(root, *, load_size, crop, batch_size, seed=0, val_split=0.1):
    """(train, validation, test, class names, steps per epoch). Train is endless: pass steps_per_epoch."""
    load = dict(image_size=(load_size, load_size), batch_size=None, label_mode="int")
    train, val = keras.utils.image_dataset_from_directory(root / "train", validation_split=val_split,
                                                          subset="both", seed=seed, **load)
    test = keras.utils.image_dataset_from_directory(root / "test", shuffle=False, **load)
    class_names = test.class_names
    steps = math.ceil(int(train.cardinality()) / batch_size)
    base = tf.constant(seed, tf.int64)

    def random_view(k, xy):
        crop_seed, flip_seed = tf.unstack(tf.random.split(tf.stack([base, k]), 2))
        x = tf.cast(tf.round(xy[0]), tf.uint8)
        x = random_resized_crop(x, crop, area=(0.08, 1.0), ratio=(3 / 4, 4 / 3), seed=crop_seed)
        x = tf.image.stateless_random_flip_left_right(x, seed=flip_seed)
        return preprocess_input(tf.cast(x, tf.float32)), xy[1]

    centre = keras.layers.CenterCrop(crop, crop)
    fixed_view = lambda x, y: (preprocess_input(centre(x)), y)  # noqa: E731
    train = train.repeat().batch(batch_size).enumerate()  # shuffled by the loader (a 1,024-image buffer)
    train = train.map(random_view, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    val, test = (d.batch(batch_size).map(fixed_view).prefetch(tf.data.AUTOTUNE) for d in (val, test))
    return train, val, test, class_names, steps


# %%
root = datasets.fetch("hotdog")
for split in ("train", "test"):
    print(imagefolders.scan(root / split).summary())
train, val, test, class_names, steps_per_epoch = imagenet_style(root, load_size=LOAD, crop=CROP, batch_size=BATCH)
steps_per_epoch = STEPS or steps_per_epoch
val, test = val.take(config.pick(quick=1, full=-1)), test.take(config.pick(quick=2, full=-1))  # -1 = all

# %% [markdown]
# Fifteen training images, converted back to RGB for display. Each is a different random crop of its photo:

# %%
x_show, y_show = next(iter(train))
MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype="float32")  # what preprocess_input subtracts
to_rgb = lambda batch: np.clip(batch + MEAN_BGR, 0, 255)[..., ::-1].astype("uint8")  # noqa: E731
plots.show_grid(to_rgb(x_show.numpy()[:15]), [class_names[int(c)] for c in y_show[:15]], ncols=5, size=1.9);


# %% [markdown]
# ## The pitfall: the post's recipe, reproduced
#
# The post did three things:
# - fed `rescale=1/255` pixels in [0, 1];
# - kept `ResNet50(weights="imagenet")` **with its 1000-way softmax top**, frozen;
# - stacked `Flatten()` and `Dense(2, softmax)` on top.
#
# It stayed at chance for two reasons:
# 1. **Wrong input scale.** Keras's ImageNet ResNet50 was trained on *caffe-style* inputs: 0-255 pixels in BGR order
#    with the ImageNet channel means subtracted, so values run from about -124 to +151, and 0 stands for the
#    ImageNet **mean colour**. Pixels in [0, 1] all lie within 1 of that mean: to the network, every image is
#    the same flat, mean-coloured picture, with almost no contrast, so every image gets about the same features.
# 2. **A head on a softmax.** The 1000 ImageNet probabilities sum to 1, and most of them are near 0. They are a poor,
#    squashed feature vector, and the new head sees almost nothing that varies. A new head belongs on the pooled
#    2048-dimensional features *before* the classifier.
#
# With random weights (quick mode without the ImageNet file) no accuracy means anything, so this notebook then
# prints none.

# %%
def report(name, model, data):
    """Print a test accuracy, or say why there is none to print."""
    if not pretrained:
        print(f"{name}: accuracy NOT SHOWN - random weights, no ImageNet: any number would be meaningless")
        return None
    loss, accuracy = model.evaluate(data, verbose=0)
    print(f"{name}: test accuracy {accuracy:.3f}, loss {loss:.3f}")
    config.quick_note()
    return accuracy


def post_model(with_top, num_classes=2):
    """The post's recipe: the frozen 1000-way softmax, then Flatten + Dense."""
    with_top.trainable = False
    x = keras.layers.Flatten()(with_top.output)
    return keras.Model(with_top.input, keras.layers.Dense(num_classes, activation="softmax")(x))


def as_post_input(x, y):  # undo preprocess_input, then the post's RGB / 255 at 224x224
    rgb = tf.clip_by_value(x + MEAN_BGR, 0, 255)[..., ::-1] / 255.0
    return tf.image.resize(rgb, (224, 224)), y


rescaled = as_post_input(x_show[:4], None)[0].numpy()
print(f"the post's inputs: {rescaled.min():.2f} .. {rescaled.max():.2f};  "
      f"preprocess_input: {x_show.numpy().min():.0f} .. {x_show.numpy().max():.0f}")
with_top, pretrained = models.resnet50(include_top=True, allow_random=config.quick_mode())
broken = post_model(with_top)
broken.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], run_eagerly=EAGER)
broken.fit(train.map(as_post_input), steps_per_epoch=config.pick(quick=1, full=10), epochs=config.pick(quick=1, full=3),
           shuffle=False, verbose=VERBOSE)
report("the post's recipe", broken, test.map(as_post_input));


# %% [markdown]
# ## The correct recipe
#
# 1. `ResNet50(include_top=False)`: the convolutional backbone only. Then global average pooling to 2048 features and
#    a new `Dense(2)` head.
# 2. The backbone is **frozen** (`trainable = False`), so its BatchNorm layers run in inference mode and use their
#    ImageNet statistics instead of re-estimating them from small batches of hot dogs. It is also called with
#    `training=False`, as many recipes do, but in Keras 3.15 that argument does not survive `fit`: the model's own
#    `training=True` replaces it (`keras/src/models/functional.py`, `operation_fn`). `trainable = False` is what
#    does the work.
# 3. Train the head.
# 4. Unfreeze the last stage (`conv5_*`) and fine-tune at a **10x smaller learning rate**, so that the pretrained
#    filters shift gently instead of being overwritten. Its BatchNorm layers **stay frozen**: once a BatchNorm layer
#    is trainable again, `training=False` at the call site no longer protects it (shown below).

# %%
def new_head(features, num_classes=2, dropout=0.2):
    """Global average pooling -> dropout -> a new softmax layer, named "head"."""
    x = keras.layers.GlobalAveragePooling2D()(features)
    x = keras.layers.Dropout(dropout)(x)
    return keras.layers.Dense(num_classes, activation="softmax", name="head")(x)


def transfer_classifier(backbone, num_classes=2):
    """Frozen backbone (include_top=False), its BatchNorm in inference mode while frozen, with a new head."""
    backbone.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    features = backbone(inputs, training=False)  # replaced by fit's training=True in Keras 3.15: see below
    return keras.Model(inputs, new_head(features, num_classes))


def unfreeze_last_stage(backbone, prefix="conv5_"):
    """Make only the layers named prefix* trainable, BatchNorm excluded; returns their names."""
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = layer.name.startswith(prefix) and not isinstance(layer, keras.layers.BatchNormalization)
    return [layer.name for layer in backbone.layers if layer.trainable and layer.weights]


def fit_stage(model, learning_rate, epochs):
    """Compile at learning_rate (needed after every trainable change) and fit on the training stream."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], run_eagerly=EAGER)
    start = time.perf_counter()
    model.fit(train, steps_per_epoch=steps_per_epoch, epochs=epochs, validation_data=val, shuffle=False,
              verbose=VERBOSE)  # the stream is shuffled already
    return time.perf_counter() - start


# %%
backbone, pretrained = models.resnet50(input_shape=(CROP, CROP, 3), allow_random=config.quick_mode())
classifier = transfer_classifier(backbone)
print(f"trainable weights: {len(classifier.trainable_weights)} (the head's kernel and bias)")
seconds = fit_stage(classifier, 1e-3, EPOCHS_HEAD)
report(f"head only ({seconds:.0f} s)", classifier, test)

unfrozen = unfreeze_last_stage(backbone)
print(f"unfrozen: {len(unfrozen)} layers, {unfrozen[0]} .. {unfrozen[-1]}")
seconds = fit_stage(classifier, 1e-4, EPOCHS_FINE)
report(f"after fine-tuning ({seconds:.0f} s)", classifier, test);

# %% [markdown]
# **What `trainable = False` does to BatchNorm in Keras 3.** A BatchNormalization layer whose `trainable` is False
# runs in **inference mode whatever `training` says**: it normalises with its moving statistics and never updates
# them. That is why `unfreeze_last_stage` leaves the BatchNorm layers frozen: the fine-tuned `conv5_*` stage keeps
# their ImageNet statistics. One layer shows it:

# %%
norm = keras.layers.BatchNormalization()
norm.build((None, 4))
batch = np.random.default_rng(0).normal(5, 2, (64, 4)).astype("float32")
for trainable in (False, True):
    norm.trainable = trainable
    before = norm.moving_mean.numpy().copy()
    in_training, in_inference = norm(batch, training=True), norm(batch, training=False)
    print(f"trainable={trainable!s:<5}: training=True changed the moving mean: "
          f"{not np.array_equal(before, norm.moving_mean.numpy())}; "
          f"same output as inference mode: {np.allclose(in_training, in_inference)}")

# %% [markdown]
# **Pitfall: `training=False` does not protect an unfrozen BatchNorm.** Many transfer-learning recipes, Keras's own
# transfer-learning guide among them, say: call the backbone with `training=False`, and its BatchNorm layers stay in inference mode even after
# you unfreeze everything. Run the next cell to check that with your Keras version. It builds a tiny "backbone"
# with one BatchNorm layer, calls it with `training=False` inside a model, and fits one epoch, first frozen, then
# with the whole backbone unfrozen. If the moving mean moves in the second case, `fit`'s `training=True` has
# reached the BatchNorm layer despite the `training=False` in the graph, and the only safe fix is the one above:
# keep the BatchNorm layers' `trainable` False.

# %%
tiny_in = keras.Input((4,))
tiny_backbone = keras.Model(tiny_in, keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(4)(tiny_in)))
tiny_backbone.trainable = False
outer_in = keras.Input((4,))
tiny_features = tiny_backbone(outer_in, training=False)  # as in transfer_classifier
tiny_model = keras.Model(outer_in, keras.layers.Dense(2, activation="softmax")(tiny_features))
tiny_bn = tiny_backbone.get_layer("bn")
for label in ("frozen", "unfrozen, BatchNorm included"):
    tiny_backbone.trainable = label != "frozen"
    tiny_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")  # recompile after the change
    before = tiny_bn.moving_mean.numpy().copy()
    tiny_model.fit(batch, np.zeros(len(batch), "int32"), epochs=1, verbose=0)
    print(f"keras {keras.__version__}, {label:<29}: fit changed the moving mean: "
          f"{not np.allclose(before, tiny_bn.moving_mean.numpy())}")

# %% [markdown]
# **From scratch, same budget.** d2l compares against the same network with random initial weights, trained with the
# same number of epochs. All layers train at once.

# %%
keras.utils.set_random_seed(0)
scratch_backbone = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(CROP, CROP, 3))
scratch = keras.Model(scratch_backbone.input, new_head(scratch_backbone.output))
seconds = fit_stage(scratch, 1e-3, EPOCHS_HEAD + EPOCHS_FINE)
loss, accuracy = scratch.evaluate(test, verbose=0)  # random initial weights by design: no ImageNet needed
print(f"from scratch, {EPOCHS_HEAD + EPOCHS_FINE} epochs ({seconds:.0f} s): test accuracy {accuracy:.3f}")
config.quick_note()

# %% [markdown]
# ## On a CPU: cache the frozen backbone's features
#
# While the backbone is frozen, its output for a given image never changes. Running it on every batch of every epoch
# recomputes the same 2048 x 7 x 7 features again and again. Compute them **once**, then train the head on the
# cached features. The price is that the cached images cannot be augmented differently every epoch, so this fits
# the head-training phase (step 3), not the fine-tuning. We time both side by side on the same **training** images
# (one fixed crop each), with the same head and the same number of epochs.

# %%
cache_backbone = backbone  # transfer_classifier freezes it again; the timing does not depend on its weights
cached = list(train.take(config.pick(quick=2, full=steps_per_epoch)))  # one pass: each image once, one crop
x_cache, y_cache = (np.concatenate([np.asarray(batch[i]) for batch in cached]) for i in (0, 1))
CACHE_EPOCHS = config.pick(quick=2, full=5)

keras.utils.set_random_seed(0)
end_to_end = transfer_classifier(cache_backbone)
end_to_end.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
start = time.perf_counter()
end_to_end.fit(x_cache, y_cache, epochs=CACHE_EPOCHS, batch_size=BATCH, verbose=0)
t_end_to_end = time.perf_counter() - start

keras.utils.set_random_seed(0)
start = time.perf_counter()
features = cache_backbone.predict(x_cache, batch_size=BATCH, verbose=0)  # once
t_features = time.perf_counter() - start
inputs = keras.Input(features.shape[1:])
on_features = keras.Model(inputs, new_head(inputs))
on_features.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
start = time.perf_counter()
on_features.fit(features, y_cache, epochs=CACHE_EPOCHS, batch_size=BATCH, verbose=0)
t_head = time.perf_counter() - start
print(f"your run: {len(x_cache)} training images, {CACHE_EPOCHS} epochs: end to end {t_end_to_end:.1f} s; "
      f"features once {t_features:.1f} s + head {t_head:.1f} s -> {t_end_to_end / (t_features + t_head):.1f}x faster")
m = measured.load("hotdog_feature_cache")["rows"][0]
print(f"measured:  {m['images']} images at {m['crop']} px, {m['epochs']} epochs, batch {m['batch_size']}: end to end "
      f"{m['end_to_end_s']} s; features once {m['features_once_s']} s + head {m['head_on_features_s']} s "
      f"-> {m['end_to_end_s'] / (m['features_once_s'] + m['head_on_features_s']):.1f}x faster")

# %% [markdown]
# The more epochs, the larger the ratio: end to end pays the backbone once per image per epoch, and the cache pays it
# once. The "measured" line is a run at full resolution (224x224) on 200 images, on a 2-core CPU
# (`notebooks/measured/hotdog_feature_cache.json`).
#
# ## Evaluation

# %%
from sklearn.metrics import ConfusionMatrixDisplay, classification_report

x_test, y_test = (np.concatenate([np.asarray(batch[i]) for batch in test]) for i in (0, 1))
predicted = classifier.predict(x_test, verbose=0).argmax(-1)
if pretrained:
    print(f"test accuracy {np.mean(predicted == y_test):.3f} on {len(y_test)} images")
    print(classification_report(y_test, predicted, target_names=class_names, zero_division=0))
    config.quick_note()
else:
    print("RANDOM WEIGHTS: the confusion matrix below only shows that the code runs; its numbers mean nothing.")
ConfusionMatrixDisplay.from_predictions(y_test, predicted, display_labels=class_names);

# %%
wrong = np.flatnonzero(predicted != y_test)[:10]
if len(wrong):
    plots.show_grid(to_rgb(x_test[wrong]), [f"true {class_names[y_test[i]]}\npredicted {class_names[predicted[i]]}" for i in wrong], ncols=5, size=2.0);

# %% [markdown]
# With the ImageNet weights in full mode, compare your test accuracy with d2l's: d2l reports about 0.92 for its
# ResNet-18; this course has not measured it.
#
# ## Exercises
#
# 1. Feed `rescale=1/255` pixels into the *correct* model (pooled features, new head). How much of the post's failure
#    was the input scale alone?
# 2. Set `backbone.trainable = True` **for every layer, BatchNorm included**, and fine-tune for one epoch at 1e-4.
#    Print one BatchNorm layer's `moving_mean` before and after. What changed compared with `unfreeze_last_stage`,
#    and what does it do to test accuracy with batches of 32?
# 3. Unfreeze `conv4_*` as well. Is the extra fine-tuning worth its time on 1,800 training images?
# 4. Train the head on cached features with `keras.layers.RandomFlip` *in front of the backbone*. Why does caching no
#    longer work then?
#
# ## Summary
#
# - Fine-tuning is four steps: a source model; copy all but its output layer; a new output layer; train.
# - Use each backbone's own `preprocess_input`. For ResNet50 that is caffe-style BGR with mean subtraction on 0-255
#   pixels, not `rescale=1/255`.
# - Put the new head on pooled features (`include_top=False`), never on the 1000-way softmax.
# - Freeze the backbone and call it with `training=False`. In Keras 3 a frozen BatchNorm layer stays in inference
#   mode, and `trainable = False` is what keeps it there: when you unfreeze, leave the BatchNorm layers frozen,
#   because `fit` reaches an unfrozen one through `training=False`. Fine-tune the last stage at a 10x lower
#   learning rate, recompiling after each `trainable` change.
# - On a CPU, cache the frozen backbone's features to train the head many times faster.
# - `keras.applications.ResNet50(weights="imagenet")` caches its file in `$KERAS_HOME/models` (default
#   `~/.keras/models`). Without internet, place both files there:
#   `resnet50_weights_tf_dim_ordering_tf_kernels.h5` (with the top, for the post's recipe) and
#   `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`.
