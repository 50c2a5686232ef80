"""Helpers for the image data augmentation course: one job per module.

- ``config``:       mode (quick/full), data and output folders, seeds
- ``download``:     checksummed atomic downloads, safe archive extraction
- ``datasets``:     the four datasets: where they come from, fetch, layout checks, inventory, errors
- ``readers``:      read CIFAR-10 batches and the membrane image/mask pairs into arrays
- ``splits``:       each lesson's train/validation/test split
- ``imagefolders``: scan class folders for junk, load photos
- ``augment``:      seeded image ops
- ``paired``:       seeded paired image/mask ops (crop, affine, elastic)
- ``policies``:     lesson 7's policies: RandAugment, TrivialAugment-style, AugMix, erasing, MixUp, CutMix, TTA
- ``recipes``:      the named augmentation recipes, each defined once, in every form
- ``taught``:       GENERATED from the lessons' ``#@save`` cells (their pipelines, U-Net, TTA): never edit
- ``models``:       models several lessons reuse, the ResNet50 loader, BatchNorm recalibration
- ``metrics``:      segmentation scores, epoch timing
- ``plots``:        the lessons' figures
- ``measured``:     the measured full-mode results in notebooks/measured/
- ``studies``:      command-line drivers for the long studies
- ``workloads``:    the benchmark's three workloads (data, augmentation, model)
- ``feeders``:      the ways to feed ``fit`` that the benchmark compares
- ``bench``:        the input-pipeline benchmark's measurements (lesson 6)
- ``scaling``:      distribution strategies, learning-rate rule, sharding, loopback workers (lesson 8)
- ``service``:      a local tf.data service: dispatcher and worker processes (lessons 6 and 8)

The course's own tooling (the book, nbgrader, the Colab cells) is in ``coursetools``, which nothing here imports.
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) is noise in a lesson.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
