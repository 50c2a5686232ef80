"""The long studies' runs (lessons 2, 3 and 7): each trains a lesson's model once per arm, seed, data size or
feeding method and returns its rows. ``python -m helpers.studies`` runs them from a terminal, saving each row as
it finishes; lessons call them directly for a short run.

The pipelines are the lessons' own, exported from their cells to ``helpers.taught``, so a study measures the code a
student reads. Every function takes ``callbacks`` (Keras callbacks added to each ``fit``: the driver's progress bar).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from helpers import config, datasets, metrics, models, policies, recipes, splits
from helpers.taught import cifar_pipeline, feeding, policy_training, segmentation


def history_floats(history: keras.callbacks.History) -> dict[str, list[float]]:
    """A fit's per-epoch metrics as plain floats (JSON-ready)."""
    return {name: [float(v) for v in values] for name, values in history.history.items()}


# ---------------------------------------------------------------- lesson 2: CIFAR-10 on 20% of the data


def train_cifar_arm(arm: str, fit, val, *, epochs: int, seed: int, batch_size: int = 128, verbose: int = 0,
                    callbacks=()):
    """Lesson 2's training of one arm: the post's CNN, adam, ``model.fit`` on the shuffled, augmented
    stream of lesson 2's ``prepare``. ``fit``/``val``: (uint8 images, one-hot labels).
    Returns (model, history, optimizer steps taken)."""
    model, history, steps, _ = _fit_cifar_cnn(recipes.cifar_arm(arm), False, fit, val, epochs=epochs, seed=seed,
                                              batch_size=batch_size, verbose=verbose, callbacks=callbacks)
    return model, history, steps


def _fit_cifar_cnn(augment, takes_labels: bool, fit, val, *, epochs: int, seed: int, batch_size: int, verbose: int,
                   callbacks=()):
    """Lessons 2 and 7's training: the post's CNN, adam, categorical cross-entropy (it also takes the blends'
    soft labels), ``model.fit`` on lesson 2's ``prepare`` stream, or lesson 7's when the augmentation blends labels.
    Returns (model, history, steps, epoch seconds)."""
    config.set_seed(seed)
    batch = min(batch_size, len(fit[0]))
    if takes_labels:
        train = policy_training.prepare(fit[0], fit[1].astype("float32"), batch_size=batch, seed=seed, augment=augment,
                                        with_labels=True)
    else:
        train = cifar_pipeline.prepare(fit[0], fit[1].astype("float32"), batch_size=batch, seed=seed, augment=augment)
    steps = math.ceil(len(fit[0]) / batch)
    model = models.cifar_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = metrics.EpochTimer()
    history = model.fit(train, steps_per_epoch=steps, epochs=epochs, verbose=verbose, callbacks=[timer, *callbacks],
                        shuffle=False,  # shuffled already
                        validation_data=cifar_pipeline.evaluation(*val, batch_size=batch_size))
    return model, history, epochs * steps, timer.times


def cifar_runs(n_train: int = 10_000, epochs_plain: int = 20, epochs_aug: int = 80, seeds: Sequence[int] = (0,),
               arms: Sequence[str] = ("plain", "post_fused", "crop_flip"), *, batch_size: int = 128,
               n_test: int | None = None, data_dir=None, verbose: int = 0, callbacks=()) -> list[dict]:
    """Train the post's CNN once per (seed, arm) on the first ``n_train`` CIFAR-10 images (10% of them
    held out for validation) and score it on the test set (``n_test`` images; None = all 10,000).

    Returns one dict per run: test accuracy and loss, last-epoch train/validation accuracy, steps,
    seconds, and the per-epoch history.
    """
    unknown = sorted(set(arms) - set(recipes.CIFAR_ARMS))
    if unknown:  # before any training
        raise ValueError(f"unknown arm(s) {unknown}; choose from {sorted(recipes.CIFAR_ARMS)}")
    fit, val, (x_test, y_test) = splits.cifar10_splits(n_train, n_test, data_dir=data_dir)
    test = cifar_pipeline.evaluation(x_test, y_test, batch_size=batch_size)
    out = []
    for seed in seeds:
        for arm in arms:
            epochs = epochs_plain if arm == "plain" else epochs_aug
            start = time.perf_counter()
            model, history, steps = train_cifar_arm(arm, fit, val, epochs=epochs, seed=seed, batch_size=batch_size,
                                                    verbose=verbose, callbacks=callbacks)
            test_loss, test_acc = model.evaluate(test, verbose=0)
            seconds = time.perf_counter() - start
            out.append({
                "arm": arm, "seed": seed, "n_train": len(fit[0]), "n_val": len(val[0]), "n_test": len(x_test),
                "epochs": epochs, "steps": steps, "test_accuracy": float(test_acc), "test_loss": float(test_loss),
                "train_accuracy": float(history.history["accuracy"][-1]),
                "val_accuracy": float(history.history["val_accuracy"][-1]),
                "seconds": round(seconds, 1), "history": history_floats(history),
            })
            print(f"{arm:<12} seed {seed}: test accuracy {test_acc:.4f}, loss {test_loss:.3f}, {seconds:.0f} s",
                  flush=True)
    return out


def steps_matched_epochs(epochs: int, fraction: float, base_fraction: float = 0.2) -> int:
    """Epochs on ``fraction`` of the data that make about as many optimizer steps as ``epochs`` on
    ``base_fraction`` (at least 1). Small sets need more epochs, or BatchNorm's moving statistics lag."""
    if not 0 < fraction <= 1 or not 0 < base_fraction <= 1:
        raise ValueError(f"fractions must be in (0, 1], got {fraction} and {base_fraction}")
    return max(1, round(epochs * base_fraction / fraction))


def cifar_fraction_study(fractions: Sequence[float], *, arms: Sequence[str] = ("plain", "crop_flip"), seed: int = 0,
                         epochs_plain: int = 20, epochs_aug: int = 80, base_fraction: float = 0.2,
                         match_steps: bool = True, batch_size: int = 128, n_test: int | None = None,
                         data_dir=None, verbose: int = 0, callbacks=()) -> list[dict]:
    """Test accuracy against training-set size: ``cifar_runs`` on the first ``fraction`` x 50,000 images.

    With ``match_steps`` the epochs (given for ``base_fraction``, the post's 20%) are rescaled so every
    fraction gets about the same number of optimizer steps. Rows as ``cifar_runs``, plus ``fraction``.
    """
    out = []
    for fraction in fractions:
        plain, aug = (steps_matched_epochs(e, fraction, base_fraction) if match_steps else e
                      for e in (epochs_plain, epochs_aug))
        out += [{"fraction": fraction, **row} for row in cifar_runs(
            round(datasets.CIFAR10_TRAIN_SIZE * fraction), plain, aug, seeds=[seed], arms=arms,
            batch_size=batch_size, n_test=n_test, data_dir=data_dir, verbose=verbose, callbacks=callbacks)]
    return out


def batchnorm_lag_check(n_train: int = 2_500, epochs: int = 20, seed: int = 0, *, batch_size: int = 128,
                        n_test: int | None = None, data_dir=None, callbacks=()) -> dict:
    """Train the plain arm on few images, then score the SAME weights twice: with BatchNorm's moving
    statistics, and with them recomputed from the training images (``models.recalibrate_batchnorm``).

    A large difference means the moving averages lag behind the weights. Returns the steps, both
    test accuracies, and whether the weights were left unchanged by the recalibration.
    """
    fit, val, (x_test, y_test) = splits.cifar10_splits(n_train, n_test, data_dir=data_dir)
    model, _, steps = train_cifar_arm("plain", fit, val, epochs=epochs, seed=seed, batch_size=batch_size,
                                      callbacks=callbacks)
    test = cifar_pipeline.evaluation(x_test, y_test, batch_size=batch_size)
    moving = model.evaluate(test, verbose=0)[1]
    trainable_before = [w.numpy().copy() for w in model.trainable_weights]
    moving_before = [w.numpy().copy() for w in model.non_trainable_weights]
    models.recalibrate_batchnorm(model, cifar_pipeline.scale(fit[0]))
    same = lambda before, now: all(np.array_equal(a, w.numpy()) for a, w in zip(before, now))  # noqa: E731
    return {"n_train": len(fit[0]), "epochs": epochs, "steps": steps, "seed": seed,
            "test_accuracy_moving_statistics": float(moving),
            "test_accuracy_recalibrated": float(model.evaluate(test, verbose=0)[1]),
            "trainable_weights_unchanged": same(trainable_before, model.trainable_weights),
            "moving_statistics_changed": not same(moving_before, model.non_trainable_weights)}


# ---------------------------------------------------------------- lesson 3: one model fed three ways


def flower_feeders(train, *, batch_size: int, seed: int, size=(182, 182), workers: int = 2) -> dict:
    """The three ways lesson 3 feeds ``model.fit`` the same augmented training data (one-hot labels):
    the corrected Python generator, a PyDataset with worker threads, and ``tf.data`` from the files."""
    x_tr, y_tr, p_tr = train
    onehot = keras.utils.to_categorical(y_tr, int(y_tr.max()) + 1)
    augment = recipes.FLOWERS.fused
    return {
        "python_generator": feeding.batches(x_tr, onehot, batch_size, seed=seed, augment=augment),
        "pydataset": feeding.FlowerBatches(x_tr, onehot, batch_size, seed=seed, augment=augment,
                                           workers=workers, use_multiprocessing=False, max_queue_size=10),
        "tf_data": feeding.file_stream([str(p) for p in p_tr], onehot, size=size, batch_size=batch_size, seed=seed,
                                       augment=augment),
    }


def flower_feeding_comparison(train, val, test, *, epochs: int = 6, batch_size: int = 6, seed: int = 0,
                              methods=("python_generator", "pydataset", "tf_data"), verbose: int = 0,
                              callbacks=()) -> list[dict]:
    """Train the post's flower CNN once per feeding method from the same initial weights, validating on
    ``val`` during training and scoring ``test`` once at the end. Each of train/val/test is (x, y, paths).

    Returns per method: median epoch seconds, training images/s, test accuracy, history and the test
    predictions (for a confusion matrix).
    """
    num_classes = int(max(train[1].max(), test[1].max())) + 1
    steps = math.ceil(len(train[0]) / batch_size)
    val_data = (val[0], keras.utils.to_categorical(val[1], num_classes))
    out = []
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # each new model traces its own predict function: TF calls that "retracing"
    try:
        for method in methods:
            out.append(_fit_one_feeder(method, train, val_data, test, num_classes, steps, epochs, batch_size, seed,
                                       verbose, callbacks))
    finally:
        logger.setLevel(level)
    return out


def _fit_one_feeder(method, train, val_data, test, num_classes, steps, epochs, batch_size, seed, verbose,
                    callbacks=()) -> dict:
    """One fit of the flower CNN fed by ``method``; see ``flower_feeding_comparison``."""
    config.set_seed(seed)
    feeder = flower_feeders(train, batch_size=batch_size, seed=seed, size=train[0].shape[1:3])[method]
    model = models.flower_cnn(train[0].shape[1:], num_classes)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = metrics.EpochTimer()
    history = model.fit(feeder, steps_per_epoch=None if method == "pydataset" else steps, epochs=epochs,
                        validation_data=val_data, callbacks=[timer, *callbacks], shuffle=False, verbose=verbose)
    predictions = model.predict(test[0], verbose=0).argmax(-1)
    epoch_seconds = float(np.median(timer.times))
    row = {
        "method": method, "epochs": epochs, "n_train": len(train[0]), "n_val": len(val_data[0]),
        "n_test": len(test[0]), "steps_per_epoch": steps, "epoch_seconds": round(epoch_seconds, 2),
        "images_per_s": round(len(train[0]) / epoch_seconds, 1),
        "test_accuracy": float((predictions == test[1]).mean()),
        "history": history_floats(history), "predictions": predictions.tolist(),
    }
    print(f"{method:<18} test accuracy {row['test_accuracy']:.3f}, {epoch_seconds:.1f} s per epoch", flush=True)
    return row


# ---------------------------------------------------------------- lesson 7: augmentation policies


def train_policy_arm(arm: str, fit, val, *, epochs: int, seed: int, batch_size: int = 128, verbose: int = 0,
                     callbacks=()):
    """Lesson 7's training of one arm (``recipes.policy_arm``), as lesson 2's.
    Returns (model, history, steps taken, per-epoch training seconds)."""
    return _fit_cifar_cnn(*recipes.policy_arm(arm), fit, val, epochs=epochs, seed=seed, batch_size=batch_size,
                          verbose=verbose, callbacks=callbacks)


def tta_scores(model, x_test, y_test, views: Sequence[str] = ("none", "flip", "flip_shift")) -> tuple[dict, dict]:
    """Test accuracy and prediction seconds with each test-time augmentation of ``policies.TTA_VIEWS`` (lesson 7's
    ``predict_tta``), and
    the averaged class probabilities (N, classes) of each."""
    out, probabilities = {}, {}
    for name in views:
        start = time.perf_counter()
        probs = policy_training.predict_tta(model, x_test, name)
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(probs.argmax(axis=1) == np.asarray(y_test).argmax(axis=1)))
        out[name] = {"accuracy": accuracy, "seconds": round(seconds, 2), "views": len(policies.TTA_VIEWS[name])}
        probabilities[name] = probs
    return out, probabilities


def policy_runs(arms: Sequence[str], seeds: Sequence[int] = (0,), *, n_train: int = 10_000, epochs: int = 80,
                batch_size: int = 128, n_test: int | None = None, data_dir=None, verbose: int = 0,
                on_row=None, callbacks=()) -> list[dict]:
    """Train lesson 2's CNN once per (seed, arm) of lesson 7 on lesson 2's data (the first ``n_train`` CIFAR-10
    images, 10% held out) and score it on the test set, plain and with test-time augmentation.

    Rows as ``cifar_runs``, plus ``seconds_per_epoch`` (median training time of an epoch) and ``tta``.
    ``on_row(rows so far)`` is called after each run (the driver saves there, so a stopped study keeps its rows).
    """
    for arm in arms:  # every arm checked before any training
        recipes.policy_arm(arm)
    fit, val, (x_test, y_test) = splits.cifar10_splits(n_train, n_test, data_dir=data_dir)
    out = []
    for seed in seeds:
        for arm in arms:
            start = time.perf_counter()
            model, history, steps, epoch_times = train_policy_arm(arm, fit, val, epochs=epochs, seed=seed,
                                                                  batch_size=batch_size, verbose=verbose,
                                                                  callbacks=callbacks)
            train_seconds = time.perf_counter() - start
            tta, probabilities = tta_scores(model, x_test, y_test)  # "none" is the plain prediction: no second pass
            test_loss = keras.losses.CategoricalCrossentropy()(y_test, probabilities["none"])
            out.append({
                "arm": arm, "seed": seed, "n_train": len(fit[0]), "n_val": len(val[0]), "n_test": len(x_test),
                "epochs": epochs, "steps": steps, "test_accuracy": tta["none"]["accuracy"], "test_loss": float(test_loss),
                "train_accuracy": float(history.history["accuracy"][-1]),
                "val_accuracy": float(history.history["val_accuracy"][-1]),
                "seconds": round(train_seconds, 1), "seconds_per_epoch": round(float(np.median(epoch_times)), 2),
                "tta": tta, "history": history_floats(history),
            })
            print(f"{arm:<30} seed {seed}: test accuracy {out[-1]['test_accuracy']:.4f} "
                  f"(flip TTA {tta['flip']['accuracy']:.4f}), {out[-1]['seconds_per_epoch']:.1f} s/epoch", flush=True)
            if on_row is not None:
                on_row(out)
    return out


def policy_costs(arms: Sequence[str], *, batch_size: int = 128, repeats: int = 20, seed: int = 0,
                 data_dir=None) -> list[dict]:
    """Milliseconds per batch of each arm's augmentation alone (compiled with ``tf.function``, one CIFAR-10
    batch, median of ``repeats`` calls with fresh seeds after one warm-up), measured side by side in one run.
    Rows: arm, ms_per_batch, and ratio to the first arm."""
    (x, y), _, _ = splits.cifar10_splits(max(2 * batch_size, 256), 100, data_dir=data_dir)
    x, y = tf.constant(x[:batch_size]), tf.constant(y[:batch_size].astype("float32"))
    out = []
    for arm in arms:
        augment, takes_labels = recipes.policy_arm(arm)
        step = tf.function(lambda k, augment=augment, blend=takes_labels:
                           augment(x, y, tf.stack([tf.constant(seed, tf.int64), k])) if blend
                           else augment(x, tf.stack([tf.constant(seed, tf.int64), k])))
        tf.nest.map_structure(lambda t: t.numpy(), step(tf.constant(0, tf.int64)))  # trace and warm up
        times = []
        for k in range(1, repeats + 1):
            start = time.perf_counter()
            tf.nest.map_structure(lambda t: t.numpy(), step(tf.constant(k, tf.int64)))
            times.append(time.perf_counter() - start)
        out.append({"arm": arm, "batch_size": batch_size, "ms_per_batch": round(1000 * float(np.median(times)), 2)})
    for row in out:
        row["ratio_to_first"] = round(row["ms_per_batch"] / out[0]["ms_per_batch"], 2)
    return out


def unet_run(arm: str, seed: int, *, base_filters: int | None = None, depth: int = 4, epochs: int = 30,
             steps_per_epoch: int | None = None, crop: int = 256, batch_size: int = 4, n_val: int = 3, verbose: int = 0,
             callbacks=()) -> dict:
    """Lesson 5: one arm of ``recipes.UNET_ARMS`` trained once with lesson 5's ``train_unet`` on the training pairs
    of ``splits.membrane_split(n_val, seed)``; the best epoch (validation membrane IoU) scored on the validation
    and the test pairs, predicted the four ways of ``prediction_ways`` (tiles of ``crop`` pixels, margin crop/8).
    base_filters, steps_per_epoch: None for the arm's own. The model is kept under the output dir's ``models/``."""
    train, val, test = splits.membrane_split(n_val, seed=seed)
    augmentation, loss, batch_norm, arm_filters, dtype, arm_steps = recipes.UNET_ARMS[arm]
    path = config.output_dir("models") / f"unet_{arm}_seed{seed}.keras"
    settings = dict(base_filters=base_filters or arm_filters, depth=depth, dtype=dtype, epochs=epochs,
                    steps_per_epoch=steps_per_epoch or arm_steps, crop=crop, batch_size=batch_size)
    model, history, seconds = segmentation.train_unet(train[:2], val[:2], transform=augmentation.paired, loss=loss,
                                                      batch_norm=batch_norm, path=path, seed=seed, verbose=verbose,
                                                      callbacks=callbacks, **settings)
    ways = segmentation.prediction_ways(model, tile=crop, margin=crop // 8)
    scored, predict_seconds = {}, {}
    for part, (images, masks, _) in {"validation": val, "test": test}.items():
        scored[part] = {}
        for name, predict in ways.items():
            start = time.perf_counter()
            probs = predict(images.astype("float32") / 255.0)
            predict_seconds[f"{part}_{name}"] = round(time.perf_counter() - start, 2)
            scored[part][name] = metrics.segmentation_report(masks, probs)
    iou = history.history["val_membrane_iou"]
    return {"arm": arm, "seed": seed, "augmentation": augmentation.name, "loss": loss, "batch_norm": batch_norm,
            **settings,
            "train_names": train[2], "validation_names": val[2], "test_names": test[2],
            "train_seconds": round(seconds, 1), "best_epoch": int(np.argmax(iou)) + 1, **scored,
            "predict_seconds": predict_seconds, "model_file": path.name, "history": history_floats(history)}


def final_unet_arm(rows: Sequence[dict], *, way: str = "tiles_d4") -> str:
    """Lesson 5's choice among the arms in ``rows`` (``unet_run`` rows): the best membrane Dice on the VALIDATION
    pairs, predicted ``way``, of each arm's seed-0 run. The test pairs play no part in it."""
    seed0 = {r["arm"]: r["validation"][way]["dice_membrane"] for r in rows if r["seed"] == 0}
    if not seed0:
        raise ValueError("no seed-0 run to choose from")
    return max(seed0, key=seed0.get)


def unet_step_costs(widths: Sequence[int] = (16, 24, 32), *, dtypes: Sequence[str] = ("float32",), depth: int = 4,
                    crop: int = 256, batch_size: int = 4, repeats: int = 5, seed: int = 0) -> list[dict]:
    """Lesson 5: seconds per training step of lesson 5's U-Net at each ``base_filters`` in ``widths`` and each
    dtype policy in ``dtypes`` ("float32", "mixed_bfloat16"), side by side in one run: ``train_on_batch`` on one
    fixed batch of crops (no input pipeline), the median of ``repeats`` steps after two warm-up steps; and the
    steps that fit in 20 minutes at that rate. ``ratio_to_first``: against the first row."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, crop, crop, 1), dtype=np.float32)
    y = (rng.random((batch_size, crop, crop, 1)) > 0.25).astype(np.float32)
    rows = []
    for dtype in dtypes:
        for width in widths:
            keras.utils.set_random_seed(seed)
            model = segmentation.unet(width, depth, dtype=dtype)
            model.compile(optimizer="adam", loss="binary_crossentropy")
            for _ in range(2):
                model.train_on_batch(x, y)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.train_on_batch(x, y)
                times.append(time.perf_counter() - start)
            step = round(float(np.median(times)), 4)
            rows.append({"base_filters": width, "dtype": dtype, "depth": depth, "crop": crop,
                         "batch_size": batch_size, "parameters": int(model.count_params()),
                         "seconds_per_step": step, "steps_in_20_minutes": int(1200 / step)})
    for row in rows:
        row["ratio_to_first"] = round(row["seconds_per_step"] / rows[0]["seconds_per_step"], 2)
    return rows
