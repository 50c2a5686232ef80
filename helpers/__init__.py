"""Helpers for the image data augmentation course: one job per module.

- ``config``:   mode (quick/full), data and output folders, seeds
- ``download``: checksummed atomic downloads, safe archive extraction
- ``datasets``: the four datasets: fetch, verify, load
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) is noise in a lesson.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
