# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/03_flowers_fit_generator.ipynb)

# %% [markdown]
# # 3 · Training from a generator: `fit_generator` done right
#
# **Objectives.** You will
# - know why generators exist, and what `steps_per_epoch` means for a generator that never ends;
# - see the two bugs in the original post's generator, measured, and fix them;
# - write the three ways to feed `model.fit` the same model and augmentation: a Python generator, a
#   `keras.utils.PyDataset` subclass and a `tf.data` pipeline, and compare their speed and accuracy;
# - load a clean class folder in one line with `image_dataset_from_directory` and augment it with Keras layers;
# - map every `fit_generator` argument to what replaced it in Keras 3;
# - clean a real photo folder of junk before it can crash training.
#
# **Runtime.** Quick mode (1 epoch per feeding method on 48 photos): 18 s (the sum of the cells' times on a 2-core
# CPU, kernel start-up not included). Full
# mode: the post's settings (batch 6, 6 epochs) for each method: about 2 minutes on a 200-photo subset of the
# folder (40 per class), the size the stored measurements below use. The complete 3,670-photo download has 18 times
# as many images, so expect roughly 18 times the training time.

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

    for name in ["flowers"]:
        datasets.fetch(name)

# %%
from helpers import config

print(config.banner("3 · Flowers from a generator"))

# %%
import math

import keras
import numpy as np
import tensorflow as tf

from helpers import datasets, imagefolders, measured, metrics, models, plots, recipes, splits

EPOCHS = config.pick(quick=1, full=6)
TRAIN_LIMIT = config.pick(quick=48, full=None)  # quick mode trains on 48 images: a smoke test only
DEMO_LIMIT = config.pick(quick=24, full=None)   # images in the generator demonstrations
BATCH = 6          # the post's batch size
SIZE = (182, 182)  # the post's image size

# %% [markdown]
# ## Why generators?
#
# `model.fit(x, y)` wants the whole dataset in memory as one array. That fails in two common cases:
# 1. **The data is larger than memory.** ImageNet's 1.28 million JPEGs, decoded at 224x224, take about 190 GB.
# 2. **Every epoch should see different images.** On-the-fly augmentation draws a new variant of every image each
#    time it is used, so there is no fixed array to hand over.
#
# A generator produces one batch at a time, on demand. It usually **never ends**: it loops over the data forever,
# reshuffling each pass. So Keras cannot know where an epoch ends, and you tell it with
# `steps_per_epoch = ceil(number of samples / batch size)`. That contract only works if the generator really
# yields each sample once per `steps_per_epoch` batches. The post's generator does not.
#
# ## The data, checked before use
#
# A real photo folder contains junk: a download cut short, a `.DS_Store`, a grayscale or CMYK JPEG, an empty class
# folder. `image_dataset_from_directory` skips non-image files by their extension and decodes grayscale and CMYK
# JPEGs, but it finds a truncated JPEG only when it reaches it, half-way through an epoch, and it keeps an empty
# class folder as a class: an output unit with no images. `helpers.imagefolders.scan` opens every file once, up front. It converts what it
# can to RGB, skips what it cannot read, and reports both by path. `splits.flower_split` scans, loads and
# splits: the post's stratified 70/30 train/test split, then a fifth of the training part held out for
# **validation**, so that the test set is only touched once, at the end.

# %%
report, (x_train, y_train, paths_train), (x_val, y_val, _), (x_test, y_test, _) = splits.flower_split(size=SIZE)
print(report.summary())
print(f"\ntrain {x_train.shape} {x_train.dtype}, validation {x_val.shape}, test {x_test.shape}")
classes = report.class_names
counts = np.bincount(np.concatenate([y_train, y_val, y_test]), minlength=len(classes))
print(f"you loaded {counts.sum():,} photos: " + ", ".join(f"{c} {n}" for c, n in zip(classes, counts)))
print(f"{len(y_test)} test images: one test image is {100 / len(y_test):.2g} points of test accuracy")
per_class = [x_train[y_train == c][:4] for c in range(len(classes))]
plots.show_grid(np.concatenate(per_class), [classes[c] for c in range(len(classes)) for _ in range(4)], ncols=4, size=1.6);

# %% [markdown]
# The complete download holds 3,670 photos; a smaller folder in the same layout works the same way. The line above says what you loaded. The fewer the test images, the coarser every accuracy below: one test
# image is worth the number of points printed there.
#
# Here is what a messy folder looks like to `scan`. We build one in a temporary directory: a truncated JPEG, a text
# file, a CMYK and a grayscale image, and an empty class folder.

# %%
import shutil
import tempfile
from pathlib import Path

from PIL import Image

messy = Path(tempfile.mkdtemp()) / "flowers"
for name in ("daisy", "roses", "tulips"):
    (messy / name).mkdir(parents=True)
for path in report.paths[:2]:
    shutil.copy(path, messy / "daisy" / path.name)
(messy / "daisy" / "cut_short.jpg").write_bytes(report.paths[0].read_bytes()[:500])
(messy / "daisy" / "README.txt").write_text("photos by ...")
Image.open(report.paths[50]).convert("CMYK").save(messy / "roses" / "cmyk.jpg")
Image.open(report.paths[51]).convert("L").save(messy / "roses" / "grey.jpg")
print(imagefolders.scan(messy).summary())


# %% [markdown]
# ## The pitfall: the post's generator, measured
#
# Here is the post's `minibatches(inputs, targets, batch_size, shuffle, aug)`, rewritten with its two bugs kept
# on purpose:
# 1. `for start in range(len(inputs) - batch_size)` moves the window by **one sample**. Consecutive batches share
#    all but one image, and an "epoch" is `n - batch_size` batches instead of `ceil(n / batch_size)`.
# 2. `inputs[excerpt] = augment(...)` writes the augmented batch **back into the training array**. Every pass
#    rotates, zooms and shifts the same pixels again, and the dataset degrades epoch after epoch.
#
# We run it **on a copy**, with the post's augmentation (`recipes.FLOWERS`, the post's `ImageDataGenerator`
# arguments as one fused transform), and count how often each image is used.

# %%
def posts_minibatches(inputs, targets, batch_size, shuffle=False, augment=None):
    """The post's generator, BUGS KEPT for this demonstration. Do not train with it."""
    indices = np.arange(len(inputs))
    if shuffle:
        np.random.shuffle(indices)
    for start in range(len(inputs) - batch_size):                # bug 1: steps by one sample
        excerpt = indices[start:start + batch_size]
        if augment is not None:
            inputs[excerpt] = augment(inputs[excerpt], start)     # bug 2: overwrites the training data
        yield inputs[excerpt], targets[excerpt]


copy = x_train[:DEMO_LIMIT].copy()
seen = np.zeros(len(copy), int)
snapshots = [copy[3].copy()]
for _ in range(3):
    for _, ids in posts_minibatches(copy, np.arange(len(copy)), BATCH, augment=recipes.FLOWERS.fused):
        np.add.at(seen, ids, 1)
    snapshots.append(copy[3].copy())
print(f"one 'epoch' of the post's generator: {len(copy) - BATCH} batches instead of {math.ceil(len(copy) / BATCH)}")
print(f"images never seen: {np.flatnonzero(seen == 0).tolist()}; "
      f"mean change of the training array after 3 passes: {np.abs(copy.astype(int) - x_train[:DEMO_LIMIT]).mean():.1f} grey levels")
plots.usage_bars(seen / 3, ylabel="times used per pass");
plots.show_grid(snapshots, ["original"] + [f"after pass {i}" for i in (1, 2, 3)], ncols=4, size=2);


# %% [markdown]
# Without shuffling, the window starts at 0, 1, ..., n - 7, so the **last image is never used** (marked in red),
# the first and last few are used less often than the rest, and the middle ones are used 6 times per pass. Image 3
# gets warped again on every pass.
#
# The fix:
# - step by `batch_size`: `range(0, n, batch_size)`, so each image appears exactly once per pass, and the last
#   partial batch is kept, not dropped;
# - **reshuffle** at the start of every pass, from a seeded generator;
# - **augment a copy.** `x[idx]` with an index array already copies, and the augmentation returns a new array.
#   The input is never written;
# - give batch *k* of the run its own seed `(seed, k)`: reproducible, and fresh draws every pass;
# - loop forever, and pass `steps_per_epoch = ceil(n / batch_size)` to `fit`.

# %%
#@save
def batches(x, y, batch_size, *, seed=0, augment=None):
    """Endless (x, y) batches: every pass visits each sample once, in a new order; augments a copy."""
    rng = np.random.default_rng(seed)
    step = 0
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            x_batch = x[idx]                                      # a copy: x itself is never written
            if augment is not None:
                x_batch = augment(x_batch, (seed, step))
            yield x_batch, y[idx]
            step += 1


copy = x_train[:DEMO_LIMIT].copy()
fixed = batches(copy, np.arange(len(copy)), BATCH, seed=0, augment=recipes.FLOWERS.fused)
steps = math.ceil(len(copy) / BATCH)
seen = np.zeros(len(copy), int)
for _ in range(3 * steps):
    _, ids = next(fixed)
    np.add.at(seen, ids, 1)
print(f"steps_per_epoch = {steps}; each image used {seen.min() // 3}-{seen.max() // 3} times per pass; "
      f"training array unchanged: {np.array_equal(copy, x_train[:DEMO_LIMIT])}")


# %% [markdown]
# ## One model, one augmentation, three ways to feed it
#
# The augmentation is the post's: rotation 20°, zoom 0.15, shifts 0.2, shear 0.15, horizontal flip,
# `fill_mode="nearest"`, on the training set only. All three methods call the same fused op
# (`recipes.FLOWERS.fused`), so they apply exactly the same augmentation. (`shear_range=0.15` is in *degrees* in
# `ImageDataGenerator`, so the post's shear is almost nothing. We keep it faithful.) The model's first layer
# rescales to [0, 1], so every method hands it the same uint8 batches.
#
# **1. The Python generator** above: `fit` needs `steps_per_epoch`.
#
# **2. A `keras.utils.PyDataset`**: an indexable dataset. `__len__` gives the batches per epoch, so no
# `steps_per_epoch` is needed; `__getitem__(i)` builds batch *i*; `on_epoch_end` reshuffles. Keras can prepare
# batches in parallel with `workers` threads (or processes with `use_multiprocessing=True`), queued up to
# `max_queue_size`: the same-named arguments of the old `fit_generator`. Each batch's seed comes from its epoch and
# index, so the result does not depend on which worker made it.

# %%
#@save
class FlowerBatches(keras.utils.PyDataset):
    """Augmented batches of in-memory images; a new order every epoch."""

    def __init__(self, x, y, batch_size, *, seed=0, augment=None, **kwargs):
        super().__init__(**kwargs)                         # workers, use_multiprocessing, max_queue_size
        self.x, self.y, self.batch_size, self.seed, self.augment = x, y, batch_size, seed, augment
        self.epoch = 0
        self.order = np.random.default_rng((seed, 0)).permutation(len(x))

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i):
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        x_batch = self.x[idx]
        if self.augment is not None:
            x_batch = self.augment(x_batch, (self.seed, self.epoch * len(self) + i))
        return x_batch, self.y[idx]

    def on_epoch_end(self):
        self.epoch += 1
        self.order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.x))


# %% [markdown]
# **3. `tf.data`, streaming from disk**: read, decode, resize and augment in a TensorFlow graph, in parallel, with
# `prefetch`. It reads the paths that `scan` accepted, so it shares the split of the other two. `repeat` comes
# after `batch`, so every epoch keeps its partial last batch, and `enumerate` numbers the batches for their seeds.

# %%
#@save
AUTOTUNE = tf.data.AUTOTUNE


def decode(path, size):
    """Read one image file, decode it to RGB and resize it: uint8 (H, W, 3)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(image, size, antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0, 255)), tf.uint8)


def file_stream(paths, labels, *, size, batch_size, seed=0, augment=None):
    """An endless stream of augmented batches read from image files."""
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda path, label: (decode(path, size), label), num_parallel_calls=AUTOTUNE)
    ds = ds.batch(batch_size).repeat()
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        ds = ds.enumerate().map(lambda k, xy: (augment(xy[0], tf.stack([base, k])), xy[1]),
                                num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


# %% [markdown]
# Now fit the same model three times, from the same initial weights. A callback (`metrics.EpochTimer`) times each
# epoch's training batches; validation runs on the held-out training images after every epoch.

# %%
keras.utils.set_random_seed(0)
models.flower_cnn(SIZE + (3,), len(classes)).summary()
tf.get_logger().setLevel("ERROR")  # each new model traces its own predict function; TF would warn "retracing"

# %%
n_train = len(x_train[:TRAIN_LIMIT])
x_fit, y_fit = x_train[:n_train], keras.utils.to_categorical(y_train[:n_train], len(classes))
validation = (x_val, keras.utils.to_categorical(y_val, len(classes)))
steps = math.ceil(n_train / BATCH)
feeders = {
    "python_generator": (batches(x_fit, y_fit, BATCH, seed=0, augment=recipes.FLOWERS.fused), steps),
    "pydataset": (FlowerBatches(x_fit, y_fit, BATCH, seed=0, augment=recipes.FLOWERS.fused,
                                workers=2, use_multiprocessing=False, max_queue_size=10), None),
    "tf_data": (file_stream(paths_train[:n_train], y_fit, size=SIZE, batch_size=BATCH, seed=0,
                            augment=recipes.FLOWERS.fused), steps),
}
runs = []
for method, (feeder, steps_per_epoch) in feeders.items():
    keras.utils.set_random_seed(0)
    model = models.flower_cnn(SIZE + (3,), len(classes))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = metrics.EpochTimer()
    history = model.fit(feeder, steps_per_epoch=steps_per_epoch, epochs=EPOCHS, validation_data=validation,
                        callbacks=[timer], shuffle=False, verbose=0)  # every feeder shuffles on its own
    predictions = model.predict(x_test, verbose=0).argmax(-1)
    runs.append({"method": method, "epoch_seconds": float(np.median(timer.times)), "history": history.history,
                 "test_accuracy": float(np.mean(predictions == y_test)), "predictions": predictions})

# %%
reference = {r["method"]: r for r in measured.load("flowers_feeding")["rows"]}
for r in runs:
    r["images_per_s"] = n_train / r["epoch_seconds"]
    r["measured_images_per_s"] = reference[r["method"]]["images_per_s"]
    r["measured_test_accuracy"] = reference[r["method"]]["test_accuracy"]
print(f"yours: {n_train} training images, batch {BATCH}, {EPOCHS} epoch(s), {config.describe()['device']}")
size = reference["tf_data"]
print(f"measured: {size['n_train']} training, {size['n_val']} validation and {size['n_test']} test images, "
      f"batch {BATCH}, {size['epochs']} epochs, full mode, 2-core CPU")
measured.show(measured.markdown_table(runs, [
    ("method", "method", ""), ("your epoch (s)", "epoch_seconds", ".2f"), ("your images/s", "images_per_s", ".0f"),
    ("your test accuracy", "test_accuracy", ".3f"), ("measured images/s", "measured_images_per_s", ".0f"),
    ("measured test accuracy", "measured_test_accuracy", ".3f")]))
config.quick_note()

# %% [markdown]
# The "measured" columns are a full-mode run on a 2-core CPU (`notebooks/measured/flowers_feeding.json`), on the
# data size printed above the table. On a CPU, this small model's training step dominates the epoch, so the three
# feeders' speeds are within tens of per cent of each other, and their accuracies differ only by the training noise
# of so few images. Lesson 6 measures the feeders alone, where they differ much more.
#
# The post plotted the History and saved it as `plot.png`. We do the same for the `tf.data` run, beside the
# measured full-mode curves. Then come the test accuracy and a confusion matrix.

# %%
last = runs[-1]  # the tf.data run
figure_path = config.output_dir("figures") / "flowers_plot.png"
plots.learning_curves({last["method"]: last["history"]}, reference={last["method"]: reference[last["method"]]["history"]},
                      reference_label=f"measured, full mode, {size['n_train']} training images", save_to=figure_path)
print("saved", figure_path)

# %%
from sklearn.metrics import ConfusionMatrixDisplay, classification_report

print(f"test accuracy ({last['method']}): {last['test_accuracy']:.3f} on {len(y_test)} images")
print(classification_report(y_test, last["predictions"], target_names=classes, zero_division=0))
config.quick_note()
ConfusionMatrixDisplay.from_predictions(y_test, last["predictions"], display_labels=classes, xticks_rotation=45);

# %% [markdown]
# ## A clean folder in one line: `image_dataset_from_directory` and Keras layers
#
# For a folder you trust, Keras reads, decodes, resizes, labels and batches in one call, and splits off a
# validation subset by itself. The augmentation can then be Keras preprocessing layers in `map`:
# `recipes.FLOWERS.keras_layers()` is the post's augmentation as one layer per transform (each layer resamples).
# This split is Keras's own, not the one above, so its accuracy is not comparable with the table.

# %%
root = datasets.fetch("flowers")
train_ds, val_ds = keras.utils.image_dataset_from_directory(
    root, validation_split=0.3, subset="both", seed=42, image_size=SIZE, batch_size=BATCH, label_mode="categorical")
augmentation = keras.Sequential(recipes.FLOWERS.keras_layers(seed=0))
train_ds = train_ds.map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=AUTOTUNE)
train_ds = train_ds.take(config.pick(quick=4, full=-1)).prefetch(AUTOTUNE)
keras.utils.set_random_seed(0)
model = models.flower_cnn(SIZE + (3,), len(classes))
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(train_ds, validation_data=val_ds.take(config.pick(quick=2, full=-1)), epochs=EPOCHS,
                    shuffle=False, verbose=0)  # the dataset shuffles itself (within a buffer)
print(f"image_dataset_from_directory + layers: validation accuracy {history.history['val_accuracy'][-1]:.3f}")
config.quick_note()

# %% [markdown]
# ## From `fit_generator` to Keras 3
#
# | `fit_generator(...)` argument | what it did | Keras 3 |
# |---|---|---|
# | `generator` | endless Python generator of `(x, y)` or `(x, y, sample_weight)` | `model.fit(x=generator_or_PyDataset_or_tf_data)` |
# | `steps_per_epoch` | batches per epoch; required, since the generator never ends | `steps_per_epoch=` in `fit`; optional for a `PyDataset` (it has `__len__`) and a finite `tf.data.Dataset` |
# | `epochs` | passes | `epochs=` (unchanged) |
# | `verbose` | 0 silent, 1 progress bar, 2 one line per epoch | `verbose=` (unchanged; `"auto"` is the default) |
# | `validation_data` | a tuple or a generator | `validation_data=` tuple, generator, `PyDataset` or `tf.data.Dataset` |
# | `validation_steps` | batches of a validation generator | `validation_steps=` (needed only for an endless one) |
# | `max_queue_size` (10) | batches prepared in advance | `PyDataset(max_queue_size=10)`; in `tf.data`: `.prefetch(tf.data.AUTOTUNE)` |
# | `workers` (1) | threads preparing batches | `PyDataset(workers=...)`; in `tf.data`: `num_parallel_calls=tf.data.AUTOTUNE` |
# | `use_multiprocessing` | processes instead of threads | `PyDataset(use_multiprocessing=True)`; `tf.data` runs in C++ threads, with no GIL to avoid |
#
# `fit_generator` was deprecated in TF 2.1 and is gone in Keras 3: `model.fit` takes all of these.
#
# ## Exercises
#
# 1. Change the post's loop bound to `range(0, len(inputs) - batch_size + 1, batch_size)`. Which images are still
#    never seen (in full mode: quick mode's 24 images make whole batches)? Why is `range(0, len(inputs), batch_size)`
#    the right one?
# 2. Give `FlowerBatches` `workers=1`, then `workers=4` (threads: leave `use_multiprocessing=False`), and time an
#    epoch of each with `metrics.EpochTimer`. Does the epoch get faster on 2 cores? Why (or why not)? Do not try
#    `use_multiprocessing=True` here: it forks worker processes from a process where TensorFlow's threads are
#    already running, and a forked child inherits locks that those threads held but has none of the threads that
#    would release them, so it can hang.
# 3. Train the layers-augmented model on the same split as the table: build the dataset with
#    `tf.data.Dataset.from_tensor_slices((paths_train, y_train))` and `decode`, then map the Keras layers. How does
#    its validation accuracy compare with the `tf_data` row, which uses the fused op? Why does building from the
#    scanned path list keep a corrupt file from stopping training?
# 4. Add a corrupt JPEG to a copy of the flower folder and point `image_dataset_from_directory` at it. When does
#    the error appear?
#
# ## Summary
#
# - A generator that never ends needs `steps_per_epoch = ceil(n / batch_size)`, and it must yield each sample once
#   per that many batches.
# - The post's generator overlapped its batches and overwrote its training data. Step by the batch size, reshuffle
#   each pass, and augment a copy.
# - `PyDataset` (`__len__`, `__getitem__`, `on_epoch_end`; parallel workers) and `tf.data` (graph ops,
#   `AUTOTUNE`, `prefetch`) replaced `fit_generator`'s arguments. `model.fit` takes them all.
# - Validate on data held out from the training set; keep the test set for the end.
# - Check a photo folder before training: report junk by path, convert or skip it, never shift labels.
