"""The named augmentation recipes: one definition, every form derived from it and consistent."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import recipes
from helpers.taught import basic_ops, cifar_pipeline, segmentation
from tests.pairs import assert_aligned, blocky_pairs

IMAGES = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)


def test_every_recipe_has_one_definition_and_a_unique_name():
    assert set(recipes.RECIPES) == {"post_cifar", "flowers", "membrane", "membrane_paper"}
    assert recipes.RECIPES["flowers"] is recipes.FLOWERS


def test_the_papers_membrane_recipe_differs_from_the_courses_only_in_its_elastic_field():
    assert recipes.MEMBRANE_PAPER.affine == recipes.MEMBRANE.affine
    assert recipes.MEMBRANE_PAPER.elastic == {"field": "grid", "grid": 3, "sigma": 10.0}
    assert recipes.MEMBRANE.elastic.get("field", "dense") == "dense"
    for arm in recipes.UNET_ARMS.values():
        assert arm.augmentation in (recipes.MEMBRANE, recipes.MEMBRANE_PAPER)
        assert arm.loss in ("bce", "weighted", "bce_dice") and isinstance(arm.batch_norm, bool)
        assert arm.dtype in (None, "mixed_bfloat16") and arm.base_filters in (16, 24, 32) and arm.steps_per_epoch >= 40


@pytest.mark.parametrize("recipe", [recipes.POST_CIFAR, recipes.FLOWERS])
def test_fused_is_random_affine_with_the_recipes_parameters_for_tensors_and_numpy(recipe):
    expected = basic_ops.random_affine(tf.constant(IMAGES), seed=[3, 4], **recipe.affine).numpy()
    np.testing.assert_array_equal(recipe.fused(tf.constant(IMAGES), [3, 4]).numpy(), expected)
    from_numpy = recipe.fused(IMAGES, (3, 4))
    assert isinstance(from_numpy, np.ndarray)
    np.testing.assert_array_equal(from_numpy, expected)


def test_legacy_kwargs_say_the_same_as_the_affine_parameters():
    assert recipes.POST_CIFAR.legacy_kwargs() == dict(rotation_range=20, width_shift_range=0.2, height_shift_range=0.2,
                                                      zoom_range=0.2, fill_mode="nearest")
    assert recipes.FLOWERS.legacy_kwargs() == dict(rotation_range=20, width_shift_range=0.2, height_shift_range=0.2,
                                                   zoom_range=0.15, shear_range=0.15, horizontal_flip=True,
                                                   fill_mode="nearest")
    assert recipes.MEMBRANE.legacy_kwargs()["vertical_flip"] is True
    legacy = tf.keras.preprocessing.image.ImageDataGenerator(**recipes.FLOWERS.legacy_kwargs())  # accepted as is
    assert legacy.rotation_range == 20


def test_keras_layers_convert_the_units():
    rotation, translation, zoom, shear, flip = recipes.FLOWERS.keras_layers(seed=0)
    assert isinstance(rotation, keras.layers.RandomRotation) and rotation.factor == (-20 / 360, 20 / 360)
    assert translation.height_factor == 0.2 and translation.width_factor == 0.2
    assert zoom.height_factor == 0.15 and zoom.fill_mode == "nearest"
    t = math.tan(math.radians(0.15))
    assert shear.x_factor == pytest.approx((-t, t))  # a float means (-f, f) in Keras 3.15, whatever its docstring says
    assert flip.mode == "horizontal"
    out = keras.Sequential(recipes.POST_CIFAR.keras_layers(seed=1))(IMAGES.astype("float32"), training=True)
    assert out.shape == IMAGES.shape


def test_layer_chain_returns_uint8_batches():
    out = recipes.cifar_arm("post_layers")(tf.constant(IMAGES), None)
    assert out.dtype == tf.uint8 and out.shape == IMAGES.shape


def test_membrane_pairs_stay_aligned_and_the_seed_is_split_not_shifted():
    images, masks = blocky_pairs(n=3, size=64)
    x, m = recipes.MEMBRANE.paired(images, masks, [5, 6])
    for i in range(3):
        assert_aligned(x[i], m[i])
    again = recipes.MEMBRANE.paired(images, masks, [5, 6])
    np.testing.assert_array_equal(x, again[0])
    affine_seed, elastic_seed = tf.unstack(tf.random.split(tf.constant([5, 6], tf.int64), 2))
    x2, _ = segmentation.paired_random_affine(images, masks, seed=affine_seed, **recipes.MEMBRANE.affine)
    x2, _ = segmentation.paired_elastic(x2, _, seed=elastic_seed, **recipes.MEMBRANE.elastic)
    np.testing.assert_array_equal(x, x2)
    plain, _ = recipes.MEMBRANE.without_elastic().paired(images, masks, [5, 6])
    assert not np.array_equal(plain, x), "the elastic field moves pixels"


def test_cifar_arms_and_unknown_arm():
    assert recipes.cifar_arm("plain") is None
    np.testing.assert_array_equal(recipes.cifar_arm("crop_flip")(IMAGES, (1, 2)),
                                  cifar_pipeline.pad_crop_flip(IMAGES, (1, 2)))
    with pytest.raises(ValueError, match="unknown arm 'mixup'"):
        recipes.cifar_arm("mixup")


def test_albumentations_twin_keeps_pairs_aligned_and_is_seeded():
    compose = recipes.MEMBRANE.without_elastic().albumentations(seed=3, crop=48)
    images, masks = blocky_pairs(n=4, size=64)
    outs = [compose(image=x, mask=m) for x, m in zip(images, masks)]
    for out in outs:
        assert out["image"].shape == (48, 48, 1) and out["mask"].shape == (48, 48, 1)
        assert_aligned(out["image"], out["mask"])  # one draw for both, the mask resampled nearest
    again = recipes.MEMBRANE.without_elastic().albumentations(seed=3, crop=48)
    np.testing.assert_array_equal(again(image=images[0], mask=masks[0])["image"], outs[0]["image"])
    with pytest.raises(ValueError, match="elastic"):
        recipes.MEMBRANE.albumentations()


def test_albumentations_twin_uses_the_recipes_ranges():
    affine = recipes.FLOWERS.albumentations(seed=0).transforms[0]
    assert affine.rotate == (-20, 20)
    lo, hi = affine.scale["x"]
    assert math.isclose(lo, 1 / 1.15) and math.isclose(hi, 1 / 0.85)  # zoom shrinks where scale magnifies
    assert affine.translate_percent["x"] == (-0.2, 0.2)


def test_policy_arms_build_split_their_seeds_and_keep_blends_last():
    lone, takes_labels = recipes.policy_arm("crop_flip")
    assert not takes_labels and np.array_equal(lone(IMAGES, 7), cifar_pipeline.pad_crop_flip(IMAGES, 7)), \
        "lesson 7's baseline draws exactly as lesson 2's crop_flip"
    for arm in recipes.POLICY_ARMS:
        augment_fn, takes_labels = recipes.policy_arm(arm)
        assert takes_labels == arm.endswith(("mixup", "cutmix"))
    stacked, _ = recipes.policy_arm("crop_flip+erasing")
    assert np.array_equal(stacked(IMAGES, 3), stacked(IMAGES, 3)) and not np.array_equal(stacked(IMAGES, 3),
                                                                                         stacked(IMAGES, 4))
    blended, _ = recipes.policy_arm("crop_flip+trivial+cutmix")
    x, y = blended(IMAGES, keras.utils.to_categorical([0, 1, 2, 3], 10), 3)
    assert x.dtype == tf.uint8 and y.shape == (4, 10)
    alone, takes_labels = recipes.policy_arm("mixup")  # a blend by itself: no image part before it
    assert takes_labels and alone(IMAGES, keras.utils.to_categorical([0, 1, 2, 3], 10), 3)[1].shape == (4, 10)
    for bad, message in (("crop_flip+mixup+erasing", "must come last"), ("crop_flip+mixup+cutmix", "at most one"),
                         ("crop_flip+autoaugment", "unknown part")):
        with pytest.raises(ValueError, match=message):
            recipes.policy_arm(bad)


def _flips(out, image):
    """Which flips turned ``image`` into ``out``: one of (False, False) ... (True, True)."""
    for h in (False, True):
        for v in (False, True):
            flipped = image[:, ::-1] if h else image
            if np.array_equal(out, flipped[::-1] if v else flipped):
                return h, v
    raise AssertionError("not a flip of the image")


def test_albumentations_twin_draws_each_flip_on_its_own():
    # Compose(seed=) would give both flips identically seeded generators: always both or neither
    flips_only = recipes.Recipe("flips", "", dict(horizontal_flip=True, vertical_flip=True))
    image = np.arange(8 * 8, dtype=np.uint8).reshape(8, 8, 1)
    seen = {_flips(flips_only.albumentations(seed)(image=image)["image"], image) for seed in range(40)}
    assert seen == {(False, False), (False, True), (True, False), (True, True)}
    compose = flips_only.albumentations(1)
    calls = {_flips(compose(image=image)["image"], image) for _ in range(40)}  # one generator pair, drawn on
    assert len(calls) == 4
