"""Plausible wrong answers to lesson 7's exercises
(notebooks/exercises/07_modern_augmentation_policies/07_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

_SPARSE_HEAD = '''
def mixup_sparse_loss(ids, partner, lam, probs):
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"mixup_sparse_loss takes class ids, one per image, got shape {ids.shape}")
    partner = np.asarray(partner)
    lam = np.asarray(lam, dtype="float32")
'''

_CUT_HEAD = '''
def cut_mix(images, labels, box):
    images = np.asarray(images)
    labels = np.asarray(labels, dtype="float32")
    height, width = images.shape[1], images.shape[2]
    top, left, box_height, box_width = box
'''

_CLIP = '''
    y0, y1 = min(max(top, 0), height), min(max(top + box_height, 0), height)
    x0, x1 = min(max(left, 0), width), min(max(left + box_width, 0), width)
'''

WRONG = {
    "ex1-answer": {
        "mixes the class ids themselves, then one sparse loss (a 50/50 blend of 2 and 8 is not class 5)": _SPARSE_HEAD + '''
    mixed_ids = np.round(lam * ids + (1 - lam) * ids[partner]).astype(int)
    return tf.cast(keras.losses.sparse_categorical_crossentropy(mixed_ids, probs), tf.float32)
''',
        "swaps the weights: 1 - lam on the image's own class": _SPARSE_HEAD + '''
    own = keras.losses.sparse_categorical_crossentropy(ids, probs)
    other = keras.losses.sparse_categorical_crossentropy(ids[partner], probs)
    return tf.cast((1 - lam) * own + lam * other, tf.float32)
''',
        "the log of the mixed probabilities, not the mixture of the two losses": _SPARSE_HEAD + '''
    p = np.asarray(probs)
    rows = np.arange(len(ids))
    return tf.constant(-np.log(lam * p[rows, ids] + (1 - lam) * p[rows, ids[partner]]), tf.float32)
''',
        "the partner's loss on the partner's predictions, not on this image's": _SPARSE_HEAD + '''
    own = keras.losses.sparse_categorical_crossentropy(ids, probs)
    other = keras.losses.sparse_categorical_crossentropy(ids[partner], np.asarray(probs)[partner])
    return tf.cast(lam * own + (1 - lam) * other, tf.float32)
''',
        "partner read as a class id, not as an image index": _SPARSE_HEAD + '''
    own = keras.losses.sparse_categorical_crossentropy(ids, probs)
    other = keras.losses.sparse_categorical_crossentropy(np.asarray(partner) % np.asarray(probs).shape[1], probs)
    return tf.cast(lam * own + (1 - lam) * other, tf.float32)
''',
        "the batch's mean loss, not one loss per image": _SPARSE_HEAD + '''
    own = keras.losses.sparse_categorical_crossentropy(ids, probs)
    other = keras.losses.sparse_categorical_crossentropy(ids[partner], probs)
    return tf.reduce_mean(tf.cast(lam * own + (1 - lam) * other, tf.float32))
''',
        "accepts one-hot labels: argmax'es them silently": '''
def mixup_sparse_loss(ids, partner, lam, probs):
    ids = np.asarray(ids)
    if ids.ndim == 2:
        ids = ids.argmax(axis=1)
    partner = np.asarray(partner)
    lam = np.asarray(lam, dtype="float32")
    own = keras.losses.sparse_categorical_crossentropy(ids, probs)
    other = keras.losses.sparse_categorical_crossentropy(ids[partner], probs)
    return tf.cast(lam * own + (1 - lam) * other, tf.float32)
''',
        "refuses one-hot labels, but without saying the loss takes class ids": '''
def mixup_sparse_loss(ids, partner, lam, probs):
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"bad shape {ids.shape}")
    partner = np.asarray(partner)
    lam = np.asarray(lam, dtype="float32")
    own = keras.losses.sparse_categorical_crossentropy(ids, probs)
    other = keras.losses.sparse_categorical_crossentropy(ids[partner], probs)
    return tf.cast(lam * own + (1 - lam) * other, tf.float32)
''',
        "sorts the ids in place to look up the partners (the caller's ids change)": '''
def mixup_sparse_loss(ids, partner, lam, probs):
    if np.ndim(ids) != 1:
        raise ValueError("this loss takes class ids, one per image")
    original = np.array(ids)
    ids.sort()
    lam = np.asarray(lam, dtype="float32")
    own = keras.losses.sparse_categorical_crossentropy(original, probs)
    other = keras.losses.sparse_categorical_crossentropy(original[np.asarray(partner)], probs)
    return tf.cast(lam * own + (1 - lam) * other, tf.float32)
''',
    },
    "ex2-answer": {
        "averages over up-down mirrors (axis 1)": '''
def predict_flip_tta(model, images):
    return (model.predict(images, verbose=0) + model.predict(images[:, ::-1], verbose=0)) / 2.0
''',
        "mirrors the channels (the last axis), not the width": '''
def predict_flip_tta(model, images):
    return (model.predict(images, verbose=0) + model.predict(images[..., ::-1], verbose=0)) / 2.0
''',
        "returns the mirrored prediction alone": '''
def predict_flip_tta(model, images):
    return model.predict(images[:, :, ::-1], verbose=0)
''',
        "as_is + mirrored / 2: operator precedence": '''
def predict_flip_tta(model, images):
    as_is = model.predict(images, verbose=0)
    mirrored = model.predict(images[:, :, ::-1], verbose=0)
    return as_is + mirrored / 2.0
''',
    },
    "ex3-answer": {
        "the label weighs the partner by the unclipped box's area (the mistake the text warns about)": _CUT_HEAD + _CLIP + '''
    mixed = images.copy()
    mixed[:, y0:y1, x0:x1] = images[::-1, y0:y1, x0:x1]
    share = box_height * box_width / (height * width)
    return mixed, (1 - share) * labels + share * labels[::-1]
''',
        "pastes into the caller's array (no copy)": _CUT_HEAD + _CLIP + '''
    partner = images[::-1].copy()
    images[:, y0:y1, x0:x1] = partner[:, y0:y1, x0:x1]
    share = (y1 - y0) * (x1 - x0) / (height * width)
    return images, (1 - share) * labels + share * labels[::-1]
''',
        "clips the start of the box at 0 but not its end: the area counts rows past the border": _CUT_HEAD + '''
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = top + box_height, left + box_width
    mixed = images.copy()
    mixed[:, y0:y1, x0:x1] = images[::-1, y0:y1, x0:x1]
    share = (y1 - y0) * (x1 - x0) / (height * width)
    return mixed, (1 - share) * labels + share * labels[::-1]
''',
        "the label weighs the image itself by the pasted share": _CUT_HEAD + _CLIP + '''
    mixed = images.copy()
    mixed[:, y0:y1, x0:x1] = images[::-1, y0:y1, x0:x1]
    share = (y1 - y0) * (x1 - x0) / (height * width)
    return mixed, share * labels + (1 - share) * labels[::-1]
''',
        "partner i + 1 (the batch rolled), not N - 1 - i": _CUT_HEAD + _CLIP + '''
    mixed = images.copy()
    partner = np.roll(np.arange(len(images)), -1)
    mixed[:, y0:y1, x0:x1] = images[partner, y0:y1, x0:x1]
    share = (y1 - y0) * (x1 - x0) / (height * width)
    return mixed, (1 - share) * labels + share * labels[partner]
''',
        "reads the box as (left, top, width, height)": '''
def cut_mix(images, labels, box):
    images = np.asarray(images)
    labels = np.asarray(labels, dtype="float32")
    height, width = images.shape[1], images.shape[2]
    left, top, box_width, box_height = box
''' + _CLIP + '''
    mixed = images.copy()
    mixed[:, y0:y1, x0:x1] = images[::-1, y0:y1, x0:x1]
    share = (y1 - y0) * (x1 - x0) / (height * width)
    return mixed, (1 - share) * labels + share * labels[::-1]
''',
    },
}
