"""Helpers for the image data augmentation course: one job per module.

- ``config``:       mode (quick/full), data and output folders, seeds
- ``download``:     checksummed atomic downloads, safe archive extraction
- ``datasets``:     the four datasets: where they come from, fetch, layout checks, inventory, errors
- ``readers``:      read CIFAR-10 batches and the membrane image/mask pairs into arrays
- ``splits``:       each lesson's train/validation/test split
- ``imagefolders``: scan class folders for junk, load photos
- ``augment``:      the seeded-op toolkit (seeds, dtype and range checks, per-sample draws) and two noise ops
- ``paired``:       the paired image/mask crop (one position for both) and the pair check
- ``policies``:     the PIL operations of lesson 7's policies and what the policies are built from
- ``recipes``:      the named augmentation recipes, each defined once, in every form
- ``taught``:       GENERATED from the lessons' ``#@save`` cells (their pipelines, U-Net, TTA): never edit
- ``models``:       models several lessons reuse, the ResNet50 loader, BatchNorm recalibration
- ``metrics``:      segmentation scores, epoch timing
- ``plots``:        the lessons' figures
- ``measured``:     the measured full-mode results in notebooks/measured/
- ``study_runs``:   the long studies' runs (lessons 2, 3 and 7)
- ``studies``:      their command line: progress, a row saved per run, resume
- ``cli``:          what the command lines share: user errors in one line, exit code 2
- ``workloads``:    the benchmark's three workloads (data, augmentation, model)
- ``feeders``:      the ways to feed ``fit`` that the benchmark compares
- ``bench``:        the input-pipeline benchmark's measurements (lesson 6)
- ``scaling``:      distribution strategies, learning-rate rule, sharding, loopback workers (lesson 8)
- ``service``:      a local tf.data service: dispatcher and worker processes (lessons 6 and 8)

The course's own tooling (the book, nbgrader, the Colab cells) is in ``coursetools``, which nothing here imports.
"""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if not ((_ROOT / "notebooks").is_dir() and (_ROOT / "pyproject.toml").is_file()):
    raise ImportError(
        f"helpers was imported from {Path(__file__).parent}, outside the course's repository: a plain "
        "`pip install .` copies it into site-packages, away from the lessons, their measured results and the data "
        "and output folders. Install the course editable from its clone instead: `pip install -e .` (or `make lab`)")

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) is noise in a lesson.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
