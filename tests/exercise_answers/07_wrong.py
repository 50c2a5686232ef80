"""Plausible wrong answers to lesson 7's exercises
(notebooks/exercises/07_modern_augmentation_policies/07_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

_MIX_HEAD = '''
def mix_up(images, labels, seed, alpha=0.2):
    labels = tf.convert_to_tensor(labels)
    if labels.shape.rank != 2:
        raise ValueError(f"MixUp blends labels, so they must be one-hot (N, classes), got shape {labels.shape}: "
                         "use keras.utils.to_categorical")
    labels = tf.cast(labels, tf.float32)
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
'''

_MIX_TAIL = '''
    mixed = lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * tf.gather(images, partner)
    soft = lam[:, None] * labels + (1 - lam[:, None]) * tf.gather(labels, partner)
    return mixed, soft
'''

_BETA = '''
    a_seed, b_seed, partner_seed = tf.unstack(tf.random.split(seed, 3))
    a = tf.random.stateless_gamma([n], a_seed, alpha)
    b = tf.random.stateless_gamma([n], b_seed, alpha)
    lam = a / (a + b)
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
        "blends class ids: (N,) labels are not refused (the mistake the text warns about)": '''
def mix_up(images, labels, seed, alpha=0.2):
    labels = tf.cast(tf.convert_to_tensor(labels), tf.float32)
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
    a_seed, b_seed, partner_seed = tf.unstack(tf.random.split(seed, 3))
    a = tf.random.stateless_gamma([n], a_seed, alpha)
    b = tf.random.stateless_gamma([n], b_seed, alpha)
    lam = a / (a + b)
    partner = tf.argsort(tf.random.stateless_uniform([n], partner_seed))
    shape = tf.concat([[n], tf.ones([tf.rank(labels) - 1], tf.int32)], 0)
    mixed = lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * tf.gather(images, partner)
    soft = tf.reshape(lam, shape) * labels + (1 - tf.reshape(lam, shape)) * tf.gather(labels, partner)
    return mixed, soft
''',
        "refuses class ids, but with a message that does not say how to fix them": '''
def mix_up(images, labels, seed, alpha=0.2):
    labels = tf.convert_to_tensor(labels)
    if labels.shape.rank != 2:
        raise ValueError(f"labels must have rank 2, got shape {labels.shape}")
    labels = tf.cast(labels, tf.float32)
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
''' + _BETA + '''
    partner = tf.argsort(tf.random.stateless_uniform([n], partner_seed))
''' + _MIX_TAIL,
        "lam uniform in [0, 1], not Beta(alpha, alpha)": _MIX_HEAD + '''
    lam_seed, partner_seed = tf.unstack(tf.random.split(seed, 2))
    lam = tf.random.stateless_uniform([n], lam_seed)
    partner = tf.argsort(tf.random.stateless_uniform([n], partner_seed))
''' + _MIX_TAIL,
        "one seed for both Gamma draws: a == b, so every lam is 0.5": _MIX_HEAD + '''
    gamma_seed, partner_seed = tf.unstack(tf.random.split(seed, 2))
    a = tf.random.stateless_gamma([n], gamma_seed, alpha)
    b = tf.random.stateless_gamma([n], gamma_seed, alpha)
    lam = a / (a + b)
    partner = tf.argsort(tf.random.stateless_uniform([n], partner_seed))
''' + _MIX_TAIL,
        "one lam for the whole batch, not one per image": _MIX_HEAD + '''
    a_seed, b_seed, partner_seed = tf.unstack(tf.random.split(seed, 3))
    a = tf.random.stateless_gamma([1], a_seed, alpha)
    b = tf.random.stateless_gamma([1], b_seed, alpha)
    lam = tf.repeat(a / (a + b), n)
    partner = tf.argsort(tf.random.stateless_uniform([n], partner_seed))
''' + _MIX_TAIL,
        "a fixed partner, the batch reversed: not drawn from the seed": _MIX_HEAD + _BETA + '''
    partner = tf.range(n - 1, -1, -1)
''' + _MIX_TAIL,
        "a partner from the stateful tf.random.shuffle: the seed does not decide it": _MIX_HEAD + _BETA + '''
    partner = tf.random.shuffle(tf.range(n))
''' + _MIX_TAIL,
        "labels blended with the other image's weight": _MIX_HEAD + _BETA + '''
    partner = tf.argsort(tf.random.stateless_uniform([n], partner_seed))
    mixed = lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * tf.gather(images, partner)
    soft = (1 - lam[:, None]) * labels + lam[:, None] * tf.gather(labels, partner)
    return mixed, soft
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
