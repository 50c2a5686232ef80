"""Plausible wrong answers to lesson 3's exercises (notebooks/exercises/03_flowers_fit_generator/03_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

_STEPS = '''
def balanced_steps(y, batch_size):
    classes, counts = np.unique(y, return_counts=True)
    if batch_size % len(classes):
        raise ValueError(f"batch_size {batch_size} is not a multiple of the {len(classes)} classes")
    return int(counts.min() // (batch_size // len(classes)))
'''

_CLASS = '''
class FlowerFiles(keras.utils.PyDataset):
    def __init__(self, paths, labels, batch_size, *, read, seed=0, **kwargs):
        super().__init__(**kwargs)
'''

WRONG = {
    "ex1-answer": {
        "writes the augmented batch back into the caller's array, as the post did (the text warns about it)": _STEPS + '''

def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    rng = np.random.default_rng(seed)
    k = 0
    for _ in range(epochs):
        shuffled = [rng.permutation(group) for group in groups]
        for j in range(steps):
            idx = np.concatenate([order[j * share:(j + 1) * share] for order in shuffled])
            if augment is not None:
                x[idx] = augment(x[idx], (seed, k))
            k += 1
            yield x[idx], y[idx]
''',
        "draws the class orders once: the same subset of the large classes every epoch": _STEPS + '''

def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    rng = np.random.default_rng(seed)
    shuffled = [rng.permutation(group) for group in groups]
    k = 0
    for _ in range(epochs):
        for j in range(steps):
            idx = np.concatenate([order[j * share:(j + 1) * share] for order in shuffled])
            chosen = x[idx]
            if augment is not None:
                chosen = augment(chosen, (seed, k))
            k += 1
            yield chosen, y[idx]
''',
        "a new generator from the seed every epoch: every epoch draws the same orders": _STEPS + '''

def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    k = 0
    for _ in range(epochs):
        rng = np.random.default_rng(seed)
        shuffled = [rng.permutation(group) for group in groups]
        for j in range(steps):
            idx = np.concatenate([order[j * share:(j + 1) * share] for order in shuffled])
            chosen = x[idx]
            if augment is not None:
                chosen = augment(chosen, (seed, k))
            k += 1
            yield chosen, y[idx]
''',
        "never stops: loops forever like the lesson's endless generator (the text asks for an end)": _STEPS + '''

def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    rng = np.random.default_rng(seed)
    k = 0
    while True:
        shuffled = [rng.permutation(group) for group in groups]
        for j in range(steps):
            idx = np.concatenate([order[j * share:(j + 1) * share] for order in shuffled])
            chosen = x[idx]
            if augment is not None:
                chosen = augment(chosen, (seed, k))
            k += 1
            yield chosen, y[idx]
''',
        "seeds batch j of each epoch with (seed, j): the same draws every epoch": _STEPS + '''

def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        shuffled = [rng.permutation(group) for group in groups]
        for j in range(steps):
            idx = np.concatenate([order[j * share:(j + 1) * share] for order in shuffled])
            chosen = x[idx]
            if augment is not None:
                chosen = augment(chosen, (seed, j))
            yield chosen, y[idx]
''',
        "an epoch of len(y) // batch_size batches: the rare class runs out and repeats": '''
def balanced_steps(y, batch_size):
    classes = np.unique(y)
    if batch_size % len(classes):
        raise ValueError(f"batch_size {batch_size} is not a multiple of the {len(classes)} classes")
    return len(y) // batch_size


def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    rng = np.random.default_rng(seed)
    k = 0
    for _ in range(epochs):
        shuffled = [rng.permutation(group) for group in groups]
        for j in range(steps):
            idx = np.concatenate([np.resize(order, (j + 1) * share)[j * share:] for order in shuffled])
            chosen = x[idx]
            if augment is not None:
                chosen = augment(chosen, (seed, k))
            k += 1
            yield chosen, y[idx]
''',
        "rounds the per-class share down instead of refusing a batch_size that is no multiple of K": '''
def balanced_steps(y, batch_size):
    classes, counts = np.unique(y, return_counts=True)
    return int(counts.min() // (batch_size // len(classes)))


def balanced_batches(x, y, batch_size, *, epochs, seed=0, augment=None):
    steps = balanced_steps(y, batch_size)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    share = batch_size // len(groups)
    rng = np.random.default_rng(seed)
    k = 0
    for _ in range(epochs):
        shuffled = [rng.permutation(group) for group in groups]
        for j in range(steps):
            idx = np.concatenate([order[j * share:(j + 1) * share] for order in shuffled])
            chosen = x[idx]
            if augment is not None:
                chosen = augment(chosen, (seed, k))
            k += 1
            yield chosen, y[idx]
''',
    },
    "ex2-answer": {
        "the epoch follows a counter of batches made, not on_epoch_end (the mistake the text warns about)": _CLASS + '''
        self.paths, self.labels = np.asarray(paths), np.asarray(labels)
        self.batch_size, self.read, self.seed = batch_size, read, seed
        self.made = 0

    def __len__(self):
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, i):
        epoch = self.made // len(self)
        self.made += 1
        order = np.random.default_rng((self.seed, epoch)).permutation(len(self.paths))
        picked = order[i * self.batch_size:(i + 1) * self.batch_size]
        return np.stack([self.read(path) for path in self.paths[picked]]), self.labels[picked]

    def on_epoch_end(self):
        pass
''',
        "reads every file in __init__, not lazily": _CLASS + '''
        self.images = np.stack([read(path) for path in paths])
        self.labels = np.asarray(labels)
        self.batch_size, self.seed = batch_size, seed
        self.epoch = 0

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, i):
        order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.images))
        picked = order[i * self.batch_size:(i + 1) * self.batch_size]
        return self.images[picked], self.labels[picked]

    def on_epoch_end(self):
        self.epoch += 1
''',
        "reads the whole epoch's files for every batch, then slices": _CLASS + '''
        self.paths, self.labels = np.asarray(paths), np.asarray(labels)
        self.batch_size, self.read, self.seed = batch_size, read, seed
        self.epoch = 0

    def __len__(self):
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, i):
        order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.paths))
        images = np.stack([self.read(path) for path in self.paths[order]])
        batch = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return images[batch], self.labels[order][batch]

    def on_epoch_end(self):
        self.epoch += 1
''',
        "drops the last partial batch (len = files // batch_size)": _CLASS + '''
        self.paths, self.labels = np.asarray(paths), np.asarray(labels)
        self.batch_size, self.read, self.seed = batch_size, read, seed
        self.epoch = 0

    def __len__(self):
        return len(self.paths) // self.batch_size

    def __getitem__(self, i):
        order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.paths))
        picked = order[i * self.batch_size:(i + 1) * self.batch_size]
        return np.stack([self.read(path) for path in self.paths[picked]]), self.labels[picked]

    def on_epoch_end(self):
        self.epoch += 1
''',
        "one generator for the run, drawn on in on_epoch_end: epoch e's order is not from (seed, e)": _CLASS + '''
        self.paths, self.labels = np.asarray(paths), np.asarray(labels)
        self.batch_size, self.read = batch_size, read
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.paths))

    def __len__(self):
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, i):
        picked = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        return np.stack([self.read(path) for path in self.paths[picked]]), self.labels[picked]

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.paths))
''',
        "a new order whenever batch 0 is asked for, so the order depends on who asks first": _CLASS + '''
        self.paths, self.labels = np.asarray(paths), np.asarray(labels)
        self.batch_size, self.read, self.seed = batch_size, read, seed
        self.epoch = 0
        self.order = np.random.default_rng((seed, 0)).permutation(len(self.paths))

    def __len__(self):
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, i):
        if i == 0:
            self.order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.paths))
            self.epoch += 1
        picked = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        return np.stack([self.read(path) for path in self.paths[picked]]), self.labels[picked]

    def on_epoch_end(self):
        pass
''',
    },
    "ex3-answer": {
        "repeat before batch: batches run across epochs (the mistake the text warns about)": '''
def file_stream(paths, labels, *, size, batch_size, seed=0):
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda path, label: (decode(path, (size, size)), label), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.repeat().batch(batch_size).prefetch(tf.data.AUTOTUNE)
''',
        "shuffles once: reshuffle_each_iteration=False gives every epoch the same order (the text warns about it)": '''
def file_stream(paths, labels, *, size, batch_size, seed=0):
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=False)
    ds = ds.map(lambda path, label: (decode(path, (size, size)), label), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
''',
        "shuffles without the seed: another order on every run": '''
def file_stream(paths, labels, *, size, batch_size, seed=0):
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.shuffle(len(paths), reshuffle_each_iteration=True)
    ds = ds.map(lambda path, label: (decode(path, (size, size)), label), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
''',
        "scales the images to float32 in [0, 1]": '''
def file_stream(paths, labels, *, size, batch_size, seed=0):
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda path, label: (tf.cast(decode(path, (size, size)), tf.float32) / 255.0, label),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
''',
        "shuffles the batches, not the files: every epoch holds the same batches": '''
def file_stream(paths, labels, *, size, batch_size, seed=0):
    ds = tf.data.Dataset.from_tensor_slices((list(paths), labels))
    ds = ds.map(lambda path, label: (decode(path, (size, size)), label), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size).shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    return ds.repeat().prefetch(tf.data.AUTOTUNE)
''',
    },
}
