"""Lesson 7's policies: PIL's definitions of the operations, one draw per image, seeds, and the batch blends'
images and labels telling the same story."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageEnhance, ImageOps

from helpers import policies as P
from helpers.taught import cifar_pipeline, policy_training

RNG = np.random.default_rng(0)
PHOTOS = RNG.integers(0, 256, (6, 16, 16, 3)).astype(np.uint8)
PHOTOS[:, :8] //= 2  # a darker top half, so contrast and equalisation have something to do


def _ops(name, magnitude, n=None, sign=1.0):
    n = len(PHOTOS) if n is None else n
    x = tf.cast(PHOTOS[:n], tf.float32) / 255
    out = P.apply_ops(x, tf.fill([n], P.OPS.index(name)), tf.fill([n], magnitude), tf.fill([n], sign))
    return np.round(out.numpy() * 255).astype(int)


@pytest.mark.parametrize("name, pil, magnitude, tolerance", [
    ("equalize", ImageOps.equalize, 0.0, 0),
    ("auto_contrast", ImageOps.autocontrast, 0.0, 1),
    ("solarize", lambda im: ImageOps.solarize(im, 128), 0.5, 0),
    ("posterize", lambda im: ImageOps.posterize(im, 6), 0.5, 0),
    ("brightness", lambda im: ImageEnhance.Brightness(im).enhance(1.45), 0.5, 1),
    ("color", lambda im: ImageEnhance.Color(im).enhance(1.45), 0.5, 1),
    ("contrast", lambda im: ImageEnhance.Contrast(im).enhance(1.45), 0.5, 1),
    ("sharpness", lambda im: ImageEnhance.Sharpness(im).enhance(1.45), 0.5, 1),
])
def test_colour_operations_match_pil(name, pil, magnitude, tolerance):
    expected = np.stack([np.asarray(pil(Image.fromarray(im))) for im in PHOTOS]).astype(int)
    assert np.abs(_ops(name, magnitude) - expected).max() <= tolerance  # 1 = rounding


@pytest.mark.parametrize("name", [n for n in P.OPS if n not in ("auto_contrast", "equalize")])
def test_magnitude_zero_changes_nothing_and_magnitude_one_does(name):
    assert np.array_equal(_ops(name, 0.0), PHOTOS)
    if name != "identity":
        assert not np.array_equal(_ops(name, 1.0), PHOTOS)


def test_translation_moves_by_its_fraction_of_the_side_and_the_sign_sets_the_direction():
    three_px = 3 / (P.MAX_TRANSLATE * 16)  # the magnitude that shifts a 16-px image by 3 px
    right = _ops("translate_x", three_px, n=1)
    assert np.array_equal(right[0, :, 3:], PHOTOS[0, :, :-3])
    assert np.all(right[0, :, :3] == round(P.FILL * 255)), "the uncovered border is grey"
    left = _ops("translate_x", three_px, n=1, sign=-1.0)
    assert np.array_equal(left[0, :, :-3], PHOTOS[0, :, 3:])


POLICIES = {
    "rand_augment": lambda x, s: policy_training.rand_augment(x, s),
    "trivial_augment": lambda x, s: policy_training.trivial_augment(x, s),
    "aug_mix": lambda x, s: policy_training.aug_mix(x, s),
    "random_erasing": lambda x, s: policy_training.random_erasing(x, s, probability=1.0),
}


@pytest.mark.parametrize("name", POLICIES)
def test_policies_same_seed_same_batch_one_draw_per_image_dtype_kept(name):
    policy = POLICIES[name]
    same = np.repeat(PHOTOS[:1], 8, axis=0)  # eight copies of one image
    a, b, c = (np.asarray(policy(same, s)) for s in (5, 5, 6))
    assert a.dtype == np.uint8 and a.shape == same.shape
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len({a[i].tobytes() for i in range(8)}) >= 6, "each copy draws its own operations"
    floats = policy(same.astype(np.float32) / 255, 5)
    assert floats.dtype == tf.float32 and 0 <= float(tf.reduce_min(floats)) and float(tf.reduce_max(floats)) <= 1
    one = policy(PHOTOS[0], 5)
    assert one.shape == PHOTOS[0].shape
    graph = [np.asarray(tf.function(policy)(tf.constant(same), tf.constant([5, 0], tf.int64))) for _ in range(2)]
    assert np.array_equal(graph[0], graph[1]), "two traced copies (two tf.data pipelines) give the same batch"
    # Eager and traced float arithmetic may differ in the last bit; posterize's floor can turn that into one
    # 8-bit step when it follows another op (RandAugment's second op). The draws are the same:
    assert (graph[0] == a).mean() > 0.9


def test_rand_augment_draws_its_operations_per_image_where_keras_draws_them_per_batch():
    choices = tf.random.stateless_uniform([128], tf.random.split(tf.constant([0, 0], tf.int64), 2)[0], 0, len(P.OPS),
                                          tf.int32)
    assert len(set(choices.numpy())) == len(P.OPS)  # the course's: every op appears in one batch of 128
    layer = keras.layers.RandAugment(value_range=(0, 255), num_ops=2, seed=0)
    drawn = layer.get_random_transformation(np.zeros((128, 8, 8, 3), "float32"), training=True)
    assert tuple(drawn["layer_idxes"].shape) == (2,), "Keras: one choice of operations for the whole batch"
    with pytest.raises(ValueError, match="0-10 scale"):
        policy_training.rand_augment(PHOTOS, 0, magnitude=30)


def test_random_erasing_erases_one_rectangle_of_the_stated_size_or_nothing():
    x = np.full((200, 20, 20, 1), 7, np.uint8)  # noise never stays exactly 7 over a whole rectangle
    out = policy_training.random_erasing(x, 1, probability=1.0).numpy()[..., 0]
    for image in out:
        ys, xs = np.nonzero(image != 7)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert box <= 0.33 * 400 * 1.25 + 4  # area share at most 0.33 (rounding of the sides)
        assert len(ys) >= 0.8 * box  # a filled rectangle: most of its pixels changed
    assert np.array_equal(policy_training.random_erasing(x, 1, probability=0.0), x)


def _labelled_batch(n=10):
    values = np.arange(n) * 20 + 10
    images = np.broadcast_to(values[:, None, None, None], (n, 12, 12, 3)).astype(np.uint8)
    return images, values, keras.utils.to_categorical(np.arange(n), n)


def test_mix_up_images_and_labels_use_the_same_weight():
    images, values, labels = _labelled_batch()
    x, y = policy_training.mix_up(images, labels, 3, alpha=1.0)
    x, y = x.numpy().astype(float), y.numpy()
    assert np.allclose(y.sum(axis=1), 1)
    expected = y @ values  # the label weights predict each mixed pixel
    assert np.abs(x[:, 0, 0, 0] - expected).max() <= 0.5 + 1e-6
    assert np.array_equal(policy_training.mix_up(images, labels, 3, alpha=1.0)[0], policy_training.mix_up(images, labels, 3, alpha=1.0)[0])


def test_cut_mix_labels_are_the_pixel_shares():
    images, values, labels = _labelled_batch()
    x, y = policy_training.cut_mix(images, labels, 4)
    x, y = x.numpy()[..., 0], y.numpy()
    for i in range(len(values)):
        shares = np.array([(x[i] == v).mean() for v in values])
        assert np.allclose(shares, y[i], atol=1e-6)
    assert (y.max(axis=1) < 1).any(), "some images got a patch"


def test_blends_refuse_sparse_labels_and_single_images():
    images, _, labels = _labelled_batch()
    for blend in (policy_training.mix_up, policy_training.cut_mix):
        with pytest.raises(ValueError, match="to_categorical"):
            blend(images, np.arange(10), 0)
        with pytest.raises(ValueError, match="to_categorical"):
            blend(images, np.arange(10).astype(np.float32), 0)  # Keras' MixUp broadcasts this to (10, 10) silently
        with pytest.raises(ValueError, match="after .batch"):
            blend(images[0], labels[0], 0)


def test_tta_views_and_lesson_7s_predictions_average_the_views():
    images = PHOTOS[:4]
    views = P.tta_views(images, "flip_shift")
    assert len(views) == 10 and len(P.tta_views(images, "flip")) == 2
    assert np.array_equal(views[1], images[:, :, ::-1])
    assert np.array_equal(views[8][:, :, 2:], images[:, :, :-2])  # shifted 2 px right, not flipped
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")])
    by_hand = np.mean([model.predict(cifar_pipeline.scale(v), verbose=0) for v in P.tta_views(images, "flip")], 0)
    probs = policy_training.predict_tta(model, images, "flip")  # lesson 7's, on lesson 2's scaling
    assert np.allclose(probs, by_hand, atol=1e-6)
    with pytest.raises(ValueError, match="views must be one of"):
        P.tta_views(images, "ten_crop")


def test_parameters_that_would_give_nan_or_nonsense_are_refused():
    images, _, labels = _labelled_batch()
    for blend in (policy_training.mix_up, policy_training.cut_mix):
        for alpha in (-1.0, 0.0, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="alpha"):
                blend(images, labels, 0, alpha=alpha)
    for kwargs in (dict(probability=5), dict(probability=-0.1), dict(area=(2, 3)), dict(area=(0.3, 0.1)),
                   dict(ratio=(0, 1)), dict(ratio=(3, 1))):
        with pytest.raises(ValueError, match="probability|area|ratio"):
            policy_training.random_erasing(PHOTOS, 0, **kwargs)


@pytest.mark.parametrize("name", POLICIES)
def test_policies_take_an_empty_batch_and_tiny_images(name):
    policy = POLICIES[name]
    empty = policy(np.zeros((0, 16, 16, 3), np.uint8), 1)
    assert empty.shape == (0, 16, 16, 3) and empty.dtype == tf.uint8
    tiny = np.asarray(policy(PHOTOS[:, :1, :1], 1))
    assert tiny.shape == (6, 1, 1, 3) and tiny.dtype == np.uint8
    small = np.asarray(policy(PHOTOS[:, :2, :3], 1))
    assert small.shape == (6, 2, 3, 3)
