"""Plausible wrong answers to lesson 4's exercises
(notebooks/exercises/04_hotdog_resnet50_finetuning/04_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

_TO_RGB = '''

def to_rgb(x):
    bgr = np.asarray(x, dtype="float32") + np.array([103.939, 116.779, 123.68], dtype="float32")
    return np.round(np.clip(bgr[..., ::-1], 0, 255)).astype("uint8")
'''

_PREPROCESS = '''
def preprocess(images):
    return preprocess_input(np.array(images, dtype="float32", copy=True))

'''

_BLOCK_OF = '''
def unfreeze_last_blocks(backbone, n):
    def block_of(layer):
        found = re.match(r"conv\\d+_block\\d+", layer.name)
        return found.group(0) if found else None

    blocks = list(dict.fromkeys(block_of(layer) for layer in backbone.layers if block_of(layer)))
'''

_FEATURES = '''
def cached_features(backbone, images, batch_size=32):
    return backbone.predict(images, batch_size=batch_size, verbose=0)

'''

WRONG = {
    "ex1-answer": {
        "preprocess_input on the caller's array, which it writes into (the mistake the text warns about)": '''
def preprocess(images):
    return preprocess_input(images)
''' + _TO_RGB,
        "np.asarray(images, 'float32'): no copy of a float32 array, so preprocess_input still writes into it": '''
def preprocess(images):
    return preprocess_input(np.asarray(images, dtype="float32"))
''' + _TO_RGB,
        "rescales to [0, 1] as the post did (the text warns about it)": '''
def preprocess(images):
    return np.array(images, dtype="float32") / 255.0
''' + _TO_RGB,
        "subtracts the means from RGB pixels: no swap to BGR": '''
def preprocess(images):
    return np.array(images, dtype="float32") - np.array([103.939, 116.779, 123.68], dtype="float32")
''' + _TO_RGB,
        "to_rgb adds the means back but keeps the BGR order": _PREPROCESS + '''
def to_rgb(x):
    bgr = np.asarray(x, dtype="float32") + np.array([103.939, 116.779, 123.68], dtype="float32")
    return np.round(np.clip(bgr, 0, 255)).astype("uint8")
''',
        "to_rgb adds each mean to the wrong channel (RGB means on BGR pixels)": _PREPROCESS + '''
def to_rgb(x):
    bgr = np.asarray(x, dtype="float32") + np.array([123.68, 116.779, 103.939], dtype="float32")
    return np.round(np.clip(bgr[..., ::-1], 0, 255)).astype("uint8")
''',
        "to_rgb without clipping: 500 wraps around in uint8": _PREPROCESS + '''
def to_rgb(x):
    bgr = np.asarray(x, dtype="float32") + np.array([103.939, 116.779, 123.68], dtype="float32")
    return np.round(bgr[..., ::-1]).astype("int64").astype("uint8")
''',
    },
    "ex2-answer": {
        "unfreezes the BatchNorm layers of the chosen blocks too (the mistake the text warns about)": _BLOCK_OF + '''
    chosen = set(blocks[len(blocks) - n:]) if n > 0 else set()
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = block_of(layer) in chosen
    return int(sum(np.prod(w.shape) for w in backbone.trainable_weights))
''',
        "never sets backbone.trainable = True: a frozen model reports no trainable weights": _BLOCK_OF + '''
    chosen = set(blocks[len(blocks) - n:]) if n > 0 else set()
    for layer in backbone.layers:
        layer.trainable = block_of(layer) in chosen and not isinstance(layer, keras.layers.BatchNormalization)
    return int(sum(np.prod(w.shape) for w in backbone.trainable_weights))
''',
        "counts weight tensors, not parameters": _BLOCK_OF + '''
    chosen = set(blocks[len(blocks) - n:]) if n > 0 else set()
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = block_of(layer) in chosen and not isinstance(layer, keras.layers.BatchNormalization)
    return len(backbone.trainable_weights)
''',
        "blocks[-n:]: with n = 0 that is every block": _BLOCK_OF + '''
    chosen = set(blocks[-n:])
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = block_of(layer) in chosen and not isinstance(layer, keras.layers.BatchNormalization)
    return int(sum(np.prod(w.shape) for w in backbone.trainable_weights))
''',
        "only turns the chosen layers on: layers unfrozen by an earlier call stay trainable": _BLOCK_OF + '''
    chosen = set(blocks[len(blocks) - n:]) if n > 0 else set()
    if not backbone.trainable:
        backbone.trainable = True
        for layer in backbone.layers:
            layer.trainable = False
    for layer in backbone.layers:
        if block_of(layer) in chosen and not isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = True
    return int(sum(np.prod(w.shape) for w in backbone.trainable_weights))
''',
        "unfreezes the last n layers of backbone.layers, not the last n blocks": '''
def unfreeze_last_blocks(backbone, n):
    backbone.trainable = True
    chosen = backbone.layers[len(backbone.layers) - n:] if n > 0 else []
    for layer in backbone.layers:
        layer.trainable = layer in chosen and not isinstance(layer, keras.layers.BatchNormalization)
    return int(sum(np.prod(w.shape) for w in backbone.trainable_weights))
''',
    },
    "ex3-answer": {
        "Flatten instead of global average pooling: a head far larger than the features": '''
def transfer_classifier(backbone, num_classes=2):
    backbone.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    flat = keras.layers.Flatten()(backbone(inputs, training=False))
    dropped = keras.layers.Dropout(0.2)(flat)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(dropped))
''',
        "forgets to freeze the backbone: the whole network trains": '''
def transfer_classifier(backbone, num_classes=2):
    inputs = keras.Input(backbone.input_shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs, training=False))
    dropped = keras.layers.Dropout(0.2)(pooled)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(dropped))
''',
        "the softmax layer at every position, its probabilities pooled afterwards": '''
def transfer_classifier(backbone, num_classes=2):
    backbone.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    per_position = keras.layers.Dense(num_classes, activation="softmax", name="head")(backbone(inputs, training=False))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(keras.layers.Dropout(0.2)(per_position)))
''',
        "a linear head: no softmax": '''
def transfer_classifier(backbone, num_classes=2):
    backbone.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs, training=False))
    dropped = keras.layers.Dropout(0.2)(pooled)
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="head")(dropped))
''',
        "leaves out the Dropout(0.2) the text asks for": '''
def transfer_classifier(backbone, num_classes=2):
    backbone.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs, training=False))
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(pooled))
''',
    },
    "ex4-answer": {
        "caches pooled features, then pools them again in the head": '''
def cached_features(backbone, images, batch_size=32):
    return backbone.predict(images, batch_size=batch_size, verbose=0).mean(axis=(1, 2))


def head_on_features(feature_shape, num_classes=2):
    inputs = keras.Input(feature_shape)
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(pooled))
''',
        "returns a list of per-batch outputs, never joined into one array": '''
def cached_features(backbone, images, batch_size=32):
    return [backbone.predict(images[i:i + batch_size], verbose=0) for i in range(0, len(images), batch_size)]


def head_on_features(feature_shape, num_classes=2):
    inputs = keras.Input(feature_shape)
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(pooled))
''',
        "Flatten in the feature head instead of global average pooling": _FEATURES + '''
def head_on_features(feature_shape, num_classes=2):
    inputs = keras.Input(feature_shape)
    flat = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="head")(flat))
''',
        "the feature head without softmax": _FEATURES + '''
def head_on_features(feature_shape, num_classes=2):
    inputs = keras.Input(feature_shape)
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="head")(pooled))
''',
    },
}
