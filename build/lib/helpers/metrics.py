"""What the lessons measure: segmentation scores (``keras.metrics`` / ``keras.losses``) with a guard
against one-class output, and the wall time of each training epoch."""

from __future__ import annotations

import time
import warnings

import keras
import numpy as np


class SingleClassWarning(UserWarning):
    """The model predicts (almost) one class everywhere: the classic all-black / all-white U-Net."""


def segmentation_report(y_true, y_prob, *, threshold: float = 0.5, names=("membrane", "cell")) -> dict:
    """Scores of a binary segmentation.

    y_true: (N, H, W, 1) in {0, 1} (1 = ``names[1]``); y_prob: same shape, probabilities of class 1.
    Returns pixel accuracy; IoU and Dice of each class (keras.metrics.IoU, keras.losses.Dice);
    true and predicted fraction of class-1 pixels. Warns (SingleClassWarning) when more than 99%
    of the predicted pixels are one class.
    """
    y_true = np.asarray(y_true).astype("int32")
    y_pred = (np.asarray(y_prob) >= threshold).astype("int32")
    report = {"pixel_accuracy": float(keras.metrics.BinaryAccuracy(threshold=threshold)(y_true, y_prob))}
    for class_id, name in enumerate(names):
        iou = keras.metrics.IoU(num_classes=2, target_class_ids=[class_id])
        iou.update_state(y_true, y_pred)
        true_c = (y_true == class_id).astype("float32")
        pred_c = (y_pred == class_id).astype("float32")
        report[f"iou_{name}"] = float(iou.result())
        report[f"dice_{name}"] = float(1.0 - keras.losses.Dice()(true_c, pred_c))
    report["true_fraction_" + names[1]] = float(y_true.mean())
    report["predicted_fraction_" + names[1]] = float(y_pred.mean())
    if not 0.01 < report["predicted_fraction_" + names[1]] < 0.99:
        warnings.warn(
            f"the model predicts '{names[1]}' on {100 * report['predicted_fraction_' + names[1]]:.1f}% of pixels "
            f"(truth: {100 * report['true_fraction_' + names[1]]:.1f}%): it has collapsed to one class. "
            "Check the input scaling, the mask values (0/1), the threshold and the learning rate.",
            SingleClassWarning, stacklevel=2)
    return report


class EpochTimer(keras.callbacks.Callback):
    """A ``fit`` callback: ``times[e]`` is the wall time in seconds of epoch e's training batches
    (validation excluded)."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def _stop(self):
        if hasattr(self, "_start"):
            self.times.append(time.perf_counter() - self._start)
            del self._start

    def on_test_begin(self, logs=None):  # validation starts: the epoch's training part is over
        self._stop()

    def on_epoch_end(self, epoch, logs=None):  # an epoch without validation
        self._stop()
