"""Lesson experiments that a notebook, a script or a test can run: ``python -m helpers.experiments``."""

from __future__ import annotations

import argparse
import json
import time
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from helpers import augment, config, datasets, imagefolders, metrics, models, pipelines


def _floats(history: keras.callbacks.History) -> dict[str, list[float]]:
    """A fit's per-epoch metrics as plain floats (JSON-ready)."""
    return {name: [float(v) for v in values] for name, values in history.history.items()}


def _post_layer_chain() -> Callable:
    """The post's augmentation as three Keras layers: three resamplings per image."""
    chain = keras.Sequential([
        keras.layers.RandomRotation(20 / 360, fill_mode="nearest"),  # factor = fraction of a full turn
        keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest"),
        keras.layers.RandomZoom(0.2, fill_mode="nearest"),
    ])
    return lambda images, seed: tf.cast(tf.round(chain(tf.cast(images, tf.float32), training=True)), tf.uint8)


CIFAR_ARMS: dict[str, Callable[[], Callable | None]] = {
    # no augmentation: the post's first run
    "plain": lambda: None,
    # the post's parameters (rotation 20 deg, shifts 0.2, zoom 0.2) as a chain of Keras layers
    "post_layers": _post_layer_chain,
    # the same parameters composed into one affine transform: one resampling, like ImageDataGenerator
    "post_fused": lambda: lambda images, seed: augment.random_affine(
        images, seed=seed, rotation=20, shift=0.2, zoom=0.2, fill_mode="nearest"),
    # the standard CIFAR recipe: pad 4 + random 32x32 crop (= a whole-pixel shift of up to 4 px
    # with reflected borders) + horizontal flip
    "crop_flip": lambda: lambda images, seed: augment.random_affine(
        images, seed=seed, shift=4 / 32, horizontal_flip=True, fill_mode="reflect", interpolation="nearest"),
}
POST_RESULTS = {"plain": 0.6058, "post_layers": 0.7057, "post_fused": 0.7057}  # the post's test accuracies


def cifar_augmentation_experiment(
    n_train: int = 10_000,
    epochs_plain: int = 20,
    epochs_aug: int = 80,
    seeds: Sequence[int] = (0,),
    arms: Sequence[str] = ("plain", "post_fused", "crop_flip"),
    *,
    batch_size: int = 128,
    n_test: int | None = None,
    data_dir=None,
    verbose: int = 0,
) -> list[dict]:
    """Train the post's CNN once per (seed, arm) on the first ``n_train`` CIFAR-10 images.

    The last 10% of them are held out for validation, as ``validation_split=0.1`` does; the
    test set is the full 10,000. Returns one dict per run with test accuracy and loss, the last
    epoch's train/validation accuracy, the optimizer steps taken, wall time in seconds, and the
    per-epoch history.
    ``n_test`` evaluates on the first n test images only (quick checks; None = all 10,000).
    """
    unknown = set(arms) - set(CIFAR_ARMS)
    if unknown:
        raise ValueError(f"unknown arms {sorted(unknown)}; choose from {sorted(CIFAR_ARMS)}")
    (x_fit, y_fit), (x_val, y_val), (x_test, y_test) = _cifar_splits(n_train, n_test, data_dir)
    test = pipelines.evaluation_batches(x_test, y_test, batch_size=batch_size)
    rows = []
    for seed in seeds:
        for arm in arms:
            epochs = epochs_plain if arm == "plain" else epochs_aug
            start = time.perf_counter()
            model, history, steps = _train_cifar(arm, (x_fit, y_fit), (x_val, y_val), epochs=epochs, seed=seed,
                                                 batch_size=batch_size, verbose=verbose)
            seconds = time.perf_counter() - start
            test_loss, test_acc = model.evaluate(test, verbose=0)
            rows.append({
                "arm": arm, "seed": seed, "n_train": len(x_fit), "n_val": len(x_val), "n_test": len(x_test),
                "epochs": epochs, "steps": steps,
                "test_accuracy": float(test_acc), "test_loss": float(test_loss),
                "train_accuracy": float(history.history["accuracy"][-1]),
                "val_accuracy": float(history.history["val_accuracy"][-1]),
                "seconds": round(seconds, 1), "history": _floats(history),
            })
            print(f"{arm:<12} seed {seed}: test accuracy {test_acc:.4f}, loss {test_loss:.3f}, {seconds:.0f} s", flush=True)
    return rows


def _cifar_splits(n_train: int, n_test: int | None = None, data_dir=None):
    """The first ``n_train`` CIFAR-10 training images, the last 10% held out for validation (as
    ``validation_split=0.1`` does), and the first ``n_test`` test images; uint8 images, one-hot labels."""
    (x, y), (x_test, y_test) = datasets.load_cifar10(n_train, data_dir=data_dir)
    y, y_test = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(y_test[:n_test], 10)
    n_val = max(1, len(x) // 10)
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:]), (x_test[:n_test], y_test)


def _train_cifar(arm: str, fit, val, *, epochs: int, seed: int, batch_size: int = 128, verbose: int = 0):
    """Train the post's CNN on one arm's stream; returns (model, history, optimizer steps taken)."""
    config.set_seed(seed)
    train, steps = pipelines.training_batches(fit[0], fit[1], batch_size=min(batch_size, len(fit[0])), seed=seed,
                                              augment=CIFAR_ARMS[arm]())
    model = models.cifar_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, steps_per_epoch=steps, epochs=epochs, verbose=verbose, shuffle=False,  # shuffled already
                        validation_data=pipelines.evaluation_batches(*val, batch_size=batch_size))
    return model, history, epochs * steps


def steps_matched_epochs(epochs: int, fraction: float, base_fraction: float = 0.2) -> int:
    """Epochs on ``fraction`` of the data that make about as many optimizer steps as ``epochs`` on
    ``base_fraction`` (at least 1). Small sets need more epochs, or BatchNorm's moving statistics lag."""
    if not 0 < fraction <= 1 or not 0 < base_fraction <= 1:
        raise ValueError(f"fractions must be in (0, 1], got {fraction} and {base_fraction}")
    return max(1, round(epochs * base_fraction / fraction))


def cifar_fraction_study(
    fractions: Sequence[float],
    *,
    arms: Sequence[str] = ("plain", "crop_flip"),
    seed: int = 0,
    epochs_plain: int = 20,
    epochs_aug: int = 80,
    base_fraction: float = 0.2,
    match_steps: bool = True,
    batch_size: int = 128,
    n_test: int | None = None,
    data_dir=None,
    verbose: int = 0,
) -> list[dict]:
    """Test accuracy against training-set size: ``cifar_augmentation_experiment`` on the first
    ``fraction`` x 50,000 CIFAR-10 images, for each fraction.

    With ``match_steps`` the epochs (``epochs_plain``/``epochs_aug`` at ``base_fraction``, the post's 20%)
    are rescaled so every fraction gets about the same number of optimizer steps. Returns the
    experiment's rows, each with ``fraction`` added.
    """
    rows = []
    for fraction in fractions:
        plain, aug = (steps_matched_epochs(e, fraction, base_fraction) if match_steps else e
                      for e in (epochs_plain, epochs_aug))
        rows += [{"fraction": fraction, **row} for row in cifar_augmentation_experiment(
            round(datasets.CIFAR10_TRAIN_SIZE * fraction), plain, aug, seeds=[seed], arms=arms,
            batch_size=batch_size, n_test=n_test, data_dir=data_dir, verbose=verbose)]
    return rows


def batchnorm_lag_check(n_train: int = 2_500, epochs: int = 20, seed: int = 0, *, batch_size: int = 128,
                        n_test: int | None = None, data_dir=None) -> dict:
    """Train the plain arm on few images, then score the same weights twice: with BatchNorm's moving
    statistics, and with them recomputed from the training images (``models.recalibrate_batchnorm``).

    A large difference means the moving averages lag behind the weights: too few steps for them.
    Returns the steps and both test accuracies.
    """
    fit, val, (x_test, y_test) = _cifar_splits(n_train, n_test, data_dir)
    model, _, steps = _train_cifar("plain", fit, val, epochs=epochs, seed=seed, batch_size=batch_size)
    test = pipelines.evaluation_batches(x_test, y_test, batch_size=batch_size)
    moving = model.evaluate(test, verbose=0)[1]
    models.recalibrate_batchnorm(model, pipelines.scale_to_symmetric(fit[0]))
    return {"n_train": len(fit[0]), "steps": steps,
            "test_accuracy_moving_statistics": float(moving),
            "test_accuracy_recalibrated": float(model.evaluate(test, verbose=0)[1])}


def legacy_generator_loop(model, x, y, *, epochs: int, batch_size: int = 128, seed: int = 0, **augmentation) -> list[float]:
    """The post's Keras 2 loop: ``train_on_batch`` over ``ImageDataGenerator.flow`` with a Progbar.

    x: float (N, 32, 32, 3) in [-1, 1]; y: one-hot. ``augmentation`` goes to ImageDataGenerator
    (e.g. rotation_range=20). Returns the last loss of each epoch. Kept to show the legacy way;
    ``model.fit`` on a tf.data pipeline is the modern one.
    """
    datagen = tf.keras.preprocessing.image.ImageDataGenerator(**augmentation)  # legacy, deprecated
    steps = pipelines.steps_per_epoch(len(x), batch_size)
    flow = datagen.flow(x, y, batch_size=batch_size, shuffle=True, seed=seed)  # endless
    losses = []
    for epoch in range(epochs):
        print(f"epoch {epoch + 1}/{epochs}")
        progbar = keras.utils.Progbar(steps)
        for step in range(steps):
            x_batch, y_batch = next(flow)
            loss, accuracy = model.train_on_batch(x_batch, y_batch)
            progbar.update(step + 1, [("loss", loss), ("accuracy", accuracy)])
        losses.append(float(loss))
    return losses


# ---------------------------------------------------------------- lesson 3: flowers, fed three ways

# The post's ImageDataGenerator arguments. shear_range=0.15 is in DEGREES there, so it is kept as 0.15 degrees.
FLOWER_AUGMENTATION = dict(rotation=20, zoom=0.15, shift=0.2, shear=0.15, horizontal_flip=True, fill_mode="nearest")


@tf.function(reduce_retracing=True)
def _flower_affine(images, seed):
    return augment.random_affine(images, seed=seed, **FLOWER_AUGMENTATION)


def flower_augment(images, seed):
    """The post's augmentation as one fused transform; uint8 batch in, same batch type out.

    NumPy batches (generator, PyDataset) go through one compiled graph, as tf.data's do.
    """
    if isinstance(images, np.ndarray):
        return _flower_affine(tf.convert_to_tensor(images), augment.as_seed(seed)).numpy()
    return augment.random_affine(images, seed=seed, **FLOWER_AUGMENTATION)


class _EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch's training batches (validation excluded)."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        if hasattr(self, "_start"):
            self.times.append(time.perf_counter() - self._start)
            del self._start


def flower_split(data_dir=None, size=(182, 182), seed: int = 42):
    """Scan the flowers folder, load every usable image, and split 70/30, stratified.

    Returns (report, (x_train, y_train, paths_train), (x_test, y_test, paths_test)) with x uint8
    (N, H, W, 3) and y int class ids; ``train_test_split(test_size=0.3, random_state=42)`` as in the post.
    """
    from sklearn.model_selection import train_test_split

    report = imagefolders.scan(datasets.fetch("flowers", data_dir=data_dir))
    x = imagefolders.load_images(report.paths, size)
    y = np.asarray(report.labels)
    paths = np.asarray([str(p) for p in report.paths])
    x_tr, x_te, y_tr, y_te, p_tr, p_te = train_test_split(x, y, paths, test_size=0.3, random_state=seed, stratify=y)
    return report, (x_tr, y_tr, p_tr), (x_te, y_te, p_te)


def flower_feeders(train, *, batch_size: int, seed: int, size=(182, 182), workers: int = 2) -> dict:
    """The three ways to feed ``model.fit`` the same augmented training data, with one-hot labels."""
    x_tr, y_tr, p_tr = train
    num_classes = int(y_tr.max()) + 1
    onehot = keras.utils.to_categorical(y_tr, num_classes)
    return {
        "python_generator": pipelines.batch_generator(x_tr, onehot, batch_size, seed=seed, augment=flower_augment),
        "pydataset": pipelines.AugmentedPyDataset(x_tr, onehot, batch_size, seed=seed, augment=flower_augment,
                                                  workers=workers, use_multiprocessing=False, max_queue_size=10),
        "tf_data": pipelines.image_file_dataset(p_tr, onehot, size=size, batch_size=batch_size, seed=seed,
                                                repeat=True, augment=flower_augment),
    }


def flower_feeding_comparison(train, test, *, epochs: int = 6, batch_size: int = 6, seed: int = 0,
                              methods=("python_generator", "pydataset", "tf_data"), verbose: int = 0) -> list[dict]:
    """Train the post's CNN once per feeding method from the same initial weights.

    Returns per method: training images/s, median epoch seconds, test accuracy, history,
    and the test predictions (for a confusion matrix).
    """
    x_te, y_te, _ = test
    num_classes = int(max(train[1].max(), y_te.max())) + 1
    steps = pipelines.steps_per_epoch(len(train[0]), batch_size)
    # Every new model traces its own predict/evaluate function; TF logs that as "retracing".
    tf_logger, level = tf.get_logger(), tf.get_logger().level
    tf_logger.setLevel("ERROR")
    try:
        rows = [_train_one_feeder(method, train, x_te, y_te, num_classes, steps, epochs, batch_size, seed, verbose)
                for method in methods]
    finally:
        tf_logger.setLevel(level)
    return rows


def _train_one_feeder(method, train, x_te, y_te, num_classes, steps, epochs, batch_size, seed, verbose) -> dict:
    """One fit of the flower CNN fed by ``method``; see flower_feeding_comparison."""
    config.set_seed(seed)
    feeder = flower_feeders(train, batch_size=batch_size, seed=seed)[method]
    model = models.flower_cnn(train[0].shape[1:], num_classes)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = _EpochTimer()
    history = model.fit(feeder, steps_per_epoch=steps if method != "pydataset" else None, epochs=epochs, shuffle=False,
                        validation_data=(x_te, keras.utils.to_categorical(y_te, num_classes)),
                        callbacks=[timer], verbose=verbose)
    predictions = model.predict(x_te, verbose=0).argmax(-1)
    epoch_seconds = float(np.median(timer.times))
    return {
        "method": method, "epochs": epochs, "n_train": len(train[0]), "steps_per_epoch": steps,
        "epoch_seconds": round(epoch_seconds, 2),
        "images_per_s": round(len(train[0]) / epoch_seconds, 1),
        "test_accuracy": float((predictions == y_te).mean()),
        "history": _floats(history),
        "predictions": predictions.tolist(),
    }


# ---------------------------------------------------------------- lesson 5: U-Net on the membrane set


def membrane_augment(images, masks, seed, *, elastic: bool = True):
    """Flips, 90-degree-free small rotation, zoom and shift shared by image and mask, then (optionally)
    one elastic field shared by both. Masks are only ever sampled nearest-neighbour."""
    images, masks = augment.paired_random_affine(images, masks, seed=seed, rotation=10, shift=0.05, zoom=0.1,
                                                 horizontal_flip=True, vertical_flip=True, fill_mode="reflect")
    if elastic:
        images, masks = augment.paired_elastic(images, masks, seed=tf.stack([seed[0] + 7, seed[1]]),
                                               alpha=20.0, sigma=6.0)
    return images, masks


def membrane_split(val_fraction: float = 0.2, seed: int = 0, data_dir=None):
    """Hold out whole images for validation BEFORE any augmentation or cropping.

    Returns (x_train, y_train, names_train), (x_val, y_val, names_val): uint8 (N, 512, 512, 1), masks {0, 1}.
    """
    from sklearn.model_selection import train_test_split

    images, masks, names = datasets.load_membrane(data_dir=data_dir)
    idx_train, idx_val = train_test_split(np.arange(len(images)), test_size=val_fraction, random_state=seed)
    pick = lambda idx: (images[idx], masks[idx], [names[i] for i in idx])  # noqa: E731
    return pick(np.sort(idx_train)), pick(np.sort(idx_val))


def train_membrane_unet(train, val, *, base_filters: int = 16, depth: int = 4, epochs: int = 30,
                        steps_per_epoch: int = 40, crop: int = 256, batch_size: int = 4, seed: int = 0,
                        elastic: bool = True, learning_rate: float = 1e-3, verbose: int = 0):
    """Train a U-Net on random paired crops; keep the best epoch by validation membrane IoU.

    Validation scores whole held-out images (the model is fully convolutional). The best model is
    saved to ``<output dir>/models/unet_membrane.keras``. Returns (best model, history dict, path, seconds).
    """
    config.set_seed(seed)
    stream, _ = pipelines.paired_training_batches(
        train[0], train[1], crop=crop, batch_size=min(batch_size, len(train[0])), seed=seed,
        augment=lambda x, y, s: membrane_augment(x, y, s, elastic=elastic))
    val_ds = tf.data.Dataset.from_tensor_slices(
        (val[0].astype("float32") / 255.0, val[1].astype("float32"))).batch(2)
    model = models.unet((None, None, 1), base_filters=base_filters, depth=depth)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy", keras.metrics.BinaryIoU(target_class_ids=[0], name="membrane_iou")])
    path = config.output_dir("models") / "unet_membrane.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_membrane_iou", mode="max", save_best_only=True)
    start = time.perf_counter()
    history = model.fit(stream, steps_per_epoch=steps_per_epoch, epochs=epochs, validation_data=val_ds,
                        callbacks=[checkpoint], verbose=verbose, shuffle=False)  # the stream is shuffled
    seconds = time.perf_counter() - start
    best = keras.models.load_model(path)
    return best, _floats(history), path, seconds


def evaluate_membrane(model, val) -> tuple[dict, np.ndarray]:
    """Predict whole held-out images and score them (helpers.metrics.segmentation_report)."""
    probs = model.predict(val[0].astype("float32") / 255.0, batch_size=2, verbose=0)
    return metrics.segmentation_report(val[1], probs), probs


# ---------------------------------------------------------------- lesson 4: hotdog, ResNet50


def dataset_arrays(ds, limit_batches: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Materialise a finite (x, y) dataset as NumPy arrays."""
    xs, ys = [], []
    for i, (x, y) in enumerate(ds):
        if limit_batches is not None and i >= limit_batches:
            break
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def feature_cache_speedup(backbone, x, y, *, epochs: int = 3, batch_size: int = 16, seed: int = 0) -> dict:
    """Train the same head for ``epochs`` two ways, side by side, and time both:
    end to end (the frozen backbone runs on every batch) vs. on features computed once.

    x: preprocessed images (N, H, W, 3); y: int labels. Returns seconds for each and the ratio.
    """
    config.set_seed(seed)
    end_to_end = models.transfer_classifier(backbone)
    end_to_end.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    end_to_end.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    t_end_to_end = time.perf_counter() - start

    config.set_seed(seed)
    start = time.perf_counter()
    features = backbone.predict(x, batch_size=batch_size, verbose=0)
    t_features = time.perf_counter() - start
    head = models.head_only(features.shape[1:])
    head.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    head.fit(features, y, epochs=epochs, batch_size=batch_size, verbose=0)
    t_head = time.perf_counter() - start
    return {"images": len(x), "epochs": epochs, "end_to_end_s": round(t_end_to_end, 2),
            "features_once_s": round(t_features, 2), "head_on_features_s": round(t_head, 2),
            "speedup": round(t_end_to_end / (t_features + t_head), 2)}


def fit_and_score(model, train, test, *, steps_per_epoch: int, epochs: int, learning_rate: float,
                  run_eagerly: bool = False) -> dict:
    """Compile with adam at ``learning_rate``, fit on the endless ``train`` stream, evaluate on ``test``.
    ``run_eagerly`` skips graph tracing: slower per step, faster for a step or two of a big model."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], run_eagerly=run_eagerly)
    start = time.perf_counter()
    history = model.fit(train, steps_per_epoch=steps_per_epoch, epochs=epochs, validation_data=test, verbose=0)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(test, verbose=0)
    return {"test_accuracy": float(accuracy), "test_loss": float(loss), "seconds": round(seconds, 1),
            "history": _floats(history)}


def digit_flip_survival(seed: int = 0) -> list[dict]:
    """Does a mirrored digit keep its label? Per digit 0-9, the accuracy of a classifier trained on
    the original scikit-learn digits (8x8) on held-out digits, as they are and flipped left-right."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=0.5, stratify=digits.target, random_state=seed)
    clf = LogisticRegression(max_iter=2000).fit(x_train.reshape(len(x_train), -1), y_train)
    plain = clf.predict(x_test.reshape(len(x_test), -1))
    flipped = clf.predict(x_test[:, :, ::-1].reshape(len(x_test), -1))
    return [{"digit": d, "n": int((y_test == d).sum()),
             "accuracy": float((plain[y_test == d] == d).mean()),
             "accuracy_flipped": float((flipped[y_test == d] == d).mean())} for d in range(10)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run the lesson-2 CIFAR-10 experiment and save the rows as JSON.")
    parser.add_argument("--arms", nargs="+", default=["plain", "post_fused", "crop_flip"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-train", type=int, default=config.pick(quick=512, full=10_000))
    parser.add_argument("--epochs-plain", type=int, default=config.pick(quick=1, full=20))
    parser.add_argument("--epochs-aug", type=int, default=config.pick(quick=1, full=80))
    parser.add_argument("--fractions", nargs="+", type=float, default=None,
                        help="run the data-fraction study instead (ignores --n-train): shares of the 50,000 "
                             "training images, epochs rescaled from 20%% so the optimizer steps stay the same")
    parser.add_argument("--out", default=None, help="JSON file (default: <output dir>/results/cifar_<mode>.json)")
    args = parser.parse_args(argv)
    if args.fractions:
        rows = [row for seed in args.seeds for row in cifar_fraction_study(
            args.fractions, arms=args.arms, seed=seed, epochs_plain=args.epochs_plain, epochs_aug=args.epochs_aug)]
    else:
        rows = cifar_augmentation_experiment(args.n_train, args.epochs_plain, args.epochs_aug, args.seeds, args.arms)
    out = args.out or config.output_dir("results") / f"cifar_{config.load_settings().mode}.json"
    with open(out, "w") as handle:
        json.dump({"settings": vars(args), "machine": config.describe(), "rows": rows}, handle, indent=1)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
