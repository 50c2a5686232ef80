"""Property tests for helpers.paired and lesson 5's paired transforms (helpers.taught.segmentation): every paired op
keeps image and mask aligned, sample by sample; crops reach both edges; bad pairs and bad windows are clear errors."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import paired as P
from helpers.taught import segmentation as S
from tests.pairs import assert_aligned, blocky_pairs

RNG = np.random.default_rng(0)
PHOTO_U8 = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)
SETTINGS = settings(max_examples=15, deadline=None)


# ---------------------------------------------------------------- paired crop

@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), h=st.integers(1, 40), w=st.integers(1, 40),
       mask_dtype=st.sampled_from([np.uint8, np.int32, np.float32]))
def test_paired_crop_keeps_every_sample_aligned(seed, h, w, mask_dtype):
    images = RNG.integers(0, 256, (5, 40, 40, 3), dtype=np.uint8)
    masks = (images[..., :1] > 127).astype(mask_dtype)  # the mask is a function of the image
    img_crop, mask_crop = P.paired_random_crop(images, masks, (h, w), seed=seed)
    assert img_crop.shape == (5, h, w, 3) and mask_crop.shape == (5, h, w, 1)
    assert img_crop.dtype == tf.uint8 and mask_crop.dtype == tf.as_dtype(mask_dtype)
    np.testing.assert_array_equal((img_crop.numpy()[..., :1] > 127).astype(mask_dtype), mask_crop.numpy())
    assert set(np.unique(mask_crop).tolist()) <= {0, 1}


def test_paired_crop_positions_differ_per_sample_and_reach_both_edges():
    coords = np.tile(np.arange(20, dtype=np.int32)[None, None, :, None], (200, 20, 1, 1))
    crops, _ = P.paired_random_crop(coords, coords, (4, 5), seed=1)
    lefts = crops.numpy()[:, 0, 0, 0]
    assert lefts.min() == 0 and lefts.max() == 15, "every left edge 0..W-w, both ends included"
    assert len(set(lefts.tolist())) == 16


def test_paired_crop_single_image_and_full_size():
    img, _ = P.paired_random_crop(PHOTO_U8, PHOTO_U8[..., :1], (48, 64), seed=0)
    np.testing.assert_array_equal(img, PHOTO_U8)


@pytest.mark.parametrize("size", [(49, 10), (10, 65), 100])
def test_crop_larger_than_the_image_is_a_clear_error(size):
    with pytest.raises(ValueError, match="does not fit"):
        P.paired_random_crop(PHOTO_U8, PHOTO_U8, size, seed=0)


def test_image_and_mask_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="differ in size"):
        P.paired_random_crop(PHOTO_U8, PHOTO_U8[:40], 8, seed=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_do_not_spread_through_crops(bad):
    image = PHOTO_U8.astype(np.float32) / 255
    image[3, 4, 0] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        P.paired_random_crop(image, image[..., :1], 8, seed=0)


# ---------------------------------------------------------------- paired (image, mask) transforms

TRANSFORMS = {
    "crop": lambda x, m, s: P.paired_random_crop(x, m, 40, seed=s),
    "affine": lambda x, m, s: S.paired_random_affine(x, m, seed=s, rotation=30, shift=0.1, zoom=0.2, shear=5,
                                                     horizontal_flip=True, vertical_flip=True),
    "elastic": lambda x, m, s: S.paired_elastic(x, m, seed=s, alpha=20, sigma=5),
    "grid_elastic": lambda x, m, s: S.paired_elastic(x, m, seed=s, field="grid", grid=3, sigma=4),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_every_paired_transform_keeps_every_sample_aligned(name, seed):
    images, masks = blocky_pairs()
    out_images, out_masks = TRANSFORMS[name](images, masks, seed)
    assert out_images.dtype == tf.uint8 and out_masks.dtype == tf.uint8
    for i in range(len(images)):
        assert_aligned(out_images[i], out_masks[i])


@pytest.mark.parametrize("name", ["affine", "elastic", "grid_elastic"])
def test_paired_transforms_move_pixels_and_are_seeded(name):
    images, masks = blocky_pairs()
    a, b, c = (TRANSFORMS[name](images, masks, s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1]) and not np.array_equal(a[1], masks)


def test_paired_transforms_refuse_a_mismatched_or_multichannel_mask():
    images, masks = blocky_pairs()
    with pytest.raises(ValueError, match="same N, H, W"):
        S.paired_random_affine(images, masks[:, :32], seed=0)
    with pytest.raises(ValueError, match="channels"):
        S.paired_elastic(images, np.repeat(masks, 3, -1), seed=0)


def test_elastic_field_is_seeded_and_peaks_at_half_alpha():
    field = S.elastic_field(3, 32, 40, alpha=20, sigma=4).numpy()
    assert field.shape == (32, 40, 2)
    assert abs(np.abs(field).max() - 10) < 1e-3, "alpha / 2 pixels at the peak, whatever sigma and size"
    np.testing.assert_array_equal(field, S.elastic_field(3, 32, 40, alpha=20, sigma=4))
    assert not np.array_equal(field, S.elastic_field(4, 32, 40, alpha=20, sigma=4))


def test_grid_elastic_field_is_seeded_smooth_and_its_grid_vectors_have_sigma_pixels():
    field = S.grid_elastic_field(3, 64, 80, grid=3, sigma=10).numpy()
    assert field.shape == (64, 80, 2)
    np.testing.assert_array_equal(field, S.grid_elastic_field(3, 64, 80, grid=3, sigma=10))
    assert not np.array_equal(field, S.grid_elastic_field(4, 64, 80, grid=3, sigma=10))
    assert np.abs(np.diff(field, axis=0)).max() < 2 and np.abs(np.diff(field, axis=1)).max() < 2, "a few smooth bends"
    coarse = np.stack([S.grid_elastic_field(s, 3, 3, grid=3, sigma=10).numpy() for s in range(300)])
    assert 9 < coarse.std() < 11, "at the grid's own size the field is the drawn N(0, 10^2) vectors"
    with pytest.raises(ValueError, match="swirl"):
        S.paired_elastic(*blocky_pairs(), seed=0, field="swirl")
