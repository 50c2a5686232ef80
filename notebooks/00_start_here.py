# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/augmentation-course/augmentation-course/blob/main/notebooks/00_start_here.ipynb)

# %% [markdown]
# # 0 · Start here
#
# **Objectives.** After this notebook you know what the course teaches and in which order, you have checked
# that your environment works (TensorFlow, Keras, device), and you know which datasets are on your disk.
#
# **Runtime.** Quick mode 5 s, full mode 7 s (the sum of the cells' times on a 2-core
# CPU, kernel start-up not included): nothing is trained here.

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

# %%
from helpers import config

print(config.banner("0 · Start here"))

# %% [markdown]
# ## What this course is about
#
# A network learns what its training images show it, and nothing more. When there are few images, it memorises
# them. **Data augmentation** makes each epoch show the network new, plausible variants of the same images:
# flipped, shifted, rotated, re-cropped, re-coloured, noisy. It is the cheapest regulariser in computer vision:
# in the CIFAR-10 post that lesson 2 reworks, it lifted test accuracy from 0.6058 to 0.7057 on the same model
# (the post's own figures, after 20 epochs without augmentation and 80 with; lesson 2 runs the experiment again
# with equal care for both arms, and measures what each recipe is worth).
#
# Done carelessly, it can also hurt. A flipped "6" is not a "6" any more. A mask that is interpolated stops being a
# mask. A random crop may leave the object behind. A generator can silently overwrite your training set. This
# course reworks five well-read Keras 2 tutorials, **keeps their ideas, names their mistakes, and fixes them** on
# today's TensorFlow and Keras 3.
#
# ## The lessons, in order
#
# | # | notebook | what you learn | dataset |
# |---|---|---|---|
# | 0 | `00_start_here` | environment, modes, data | none |
# | 1 | `01_augmentation_basics` | every classic transform in `tf.image`, Keras layers and the legacy `ImageDataGenerator`; seeds; label-preserving augmentation | photos bundled with scikit-learn |
# | 2 | `02_cifar10_augmentation_experiment` | the "20% of CIFAR-10 with and without augmentation" experiment, reproduced and beaten | CIFAR-10 |
# | 3 | `03_flowers_fit_generator` | generators done right: `fit_generator`'s successors, `PyDataset`, `tf.data` | TensorFlow flowers |
# | 4 | `04_hotdog_resnet50_finetuning` | fine-tuning ResNet50, and why the original run sat at 50% | d2l hotdog |
# | 5 | `05_unet_membrane_segmentation` | U-Net with paired image/mask augmentation | ISBI-2012 membrane |
# | 6 | `06_fast_input_pipelines` | measured input-pipeline speed on one machine: what `fit` does with each feeder, the `tf.data` knobs | CIFAR-10, flowers, membrane |
# | 7 | `07_modern_augmentation_policies` | RandAugment, TrivialAugment, AugMix, erasing, MixUp, CutMix and test-time augmentation, against their cost | CIFAR-10 |
# | 8 | `08_scaling_past_one_machine` | several GPUs and machines: synchronized BatchNorm, the learning-rate rule, sharding, the tf.data service | CIFAR-10, flowers |
#
# Each lesson states its runtime per mode in its first cell: measured where a whole run was timed, estimated where
# it says so. The cell below lists the lesson
# notebooks that exist in your copy of the course.

# %%
notebooks = sorted(p.name for p in (config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
print("\n".join(notebooks))

# %% [markdown]
# ## Two modes, one switch
#
# Every lesson runs in one of two modes, chosen by the environment variable `COURSE_QUICK` and read in exactly one
# place, `helpers.config`:
#
# | mode | how | what it is for |
# |---|---|---|
# | **full** (default) | `COURSE_QUICK` unset or `0` | the lessons' real data sizes and epochs: the results the text discusses |
# | **quick** | `COURSE_QUICK=1` | a few images and 1-2 epochs, so a notebook runs in seconds; the test suite uses it |
#
# Quick mode checks that the code runs. Its accuracies mean nothing. Lessons choose sizes with
# `config.pick(quick=..., full=...)`, so you can always see both values side by side:

# %%
epochs = config.pick(quick=1, full=20)
print(f"This run would train for {epochs} epoch(s) in {config.load_settings().mode} mode.")

# %% [markdown]
# Two more variables set where things live:
#
# - `COURSE_DATA_DIR`: where datasets are found or downloaded to (default `data/` in the repository);
# - `COURSE_OUTPUT_DIR`: where lessons write figures, trained models and results (default `outputs/`).
#   In the data directory the course writes only downloads and the small `.lock` files that keep two downloads
#   of the same dataset from colliding.
#
# Set them **before** starting JupyterLab (e.g. `COURSE_QUICK=1 make lab`), or in a notebook with `%env COURSE_QUICK=1`
# followed by a kernel restart.
#
# ## Your datasets
#
# `helpers.datasets.fetch(name)` returns a dataset's folder. It uses a copy that is already on disk, even a partial
# one. If there is none, it downloads the canonical archive, checks its checksum, and unpacks it safely. Here is
# what your data directory holds. *partial* means fewer items than the canonical set: lessons still run on it,
# but their numbers then differ from the full data.

# %%
from helpers import datasets

rows = datasets.inventory()
print(f"data dir: {config.data_dir()}\n")
print(f"{'dataset':<10}{'status':<12}{'items':>8}{'canonical':>11}{'MB':>9}")
for r in rows:
    print(f"{r['dataset']:<10}{r['status']:<12}{r['items']:>8}{r['canonical']:>11}{r['MB']:>9}")
    for leftover in r["leftovers"]:  # what a fetch killed mid-way left; the next fetch removes it
        print(f"{'':<10}leftover of an interrupted fetch: {leftover}")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 2.4))
names = [r["dataset"] for r in rows]
ax.barh(names, [100 * r["items"] / r["canonical"] for r in rows], color="tab:blue")
ax.set_xlim(0, 100)
ax.set_xlabel("% of the canonical dataset on disk")
ax.invert_yaxis()
fig.tight_layout()
plt.show()

# %% [markdown]
# What each dataset is, where it comes from, and what is counted as one item:

# %%
for spec in datasets.DATASETS.values():
    origin = spec.archive or f"{len(spec.files)} files"
    print(f"{spec.name:<9} {spec.full_count:>5} items  {origin:<24} {spec.source}\n{'':<9} licence: {spec.licence}")

# %% [markdown]
# ## How the course gets its data
#
# The course's data layer **verifies every download against a published checksum, writes to a temporary file and
# renames it only when it is complete, and refuses an archive whose members would escape the target folder**. It
# never changes a folder you already have. When something is wrong, it stops with one message that says what to do.
# For example, here is a `flower_photos/` folder that lacks three of its five class folders (made in a temporary
# directory; no network is used):

# %%
import tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as tmp:
    for name in ("daisy", "roses"):
        (Path(tmp) / "flower_photos" / name).mkdir(parents=True)
    try:
        datasets.fetch("flowers", data_dir=tmp)
    except datasets.LayoutError as err:
        print(err)

# %% [markdown]
# *On a machine without a GPU, TensorFlow prints a few lines on start-up such as "Could not find cuda drivers".
# They only say that it will use the CPU.*

# %% [markdown]
# ## Exercises
#
# 1. Start JupyterLab with `COURSE_QUICK=1 make lab` and rerun the cell that prints the banner: which lines changed?
# 2. Point `COURSE_DATA_DIR` at an empty folder and call `datasets.fetch("membrane")`. Where do the files come
#    from, and what does the folder look like afterwards?
# 3. Open `helpers/datasets.py`: which three places does `fetch` look in, in which order, before it gives up?
#
# ## Summary
#
# - The course has eight lessons. Each runs in **quick** mode (seconds, for checking) or **full** mode (the real
#   results), and `COURSE_QUICK` is the only switch.
# - `helpers.config` holds every run setting; `helpers.datasets.fetch` gives you verified data, or one clear
#   error saying how to provide it.
# - Next: `01_augmentation_basics`.
