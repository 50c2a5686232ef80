import keras
import numpy as np
import pytest

from helpers import models


def test_cifar_cnn_is_the_posts_model_layer_for_layer():
    model = models.cifar_cnn()
    layers = [type(layer).__name__ for layer in model.layers[1:]]
    assert layers == ["Conv2D", "BatchNormalization", "Conv2D", "MaxPooling2D", "Dropout", "BatchNormalization",
                      "Flatten", "Dense", "Dropout", "BatchNormalization", "Dense"]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.padding, c.activation.__name__) for c in convs] == [
        (64, (3, 3), "valid", "relu"), (32, (3, 3), "valid", "relu")]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [(d.units, d.activation.__name__) for d in dense] == [(256, "relu"), (10, "softmax")]
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert [(b.scale, b.center) for b in bns] == [(False, False), (False, False), (True, True)]
    assert [d.rate for d in model.layers if isinstance(d, keras.layers.Dropout)] == [0.2, 0.2]
    # 30x30x64 -> 28x28x32 -> pool 14x14x32 = 6272 features into Dense(256)
    assert model.count_params() == 1_629_930
    assert model.output_shape == (None, 10)


def test_recalibrate_batchnorm_sets_moving_statistics_to_the_data_and_keeps_weights():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="dense")(inputs)
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(hidden))
    x = np.random.default_rng(0).normal(2.0, 3.0, (256, 4)).astype("float32")
    kernel = model.get_layer("dense").get_weights()[0].copy()
    models.recalibrate_batchnorm(model, x)
    features = model.get_layer("dense")(x).numpy()
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), features.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), features.var(0), rtol=1e-3)
    np.testing.assert_array_equal(model.get_layer("dense").get_weights()[0], kernel)
    assert bn.momentum == 0.99  # restored


# ---------------------------------------------------------------- ResNet50 loader

SMALL = (64, 64, 3)


def test_missing_imagenet_weights_raise_with_the_cache_location(monkeypatch, tmp_path):
    import keras

    def offline(*args, **kwargs):
        if kwargs.get("weights") == "imagenet":
            raise Exception("URL fetch failure: " + "unreachable " * 40)  # a long reason, cut between words
        return real(*args, **kwargs)

    real = keras.applications.ResNet50
    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(models.WeightsUnavailableError) as err:
        models.resnet50(input_shape=SMALL)
    assert models.RESNET50_NOTOP_FILE in str(err.value) and str(tmp_path / "models") in str(err.value)
    reason = str(err.value).split("(", 1)[1].split(").", 1)[0]
    assert reason.endswith("unreachable ...") and len(reason) <= 160


def test_quick_mode_fallback_is_loud(monkeypatch, capsys):
    import keras

    real = keras.applications.ResNet50

    def offline(*args, **kwargs):
        if kwargs.get("weights") == "imagenet":
            raise Exception("URL fetch failure: offline")
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    model, pretrained = models.resnet50(input_shape=SMALL, allow_random=True)
    assert pretrained is False and model.output_shape[-1] == 2048
    assert "MEANINGLESS" in capsys.readouterr().out
