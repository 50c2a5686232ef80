"""The course's named augmentation recipes, each defined once, in every form the lessons need.

A recipe is a set of ``ImageDataGenerator``-style parameters (rotation and shear in degrees, shift
as a fraction of the size, zoom z -> factors in [1 - z, 1 + z] drawn separately for x and y). From
that one definition come:

- ``recipe.fused(images, seed)``: the course's op, ``basic_ops.random_affine``: one resampling per image;
- ``recipe.paired(images, masks, seed)``: the same draw for an image and its mask (segmentation);
- ``recipe.legacy_kwargs()``: the matching ``ImageDataGenerator(**kwargs)`` arguments;
- ``recipe.keras_layers()``: the naive chain of Keras 3 preprocessing layers, one resampling each;
- ``recipe.albumentations()``: the same transforms as an albumentations pipeline (lesson 6 benchmarks it).

The recipes: ``POST_CIFAR`` (lesson 2's post),
``FLOWERS`` (lesson 3's post) and ``MEMBRANE`` (lesson 5, with a paired elastic field).
Lesson 2's ``crop_flip`` arm is its own ``pad_crop_flip`` (``helpers.taught.cifar_pipeline``); lesson 7's
arms (``policy_arm``) stack it with the policies lesson 7 writes (``helpers.taught.policy_training``).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from helpers import augment
from helpers.taught import basic_ops, cifar_pipeline, policy_training, segmentation


@dataclass(frozen=True)
class Recipe:
    """One named augmentation. ``affine``: keyword arguments of ``basic_ops.random_affine`` (plus
    ``vertical_flip`` for paired use); ``elastic``: ``paired_elastic`` arguments (lesson 5), pairs only."""

    name: str
    description: str
    affine: dict
    elastic: dict | None = None

    # ------------------------------------------------------------ the fused op (tf.data, generators)

    def fused(self, images, seed) -> tf.Tensor:
        """Augment uint8 (N, H, W, C) or one image (H, W, C) in one resampling; same shape and dtype.

        ``seed``: an int or a stateless pair; sample i of a batch gets its own draw. NumPy input
        (a generator or a PyDataset batch) runs through one compiled graph and returns NumPy.
        """
        if isinstance(images, np.ndarray):
            return self._fused_graph(tf.convert_to_tensor(images), augment.as_seed(seed)).numpy()
        params = {k: v for k, v in self.affine.items() if k != "vertical_flip"}
        return basic_ops.random_affine(images, seed=seed, **params)

    def paired(self, images, masks, seed) -> tuple[tf.Tensor, tf.Tensor]:
        """One draw per pair for an image (bilinear) and its mask (nearest): the affine part, then the
        elastic field if the recipe has one. The two parts use seeds split from ``seed``
        (``tf.random.split``). Shapes and dtypes unchanged."""
        affine_seed, elastic_seed = tf.unstack(tf.random.split(augment.as_seed(seed), 2))
        params = {k: v for k, v in self.affine.items() if k != "interpolation"}
        images, masks = segmentation.paired_random_affine(images, masks, seed=affine_seed, **params)
        if self.elastic:
            images, masks = segmentation.paired_elastic(images, masks, seed=elastic_seed, **self.elastic)
        return images, masks

    def without_elastic(self) -> Recipe:
        """The same recipe with no elastic field (cheaper; lesson 5's exercise)."""
        return Recipe(f"{self.name}_no_elastic", self.description + " (no elastic field)", self.affine)

    @functools.cached_property
    def _fused_graph(self) -> Callable:
        """``fused`` as one compiled graph, built on first NumPy use (cached on the instance)."""
        return tf.function(self.fused, reduce_retracing=True)

    # ------------------------------------------------------------ the legacy and layer forms

    def legacy_kwargs(self) -> dict:
        """The ``ImageDataGenerator`` arguments that express this recipe (same units)."""
        a = self.affine
        kwargs = {}
        if a.get("rotation"):
            kwargs["rotation_range"] = a["rotation"]
        if a.get("shift"):
            kwargs["width_shift_range"] = kwargs["height_shift_range"] = a["shift"]
        if a.get("zoom"):
            kwargs["zoom_range"] = a["zoom"]
        if a.get("shear"):
            kwargs["shear_range"] = a["shear"]
        for flip in ("horizontal_flip", "vertical_flip"):
            if a.get(flip):
                kwargs[flip] = True
        kwargs["fill_mode"] = a.get("fill_mode", "nearest")
        if a.get("interpolation") == "nearest":
            kwargs["interpolation_order"] = 0
        return kwargs

    def keras_layers(self, seed: int | None = None) -> list[keras.layers.Layer]:
        """The recipe as Keras 3 preprocessing layers, one per transform: each one resamples.

        Unit conversions: ``RandomRotation`` takes a fraction of a full turn (degrees / 360);
        ``RandomShear`` a fraction of the image (tan of the angle). ``RandomZoom(z)`` without a
        ``width_factor`` keeps the aspect ratio, unlike ``zoom_range`` (x and y drawn apart).
        ``seed``: each layer's own generator gets an int seed split from it with ``tf.random.split``.
        """
        a = self.affine
        fill = a.get("fill_mode", "nearest")
        interpolation = a.get("interpolation", "bilinear")
        if seed is None:
            seeds = iter([None] * 5)
        else:  # Keras takes one int per layer: split the seed, keep 31 bits of each
            split = tf.random.split(tf.constant([seed, 0], tf.int64), 5).numpy()[:, 0]
            seeds = iter(int(v) % 2**31 for v in split)
        out = []
        if a.get("rotation"):
            out.append(keras.layers.RandomRotation(a["rotation"] / 360, fill_mode=fill, interpolation=interpolation,
                                                   seed=next(seeds)))
        if a.get("shift"):
            out.append(keras.layers.RandomTranslation(a["shift"], a["shift"], fill_mode=fill,
                                                      interpolation=interpolation, seed=next(seeds)))
        if a.get("zoom"):
            out.append(keras.layers.RandomZoom(a["zoom"], fill_mode=fill, interpolation=interpolation,
                                               seed=next(seeds)))
        if a.get("shear"):
            factor = math.tan(math.radians(a["shear"]))
            out.append(keras.layers.RandomShear(x_factor=factor, y_factor=factor, fill_mode=fill,
                                                interpolation=interpolation, seed=next(seeds)))
        flips = [name for name, on in (("horizontal", a.get("horizontal_flip")), ("vertical", a.get("vertical_flip")))
                 if on]
        if flips:
            out.append(keras.layers.RandomFlip("_and_".join(flips), seed=next(seeds)))
        return out

    def albumentations(self, seed: int | None = None, *, crop: int | None = None):
        """The recipe as an ``albumentations.Compose`` (OpenCV, one image at a time): an optional
        ``RandomCrop(crop, crop)``, one ``Affine`` (a single resampling, like ``fused``), then the flips.
        ``seed``: one NumPy and one Python generator shared by every step (albumentations' own ``seed=`` gives each
        step identically seeded generators of its own, so their draws agree).
        Call it as ``compose(image=x)`` or, for pairs, ``compose(image=x, mask=m)``: one draw for both,
        the mask resampled nearest-neighbour. Unit changes: ``scale`` magnifies where ``zoom`` shrinks,
        so zoom factors [1-z, 1+z] become scales [1/(1+z), 1/(1-z)]; ImageDataGenerator's shear is a
        shear along x. Recipes with an elastic field are refused (its parameters mean other things).
        """
        import albumentations as alb
        import cv2

        if self.elastic:
            raise ValueError(f"{self.name} has an elastic field with no like-for-like albumentations twin; "
                             "use recipe.without_elastic()")
        a = self.affine
        border = {"nearest": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101,
                  "constant": cv2.BORDER_CONSTANT, "wrap": cv2.BORDER_WRAP}[a.get("fill_mode", "nearest")]
        zoom = a.get("zoom", 0.0)
        scale = (1 / (1 + zoom), 1 / (1 - zoom))
        shift, shear = a.get("shift", 0.0), a.get("shear", 0.0)
        steps = [alb.RandomCrop(crop, crop)] if crop else []
        steps.append(alb.Affine(
            scale={"x": scale, "y": scale}, translate_percent={"x": (-shift, shift), "y": (-shift, shift)},
            rotate=(-a.get("rotation", 0.0), a.get("rotation", 0.0)), shear={"x": (-shear, shear), "y": (0, 0)},
            interpolation=cv2.INTER_NEAREST if a.get("interpolation") == "nearest" else cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST, border_mode=border, p=1.0))
        if a.get("horizontal_flip"):
            steps.append(alb.HorizontalFlip(p=0.5))
        if a.get("vertical_flip"):
            steps.append(alb.VerticalFlip(p=0.5))
        compose = alb.Compose(steps)
        if seed is not None:  # one generator pair for all steps: Compose(seed=) seeds each step alike, so two
            compose.set_random_state(np.random.default_rng(seed), random.Random(seed))  # flips would always agree
        return compose

    def layer_chain(self) -> Callable:
        """``(uint8 batch, seed) -> uint8 batch`` through ``keras_layers()`` in training mode. The seed
        argument is ignored: the layers draw from their own generators, so it is not reproducible per batch."""
        chain = keras.Sequential(self.keras_layers())
        return lambda images, seed: tf.cast(tf.round(chain(tf.cast(images, tf.float32), training=True)), tf.uint8)


POST_CIFAR = Recipe(
    "post_cifar", "the CIFAR-10 post: rotation 20 deg, shifts 0.2, zoom 0.2",
    dict(rotation=20, shift=0.2, zoom=0.2, fill_mode="nearest"))

FLOWERS = Recipe(
    "flowers", "the flower post: rotation 20 deg, zoom 0.15, shifts 0.2, shear 0.15 deg, horizontal flip",
    dict(rotation=20, zoom=0.15, shift=0.2, shear=0.15, horizontal_flip=True, fill_mode="nearest"))

MEMBRANE = Recipe(
    "membrane", "lesson 5: flips, rotation 10 deg, shifts 0.05, zoom 0.1, reflected borders, then one elastic field",
    dict(rotation=10, shift=0.05, zoom=0.1, horizontal_flip=True, vertical_flip=True, fill_mode="reflect"),
    elastic=dict(alpha=20.0, sigma=6.0))

MEMBRANE_PAPER = Recipe(
    "membrane_paper", "lesson 5: the membrane affine part, then the U-Net paper's elastic field (3x3 grid, 10 px)",
    MEMBRANE.affine, elastic=dict(field="grid", grid=3, sigma=10.0))

RECIPES = {r.name: r for r in (POST_CIFAR, FLOWERS, MEMBRANE, MEMBRANE_PAPER)}

class UnetArm(NamedTuple):
    """One arm of lesson 5's study: an augmentation, a loss of ``train_unet`` ("bce", "weighted": the paper's
    border weight map, "bce_dice": cross-entropy plus membrane Dice), whether the U-Net normalises its batches, its
    width (``base_filters``), the dtype policy its hidden layers compute in (None: Keras' global policy, float32
    unless set) and the training steps per epoch (30 epochs in full mode)."""
    augmentation: Recipe
    loss: str
    batch_norm: bool = False
    base_filters: int = 16
    dtype: str | None = None
    steps_per_epoch: int = 40


# Lesson 5's arms: "paper_weighted", then four arms that each change one of its ingredients; the last two train
# "paper_dice" in bfloat16 (two to three times faster per step on a CPU with bfloat16 units, see unet_costs.json),
# spending the time saved on width (32 filters) or on steps (2.5 times as many).
UNET_ARMS = {
    "paper_weighted": UnetArm(MEMBRANE_PAPER, "weighted"),
    "paper_bce": UnetArm(MEMBRANE_PAPER, "bce"),
    "paper_dice": UnetArm(MEMBRANE_PAPER, "bce_dice"),
    "dense_weighted": UnetArm(MEMBRANE, "weighted"),
    "paper_weighted_bn": UnetArm(MEMBRANE_PAPER, "weighted", batch_norm=True),
    "paper_dice_w32_bf16": UnetArm(MEMBRANE_PAPER, "bce_dice", base_filters=32, dtype="mixed_bfloat16"),
    "paper_dice_long_bf16": UnetArm(MEMBRANE_PAPER, "bce_dice", dtype="mixed_bfloat16", steps_per_epoch=100),
}

# Lesson 2's arms: the name of each training stream and the augmentation it applies (None: none).
CIFAR_ARMS = {
    "plain": lambda: None,
    "post_layers": POST_CIFAR.layer_chain,  # the naive translation: three Keras layers, three resamplings
    "post_fused": lambda: POST_CIFAR.fused,
    "crop_flip": lambda: cifar_pipeline.pad_crop_flip,  # written in lesson 2
}


def cifar_arm(name: str) -> Callable | None:
    """Lesson 2's augmentation for arm ``name``: ``(uint8 batch, seed) -> uint8 batch``, or None."""
    if name not in CIFAR_ARMS:
        raise ValueError(f"unknown arm {name!r}; choose from {sorted(CIFAR_ARMS)}")
    return CIFAR_ARMS[name]()


# Lesson 7's parts. An arm is "crop_flip" followed by parts joined with "+", e.g. "crop_flip+trivial+erasing".
# Per-image parts take (uint8 batch, seed); the batch blends ("mixup", "cutmix") take labels too and come last.
POLICY_PARTS = {
    "crop_flip": cifar_pipeline.pad_crop_flip,
    "randaugment_n2_m9": functools.partial(policy_training.rand_augment, num_ops=2, magnitude=9),
    "randaugment_n1_m5": functools.partial(policy_training.rand_augment, num_ops=1, magnitude=5),
    "trivial": policy_training.trivial_augment,
    "augmix": policy_training.aug_mix,
    "erasing": policy_training.random_erasing,
}
BATCH_PARTS = {"mixup": policy_training.mix_up, "cutmix": policy_training.cut_mix}
POLICY_ARMS = ("crop_flip", "crop_flip+erasing", "crop_flip+randaugment_n2_m9", "crop_flip+randaugment_n1_m5",
               "crop_flip+trivial", "crop_flip+augmix", "crop_flip+mixup", "crop_flip+cutmix")


def policy_arm(name: str) -> tuple[Callable, bool]:
    """Lesson 7's arm ``name`` as ``(augment, takes_labels)``: ``augment(x, seed)`` on a uint8 batch, or, when
    the arm ends with a batch blend, ``augment(x, y, seed) -> (x, soft y)``. Each part gets its own seed,
    split from the batch's seed with ``tf.random.split``. Any "+"-joined list of parts is an arm."""
    parts = name.split("+")
    known = sorted(POLICY_PARTS) + sorted(BATCH_PARTS)
    unknown = [p for p in parts if p not in POLICY_PARTS and p not in BATCH_PARTS]
    if unknown or not parts:
        raise ValueError(f"unknown part(s) {unknown} in arm {name!r}; an arm joins parts with '+', from {known}")
    blends = [p for p in parts if p in BATCH_PARTS]
    if len(blends) > 1 or (blends and parts[-1] not in BATCH_PARTS):
        raise ValueError(f"arm {name!r}: at most one batch blend (mixup or cutmix), and it must come last "
                         "(it mixes finished images and their labels)")
    image_parts = [POLICY_PARTS[p] for p in parts if p in POLICY_PARTS]
    blend = BATCH_PARTS[blends[0]] if blends else None

    def apply(x, y, seed):
        if len(parts) == 1 and blend is None:  # a lone part keeps the batch's seed ("crop_flip" draws as in lesson 2)
            return image_parts[0](x, seed), y
        seeds = tf.unstack(tf.random.split(augment.as_seed(seed), len(parts)))
        for part, s in zip(image_parts, seeds):
            x = part(x, s)
        return (x, y) if blend is None else blend(x, y, seeds[-1])

    if blend is None:
        return (lambda x, seed: apply(x, None, seed)[0]), False
    return apply, True
