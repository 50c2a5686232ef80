import keras
import numpy as np
import pytest

from helpers import models, pipelines
from tests.pairs import blocky_pairs


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


# ---------------------------------------------------------------- U-Net

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("size, depth", [(32, 2), (64, 3), (96, 4), (128, 4)])
def test_unet_output_shape_equals_input_shape(size, depth):
    model = models.unet((size, size, 1), base_filters=4, depth=depth)
    assert model.output_shape == (None, size, size, 1)
    assert model(np.zeros((1, size, size, 1), np.float32)).shape == (1, size, size, 1)


def test_unet_is_fully_convolutional():
    model = models.unet((None, None, 1), base_filters=4, depth=3)
    for h, w in [(64, 64), (48, 80)]:
        assert model(np.zeros((1, h, w, 1), np.float32)).shape == (1, h, w, 1)


@pytest.mark.parametrize("shape", [(100, 100, 1), (64, 72, 1)])
def test_unet_refuses_sizes_not_divisible_by_two_to_the_depth(shape):
    with pytest.raises(ValueError, match="divisible by 16"):
        models.unet(shape, base_filters=4, depth=4)


def test_unet_loads_saved_weights(tmp_path):
    model = models.unet((32, 32, 1), base_filters=4, depth=2)
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    again = models.unet((32, 32, 1), base_filters=4, depth=2, weights=path)
    x = RNG.random((1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(model(x), again(x), atol=1e-6)


def test_a_few_steps_on_64px_crops_lower_the_loss():
    import keras

    keras.utils.set_random_seed(0)
    images, masks = blocky_pairs(n=4, size=128)
    stream, _ = pipelines.paired_training_batches(images, masks, crop=64, batch_size=4, seed=0)
    model = models.unet((64, 64, 1), base_filters=4, depth=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    history = model.fit(stream, steps_per_epoch=15, epochs=2, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.8


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
