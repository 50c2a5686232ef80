"""The lessons' splits: the data each lesson trains, validates and tests on, made in one place so the lesson,
its exercises and the long-run drivers use the same images (lesson 2's ``cifar10_splits``, lesson 3's
``flower_split``, lesson 5's ``membrane_split``); validation is always held out before any augmentation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers import datasets, readers


def cifar10_splits(n_train: int, n_test: int | None = None, *, data_dir: Path | None = None):
    """Lesson 2's data: the first ``n_train`` CIFAR-10 training images with the last 10% held out for
    validation (what Keras's ``validation_split=0.1`` does), and the first ``n_test`` test images
    (None: all 10,000).

    Returns ``(x_fit, y_fit), (x_val, y_val), (x_test, y_test)``: uint8 (N, 32, 32, 3) images and
    one-hot (N, 10) labels, float64 as ``keras.utils.to_categorical`` makes them.
    """
    import keras

    (x, y), (x_test, y_test) = readers.load_cifar10(n_train, data_dir=data_dir)
    y, y_test = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(y_test[:n_test], 10)
    n_val = max(1, len(x) // 10)
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:]), (x_test[:n_test], y_test)


def flower_split(data_dir: Path | None = None, size=(182, 182), seed: int = 42, val_fraction: float = 0.2):
    """Lesson 3's data: scan the flowers folder (``imagefolders.scan``), load every usable image, split
    70/30 into train and test, stratified, with ``train_test_split(test_size=0.3, random_state=seed)``
    as in the post; then hold out ``val_fraction`` of the training part for validation (stratified),
    so the test set is used once, at the end.

    Returns (report, train, val, test), each part (x uint8 (N, H, W, 3) resized to ``size``,
    y int class ids, paths as str).
    """
    from sklearn.model_selection import train_test_split

    from helpers import imagefolders

    report = imagefolders.scan(datasets.fetch("flowers", data_dir=data_dir))
    x = imagefolders.load_images(report.paths, size)
    y = np.asarray(report.labels)
    paths = np.asarray([str(p) for p in report.paths])
    parts = train_test_split(x, y, paths, test_size=0.3, random_state=seed, stratify=y)
    train, test = tuple(parts[0::2]), tuple(parts[1::2])
    parts = train_test_split(*train, test_size=val_fraction, random_state=seed, stratify=train[1])
    return report, tuple(parts[0::2]), tuple(parts[1::2]), test


MEMBRANE_TEST_NAMES = ("20.png", "21.png", "22.png", "23.png", "24.png")  # five adjacent sections of the stack


def membrane_split(n_val: int = 3, seed: int = 0, *, test_names=MEMBRANE_TEST_NAMES, data_dir: Path | None = None):
    """Lesson 5's data in three parts of whole images, split BEFORE any augmentation or cropping.

    ``test_names``: the pairs scored once, at the end (a fixed block of adjacent sections, the same in the
    complete set of 30 and in a smaller copy); ``n_val`` of the others, drawn with ``seed``, choose the checkpoint;
    the rest train. Returns (x, y, names) for train, validation and test: uint8 (N, 512, 512, 1) images, uint8
    {0, 1} masks, file names, each part in natural file order. ValueError if a test name is missing or too few
    pairs are left to train on.
    """
    from sklearn.model_selection import train_test_split

    images, masks, names = readers.load_membrane(data_dir=data_dir)
    missing = sorted(set(test_names) - set(names))
    if missing:
        raise ValueError(f"the test pairs {missing} are not in the membrane folder ({len(names)} pairs found)")
    idx_test = np.array([i for i, n in enumerate(names) if n in set(test_names)])
    rest = np.array([i for i, n in enumerate(names) if n not in set(test_names)])
    if len(rest) < n_val + 1:
        raise ValueError(f"{len(rest)} pairs besides the test pairs: too few for {n_val} validation pairs and training")
    idx_train, idx_val = train_test_split(rest, test_size=n_val, random_state=seed)

    def pick(idx):
        idx = np.sort(idx)
        return images[idx], masks[idx], [names[i] for i in idx]

    return pick(idx_train), pick(idx_val), pick(idx_test)
