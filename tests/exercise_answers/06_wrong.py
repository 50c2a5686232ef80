"""Plausible wrong answers to lesson 6's exercises (notebooks/exercises/06_fast_input_pipelines/06_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

WRONG = {
    "ex1-answer": {
        "deterministic=False: the order may change from run to run (the mistake the text warns about)": '''
def fast_pipeline(x, batch_size, seed):
    base = tf.constant([seed, 0], tf.int64)

    def noisy(i, image):
        element_seed = tf.random.experimental.stateless_fold_in(base, i)
        return image + 0.1 * tf.random.stateless_normal(tf.shape(image), element_seed)

    ds = tf.data.Dataset.from_tensor_slices(x).enumerate()
    ds = ds.map(noisy, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
''',
        "stateful tf.random.normal: the seed is ignored and runs differ": '''
def fast_pipeline(x, batch_size, seed):
    ds = tf.data.Dataset.from_tensor_slices(x).enumerate()
    ds = ds.map(lambda i, image: image + tf.random.normal(tf.shape(image), stddev=0.1),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
''',
        "one seed for every element: every image gets the same noise": '''
def fast_pipeline(x, batch_size, seed):
    base = tf.constant([seed, 0], tf.int64)
    ds = tf.data.Dataset.from_tensor_slices(x).enumerate()
    ds = ds.map(lambda i, image: image + 0.1 * tf.random.stateless_normal(tf.shape(image), base),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
''',
        "noise of standard deviation 1: the 0.1 is forgotten": '''
def fast_pipeline(x, batch_size, seed):
    base = tf.constant(seed, tf.int64)
    ds = tf.data.Dataset.from_tensor_slices(x).enumerate()
    ds = ds.map(lambda i, image: image + tf.random.stateless_normal(tf.shape(image), tf.stack([base, i])),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
''',
        "no prefetch": '''
def fast_pipeline(x, batch_size, seed):
    base = tf.constant(seed, tf.int64)
    ds = tf.data.Dataset.from_tensor_slices(x).enumerate()
    ds = ds.map(lambda i, image: image + 0.1 * tf.random.stateless_normal(tf.shape(image), tf.stack([base, i])),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size)
''',
        "a plain map: no num_parallel_calls": '''
def fast_pipeline(x, batch_size, seed):
    base = tf.constant(seed, tf.int64)
    ds = tf.data.Dataset.from_tensor_slices(x).enumerate()
    ds = ds.map(lambda i, image: image + 0.1 * tf.random.stateless_normal(tf.shape(image), tf.stack([base, i])))
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
''',
    },
    "ex2-answer": {
        "cache after the random map: every epoch replays epoch 1's draws (the mistake the text warns about)": '''
def cached_epochs(files, decode, augment, seed):
    base = tf.constant(seed, tf.int64)
    ds = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).enumerate()
    ds = ds.map(lambda k, image: augment(image, tf.stack([base, k])), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.cache().repeat()
''',
        "no cache: every file is decoded again every epoch": '''
def cached_epochs(files, decode, augment, seed):
    base = tf.constant(seed, tf.int64)
    ds = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).repeat()
    return ds.enumerate().map(lambda k, image: augment(image, tf.stack([base, k])),
                              num_parallel_calls=tf.data.AUTOTUNE)
''',
        "enumerate before repeat: k starts again at 0, so every epoch draws the same": '''
def cached_epochs(files, decode, augment, seed):
    base = tf.constant(seed, tf.int64)
    ds = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).cache().enumerate()
    ds = ds.map(lambda k, image: augment(image, tf.stack([base, k])), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.repeat()
''',
        "cache after repeat: an endless cache that decodes every element again": '''
def cached_epochs(files, decode, augment, seed):
    base = tf.constant(seed, tf.int64)
    ds = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).repeat().cache()
    return ds.enumerate().map(lambda k, image: augment(image, tf.stack([base, k])),
                              num_parallel_calls=tf.data.AUTOTUNE)
''',
        "seeds the augmentation with the file id: the same draws every epoch": '''
def cached_epochs(files, decode, augment, seed):
    base = tf.constant(seed, tf.int64)
    ds = files.map(lambda f: (f, decode(f)), num_parallel_calls=tf.data.AUTOTUNE).cache().repeat()
    return ds.map(lambda f, image: augment(image, tf.stack([base, f])), num_parallel_calls=tf.data.AUTOTUNE)
''',
    },
    "ex3-answer": {
        "times the first batch too (the mistake the text warns about)": '''
def images_per_second(ds, batches):
    iterator = iter(ds)
    images, start = 0, time.perf_counter()
    for _ in range(batches):
        images += int(tf.shape(next(iterator))[0])
    return images / (time.perf_counter() - start)
''',
        "counts batches, not images (the text warns about it)": '''
def images_per_second(ds, batches):
    iterator = iter(ds)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches / (time.perf_counter() - start)
''',
        "counts the warm-up batch's images without timing it": '''
def images_per_second(ds, batches):
    iterator = iter(ds)
    images = int(tf.shape(next(iterator))[0])
    start = time.perf_counter()
    for _ in range(batches):
        images += int(tf.shape(next(iterator))[0])
    return images / (time.perf_counter() - start)
''',
        "warms up one iterator, then times a new one that starts cold": '''
def images_per_second(ds, batches):
    next(iter(ds))
    images, start = 0, time.perf_counter()
    for batch in ds.take(batches):
        images += int(tf.shape(batch)[0])
    return images / (time.perf_counter() - start)
''',
        "returns whole images per second, an int": '''
def images_per_second(ds, batches):
    iterator = iter(ds)
    next(iterator)
    images, start = 0, time.perf_counter()
    for _ in range(batches):
        images += int(tf.shape(next(iterator))[0])
    return int(images / (time.perf_counter() - start))
''',
    },
}
