# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/07_modern_augmentation_policies.ipynb)

# %% [markdown]
# # 7 · Modern augmentation policies on 20% of CIFAR-10
#
# **Objectives.** You will
# - write RandAugment, a TrivialAugment-style policy, AugMix, random erasing, MixUp and CutMix, each drawing per
#   image from a stateless seed, and see many draws of each;
# - write a `tf.data` pipeline that applies per-image policies in `map` and batch-level blends after `batch`,
#   with soft labels and `categorical_crossentropy`;
# - add test-time augmentation (TTA) to a trained model, and measure what it gains and what it costs;
# - read a measured table of accuracy against cost on lesson 2's exact setting, and pick a recipe from it;
# - avoid five pitfalls: magnitude units (and Keras's policy layers drawing per batch), blends with integer
#   labels, blends placed before `batch`, label-destroying operations, and augmentation left on at inference.
#
# **Runtime.** Quick mode (512 images, 1 epoch per arm, three arms): 30 s (the sum of the cells' times on a 2-core
# CPU, kernel start-up not included). Full mode trains the three arms for 80 epochs each on 9,000 images, about 14
# minutes per arm on a 2-core CPU (the table below has each arm's seconds per epoch), about 45 minutes in all. The
# study behind the measured table is a command-line job of several hours (`python -m helpers.studies policies`).
# Full mode is the default; `COURSE_QUICK=1` in the environment turns quick mode on (restart the kernel after).
#
# **The question.** Lesson 2 ended with `crop_flip` (pad, crop, flip) as its best recipe for the post's small CNN on
# 9,000 CIFAR-10 images. Since then, augmentation research has produced whole *policies*: random sequences of many
# operations, and blends of several images. Which of them is worth most **with 20% of the data and a small model**,
# and what does each cost in training time?

# %%
# On Google Colab only: get the course, install what it needs that Colab lacks, fetch this lesson's data.
# Elsewhere: nothing. Colab's own TensorFlow is kept (see the course's README, "Google Colab").
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import os
    import subprocess

    course, url = "/content/augmentation-course", "https://github.com/augmentation-course/augmentation-course"
    if not os.path.isdir(course):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", "main", url, course], check=True)
    else:  # cloned earlier in this session: pull (it stops only where new commits change a file you edited)
        subprocess.run(["git", "-C", course, "pull", "--ff-only", "--quiet"], check=False)
    wanted = open(f"{course}/pyproject.toml").read()
    marker = f"{course}/.colab-installed"  # the pyproject.toml installed last
    if importlib.util.find_spec("helpers") is None or not os.path.exists(marker) or open(marker).read() != wanted:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", course], check=True)
        open(marker, "w").write(wanted)
    sys.path.insert(0, course)  # this kernel started before the install
    os.chdir(f"{course}/notebooks")
    from helpers import datasets

    for name in ["cifar10"]:
        datasets.fetch(name)

# %%
from helpers import config

print(config.banner("7 · Modern augmentation policies"))

import math
import time

import keras
import numpy as np
import tensorflow as tf
from scipy import stats

from helpers import datasets, measured, metrics, models, plots, policies, recipes, splits

N_TRAIN = config.pick(quick=512, full=10_000)    # lesson 2's 20%: the first 10,000 training images, 1,000 held out
EPOCHS = config.pick(quick=1, full=80)           # lesson 2's budget for augmented arms, equal for every arm
N_TEST = config.pick(quick=500, full=None)       # None: the whole 10,000-image test set
BATCH = 128
SEED = 0
VERBOSE = config.pick(quick=0, full=2)

(x_fit, y_fit), (x_val, y_val), (x_test, y_test) = splits.cifar10_splits(N_TRAIN, N_TEST)
print(f"fit {x_fit.shape}, validation {x_val.shape}, test {x_test.shape}; labels one-hot {y_fit.shape}")

# %% [markdown]
# ## Why, then how
#
# An augmentation *policy* decides, for every image, **which** operations to apply and **how strongly**. The
# classic recipes (lesson 2) fix both; the modern policies randomise both, from a list of about a dozen operations:
#
# | policy | per image | parameters |
# |---|---|---|
# | RandAugment (Cubuk et al., 2020) | N operations drawn at random, all at one magnitude M | N, M |
# | TrivialAugment (Müller & Hutter, 2021) | one operation drawn at random, at a random magnitude | none |
# | AugMix (Hendrycks et al., 2020) | three short chains of random operations, blended together, then blended with the original | severity, width, depth |
# | random erasing (Zhong et al., AAAI 2020 (arXiv 2017)) | with probability p, one random rectangle replaced by noise | p, area, aspect |
# | MixUp (Zhang et al., 2018) | a weighted average of two images **and of their labels** | alpha |
# | CutMix (Yun et al., 2019) | a box of another image pasted in; the labels mixed by area | alpha |
#
# Three differences from the papers: AugMix here is its augment-and-mix step without the paper's Jensen-Shannon
# consistency loss (three forward passes per image); the TrivialAugment-style policy uses RandAugment's operations
# and ranges, not TrivialAugment's wider ones; MixUp uses alpha 0.2, the Keras layer's default.
#
# The first four change one image at a time. MixUp and CutMix mix **two images of the same batch**, so they run
# **after** `batch`, and they change the labels too. Every policy is stacked **on top of** `crop_flip`, as the
# papers do on CIFAR. The operations and their strength at magnitude 1 (M = 10 on RandAugment's 0-10 scale):

# %%
print("operations:", ", ".join(policies.OPS))
print("AugMix uses:", ", ".join(policies.AUGMIX_OPS))
print(f"at magnitude 1: rotate ±{policies.MAX_ROTATE:g}°, shear ±{policies.MAX_SHEAR:g} (tan), "
      f"translate ±{policies.MAX_TRANSLATE:g} of the side, brightness/colour/contrast/sharpness factor "
      f"1 ± {policies.MAX_ENHANCE:g}, posterize to {8 - policies.MAX_POSTERIZE} bits, solarize (invert) every pixel "
      f"above 256·(1 − m), so every pixel at m = 1")
print("lesson 7's arms:", *recipes.POLICY_ARMS, sep="\n  ")

# %% [markdown]
# ## How a policy draws
#
# `policies.apply_ops(x, ops, magnitudes, signs)` applies the operations as PIL defines them (its tests compare
# them with PIL within one 8-bit step) to a float batch in [0, 1]: operation `OPS[ops[i]]` at `magnitudes[i]` on
# image i. A policy is the rule that fills those four arguments, and that rule is written here. Every draw has shape
# `[n]`, one per image, from a stateless seed split with `tf.random.split`: the same seed gives the same batch.

# %%
#@save
def rand_augment(images, seed, *, num_ops=2, magnitude=9, names=policies.OPS):
    """RandAugment on uint8 or [0, 1] float images, (N, H, W, C) or one image; same shape and dtype. num_ops
    operations in a row, each drawn per image from names, all at magnitude (0-10 scale), in a random direction."""
    if not 0 <= magnitude <= 10:
        raise ValueError(f"RandAugment's magnitude is on a 0-10 scale, got {magnitude}")
    x, dtype, single = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    seeds = policies.split_seeds(seed, 2 * num_ops)          # per operation: which one, and its direction
    for k in range(num_ops):
        ops = tf.random.stateless_uniform([n], seeds[2 * k], 0, len(names), tf.int32)    # one index PER IMAGE
        signs = policies.random_signs(n, seeds[2 * k + 1])
        x = policies.apply_ops(x, ops, tf.fill([n], magnitude / 10.0), signs, names)
    return policies.restore(x, dtype, single)


def trivial_augment(images, seed, *, names=policies.OPS):
    """TrivialAugment-style: ONE operation per image, drawn from names, at a magnitude uniform in [0, 1] (0-10
    scale: [0, 10]), in a random direction. Nothing to tune. Same shape and dtype."""
    x, dtype, single = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    op_seed, m_seed, sign_seed = policies.split_seeds(seed, 3)
    ops = tf.random.stateless_uniform([n], op_seed, 0, len(names), tf.int32)
    magnitudes = tf.random.stateless_uniform([n], m_seed)
    x = policies.apply_ops(x, ops, magnitudes, policies.random_signs(n, sign_seed), names)
    return policies.restore(x, dtype, single)


# %%
#@save
def aug_mix(images, seed, *, width=3, max_depth=3, severity=3, alpha=1.0, names=policies.AUGMIX_OPS):
    """AugMix's augment-and-mix: width chains of 1..max_depth random operations (magnitudes uniform in
    [0.01, severity / 10]) mixed with Dirichlet(alpha) weights, then blended with the original with a
    Beta(alpha, alpha) weight. Every draw per image. Same shape and dtype."""
    x, dtype, single = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    seeds = policies.split_seeds(seed, 3 + width * (1 + 3 * max_depth))
    weights = tf.random.stateless_gamma([n, width], seeds[0], alpha=tf.constant(alpha, tf.float32))
    weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)     # Dirichlet(alpha), from Gamma draws
    blend = policies.random_beta([n], seeds[1], seeds[2], alpha)
    chain_seeds = iter(seeds[3:])
    mix = tf.zeros_like(x)
    for j in range(width):
        depth = tf.random.stateless_uniform([n], next(chain_seeds), 1, max_depth + 1, tf.int32)
        chain = x
        for step in range(max_depth):                                   # image i stops after depth[i] steps
            ops = tf.random.stateless_uniform([n], next(chain_seeds), 0, len(names), tf.int32)
            m = tf.random.stateless_uniform([n], next(chain_seeds), 0.01, severity / 10.0)
            stepped = policies.apply_ops(chain, ops, m, policies.random_signs(n, next(chain_seeds)), names)
            chain = tf.where((step < depth)[:, None, None, None], stepped, chain)
        mix += weights[:, j, None, None, None] * chain
    out = (1.0 - blend)[:, None, None, None] * x + blend[:, None, None, None] * mix
    return policies.restore(out, dtype, single)


def random_erasing(images, seed, *, probability=0.5, area=(0.02, 0.33), ratio=(0.3, 3.3)):
    """With probability, replace one rectangle per image by uniform noise: its area uniform in area (a share of
    the image), its aspect h/w log-uniform in ratio; one that does not fit is clipped (the paper redraws)."""
    policies.check_erasing(probability, area, ratio)
    x, dtype, single = policies.as_float_batch(images)
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    s_on, s_area, s_ratio, s_y, s_x, s_fill = policies.split_seeds(seed, 6)
    uniform = lambda s, low=0.0, high=1.0: tf.random.stateless_uniform([n], s, low, high)
    target = uniform(s_area, *area) * hf * wf
    aspect = tf.exp(uniform(s_ratio, math.log(ratio[0]), math.log(ratio[1])))
    eh = tf.clip_by_value(tf.round(tf.sqrt(target * aspect)), 1.0, hf)
    ew = tf.clip_by_value(tf.round(tf.sqrt(target / aspect)), 1.0, wf)
    y0, x0 = tf.floor(uniform(s_y) * (hf - eh + 1)), tf.floor(uniform(s_x) * (wf - ew + 1))
    inside = policies.box_mask(h, w, y0, y0 + eh, x0, x0 + ew) & (uniform(s_on) < probability)[:, None, None]
    noise = tf.random.stateless_uniform(tf.shape(x), s_fill)
    return policies.restore(tf.where(inside[..., None], noise, x), dtype, single)


# %% [markdown]
# ## What each policy does
#
# `recipes.policy_arm(name)` turns an arm's name into its augmentation: the parts joined by `+` run in order, each
# with its own seed split from the batch's seed, and the library takes the functions above from this lesson. Each
# row: the original image, then seven draws. Look for what stays the same: the object, its class. Random erasing
# acts on half the images (p = 0.5), so some of its draws are only cropped and flipped.

# %%
image = x_fit[3]
print("the image shows a", datasets.CIFAR10_CLASSES[y_fit[3].argmax()])
rows = {"crop_flip": "crop_flip", "RandAugment N=2 M=9": "crop_flip+randaugment_n2_m9",
        "TrivialAugment-style": "crop_flip+trivial", "AugMix": "crop_flip+augmix", "random erasing": "crop_flip+erasing"}
grid, titles = [], []
for title, arm in rows.items():
    augment, _ = recipes.policy_arm(arm)
    grid += [image] + list(np.asarray(augment(np.repeat(image[None], 7, axis=0), [SEED, 1])))
    titles += ["original", title] + [""] * 6
plots.show_grid(grid, titles, ncols=8, size=1.3, save_to=config.output_dir("figures") / "policy_draws.png");

# %% [markdown]
# The two blends pair each image with a **partner from the same batch** (a random permutation) and give it the
# partner's share of the label too. MixUp averages whole images; CutMix pastes a box and counts its pixels:

# %%
#@save
def mix_up(images, labels, seed, *, alpha=0.2):
    """MixUp on a batch (N, H, W, C) with one-hot float labels (N, classes): image i becomes
    lam_i x_i + (1 - lam_i) x_j, j its random partner, and so does its label; lam_i ~ Beta(alpha, alpha).
    Returns (images in the input's dtype, float32 soft labels)."""
    images, labels = policies.check_blend_inputs(images, labels, "MixUp", alpha=alpha)
    x, dtype, _ = policies.as_float_batch(images)
    n = tf.shape(x)[0]
    s_pair, s_a, s_b = policies.split_seeds(seed, 3)
    lam = policies.random_beta([n], s_a, s_b, alpha)
    partner = tf.argsort(tf.random.stateless_uniform([n], s_pair))       # a random permutation of the batch
    y = tf.cast(labels, tf.float32)
    x = lam[:, None, None, None] * x + (1 - lam)[:, None, None, None] * tf.gather(x, partner)
    y = lam[:, None] * y + (1 - lam[:, None]) * tf.gather(y, partner)
    return policies.restore(x, dtype, False), y


def cut_mix(images, labels, seed, *, alpha=1.0):
    """CutMix: paste a box of its partner into each image; mix the labels by the share of pixels each image
    keeps. Box area 1 - lam of the image, lam ~ Beta(alpha, alpha), centre uniform, clipped at the border (the
    label counts the clipped box). Returns (images in the input's dtype, float32 soft labels)."""
    images, labels = policies.check_blend_inputs(images, labels, "CutMix", alpha=alpha)
    x, dtype, _ = policies.as_float_batch(images)
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    s_pair, s_a, s_b, s_y, s_x = policies.split_seeds(seed, 5)
    side = tf.sqrt(1.0 - policies.random_beta([n], s_a, s_b, alpha))      # the box's side, a share of the image's
    cy, cx = tf.random.stateless_uniform([n], s_y) * hf, tf.random.stateless_uniform([n], s_x) * wf
    y0, y1 = tf.clip_by_value(tf.round(cy - side * hf / 2), 0, hf), tf.clip_by_value(tf.round(cy + side * hf / 2), 0, hf)
    x0, x1 = tf.clip_by_value(tf.round(cx - side * wf / 2), 0, wf), tf.clip_by_value(tf.round(cx + side * wf / 2), 0, wf)
    partner = tf.argsort(tf.random.stateless_uniform([n], s_pair))
    x = tf.where(policies.box_mask(h, w, y0, y1, x0, x1)[..., None], tf.gather(x, partner), x)
    kept = 1.0 - (y1 - y0) * (x1 - x0) / (hf * wf)                           # the share of its own pixels
    y = tf.cast(labels, tf.float32)
    y = kept[:, None] * y + (1 - kept[:, None]) * tf.gather(y, partner)
    return policies.restore(x, dtype, False), y


# %%
names = datasets.CIFAR10_CLASSES


def label_text(soft):
    top = np.argsort(soft)[::-1][:2]
    return "\n".join(f"{names[c]} {soft[c]:.2f}" for c in top if soft[c] > 0.005)


batch_x, batch_y = x_fit[:8], y_fit[:8].astype("float32")
for name, blend in {"MixUp (alpha 0.2)": mix_up, "CutMix (alpha 1)": cut_mix}.items():
    mixed_x, mixed_y = blend(batch_x, batch_y, [SEED, 2])
    plots.show_grid(np.asarray(mixed_x), [label_text(s) for s in np.asarray(mixed_y)], ncols=8, size=1.6,
                    suptitle=name);

# %% [markdown]
# With alpha 0.2, MixUp's weight comes from Beta(0.2, 0.2), which piles up near 0 and 1: most images are mostly one
# picture with a faint ghost of another. CutMix with alpha 1 draws the box's nominal area uniformly; a clipped box
# leaves more of the image, and the label counts the clipped area. An image paired with one of its own class (or
# with itself) keeps a one-hot label.
#
# ## The pipeline: per-image policies in `map`, blends after `batch`
#
# The pipeline is lesson 2's, with one change: a blend returns new **labels** as well as images, so `map` passes
# both to it. Lesson 2's `scale` and `evaluation` are used as they are (its `#@save` cells are in
# `helpers.taught.cifar_pipeline`; this lesson's are in `helpers.taught.policy_training`).

# %%
#@save
from helpers.taught.cifar_pipeline import AUTOTUNE, evaluation, scale


def prepare(x, y, *, batch_size, seed, augment=None, with_labels=False, preprocess=scale):
    # An endless, shuffled stream of (preprocessed images, labels). Batch k is augmented with the seed (seed, k).
    # preprocess makes the model's input: lesson 2's scaling unless told otherwise.
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)
    if augment is not None:
        base = tf.constant(seed, tf.int64)
        if with_labels:   # a blend: it mixes images AND labels, so it runs after batch, on both
            step = lambda k, xy: augment(xy[0], xy[1], tf.stack([base, k]))
        else:
            step = lambda k, xy: (augment(xy[0], tf.stack([base, k])), xy[1])
        ds = ds.enumerate().map(step, num_parallel_calls=AUTOTUNE)
    ds = ds.map(lambda xb, yb: (preprocess(xb), yb), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


# %% [markdown]
# The model, optimizer, batch size, data and epoch budget are lesson 2's, for every arm. The loss is
# `categorical_crossentropy` on one-hot labels, which also accepts the soft labels of MixUp and CutMix.
#
# **What training accuracy means with blends.** Keras's `accuracy` compares the predicted class with the
# **largest weight** of the soft label. For a 55/45 blend that is the 55% class, and a model that answers the 45%
# class is scored wrong though half right. So with blends, training accuracy is lower by construction; validation
# and test accuracy use clean images and one-hot labels, and compare fairly.
#
# Three arms run here: the baseline, the parameter-free TrivialAugment-style policy, and CutMix (the measured
# table below has all of them; add a name from `recipes.POLICY_ARMS` to train another).

# %%
val_stream = evaluation(x_val, y_val, batch_size=BATCH)
test_stream = evaluation(x_test, y_test, batch_size=BATCH)


def train_arm(arm, *, epochs=EPOCHS, seed=SEED):
    # Train lesson 2's CNN on one arm; returns (model, a row of results).
    augment, with_labels = recipes.policy_arm(arm)
    keras.utils.set_random_seed(seed)
    train = prepare(x_fit, y_fit.astype("float32"), batch_size=BATCH, seed=seed, augment=augment,
                    with_labels=with_labels)
    model = models.cifar_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = metrics.EpochTimer()
    history = model.fit(train, steps_per_epoch=math.ceil(len(x_fit) / BATCH), epochs=epochs, callbacks=[timer],
                        validation_data=val_stream, shuffle=False, verbose=VERBOSE)
    test_loss, test_accuracy = model.evaluate(test_stream, verbose=0)
    return model, {"arm": arm, "test_accuracy": test_accuracy, "train_accuracy": history.history["accuracy"][-1],
                   "seconds_per_epoch": float(np.median(timer.times))}


ARMS = ["crop_flip", "crop_flip+trivial", "crop_flip+cutmix"]
trained, yours = {}, {}
for arm in ARMS:
    trained[arm], row = train_arm(arm)
    yours[arm] = row["test_accuracy"]
    print(f"{arm:<20} test accuracy {row['test_accuracy']:.4f}, train accuracy {row['train_accuracy']:.3f}, "
          f"{row['seconds_per_epoch']:.1f} s per epoch")
config.quick_note()


# %% [markdown]
# In quick mode those numbers mean nothing: one epoch on about 460 images. The measured table is below.
#
# ## Test-time augmentation
#
# A model trained on flipped images has learned that a mirrored cat is a cat. **Test-time augmentation** uses that
# at prediction time: predict on several views of each test image (the image, its mirror, small shifts) and average
# the predicted probabilities, for one forward pass per view. The study uses this very function (`#@save`).

# %%
#@save
def predict_tta(model, images, views="flip"):
    # Class probabilities averaged over the views of policies.tta_views (uint8 images in).
    probs = [model.predict(tf.data.Dataset.from_tensor_slices(view).batch(500).map(scale), verbose=0)
             for view in policies.tta_views(images, views)]
    return np.mean(probs, axis=0)


model = trained["crop_flip"]
predict_tta(model, x_test[:500], "none")  # warm-up: the first predict also builds the prediction function
for views in ("none", "flip", "flip_shift"):
    start = time.perf_counter()
    accuracy = np.mean(predict_tta(model, x_test, views).argmax(1) == y_test.argmax(1))
    print(f"{views:<10} ({len(policies.TTA_VIEWS[views]):>2} views): test accuracy {accuracy:.4f}, "
          f"{time.perf_counter() - start:.2f} s for {len(x_test)} images")
config.quick_note()

# %% [markdown]
# ## The measured table
#
# Every arm below was trained for 80 epochs on lesson 2's 9,000 images and scored on the full 10,000-image test set,
# on a 2-core CPU, with commands of the form
#
#     python -m helpers.studies policies --arms ARM [ARM ...] --seeds S [S ...] --out FILE.json
#
# (the exact commands are stored with the rows in `notebooks/measured/policies.json`). The baseline's accuracy is
# the mean of lesson 2's three `crop_flip` seeds; its seconds per epoch and TTA come from this study's own
# `crop_flip` run (seed 0). One seed is a hint, not a result. First, collect the rows per arm:

# %%
study = measured.load("policies")
baseline = [r["test_accuracy"] for r in measured.rows("cifar_seeds", arm="crop_flip")]
low, high = min(baseline), max(baseline)
arms = {}
for r in study["rows"]:
    arms.setdefault(r["arm"], []).append(r)


def summary(arm, rows_):
    accuracies = baseline if arm == "crop_flip" else [r["test_accuracy"] for r in rows_]
    mean, std = measured.mean_std(accuracies)
    blend = arm.endswith(("mixup", "cutmix"))
    return {"arm": arm, "seeds": len(accuracies), "mean": mean, "std": std if len(accuracies) > 1 else None,
            "train": None if arm == "crop_flip" or blend else np.mean([r["train_accuracy"] for r in rows_]),
            "s/epoch": np.median([r["seconds_per_epoch"] for r in rows_]) if rows_ else None,
            "yours": yours.get(arm),
            "verdict": verdict(arm, accuracies)}


def verdict(arm, accuracies):
    # The gap to the baseline in points; with several seeds, Welch's t-test says whether seed noise explains it.
    if arm == "crop_flip":
        return "baseline"
    gap = 100 * (np.mean(accuracies) - np.mean(baseline))
    if len(accuracies) > 1:
        p = stats.ttest_ind(accuracies, baseline, equal_var=False).pvalue
        return f"{gap:+.2f} points, p = {p:.2f}" + (" (more than seed noise)" if p < 0.05 else " (within seed noise)")
    where = "above" if min(accuracies) > high else "below" if max(accuracies) < low else "inside"
    return f"{gap:+.2f} points, one seed, {where} the baseline's range"


table = sorted((summary(arm, arms.get(arm, [])) for arm in {"crop_flip", *arms}), key=lambda t: -t["mean"])

# %%
measured.show(measured.markdown_table(table, [
    ("arm", "arm", ""), ("seeds", "seeds", "d"), ("test accuracy (mean)", "mean", ".4f"), ("± std", "std", ".4f"),
    ("train accuracy", "train", ".3f"), ("s per epoch", "s/epoch", ".1f"), ("against the baseline", "verdict", ""),
    (f"your run ({'quick' if config.quick_mode() else 'full'} mode)", "yours", ".4f")]))
print(f"baseline range over lesson 2's three seeds: {low:.4f} to {high:.4f}; std: sample std over seeds (ddof=1).")
print("p: Welch's t-test of the arm's seeds against the baseline's (scipy.stats.ttest_ind, equal_var=False).")
print("train accuracy: last epoch, on augmented images; left out for the blends (it is scored against the dominant label).")
config.quick_note()

# %% [markdown]
# The seconds per epoch were measured run by run on a 2-core CPU, some runs sharing the cores with other work, so
# read them as rough ratios. For the cost of the augmentation alone, measured side by side in one run
# (`python -m helpers.studies policy-costs`, milliseconds per 128-image batch, compiled):

# %%
costs = measured.load("policy_costs")["rows"]
measured.show(measured.markdown_table(costs, [("arm", "arm", ""), ("ms per batch", "ms_per_batch", ".1f"),
                                              ("× crop_flip", "ratio_to_first", ".2f")]))
cost_of = {r["arm"]: r["ms_per_batch"] for r in costs}
plots.accuracy_vs_cost([{**t, "ms": cost_of[t["arm"]]} for t in table if t["arm"] in cost_of and t["arm"] != "crop_flip"],
                       cost="ms", accuracy="mean", label="arm", error="std",
                       band=(low, high, "crop_flip: range of 3 seeds"),
                       xlabel="augmentation cost, ms per 128-image batch (2-core CPU)",
                       title="test accuracy against the cost of the augmentation",
                       save_to=config.output_dir("figures") / "policies_accuracy_vs_cost.png");

# %% [markdown]
# And test-time augmentation, measured on every trained model of the study (accuracy gain in points over the
# plain prediction, and prediction seconds for the 10,000 test images):

# %%
tta_rows = []
for arm, rows_ in arms.items():
    for r in rows_:
        t = r["tta"]
        tta_rows.append({"arm": arm, "seed": r["seed"], "plain": t["none"]["accuracy"],
                         "flip": 100 * (t["flip"]["accuracy"] - t["none"]["accuracy"]),
                         "ten": 100 * (t["flip_shift"]["accuracy"] - t["none"]["accuracy"]),
                         "s1": t["none"]["seconds"], "s2": t["flip"]["seconds"], "s10": t["flip_shift"]["seconds"]})
measured.show(measured.markdown_table(tta_rows, [
    ("arm", "arm", ""), ("seed", "seed", "d"), ("plain", "plain", ".4f"), ("flip (2 views)", "flip", "+.2f"),
    ("flip + shifts (10 views)", "ten", "+.2f"), ("s, 1 view", "s1", ".1f"), ("s, 2 views", "s2", ".1f"),
    ("s, 10 views", "s10", ".1f")]));

# %% [markdown]
# **How to read it.** A policy is worth its cost if it beats the baseline by more than seed noise at an affordable
# cost. One seed cannot tell: lesson 2's three `crop_flip` seeds alone spread over about one point. With three
# seeds per arm, Welch's t-test compares the two sets of runs; a p-value well below 0.05 means the gap is unlikely
# to be seed noise, a larger one that these runs cannot tell the arms apart (not that they are equal). A training
# accuracy far below the test accuracy means the policy holds a small model back (not for the blends, whose
# training accuracy is low by construction).
#
# ## From the table to a recipe
#
# Two questions remain before you pick a recipe. Does the best policy keep its lead over several seeds? And do good
# ideas add up: does stacking a second policy (or a blend) on the best one gain more, or does a small model then
# get more distortion than it can fit in 80 epochs? Arms with two parts on top of `crop_flip` answer the second
# question, trained with the same budget. Flip TTA is then added at prediction time, where it costs no training:

# %%
several = [t for t in table if t["arm"] != "crop_flip" and t["seeds"] >= 3]
best = max(several, key=lambda t: t["mean"])
best_rows = arms[best["arm"]]
print(f"best arm with {best['seeds']} seeds: {best['arm']}, test accuracy {best['mean']:.4f} ± {best['std']:.4f}")
for views, label in [("flip", "flip TTA, 2 views"), ("flip_shift", "flip + shifts TTA, 10 views")]:
    mean, std = measured.mean_std(r["tta"][views]["accuracy"] for r in best_rows)
    slowdown = np.median([r["tta"][views]["seconds"] / r["tta"]["none"]["seconds"] for r in best_rows])
    print(f"  + {label}: {mean:.4f} ± {std:.4f} ({100 * (mean - best['mean']):+.2f} points, "
          f"{slowdown:.1f}x the prediction time)")
print(f"  baseline (crop_flip, {len(baseline)} seeds): {np.mean(baseline):.4f}")
for r in arms.get("crop_flip", []):  # the baseline gains from TTA too: compare gains, not a TTA arm with a plain one
    t = r["tta"]
    print(f"  baseline seed {r['seed']} of this study: plain {t['none']['accuracy']:.4f}, "
          f"flip TTA {t['flip']['accuracy']:.4f} ({100 * (t['flip']['accuracy'] - t['none']['accuracy']):+.2f} points)")
for t in table:
    if t["arm"].count("+") >= 2:
        print(f"stacked: {t['arm']} ({t['seeds']} seed(s)): {t['mean']:.4f}, {t['verdict']}")

# %% [markdown]
# **What the table says.** On this small CNN, with 9,000 images and 80 epochs, no modern policy clearly beats
# pad-crop-flip. The two best arms, both mild (RandAugment N=1, M=5, and the TrivialAugment-style policy), lead the
# baseline by less than half a point, and with three seeds each Welch's test cannot tell them from it. RandAugment
# N=2, M=9, CutMix and random erasing scored 1.8 to 3.5 points below, outside the baseline's range (one seed each);
# RandAugment N=2, M=9's training accuracy, far below its test accuracy, says why: a model this small cannot fit
# the harder task in 80 epochs. AugMix and MixUp landed inside the baseline's range, and stacking MixUp on
# RandAugment N=1, M=5 scored a little below each alone (one seed). The RandAugment paper reports the same pattern
# from the other side: the best magnitude grows with the model and the data, and both are small here.
#
# Look also at how the best arm was found. Its seed 0 (0.7560, the TTA table's plain column) was the best first run
# of all the arms; its seeds 1 and 2 gave 0.7482 and 0.7459. Part of the lead of a winner picked from many single
# runs is luck (the *winner's curse*), so give a winner fresh seeds before you believe it. Seeds are not the only
# noise: lesson 2's plain arm, which draws nothing at random, scored 0.6168 and then 0.6100 with the same seed and
# batches; training on a multi-core CPU is not bit-for-bit repeatable.
#
# The dependable gain is at prediction time: flip TTA helped every model in the TTA table, by half a point to 1.3
# points, for about twice the prediction time; ten views usually add a little more (not for CutMix), for 8 to 20
# times the time. The baseline gains as much as the policies do, so compare TTA results with TTA results.
#
# **A recipe for this setting.** By this lesson's rule (beat the baseline by more than seed noise), the recipe is
# `crop_flip` for training and flip TTA at prediction time; a mild policy is an optional extra with no confirmed
# gain here, at about twice the augmentation time. With a larger model, more data or a longer schedule, try the
# stronger policies and the blends again: that is where they were designed to pay off.
#
# ## Pitfalls
#
# ### 1. Magnitude units: "0.5" means something else in every layer
#
# Keras 3 ships `RandAugment`, `AugMix`, `RandomErasing`, `MixUp` and `CutMix` as layers. In `RandAugment` (and
# `AugMix`), one `factor` is handed to every sub-layer, **in that sub-layer's own unit**, not the paper's 0-10
# magnitude: for `RandomRotation` it is a fraction of a full turn, for `RandomTranslation` a fraction of the image.
# A single number becomes the range (0, factor), **one-sided**. The other layers' arguments mean other things
# again: `MixUp(alpha)` is the paper's Beta parameter; `RandomErasing(factor)` is a *probability* range (the
# default, `factor=1.0`, draws p from U(0, 1) per image, so about half the images stay untouched; `(1.0, 1.0)`
# erases every one); `CutMix(factor)` draws the Beta parameter itself from U(0, factor). Ask
# the layer, then draw from it:

# %%
layer = keras.layers.RandAugment(value_range=(0, 255), factor=0.5, seed=SEED)
for name in layer._AUGMENT_LAYERS:  # each sub-layer's own strength argument
    sub = getattr(layer, name)
    shown = {k: v for k, v in sub.get_config().items() if "factor" in k}
    print(f"  {name:<26} {shown if shown else '(no strength argument)'}")
drawn = layer.random_rotation.get_random_transformation(np.zeros((1000, 32, 32, 3), "float32"), training=True)
print(f"1,000 drawn angles: {float(np.min(drawn['angle'])):.1f}° to {float(np.max(drawn['angle'])):.1f}°")
print(f"this lesson's RandAugment at M=9: ±{0.9 * policies.MAX_ROTATE:g}°, either direction")

# %% [markdown]
# A RandAugment whose rotations reach 180° turns a 6 into a 9 (pitfall 4) and shows CIFAR's ships upside down. A
# smaller `factor` does not simply make it milder: each image's posterization keeps a random 1 to `int(8 * factor) - 1`
# bits (exactly 1 when `int(8 * factor)` is 1 or less), so a small factor makes posterization *harsher*, and every
# direction but the shear's stays one-sided, because a negative factor is refused. For a two-sided, moderate policy from Keras layers, build
# your own list of layers with symmetric factors (`RandomRotation(0.08)` is ±29°) and pick among them, or use
# this lesson's `rand_augment`.
#
# ### 1b. Operations drawn per batch, not per image
#
# RandAugment picks `num_ops` operation indices for the **whole batch**: every image of the batch gets the same two
# operations, at per-image strengths. AugMix picks its chains with Python's `random` module, which runs when the
# function is **traced**. Inside `tf.data`, the map function is traced once, so every batch of the run gets the same
# operations (their strengths and mixing weights still vary). Count the calls (the cell patches a private Keras
# module, for this demonstration only):

# %%
try:  # a private module: another Keras version may have moved it
    import keras.src.layers.preprocessing.image_preprocessing.aug_mix as keras_aug_mix
except ImportError:
    keras_aug_mix = None
    print(f"Keras {keras.version()} has moved AugMix's module: this demonstration is skipped")

if keras_aug_mix is not None:
    calls = []
    original_choice = keras_aug_mix.py_random.choice
    keras_aug_mix.py_random.choice = lambda options: calls.append(1) or original_choice(options)
    try:
        augmix_layer = keras.layers.AugMix(value_range=(0, 255), seed=SEED)
        stream = tf.data.Dataset.from_tensor_slices(x_fit[:64].astype("float32")).batch(8)
        for _ in stream.map(lambda b: augmix_layer(b, training=True)):
            pass
        print(f"AugMix inside tf.data: 8 batches, {len(calls)} choices of an operation (3 chains x 3 steps, once)")
    finally:
        keras_aug_mix.py_random.choice = original_choice
per_batch = keras.layers.RandAugment(value_range=(0, 255), num_ops=2, seed=SEED)
choice = per_batch.get_random_transformation(np.zeros((128, 32, 32, 3), "float32"), training=True)["layer_idxes"]
print("RandAugment's operations for a batch of 128 images:", [per_batch._AUGMENT_LAYERS[i] for i in np.asarray(choice)],
      "- one pair for all of them")

# %% [markdown]
# That is why this lesson writes its own policies: each image draws its operations from the batch's stateless
# seed, the same each time the pipeline runs. When you use Keras's layers, set a `seed`, check the drawn ranges,
# and know that they follow their own random generators, not your pipeline's seed.
#
# ### 2. MixUp and CutMix with integer labels, or before `batch`
#
# A blend mixes labels, so they must be one-hot (or already soft). With integer class ids, Keras's `MixUp` fails
# with a dtype error; with float class ids it **runs**, and broadcasts the labels into a (batch, batch) matrix of
# meaningless numbers. The fix: one-hot labels (`keras.utils.to_categorical`) and `categorical_crossentropy`.
#
# ### 3. Batch-level operations must come after `batch`
#
# A blend takes its partner **from the same batch**. Mapped over single images (before `batch`) there is none;
# written by hand, the mistake could "blend" an image with itself, a silent no-op. This lesson's blends refuse both:

# %%
ids = np.arange(8).astype("float32")          # class ids 0..7 as floats, not one-hot
out = keras.layers.MixUp(alpha=0.2, seed=SEED)({"images": x_fit[:8].astype("float32"), "labels": ids})
print("Keras MixUp with float class ids -> labels of shape", tuple(out["labels"].shape), "(no error)")
try:
    mix_up(x_fit[:8], ids, SEED)
except ValueError as error:
    print("this lesson's mix_up:", str(error).split(". ")[0] + ".")
single = tf.data.Dataset.from_tensor_slices((x_fit[:4], y_fit[:4].astype("float32")))
try:
    next(iter(single.map(lambda x, y: cut_mix(x, y, [0, 0]))))
except ValueError as error:
    print("before batch:", str(error).strip().splitlines()[-1])
x_mixed, y_mixed = next(iter(single.batch(4).map(lambda x, y: cut_mix(x, y, [0, 0]))))
print("after batch: images", tuple(x_mixed.shape), "soft labels", tuple(y_mixed.shape))

# %% [markdown]
# ### 4. Label-destroying operations
#
# Lesson 1 showed that a mirrored 3 is not a 3. Policies designed for photos contain operations that can destroy a
# digit's label: large rotations turn 6 into 9, shears and translations push strokes off an 8x8 image, solarize
# swaps stroke and background. A classifier trained on clean 8x8 digits (scikit-learn's, as in lesson 1) scores the
# digits as each operation draws them, at magnitude 0.9. It is a pessimistic reader (a logistic regression on raw
# pixels also fails on shifts a person reads easily), so a drop says "check this operation by eye".

# %%
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

digits = load_digits()
d_train, d_test, t_train, t_test = train_test_split(digits.images, digits.target, test_size=0.5,
                                                    stratify=digits.target, random_state=0)
reader = LogisticRegression(max_iter=2000).fit(d_train.reshape(len(d_train), -1), t_train)
as_float = d_test[..., None].astype("float32") / 16            # 0..16 -> [0, 1], one channel


def read_back(images):
    return reader.score(np.asarray(images)[..., 0].reshape(len(images), -1) * 16, t_test)


n = len(as_float)
print(f"{'clean':<16} {read_back(as_float):.3f}")
for i, name in enumerate(policies.OPS[1:], start=1):
    drawn = policies.apply_ops(as_float, tf.fill([n], i), tf.fill([n], 0.9), np.where(np.arange(n) % 2, 1.0, -1.0))
    print(f"{name:<16} {read_back(drawn):.3f}")
print(f"{'RandAugment N=2 M=9':<16} {read_back(rand_augment(as_float, [SEED, 3])):.3f}")
rotate_180 = keras.layers.RandomRotation((0, 0.5), seed=SEED)(as_float, training=True)  # Keras RandAugment's range
print(f"{'rotate 0-180°':<16} {read_back(rotate_180):.3f}")

# %% [markdown]
# Not every operation acts here: `equalize` leaves an 8x8 image unchanged (PIL's equalisation does nothing to an
# image with fewer than 256 pixels, and these have 64), `color` has nothing to do on one grey channel, and `auto_contrast`
# and `posterize` barely move digits that already span the full range in 17 levels. On 32x32 colour photos all of
# them act. A translation of about 2 pixels, with its grey border, is enough to defeat this reader.
#
# For digits, text, or anything whose label depends on orientation or on what is dark and what is light, drop the
# operations that destroy the label (pass `names=` to this lesson's policies) or cap their magnitude, and check as
# above, then by eye.
#
# ### 5. Augmentation left on at inference
#
# Augmentation belongs to training. Keras's augmentation **layers** know this: inside a model, they only act when
# `training=True`, so `predict` and `evaluate` see clean images. A `tf.data` `map` does not know: if the evaluation
# stream applies the training augmentation, every test image is distorted. Compare the TrivialAugment-trained model
# on the clean test stream and on a stream that applies its own training augmentation (in quick mode, the size of
# the difference means nothing):

# %%
augment, _ = recipes.policy_arm("crop_flip+trivial")
model = trained["crop_flip+trivial"]
distorted = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(BATCH).enumerate().map(
    lambda k, xy: (scale(augment(xy[0], tf.stack([tf.constant(SEED, tf.int64), k]))), xy[1]))
print(f"test accuracy: clean stream {model.evaluate(test_stream, verbose=0)[1]:.4f}, "
      f"stream with the training augmentation {model.evaluate(distorted, verbose=0)[1]:.4f}")
config.quick_note()
erase_in_model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.RandomErasing(value_range=(0, 255))])
print("a RandomErasing layer inside a model leaves predict's input as it is:",
      bool(np.array_equal(erase_in_model.predict(x_test[:4].astype("float32"), verbose=0), x_test[:4])))

# %% [markdown]
# Test-time augmentation is the **deliberate** exception: known, mild views (a flip, a 2-pixel shift), averaged, not
# random distortions of the test set.
#
# ## Exercises
#
# 1. **RandAugment's two knobs.** Train `crop_flip+randaugment_n1_m5` and `crop_flip+randaugment_n2_m9` here in
#    full mode (or with `python -m helpers.studies policies`) and compare with the table. Which direction would
#    you try next, and why, given the training accuracies?
# 2. **A cheaper TTA.** Measure the flip-only and the ten-view TTA on the best arm you trained. How many points does
#    each view beyond the first buy, and at what cost per 10,000 images?
# 3. **Your own arm.** Arms are parts joined by `+` (`recipes.policy_arm`). Build `crop_flip+trivial+erasing` and
#    train it. Does erasing add to TrivialAugment, or do they overlap?
# 4. **Per batch against per image.** Write a RandAugment that draws one pair of operations per batch (as Keras
#    does), changing only how `rand_augment` above draws `ops`, and compare its grid of draws with the per-image
#    one. Which gives the model more variety per step?
# 5. **Digits.** From the per-operation read-back in pitfall 4, pick the operations that destroyed the most digit
#    labels, run `rand_augment(..., names=[...])` without them, and measure the read-back accuracy again.
#
# ## Summary
#
# - A policy randomises **which** operations each image gets and **how strongly**: draws of shape `[n]` from a
#   stateless seed, one per image. MixUp and CutMix blend two images of a batch and their labels.
# - Per-image parts run in `map`; blends run **after** `batch` and need one-hot labels and
#   `categorical_crossentropy`; their training accuracy is scored against the dominant label, so it reads low.
# - Check magnitude units by drawing from a layer: Keras's `RandAugment(factor=0.5)` rotates up to 180°, one way.
#   Its `RandAugment` and `AugMix` choose operations per batch (AugMix once per trace inside `tf.data`).
# - Test-time augmentation buys accuracy at prediction time for one forward pass per view.
# - On this model and data size, the mild policies match pad-crop-flip within seed noise, three others scored below
#   it (one seed each), and stacking did not help; flip TTA added half a point to 1.3 points to every model. Trust
#   a row as far as its seed count goes, and give a winner fresh seeds before you believe it.
