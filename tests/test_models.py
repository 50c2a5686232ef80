import keras

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
