# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lesson 8 · exercises: scaling past one machine
#
# **Read first:** `08_scaling_past_one_machine.ipynb`, which trains under `MirroredStrategy` and `MultiWorkerMirroredStrategy`, scales the learning rate with the global batch, shards the input between workers and runs the input pipeline on a tf.data service. These exercises practise it: a learning rate that is scaled with the global batch and reached after a warm-up, and per-worker shards whose augmentation does not depend on the number of workers.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Then run the test cells below it: a test that passes prints `ok`,
# one that fails says what is wrong. The tests check what your code *does* (shapes, ranges, seeds,
# alignment, numbers), so any correct solution passes. The grader counts a test cell that writes to
# stderr (an exception, but also a warning) as failed: make sure your code runs without warnings.
# Questions are answered in words, in the cell that says "YOUR ANSWER HERE", and graded by your
# teacher. Each exercise says whether it is meant for **class** (shorter, done together) or
# **homework**. Run the cells in order, from the top.
#
# **Runtime.** About 12 s in quick mode (`COURSE_QUICK=1`) on a 2-core CPU, most of it TensorFlow's start-up.
# Nothing here depends on the mode: small arrays, no data set and no training, so full mode takes the same time.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's C++ log goes to stderr, which the grader counts as a failed test

import keras
import numpy as np
import tensorflow as tf

from helpers import config

print(config.banner("Lesson 8 · exercises"))


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 1 (class): a scaled learning rate, reached after a warm-up
#
# **Why it matters.** With k replicas, the global batch is k times the per-replica batch, and the linear rule
# scales the learning rate by the same factor. Jumping to that rate at the first step, while the weights are still
# random, can make the first updates diverge; a **warm-up** starts from the single-device rate and raises it
# linearly over the first steps (Goyal et al., 2017). The lesson scaled the rate once, with no warm-up.
#
# **What to write.** `warmup_schedule(base_lr, base_batch, global_batch, warmup_steps)`: a
# `keras.optimizers.schedules.LearningRateSchedule` whose rate at optimizer step `s` is
#
#     base_lr + (target - base_lr) * min(s, warmup_steps) / warmup_steps,  target = base_lr * global_batch / base_batch
#
# so it starts at `base_lr`, reaches `target` at step `warmup_steps` and stays there. With `warmup_steps=0` it is
# `target` from the first step. The optimizer calls it with its step counter, an integer tensor.
#
# **Hints.** Subclass `keras.optimizers.schedules.LearningRateSchedule` and write `__call__(self, step)` with
# `keras.ops` (`cast`, `minimum`), not Python's `min`, which cannot compare a tensor.

# %% nbgrader={"grade": false, "grade_id": "ex1-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def warmup_schedule(base_lr, base_batch, global_batch, warmup_steps):
    """The learning rate at optimizer step s: base_lr rising linearly to base_lr * global_batch / base_batch
    over warmup_steps steps, then constant. A keras LearningRateSchedule."""
    ### BEGIN SOLUTION
    target = base_lr * global_batch / base_batch

    class Warmup(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            if warmup_steps == 0:
                return keras.ops.convert_to_tensor(target, "float32")
            done = keras.ops.minimum(keras.ops.cast(step, "float32") / warmup_steps, 1.0)
            return base_lr + (target - base_lr) * done

        def get_config(self):
            return dict(base_lr=base_lr, base_batch=base_batch, global_batch=global_batch, warmup_steps=warmup_steps)

    return Warmup()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1-test-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
schedule = warmup_schedule(1e-3, base_batch=128, global_batch=512, warmup_steps=100)
assert isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule), type(schedule)
rate = {s: float(schedule(tf.constant(s, tf.int64))) for s in (0, 1, 50, 99, 100, 101, 1000)}
assert np.isclose(rate[0], 1e-3), f"step 0: {rate[0]:g}, expected the single-device rate 0.001"
assert np.isclose(rate[100], 4e-3) and np.isclose(rate[1000], 4e-3), \
    f"after the warm-up: {rate[100]:g}, {rate[1000]:g}; 4 times the batch means 4 times the rate, 0.004"
assert np.isclose(rate[50], 2.5e-3), f"halfway through the warm-up: {rate[50]:g}, expected 0.0025 (linear)"
assert rate[0] < rate[1] < rate[50] < rate[99] < rate[100] and np.isclose(rate[100], rate[101]), \
    "the rate must rise during the warm-up, then stay"
assert np.isclose(float(warmup_schedule(1e-3, 128, 128, 10)(tf.constant(3, tf.int64))), 1e-3), "same batch, same rate"
assert np.isclose(float(warmup_schedule(2e-3, 64, 256, 0)(tf.constant(0, tf.int64))), 8e-3), "no warm-up: target at once"
print("ok: from the single-device rate to the scaled one, linearly")

# %% nbgrader={"grade": true, "grade_id": "ex1-test-optimizer", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
schedule = warmup_schedule(0.1, base_batch=1, global_batch=3, warmup_steps=4)
weights = keras.Variable(np.zeros(2, np.float32))
sgd = keras.optimizers.SGD(learning_rate=schedule)
sgd.build([weights])
step = tf.function(lambda: sgd.apply_gradients([(keras.ops.ones(2), weights)]))  # compiled, as fit runs its steps
for _ in range(6):
    step()  # a gradient of 1: each step subtracts the step's rate
expected = -sum(float(schedule(tf.constant(s, tf.int64))) for s in range(6))
assert np.allclose(weights.numpy(), expected), f"weights {weights.numpy()}, expected {expected:.4f} after 6 steps"
assert np.isclose(float(sgd.learning_rate), 0.3), f"the optimizer's rate after the warm-up: {float(sgd.learning_rate):g}"
print("ok: the optimizer follows the schedule step by step")


# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2-statement", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Exercise 2 (homework): shards whose augmentation does not depend on the number of workers
#
# **Why it matters.** With several workers, each reads its own share of the samples, and each sample's
# augmentation seed must come from the **sample**, not from the worker's own counter. An `enumerate()`
# after the split restarts at 0 on every worker: two workers then draw the same augmentations, and the
# draws change whenever the number of workers does. The lesson's tf.data service pipeline takes the seed
# from the source's sample counter for this reason.
#
# **What to write.** `worker_samples(n, workers, index, seed)`: the share of worker `index` (of `workers`)
# of the samples `0 ... n - 1`, as a dataset of `(sample id, seed pair)`, where the seed pair is
# `(seed, sample id)`. The shares of all workers must be disjoint and cover every sample.
#
# **Hints.** `tf.data.Dataset.range(n)`, `Dataset.shard(num_shards, index)`; build the seed in a `map`.

# %% nbgrader={"grade": false, "grade_id": "ex2-answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def worker_samples(n, workers, index, seed):
    """Worker `index` of `workers`: its samples of 0..n-1 as (sample id, seed pair (seed, sample id))."""
    ### BEGIN SOLUTION
    base = tf.constant(seed, tf.int64)
    return tf.data.Dataset.range(n).shard(workers, index).map(lambda i: (i, tf.stack([base, i])))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2-test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def shares(n, workers, seed=0):
    return [[(int(i), tuple(int(v) for v in s)) for i, s in worker_samples(n, workers, w, seed)] for w in range(workers)]


three = shares(23, 3)
ids = [i for share in three for i, _ in share]
assert sorted(ids) == list(range(23)), "the workers' shares must be disjoint and cover every sample"
assert all(len(share) in (7, 8) for share in three), [len(share) for share in three]
seeds = [s for share in three for _, s in share]
assert len(set(seeds)) == 23, "two samples got the same seed: two workers would draw the same augmentation"
one = dict(shares(23, 1)[0])
assert dict(x for share in three for x in share) == one, "a sample's seed must not depend on the number of workers"
assert dict(shares(23, 3, seed=1)[0]) != dict(three[0]), "the seed must matter"
print("ok: disjoint shares, one seed per sample, whatever the number of workers")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question (homework): moving a training job to several machines
#
# Your model trains on one GPU with batch 64, Adam at a learning rate of 1e-3, plain `BatchNormalization`, and a
# `tf.data` pipeline that draws each batch's augmentation seed from an `enumerate()` counter. You move it to 4
# machines with 2 GPUs each under `MultiWorkerMirroredStrategy`, keeping 64 images per GPU. Name what you must
# change, and for each change, what goes wrong **without an error message** if you forget it.

# %% [markdown] nbgrader={"grade": true, "grade_id": "question", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# - `TF_CONFIG` on every machine: the same list of 4 `host:port` addresses, its own index; worker 0 is the chief and
#   writes checkpoints and logs, the others save to temporary paths (saving is collective). Wrong addresses fail
#   loudly, but a non-chief writing to the real path can overwrite the chief's files.
# - The global batch: 8 replicas x 64 = 512 images per step, given to the pipeline. Feeding 64 would give each
#   replica 8 images: BatchNorm statistics over 8 images, and a different training run.
# - The learning rate: 8 times the batch, so by the linear rule 8e-3, reached after a warm-up; with Adam a smaller
#   increase may work better, to be checked. Left at 1e-3, each epoch makes 8 times fewer updates of about the same
#   size: training is slower per epoch and may end worse, with no error.
# - BatchNorm: `BatchNormalization(synchronized=True)`. With plain BatchNorm each worker keeps moving statistics
#   of its own share of the batch; the loss and the trainable weights stay identical, but the workers end with
#   different models, and the saved one depends on who saved it.
# - Sharding: each worker must read its own share of the data (`FILE` with many files, `DATA` otherwise, or
#   `shard` yourself); otherwise the workers train on the same examples.
# - Seeds: derive each sample's (or batch's) seed from the sample id, before the data is split between workers. An
#   `enumerate()` after the split restarts at 0 on every worker: two workers draw the same augmentations for
#   different images, and the draws change with the number of workers.
# - (Loud, not silent: under Keras 3.15 `fit` fails with two or more workers, so the training step is written
#   out, as the lesson's `worker_fit` does.)

# %% [markdown]
# ## Summary
#
# You scaled a learning rate with the global batch behind a warm-up that an optimizer follows step by step, gave
# every worker a disjoint share of the samples with a seed that comes from the sample, and listed what changes,
# and what fails silently, when one training job spreads over several machines.
