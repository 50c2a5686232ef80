"""Property tests for helpers.augment and lesson 1's ops (helpers.taught.basic_ops): determinism, dtype/range,
shapes, bounds, errors. (The paired image/mask ops: tests/test_paired.py.)"""

import functools
import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import augment as A
from helpers.taught import basic_ops as B

RNG = np.random.default_rng(0)
PHOTO_U8 = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)
PHOTO_F32 = (PHOTO_U8 / 255.0).astype(np.float32)
BATCH_U8 = RNG.integers(0, 256, (4, 40, 40, 3), dtype=np.uint8)

OPS = {
    "random_resized_crop": lambda x, s: B.random_resized_crop(x, (24, 20), seed=s),
    "hsv_contrast": lambda x, s: B.hsv_contrast(x, seed=s),
    "gaussian_noise": lambda x, s: A.gaussian_noise(x, 0.1, seed=s),
    "salt_and_pepper": lambda x, s: A.salt_and_pepper(x, 0.1, seed=s),
    "random_gaussian_blur": lambda x, s: B.random_gaussian_blur(x, (0.5, 3.0), seed=s),
    "random_affine": lambda x, s: B.random_affine(x, seed=s, rotation=20, shift=0.2, zoom=0.2, shear=10,
                                                  horizontal_flip=True),
}
op_names = pytest.mark.parametrize("name", sorted(OPS))
SETTINGS = settings(max_examples=15, deadline=None)


@op_names
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_output_different_seed_different_output(name, seed):
    op = OPS[name]
    a, b, c = op(PHOTO_U8, seed), op(PHOTO_U8, seed), op(PHOTO_U8, seed + 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@op_names
def test_seed_pairs_and_tensors_work_like_ints(name):
    op = OPS[name]
    np.testing.assert_array_equal(op(PHOTO_U8, [5, 9]), op(PHOTO_U8, tf.constant([5, 9], tf.int32)))


@op_names
@pytest.mark.parametrize("image", [PHOTO_U8, PHOTO_F32, PHOTO_F32.astype(np.float16)],
                         ids=["uint8", "float32", "float16"])
def test_dtype_and_range_are_kept(name, image):
    out = OPS[name](image, 3).numpy()
    assert out.dtype == image.dtype
    top = 255 if image.dtype == np.uint8 else 1.0
    assert out.min() >= 0 and out.max() <= top


@op_names
def test_batch_gives_each_sample_its_own_draw_with_its_own_seed(name):
    op = OPS[name]
    out = op(BATCH_U8, 11).numpy()
    seeds = A.sample_seeds(11, len(BATCH_U8))
    for i in range(len(BATCH_U8)):
        np.testing.assert_array_equal(out[i], op(BATCH_U8[i], seeds[i]))
    identical = np.stack([BATCH_U8[0]] * 4)
    many = op(identical, 11).numpy()
    assert not all(np.array_equal(many[0], many[i]) for i in range(1, 4)), "one draw shared by the batch"


@op_names
def test_runs_inside_tf_data_map(name):
    op = OPS[name]
    ds = tf.data.Dataset.from_tensor_slices(BATCH_U8).enumerate()
    ds = ds.map(lambda i, x: op(x, tf.stack([tf.constant(1, tf.int64), i])))
    outs = list(ds.as_numpy_iterator())
    assert len(outs) == 4 and outs[0].dtype == np.uint8
    np.testing.assert_array_equal(outs[2], op(BATCH_U8[2], [1, 2]))


def test_output_shapes():
    assert B.random_resized_crop(PHOTO_U8, 200, seed=1).shape == (200, 200, 3)
    assert B.random_resized_crop(BATCH_U8, (10, 30), seed=1).shape == (4, 10, 30, 3)
    for name in ("hsv_contrast", "gaussian_noise", "salt_and_pepper", "random_affine", "random_gaussian_blur"):
        assert OPS[name](PHOTO_U8, 1).shape == PHOTO_U8.shape
        assert OPS[name](BATCH_U8, 1).shape == BATCH_U8.shape


def test_random_resized_crop_area_and_aspect_stay_within_bounds():
    """Crop an image whose channels encode (row, column) and read back the crop's extent."""
    h, w = 120, 160
    rows, cols = np.meshgrid(np.arange(h) / (h - 1), np.arange(w) / (w - 1), indexing="ij")
    coords = np.stack([rows, cols, np.zeros_like(rows)], -1).astype(np.float32)
    areas, ratios = [], []
    for seed in range(300):
        out = B.random_resized_crop(coords, 32, area=(0.1, 1.0), ratio=(0.5, 2.0), seed=seed,
                                    antialias=False).numpy()
        # bilinear resize keeps the first and last pixel centres of the crop
        crop_h = (out[..., 0].max() - out[..., 0].min()) * (h - 1) + 1
        crop_w = (out[..., 1].max() - out[..., 1].min()) * (w - 1) + 1
        areas.append(crop_h * crop_w / (h * w))
        ratios.append(crop_w / crop_h)
    areas, ratios = np.array(areas), np.array(ratios)
    assert areas.min() >= 0.1 - 0.01 and areas.max() <= 1.0 + 1e-6
    assert ratios.min() >= 0.5 - 0.03 and ratios.max() <= 2.0 + 0.03
    assert areas.max() - areas.min() > 0.5 and ratios.max() / ratios.min() > 2.5, "draws should span the range"


def test_random_resized_crop_is_not_a_fixed_window():
    ramp = np.tile((np.arange(64) / 63).astype(np.float32)[None, :, None], (64, 1, 1))
    widths = {round(float(np.ptp(B.random_resized_crop(ramp, 16, seed=s, antialias=False))) * 63) for s in range(20)}
    assert len(widths) > 5, "the crop size must vary, unlike tf.image.random_crop"


def test_hsv_contrast_keeps_hue_and_draws_log_uniform_exponents():
    image = np.array([[[0.9, 0.3, 0.2], [0.2, 0.5, 0.8]]], np.float32)
    hue_in = tf.image.rgb_to_hsv(image)[..., 0].numpy()
    brighter = darker = 0
    for seed in range(200):
        out = B.hsv_contrast(image, seed=seed).numpy()
        np.testing.assert_allclose(tf.image.rgb_to_hsv(out)[..., 0], hue_in, atol=2e-3)
        v_in, v_out = image.max(-1).mean(), out.max(-1).mean()
        brighter += v_out > v_in
        darker += v_out < v_in
    assert 0.35 < brighter / 200 < 0.65 and brighter + darker == 200


def test_gaussian_noise_has_the_requested_spread():
    grey = np.full((200, 200, 1), 0.5, np.float32)
    noisy = A.gaussian_noise(grey, 0.1, seed=0).numpy()
    assert abs(noisy.std() - 0.1) < 0.005 and abs(noisy.mean() - 0.5) < 0.005


def test_gaussian_blur_keeps_flat_images_and_smooths_edges():
    flat = np.full((20, 20, 3), 0.25, np.float32)
    np.testing.assert_allclose(B.gaussian_blur(flat, 2.0), flat, atol=1e-6)
    np.testing.assert_array_equal(B.gaussian_blur(PHOTO_U8, 0), PHOTO_U8)
    step = np.zeros((20, 40, 1), np.float32)
    step[:, 20:] = 1.0
    profile = B.gaussian_blur(step, 2.0).numpy()[10, :, 0]
    assert 0.45 < profile[19:21].mean() < 0.55 and profile[10] < 0.01 and profile[30] > 0.99
    assert np.all(np.diff(profile) >= -1e-6), "a blurred step stays monotonic"
    with pytest.raises(ValueError, match="sigma"):
        B.gaussian_blur(PHOTO_U8, -1)
    with pytest.raises(ValueError, match="too large"):
        B.gaussian_blur(np.zeros((4, 40, 1), np.float32), 2.0)


def test_salt_and_pepper_hits_the_requested_fraction_across_all_channels():
    grey = np.full((200, 200, 3), 128, np.uint8)
    out = A.salt_and_pepper(grey, 0.2, seed=0).numpy()
    changed = (out != 128).any(-1)
    assert abs(changed.mean() - 0.2) < 0.01
    assert set(np.unique(out[changed]).tolist()) == {0, 255}
    assert (out[changed].min(-1) == out[changed].max(-1)).all(), "a pixel goes black or white in every channel"
    assert abs((out[..., 0] == 0).mean() - 0.1) < 0.01


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((1, 1, 8, 8, 3), np.uint8)])
@op_names
def test_bad_rank_is_a_clear_error(name, bad):
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        OPS[name](bad, 0)


@op_names
def test_bad_channels_are_a_clear_error(name):
    with pytest.raises(ValueError, match="channels"):
        OPS[name](np.zeros((8, 8, 5), np.uint8), 0)


def test_hsv_contrast_needs_rgb():
    with pytest.raises(ValueError, match="3 channels"):
        B.hsv_contrast(np.zeros((8, 8, 1), np.uint8), seed=0)


def test_integer_images_other_than_uint8_are_refused():
    with pytest.raises(ValueError, match="dtype int32"):
        A.gaussian_noise(np.zeros((8, 8, 3), np.int32), 0.1, seed=0)


@pytest.mark.parametrize("kwargs", [dict(area=(0.0, 1.0)), dict(area=(0.5, 0.2)), dict(ratio=(2.0, 1.0)), dict(size=0)])
def test_random_resized_crop_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="must"):
        B.random_resized_crop(PHOTO_U8, seed=0, **{"size": 8, **kwargs})


def test_bad_seed_shape():
    with pytest.raises(ValueError, match="pair"):
        A.gaussian_noise(PHOTO_U8, 0.1, seed=[1, 2, 3])


# ---------------------------------------------------------------- the fused affine transform

def _warp(image, matrix, interpolation="nearest"):
    return B.apply_affine(image, matrix, interpolation=interpolation, fill_mode="constant").numpy()


def test_affine_identity_and_exact_cases():
    h, w = 9, 11
    image = np.arange(h * w, dtype=np.float32).reshape(h, w, 1) / (h * w)
    np.testing.assert_array_equal(_warp(image, B.affine_matrix(h, w)), image)
    np.testing.assert_allclose(_warp(image, B.affine_matrix(h, w, flip=True)), image[:, ::-1], atol=1e-6)
    square = image[:9, :9]
    rot = _warp(square, B.affine_matrix(9, 9, rotation=90))
    assert np.allclose(rot, np.rot90(square, 1)) or np.allclose(rot, np.rot90(square, -1))
    shifted = _warp(image, B.affine_matrix(h, w, shift=(2, 0)))
    np.testing.assert_allclose(shifted[:, :-2], image[:, 2:], atol=1e-6)  # output x samples input x + 2


def test_fused_affine_matches_the_composition_of_the_separate_transforms():
    """Rotation, shift, zoom and flip applied one after another with exact (nearest) sampling
    equal the single fused matrix; with bilinear sampling the fused image is sharper."""
    h = w = 33
    rng = np.random.default_rng(1)
    image = rng.random((h, w, 1)).astype(np.float32)
    # every part maps whole pixels to whole pixels, so nearest sampling is exact at each step;
    # zooming out comes first, so no content leaves the frame and comes back (a chain loses it)
    parts = [B.affine_matrix(h, w, zoom=(2, 2)), B.affine_matrix(h, w, rotation=90),
             B.affine_matrix(h, w, shift=(3, -2)), B.affine_matrix(h, w, flip=True)]
    # warping by A then B samples in(A . B . p): the first transform applied stands leftmost
    fused = parts[0] @ parts[1] @ parts[2] @ parts[3]
    step = image
    for m in parts:
        step = _warp(step, m)
    np.testing.assert_allclose(_warp(image, fused), step, atol=1e-6)
    assert np.abs(step).sum() > 0 and not np.allclose(step, image)
    smooth = 0.5 + 0.25 * np.add.outer(np.sin(np.arange(h) / 3), np.cos(np.arange(w) / 4))
    smooth = smooth[..., None].astype(np.float32)
    small = [B.affine_matrix(h, w, rotation=7), B.affine_matrix(h, w, shift=(0.5, 0.3)),
             B.affine_matrix(h, w, zoom=(0.9, 0.9))]
    chained = smooth
    for m in small:
        chained = _warp(chained, m, "bilinear")
    once = _warp(smooth, small[0] @ small[1] @ small[2], "bilinear")
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(np.diff(once[inner], axis=0)).mean() > np.abs(np.diff(chained[inner], axis=0)).mean() * 0.99
    np.testing.assert_allclose(once[inner], chained[inner], atol=0.05)  # same geometry, one resampling


def test_affine_matrix_composes_like_the_legacy_generator():
    """centre . R . Shear . Zoom . Flip . (p - centre) + shift, checked against NumPy."""
    h, w, deg, shear, zx, zy, dx, dy = 20, 30, 17.0, 8.0, 1.2, 0.9, 3.0, -4.0
    t, s = math.radians(deg), math.radians(shear)
    lin = (np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
           @ np.array([[1, -math.sin(s)], [0, math.cos(s)]]) @ np.diag([-zx, zy]))
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    expected = np.eye(3)
    expected[:2, :2], expected[:2, 2] = lin, c - lin @ c + [dx, dy]
    got = B.affine_matrix(h, w, rotation=deg, shift=(dx, dy), zoom=(zx, zy), shear=shear, flip=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_random_affine_resamples_once():
    fn = tf.function(lambda x: B.random_affine(x, seed=1, rotation=20, shift=0.2, zoom=0.2, shear=5,
                                               horizontal_flip=True))
    graph = fn.get_concrete_function(tf.TensorSpec([8, 32, 32, 3], tf.float32)).graph
    warps = [op for op in graph.get_operations() if op.type == "ImageProjectiveTransformV3"]
    assert len(warps) == 1


def test_random_affine_parameters_stay_in_range():
    """A single bright dot moves no further than shift + rotation/zoom allow."""
    image = np.zeros((64, 64, 1), np.float32)
    image[32, 32] = 1.0
    for seed in range(30):
        out = B.random_affine(image, seed=seed, shift=0.1, interpolation="nearest").numpy()[..., 0]
        ys, xs = np.nonzero(out)
        assert len(xs) >= 1 and np.abs(xs - 32).max() <= 7 and np.abs(ys - 32).max() <= 7


# ---- random_resized_crop: Inception's / torchvision's sampling, checked on its distribution

@functools.cache
def _boxes(height, width, n=3000, **kwargs):
    seeds = tf.stack([tf.range(n, dtype=tf.int64), tf.fill([n], tf.constant(11, tf.int64))], axis=1)
    draw = tf.function(lambda seeds: tf.map_fn(
        lambda s: B.random_resized_crop_box(height, width, seed=s, **kwargs), seeds,
        fn_output_signature=tf.TensorSpec([4], tf.int32)))
    return draw(seeds).numpy()  # (n, 4): top, left, h, w


def _torchvision_reference(height, width, n, area=(0.08, 1.0), ratio=(3 / 4, 4 / 3), seed=0):
    """The sampling of torchvision's RandomResizedCrop.get_params, in NumPy: the yardstick."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        for _ in range(10):
            target = height * width * rng.uniform(*area)
            aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
            w, h = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                out.append((rng.integers(0, height - h + 1), rng.integers(0, width - w + 1), h, w))
                break
        else:
            out.append(((height - height) // 2, 0, height, width))
    return np.array(out)


def test_crop_boxes_reach_every_edge_and_stay_inside():
    top, left, h, w = _boxes(64, 64).T
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 64).all() and (left + w <= 64).all()
    # before, offsets were drawn from [0, W - w): no crop smaller than the image touched the right edge
    small = w < 64
    assert ((left + w == 64) & small).sum() > 20 and ((top + h == 64) & (h < 64)).sum() > 20
    assert ((left == 0) & small).sum() > 20 and ((top == 0) & (h < 64)).sum() > 20


def test_crop_aspect_is_log_uniform_so_half_the_crops_of_a_square_are_landscape():
    _, _, h, w = _boxes(224, 224).T
    landscape, portrait = (w > h).sum(), (w < h).sum()
    assert 0.45 < landscape / (landscape + portrait) < 0.55  # before: 0.68, a linear draw of the ratio


def test_crop_area_and_aspect_match_torchvision_in_distribution():
    from scipy.stats import ks_2samp

    ours = _boxes(224, 224)
    reference = _torchvision_reference(224, 224, 3000)
    for column in (lambda b: b[:, 2] * b[:, 3] / 224**2, lambda b: np.log(b[:, 3] / b[:, 2])):
        assert ks_2samp(column(ours), column(reference)).pvalue > 0.01
    # Uniform over [0.08, 1] but for boxes that do not fit, near area 1 (median ~0.5; before: 0.32).
    median, reference_median = (np.median(b[:, 2] * b[:, 3]) / 224**2 for b in (ours, reference))
    assert abs(median - reference_median) < 0.03 and median > 0.45


def test_crop_falls_back_to_a_centred_box_of_an_allowed_ratio():
    top, left, h, w = _boxes(60, 60, n=50, area=(0.95, 1.0), ratio=(2.0, 3.0)).T
    # no 2:1 box of 95% of the area fits in a square: the widest 2:1 box, centred
    assert (w == 60).all() and (h == 30).all() and (top == 15).all() and (left == 0).all()


# ---- range contract and argument types

def test_float_images_outside_0_1_are_refused_with_the_likely_cause():
    forgot_to_scale = PHOTO_U8.astype(np.float32)  # [0, 255]
    for op in (lambda x: B.random_affine(x, seed=0, rotation=10), lambda x: A.gaussian_noise(x, 0.1, seed=0),
               lambda x: B.random_resized_crop(x, 8, seed=0), lambda x: B.gaussian_blur(x, 1.0)):
        with pytest.raises(ValueError, match=r"did you forget /255\?"):
            op(forgot_to_scale)
    assert B.random_affine(forgot_to_scale / 255, seed=0, rotation=10).numpy().max() <= 1.0


def test_the_range_check_also_holds_inside_tf_data():
    ds = tf.data.Dataset.from_tensors(PHOTO_U8.astype(np.float32)).map(lambda x: A.gaussian_noise(x, 0.1, seed=0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="forget /255"):
        next(iter(ds))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_do_not_spread_through_blur_and_crops(bad):
    image = PHOTO_U8.astype(np.float32) / 255
    image[3, 4, 0] = bad
    for op in (lambda x: B.gaussian_blur(x, 1.0), lambda x: B.random_resized_crop(x, 8, seed=0)):
        with pytest.raises(ValueError, match="NaN or inf"):
            op(image)


def test_numpy_and_tensor_scalars_are_accepted_where_ints_and_floats_are():
    expected = B.random_affine(PHOTO_U8, seed=3, zoom=0.2, shift=0.1).numpy()
    for seed in (np.int64(3), np.int32(3), tf.constant(3), tf.constant(3, tf.int64), np.array(3)):
        got = B.random_affine(PHOTO_U8, seed=seed, zoom=np.float64(0.2), shift=np.float32(0.1)).numpy()
        np.testing.assert_array_equal(got, expected)
    assert B.random_resized_crop(PHOTO_U8, np.int64(12), seed=0).shape == (12, 12, 3)


@pytest.mark.parametrize("seed", [[0.7, 0.2], 1.5, np.float32(2.0), True])
def test_float_or_bool_seeds_are_refused_not_truncated(seed):
    with pytest.raises(ValueError, match="seed must be"):
        A.gaussian_noise(PHOTO_U8, 0.1, seed=seed)


@pytest.mark.parametrize("kwargs", [dict(rotation=float("nan")), dict(shift=(0.1, float("inf"))), dict(zoom=float("nan")),
                                    dict(shear=float("-inf"))])
def test_non_finite_geometry_is_refused_not_turned_into_a_black_image(kwargs):
    with pytest.raises(ValueError, match="finite"):
        B.random_affine(PHOTO_U8, seed=0, **kwargs)


def test_non_finite_noise_is_refused():
    for stddev in (float("nan"), float("inf"), -0.1):
        with pytest.raises(ValueError, match="stddev"):
            A.gaussian_noise(PHOTO_U8, stddev, seed=0)
