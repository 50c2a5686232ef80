"""Plausible wrong answers to lesson 8's exercises (notebooks/exercises/08_scaling_past_one_machine/08_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""


def _schedule(call: str) -> str:
    """A warmup_schedule cell whose LearningRateSchedule.__call__(self, step) has the body ``call``."""
    return f'''
def warmup_schedule(base_lr, base_batch, global_batch, warmup_steps):
    target = base_lr * global_batch / base_batch

    class Warmup(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
{call}
        def get_config(self):
            return dict(base_lr=base_lr, base_batch=base_batch, global_batch=global_batch, warmup_steps=warmup_steps)

    return Warmup()
'''


WRONG = {
    "ex1-answer": {
        "no warm-up: the scaled rate from the first step (the mistake the text warns about)": _schedule('''
            return keras.ops.convert_to_tensor(target, "float32")
'''),
        "Python's min on the step tensor (the text warns about it)": _schedule('''
            if warmup_steps == 0:
                return keras.ops.convert_to_tensor(target, "float32")
            return base_lr + (target - base_lr) * min(keras.ops.cast(step, "float32") / warmup_steps, 1.0)
'''),
        "scales the rate by base_batch / global_batch, the wrong way round": '''
def warmup_schedule(base_lr, base_batch, global_batch, warmup_steps):
    target = base_lr * base_batch / global_batch

    class Warmup(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            if warmup_steps == 0:
                return keras.ops.convert_to_tensor(target, "float32")
            done = keras.ops.minimum(keras.ops.cast(step, "float32") / warmup_steps, 1.0)
            return base_lr + (target - base_lr) * done

        def get_config(self):
            return dict(base_lr=base_lr, base_batch=base_batch, global_batch=global_batch, warmup_steps=warmup_steps)

    return Warmup()
''',
        "warms up from 0, not from the single-device rate": _schedule('''
            if warmup_steps == 0:
                return keras.ops.convert_to_tensor(target, "float32")
            return target * keras.ops.minimum(keras.ops.cast(step, "float32") / warmup_steps, 1.0)
'''),
        "counts steps from 1: step s gets the rate of step s + 1": _schedule('''
            if warmup_steps == 0:
                return keras.ops.convert_to_tensor(target, "float32")
            done = keras.ops.minimum((keras.ops.cast(step, "float32") + 1) / warmup_steps, 1.0)
            return base_lr + (target - base_lr) * done
'''),
        "integer division of the step: the rate jumps at the end of the warm-up": _schedule('''
            if warmup_steps == 0:
                return keras.ops.convert_to_tensor(target, "float32")
            done = keras.ops.cast(keras.ops.minimum(step // warmup_steps, 1), "float32")
            return base_lr + (target - base_lr) * done
'''),
        "no case for warmup_steps = 0: 0 / 0 at step 0": _schedule('''
            done = keras.ops.minimum(keras.ops.cast(step, "float32") / warmup_steps, 1.0)
            return base_lr + (target - base_lr) * done
'''),
        "a plain function of the step, not a LearningRateSchedule": '''
def warmup_schedule(base_lr, base_batch, global_batch, warmup_steps):
    target = base_lr * global_batch / base_batch

    def rate(step):
        if warmup_steps == 0:
            return keras.ops.convert_to_tensor(target, "float32")
        done = keras.ops.minimum(keras.ops.cast(step, "float32") / warmup_steps, 1.0)
        return base_lr + (target - base_lr) * done

    return rate
''',
    },
    "ex2-answer": {
        "enumerate after the split: each worker counts its own samples (the mistake the text warns about)": '''
def worker_samples(n, workers, index, seed):
    base = tf.constant(seed, tf.int64)
    share = tf.data.Dataset.range(n).shard(workers, index)
    return share.enumerate().map(lambda k, i: (i, tf.stack([base, k])))
''',
        "the worker's index in the seed: (index, sample id)": '''
def worker_samples(n, workers, index, seed):
    return tf.data.Dataset.range(n).shard(workers, index).map(
        lambda i: (i, tf.stack([tf.constant(index, tf.int64), i])))
''',
        "ignores seed: every run draws with (0, sample id)": '''
def worker_samples(n, workers, index, seed):
    return tf.data.Dataset.range(n).shard(workers, index).map(lambda i: (i, tf.stack([tf.constant(0, tf.int64), i])))
''',
        "equal blocks of n // workers samples: the remainder is lost": '''
def worker_samples(n, workers, index, seed):
    size = n // workers
    base = tf.constant(seed, tf.int64)
    return tf.data.Dataset.range(index * size, (index + 1) * size).map(lambda i: (i, tf.stack([base, i])))
''',
        "shard(index, workers): the arguments swapped": '''
def worker_samples(n, workers, index, seed):
    base = tf.constant(seed, tf.int64)
    return tf.data.Dataset.range(n).shard(index, workers).map(lambda i: (i, tf.stack([base, i])))
''',
    },
}
