"""Plausible wrong answers to lesson 1's exercises (notebooks/exercises/01_augmentation_basics/01_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

WRONG = {
    "ex1-answer": {
        "one seed for both the crop and the flip (the mistake the text warns about)": '''
def crop_flip(image, seed, size=32):
    window = tf.image.stateless_random_crop(image, [size, size, image.shape[-1]], seed=seed)
    return tf.image.stateless_random_flip_left_right(window, seed=seed)
''',
        "seed + (0, 1) for the flip: the next image's seed in a stream (the text warns about it)": '''
def crop_flip(image, seed, size=32):
    seed = tf.convert_to_tensor(seed)
    window = tf.image.stateless_random_crop(image, [size, size, image.shape[-1]], seed=seed)
    return tf.image.stateless_random_flip_left_right(window, seed=seed + tf.constant([0, 1], seed.dtype))
''',
        "stateful tf.image.random_crop and random_flip: the seed is ignored": '''
def crop_flip(image, seed, size=32):
    window = tf.image.random_crop(image, [size, size, image.shape[-1]])
    return tf.image.random_flip_left_right(window)
''',
        "always cuts the top-left corner, only the flip is random": '''
def crop_flip(image, seed, size=32):
    crop_seed, flip_seed = tf.unstack(tf.random.split(seed, 2))
    return tf.image.stateless_random_flip_left_right(image[:size, :size], seed=flip_seed)
''',
        "mirrors every image (tf.reverse without a draw)": '''
def crop_flip(image, seed, size=32):
    crop_seed, flip_seed = tf.unstack(tf.random.split(seed, 2))
    window = tf.image.stateless_random_crop(image, [size, size, image.shape[-1]], seed=crop_seed)
    return tf.reverse(window, axis=[1])
''',
        "returns float32 pixels, not the input's dtype": '''
def crop_flip(image, seed, size=32):
    crop_seed, flip_seed = tf.unstack(tf.random.split(seed, 2))
    window = tf.image.stateless_random_crop(tf.cast(image, tf.float32), [size, size, image.shape[-1]], seed=crop_seed)
    return tf.image.stateless_random_flip_left_right(window, seed=flip_seed)
''',
        "reads the seed with .numpy(): works eagerly, fails inside tf.data": '''
def crop_flip(image, seed, size=32):
    crop_seed, flip_seed = tf.random.split(seed, 2).numpy()
    window = tf.image.stateless_random_crop(image, [size, size, image.shape[-1]], seed=crop_seed)
    return tf.image.stateless_random_flip_left_right(window, seed=flip_seed)
''',
    },
    "ex2-answer": {
        "draws uniformly from [low, high] (the mistake the text warns about)": '''
def log_uniform(n, low, high, seed):
    return tf.random.stateless_uniform([n], seed=seed, minval=low, maxval=high)


def darkening_share(exponents):
    return float(np.mean(np.asarray(exponents) > 1.0))
''',
        "log-uniform from NumPy's global generator: the seed is ignored": '''
def log_uniform(n, low, high, seed):
    return np.exp(np.random.uniform(np.log(low), np.log(high), n)).astype("float32")


def darkening_share(exponents):
    return float(np.mean(np.asarray(exponents) > 1.0))
''',
        "base-10 logarithms undone with exp: the range is wrong": '''
def log_uniform(n, low, high, seed):
    logs = tf.random.stateless_uniform([n], seed=seed, minval=np.log10(low), maxval=np.log10(high))
    return tf.exp(logs)


def darkening_share(exponents):
    return float(np.mean(np.asarray(exponents) > 1.0))
''',
        "counts a power of exactly 1 as darkening (>= 1)": '''
def log_uniform(n, low, high, seed):
    logs = tf.random.stateless_uniform([n], seed=seed, minval=np.log(low), maxval=np.log(high))
    return tf.exp(logs)


def darkening_share(exponents):
    return float(np.mean(np.asarray(exponents) >= 1.0))
''',
        "the share of exponents that brighten (< 1), not darken": '''
def log_uniform(n, low, high, seed):
    logs = tf.random.stateless_uniform([n], seed=seed, minval=np.log(low), maxval=np.log(high))
    return tf.exp(logs)


def darkening_share(exponents):
    return float(np.mean(np.asarray(exponents) < 1.0))
''',
    },
    "ex3-answer": {
        "RandomRotation(15): 15 full turns, not degrees (the mistake the text warns about)": '''
def modern_layers(seed=0):
    return keras.Sequential([
        keras.layers.RandomRotation(15, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(height_factor=0.05, width_factor=0.1, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(height_factor=0.2, width_factor=0.2, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ])
''',
        "15 degrees in radians for RandomRotation, whose unit is a full turn": '''
def modern_layers(seed=0):
    return keras.Sequential([
        keras.layers.RandomRotation(np.radians(15), fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(height_factor=0.05, width_factor=0.1, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(height_factor=0.2, width_factor=0.2, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ])
''',
        "keeps the Keras layers' fill mode 'reflect' (the text warns about it)": '''
def modern_layers(seed=0):
    return keras.Sequential([
        keras.layers.RandomRotation(15 / 360, seed=seed),
        keras.layers.RandomTranslation(height_factor=0.05, width_factor=0.1, seed=seed + 1),
        keras.layers.RandomZoom(height_factor=0.2, width_factor=0.2, seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ])
''',
        "RandomZoom(0.2) without width_factor: one zoom for both axes (the text warns about it)": '''
def modern_layers(seed=0):
    return keras.Sequential([
        keras.layers.RandomRotation(15 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(height_factor=0.05, width_factor=0.1, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(0.2, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ])
''',
        "swaps the shifts: 10% down and 5% across": '''
def modern_layers(seed=0):
    return keras.Sequential([
        keras.layers.RandomRotation(15 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(0.1, 0.05, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(height_factor=0.2, width_factor=0.2, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ])
''',
        "RandomFlip() with its default mode, which also flips upside down": '''
def modern_layers(seed=0):
    return keras.Sequential([
        keras.layers.RandomRotation(15 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(height_factor=0.05, width_factor=0.1, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(height_factor=0.2, width_factor=0.2, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomFlip(seed=seed + 3),
    ])
''',
    },
    "ex4-answer": {
        "the share of each predicted digit that is right (precision), not of each true digit": '''
def per_digit_accuracy(reader, images, labels, transform):
    changed = np.asarray(transform(images))
    predictions = reader.predict(changed.reshape(len(changed), -1))
    return np.array([np.mean(labels[predictions == digit] == digit) for digit in range(10)])


def surviving_digits(reader, images, labels, transform, threshold):
    accuracy = per_digit_accuracy(reader, images, labels, transform)
    return [digit for digit in range(10) if accuracy[digit] >= threshold]
''',
        "flattens the images before the transform, which expects (N, 8, 8)": '''
def per_digit_accuracy(reader, images, labels, transform):
    changed = np.asarray(transform(images.reshape(len(images), -1)))
    predictions = reader.predict(changed)
    return np.array([np.mean(predictions[labels == digit] == digit) for digit in range(10)])


def surviving_digits(reader, images, labels, transform, threshold):
    accuracy = per_digit_accuracy(reader, images, labels, transform)
    return [digit for digit in range(10) if accuracy[digit] >= threshold]
''',
        "one overall accuracy repeated for every digit": '''
def per_digit_accuracy(reader, images, labels, transform):
    changed = np.asarray(transform(images))
    predictions = reader.predict(changed.reshape(len(changed), -1))
    return np.full(10, np.mean(predictions == labels))


def surviving_digits(reader, images, labels, transform, threshold):
    accuracy = per_digit_accuracy(reader, images, labels, transform)
    return [digit for digit in range(10) if accuracy[digit] >= threshold]
''',
        "transforms the images but predicts the originals": '''
def per_digit_accuracy(reader, images, labels, transform):
    changed = np.asarray(transform(images))
    predictions = reader.predict(images.reshape(len(changed), -1))
    return np.array([np.mean(predictions[labels == digit] == digit) for digit in range(10)])


def surviving_digits(reader, images, labels, transform, threshold):
    accuracy = per_digit_accuracy(reader, images, labels, transform)
    return [digit for digit in range(10) if accuracy[digit] >= threshold]
''',
        "surviving_digits forgets to pass the transform on": '''
def per_digit_accuracy(reader, images, labels, transform):
    changed = np.asarray(transform(images))
    predictions = reader.predict(changed.reshape(len(changed), -1))
    return np.array([np.mean(predictions[labels == digit] == digit) for digit in range(10)])


def surviving_digits(reader, images, labels, transform, threshold):
    accuracy = per_digit_accuracy(reader, images, labels, lambda images: images)
    return [digit for digit in range(10) if accuracy[digit] >= threshold]
''',
    },
}
