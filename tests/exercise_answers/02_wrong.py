"""Plausible wrong answers to lesson 2's exercises
(notebooks/exercises/02_cifar10_augmentation_experiment/02_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

WRONG = {
    "ex1-answer": {
        "holds out the first 10%, not the last (the text says the last, as validation_split does)": '''
def split(x, y, n):
    x, y = x[:n], keras.utils.to_categorical(y[:n], 10)
    n_val = max(1, n // 10)
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])
''',
        "shuffles before splitting": '''
def split(x, y, n):
    order = np.random.default_rng(0).permutation(n)
    x, y = x[:n][order], keras.utils.to_categorical(y[:n][order], 10)
    n_val = max(1, n // 10)
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])
''',
        "n // 10 validation samples: none below 10, and x[:-0] is empty": '''
def split(x, y, n):
    x, y = x[:n], keras.utils.to_categorical(y[:n], 10)
    n_val = n // 10
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])
''',
        "keeps the class ids, not one-hot labels": '''
def split(x, y, n):
    x, y = x[:n], y[:n]
    n_val = max(1, n // 10)
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])
''',
        "splits all of x, not its first n samples": '''
def split(x, y, n):
    y = keras.utils.to_categorical(y, 10)
    n_val = max(1, n // 10)
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])
''',
    },
    "ex2-answer": {
        "one crop position and one flip for the whole batch (the mistake the text warns about)": '''
def pad_crop_flip(images, seed):
    padded = tf.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]], mode="REFLECT")
    crop_seed, flip_seed = tf.unstack(tf.random.split(seed, 2))
    size = tf.stack([tf.shape(images)[0], 32, 32, 3])
    windows = tf.image.stateless_random_crop(padded, size, seed=crop_seed)
    flip = tf.random.stateless_uniform([], flip_seed) < 0.5
    return tf.cond(flip, lambda: tf.reverse(windows, [2]), lambda: windows)
''',
        "pads with zeros (tf.pad's default), not reflected borders": '''
def pad_crop_flip(images, seed):
    padded = tf.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]])
    seeds = augment.sample_seeds(seed, tf.shape(images)[0])

    def one(pair):
        image, image_seed = pair
        crop_seed, flip_seed = tf.unstack(tf.random.split(image_seed, 2))
        window = tf.image.stateless_random_crop(image, [32, 32, 3], seed=crop_seed)
        return tf.image.stateless_random_flip_left_right(window, seed=flip_seed)

    return tf.map_fn(one, (padded, seeds), fn_output_signature=tf.uint8)
''',
        "stateful random_crop and random_flip per image: the seed is ignored": '''
def pad_crop_flip(images, seed):
    padded = tf.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]], mode="REFLECT")

    def one(image):
        return tf.image.random_flip_left_right(tf.image.random_crop(image, [32, 32, 3]))

    return tf.map_fn(one, padded, fn_output_signature=tf.uint8)
''',
        "flips upside down, not left-right": '''
def pad_crop_flip(images, seed):
    padded = tf.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]], mode="REFLECT")
    seeds = augment.sample_seeds(seed, tf.shape(images)[0])

    def one(pair):
        image, image_seed = pair
        crop_seed, flip_seed = tf.unstack(tf.random.split(image_seed, 2))
        window = tf.image.stateless_random_crop(image, [32, 32, 3], seed=crop_seed)
        return tf.image.stateless_random_flip_up_down(window, seed=flip_seed)

    return tf.map_fn(one, (padded, seeds), fn_output_signature=tf.uint8)
''',
        "a Python loop over images.shape[0]: unknown (None) inside tf.data": '''
def pad_crop_flip(images, seed):
    padded = tf.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]], mode="REFLECT")
    seeds = augment.sample_seeds(seed, images.shape[0])
    out = []
    for i in range(images.shape[0]):
        crop_seed, flip_seed = tf.unstack(tf.random.split(seeds[i], 2))
        window = tf.image.stateless_random_crop(padded[i], [32, 32, 3], seed=crop_seed)
        out.append(tf.image.stateless_random_flip_left_right(window, seed=flip_seed))
    return tf.stack(out)
''',
    },
    "ex3-answer": {
        "seeds each image by its batch, (seed, k), not its place in the stream (the text warns about it)": '''
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    steps = len(x) // batch_size
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).take(steps * batch_size).repeat()
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(
            lambda j, pair: (augment_one(pair[0], tf.stack([first, j // batch_size])), pair[1]))
    batched = pairs.batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 127.5 - 1.0, labels))
    return batched.prefetch(tf.data.AUTOTUNE), steps
''',
        "enumerates before repeat: the seeds start again at 0 every pass": '''
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    steps = len(x) // batch_size
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).take(steps * batch_size)
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(lambda j, pair: (augment_one(pair[0], tf.stack([first, j])), pair[1]))
    batched = pairs.repeat().batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 127.5 - 1.0, labels))
    return batched.prefetch(tf.data.AUTOTUNE), steps
''',
        "forgets to reshuffle: the same order every pass": '''
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    steps = len(x) // batch_size
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=False).take(steps * batch_size).repeat()
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(lambda j, pair: (augment_one(pair[0], tf.stack([first, j])), pair[1]))
    batched = pairs.batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 127.5 - 1.0, labels))
    return batched.prefetch(tf.data.AUTOTUNE), steps
''',
        "drops the remainder of the endless stream only: batches run across passes": '''
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    steps = len(x) // batch_size
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(lambda j, pair: (augment_one(pair[0], tf.stack([first, j])), pair[1]))
    batched = pairs.batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 127.5 - 1.0, labels))
    return batched.prefetch(tf.data.AUTOTUNE), steps
''',
        "take before shuffle: the same samples are dropped every pass": '''
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    steps = len(x) // batch_size
    pairs = tf.data.Dataset.from_tensor_slices((x, y)).take(steps * batch_size)
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(lambda j, pair: (augment_one(pair[0], tf.stack([first, j])), pair[1]))
    batched = pairs.batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 127.5 - 1.0, labels))
    return batched.prefetch(tf.data.AUTOTUNE), steps
''',
        "scales to [0, 1], not [-1, 1]": '''
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    steps = len(x) // batch_size
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).take(steps * batch_size).repeat()
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(lambda j, pair: (augment_one(pair[0], tf.stack([first, j])), pair[1]))
    batched = pairs.batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 255.0, labels))
    return batched.prefetch(tf.data.AUTOTUNE), steps
''',
        "counts the partial batch as a step (ceil)": '''
def prepare_per_image(x, y, *, batch_size, seed, augment_one=None):
    steps = math.ceil(len(x) / batch_size)
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    pairs = pairs.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).take(steps * batch_size).repeat()
    if augment_one is not None:
        first = tf.constant(seed, tf.int64)
        pairs = pairs.enumerate().map(lambda j, pair: (augment_one(pair[0], tf.stack([first, j])), pair[1]))
    batched = pairs.batch(batch_size, drop_remainder=True)
    batched = batched.map(lambda images, labels: (tf.cast(images, tf.float32) / 127.5 - 1.0, labels))
    return batched.prefetch(tf.data.AUTOTUNE), steps
''',
    },
    "ex4-answer": {
        "rounds the epochs down: too few steps": '''
def epochs_for(n_images, batch_size, steps):
    per_epoch = math.ceil(n_images / batch_size)
    return steps // per_epoch
''',
        "an epoch of n_images // batch_size steps: the partial batch is not counted": '''
def epochs_for(n_images, batch_size, steps):
    per_epoch = n_images // batch_size
    return math.ceil(steps / per_epoch)
''',
        "rounds to the nearest whole epoch": '''
def epochs_for(n_images, batch_size, steps):
    per_epoch = math.ceil(n_images / batch_size)
    return round(steps / per_epoch)
''',
        "np.ceil: a NumPy float, not an int": '''
def epochs_for(n_images, batch_size, steps):
    per_epoch = np.ceil(n_images / batch_size)
    return np.ceil(steps / per_epoch)
''',
    },
}
