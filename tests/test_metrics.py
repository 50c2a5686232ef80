"""Segmentation scores and the one-class guard, and the epoch timer."""

import time
import warnings

import keras
import numpy as np
import pytest

from helpers import metrics


def test_segmentation_report_scores_and_single_class_guard():
    truth = np.zeros((1, 10, 10, 1))
    truth[:, :, 3:] = 1  # 70% "cell", 30% "membrane"
    good = metrics.segmentation_report(truth, truth * 0.8 + 0.1)
    assert good["pixel_accuracy"] == 1 and good["dice_membrane"] == pytest.approx(1) and good["iou_cell"] == pytest.approx(1)
    half = truth.copy()
    half[:, :5, :3] = 1  # 15 membrane pixels predicted as cell
    r = metrics.segmentation_report(truth, half)
    assert r["iou_membrane"] == pytest.approx(15 / 30) and r["dice_membrane"] == pytest.approx(2 * 15 / (30 + 15))
    assert r["pixel_accuracy"] == pytest.approx(0.85)
    with pytest.warns(metrics.SingleClassWarning, match="collapsed to one class"):
        metrics.segmentation_report(truth, np.ones_like(truth))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.segmentation_report(truth, half)  # a sensible prediction does not warn


def test_epoch_timer_times_each_epochs_training_batches():
    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.02)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = metrics.EpochTimer()
    x = np.zeros((8, 2), "float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=3, callbacks=[Slow(), timer], verbose=0)  # no validation
    assert len(timer.times) == 3 and all(t >= 0.04 for t in timer.times)
    model.fit(x, x[:, :1], batch_size=4, epochs=2, validation_data=(x, x[:, :1]), callbacks=[timer], verbose=0)
    assert len(timer.times) == 2
