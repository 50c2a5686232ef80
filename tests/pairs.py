"""Synthetic image/mask pairs whose mask is defined by the image, and the alignment check (shared by tests)."""

import numpy as np

RNG = np.random.default_rng(0)


def blocky_pairs(n=3, size=64, block=8):
    """Images made of flat 8x8 blocks; the mask is exactly 'image is bright'."""
    coarse = RNG.integers(0, 2, (n, size // block, size // block, 1))
    mask = np.kron(coarse, np.ones((1, block, block, 1))).astype(np.uint8)
    return (mask * 200 + 20).astype(np.uint8), mask


def assert_aligned(image, mask):
    """Where the (bilinear) image is flat, i.e. all its neighbours agree, the (nearest) mask must agree."""
    image, mask = np.asarray(image).astype(int), np.asarray(mask)
    assert set(np.unique(mask).tolist()) <= {0, 1}, "mask values must stay 0/1"
    flat_bright, flat_dark = image == 220, image == 20
    assert flat_bright.mean() + flat_dark.mean() > 0.4, "test image should stay mostly flat"
    assert (mask[flat_bright] == 1).all() and (mask[flat_dark] == 0).all()
