"""The contracts of the code the lessons teach (helpers.taught, exported from the lessons' #@save cells).

tests/test_golden.py shows they give the batches the library gave before; these tests say what those batches
must be: every sample once per epoch, reshuffled, reproducible, the caller's arrays never written, pairs aligned.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers.taught import basic_ops, cifar_pipeline, feeding, policy_training, segmentation
from tests.pairs import assert_aligned, blocky_pairs

X = np.arange(10 * 4 * 4 * 3, dtype=np.uint8).reshape(10, 4, 4, 3)
Y = np.arange(10)
N, BS = 23, 5  # 23 is not a multiple of 5: the last batch is partial


def shift(images, seed):
    return basic_ops.random_affine(images, seed=seed, shift=0.5, interpolation="nearest")


def take(ds, n):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


def _ids(batches):
    return np.concatenate([np.asarray(y) for _, y in batches]).tolist()


def _data():
    x = np.arange(N, dtype=np.uint8)[:, None, None, None] * np.ones((1, 6, 6, 3), np.uint8)
    return x, np.arange(N)


def _brighten(batch, seed):
    return np.minimum(batch.astype(int) + 1, 255).astype(np.uint8)


# ---------------------------------------------------------------- lesson 2 (and lesson 7's variant)


@pytest.mark.parametrize("prepare", [cifar_pipeline.prepare, policy_training.prepare], ids=["lesson2", "lesson7"])
def test_one_epoch_sees_every_sample_once_and_the_next_is_reshuffled(prepare):
    labels = np.concatenate([y for _, y in take(prepare(X, Y, batch_size=4, seed=0), 5)])[:20]
    # batches of 4 over 10 samples cross epoch boundaries (repeat before batch): count per 10 labels
    assert sorted(labels[:10]) == list(range(10)) and sorted(labels[10:20]) == list(range(10))
    assert labels[:10].tolist() != labels[10:20].tolist()


def test_same_seed_same_batches_fresh_augmentation_every_batch_and_the_input_never_written():
    before = X.copy()
    a, b = (cifar_pipeline.prepare(X, Y, batch_size=5, seed=3, augment=shift) for _ in range(2))
    for (xa, ya), (xb, yb) in zip(take(a, 4), take(b, 4)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    (x_aug, _), (x_plain, _) = take(a, 1)[0], take(cifar_pipeline.prepare(X, Y, batch_size=5, seed=3), 1)[0]
    assert x_aug.dtype == np.float32 and x_aug.min() >= -1 and x_aug.max() <= 1
    assert not np.array_equal(x_aug, x_plain)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("seed", [0, 5, [7, 1]])
def test_pad_crop_flip_is_a_window_of_the_mirrored_padding_and_equals_the_fused_whole_pixel_shift(seed):
    x = np.random.default_rng(1).integers(0, 256, (96, 32, 32, 3)).astype(np.uint8)
    out = cifar_pipeline.pad_crop_flip(x, seed).numpy()
    fused = basic_ops.random_affine(x, seed=seed, shift=4 / 32, horizontal_flip=True, fill_mode="reflect",
                                    interpolation="nearest")
    np.testing.assert_array_equal(out, fused)  # lesson 2's claim: the same batches as lesson 1's fused op
    padded = np.pad(x, [(0, 0), (4, 4), (4, 4), (0, 0)], mode="symmetric")
    offsets, flips = [], 0
    for i in range(len(x)):
        for flip in (False, True):
            view = out[i, :, ::-1] if flip else out[i]
            hits = [(t, c) for t in range(9) for c in range(9)
                    if np.array_equal(padded[i, t:t + 32, c:c + 32], view)]
            if hits:
                offsets += hits[:1]
                flips += flip
                break
        else:
            raise AssertionError(f"image {i} is not a 32x32 window of its padded copy, flipped or not")
    assert {t for t, _ in offsets} == set(range(9)) and {c for _, c in offsets} <= set(range(9))
    assert 20 < flips < 76, f"{flips} of 96 flipped"
    np.testing.assert_array_equal(cifar_pipeline.pad_crop_flip(x, seed), out)


def test_evaluation_batches_are_in_order_and_scaled():
    batches = list(cifar_pipeline.evaluation(X, Y, batch_size=4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    np.testing.assert_allclose(batches[0][0].numpy(), X[:4] / 127.5 - 1, atol=1e-6)


def test_lesson_7_blend_gets_images_and_labels_and_preprocess_is_replaceable():
    def blend(x, y, seed):
        return x // 2, y * 0.5

    x, y = take(policy_training.prepare(X, Y.astype("float32"), batch_size=5, seed=0, augment=blend,
                                        with_labels=True, preprocess=tf.identity), 1)[0]
    np.testing.assert_array_equal(x, X[(y * 2).astype(int)] // 2)


# ---------------------------------------------------------------- lesson 3


def test_corrected_generator_sees_every_sample_once_per_epoch_and_never_writes_its_input():
    x, y = _data()
    before = x.copy()
    gen = feeding.batches(x, y, BS, seed=0, augment=_brighten)
    epochs = [[next(gen) for _ in range(5)] for _ in range(50)]
    for batches in epochs:
        assert sorted(_ids(batches)) == list(range(N))
        assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]  # the partial batch is kept, not dropped
    assert _ids(epochs[0]) != _ids(epochs[1]), "reshuffled every epoch"
    np.testing.assert_array_equal(x, before)
    xb, yb = epochs[3][0]
    np.testing.assert_array_equal(xb, np.minimum(x[yb].astype(int) + 1, 255))  # augmentation on a copy


def test_pydataset_same_contract_and_batches_independent_of_the_order_they_are_asked_for():
    x, y = _data()
    before = x.copy()
    ds = feeding.FlowerBatches(x, y, BS, augment=_brighten)
    orders = []
    for _ in range(3):
        batches = [ds[i] for i in range(len(ds))]
        assert sorted(_ids(batches)) == list(range(N)) and len(batches[-1][1]) == 3
        backwards = [ds[i] for i in reversed(range(len(ds)))][::-1]
        for (xa, ya), (xb, yb) in zip(batches, backwards):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
        orders.append(_ids(batches))
        ds.on_epoch_end()
    assert orders[0] != orders[1]
    np.testing.assert_array_equal(x, before)


def test_file_stream_same_contract_and_pixels_stay_with_their_labels(tmp_path):
    paths = []
    for i in range(N):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", (6, 6), (i, i, i)).save(paths[-1])
    batches = take(feeding.file_stream(paths, np.arange(N), size=(6, 6), batch_size=BS), 10)
    first, second = batches[:5], batches[5:]
    assert sorted(_ids(first)) == list(range(N)) and sorted(_ids(second)) == list(range(N))
    assert [len(b[1]) for b in first] == [5, 5, 5, 5, 3]
    for xb, yb in first:
        assert (xb[:, 0, 0, 0] == yb).all(), "pixels stay with their labels"


def test_three_feeders_give_the_same_samples_per_epoch(tmp_path):
    from helpers import study_runs

    x, y = _data()
    paths = []
    for i in range(N):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(x[i]).save(paths[-1])
    feeders = study_runs.flower_feeders((x, y % 3, np.asarray(paths)), batch_size=BS, seed=0, size=(6, 6))
    counts = {
        "python_generator": sum(len(next(feeders["python_generator"])[1]) for _ in range(5)),
        "pydataset": sum(len(feeders["pydataset"][i][1]) for i in range(len(feeders["pydataset"]))),
        "tf_data": sum(len(yb) for _, yb in feeders["tf_data"].take(5)),
    }
    assert counts == {"python_generator": N, "pydataset": N, "tf_data": N}


# ---------------------------------------------------------------- lesson 5


def test_paired_stream_batches_stay_aligned_and_binary():
    images, masks = blocky_pairs(n=5)
    stream = segmentation.paired_stream(
        images, masks, crop=32, batch_size=2, seed=0,
        transform=lambda x, m, s: segmentation.paired_random_affine(x, m, seed=s, rotation=20, horizontal_flip=True))
    for x, m in stream.take(6):
        assert x.shape == (2, 32, 32, 1) and x.dtype == tf.float32 and float(tf.reduce_max(x)) <= 1
        assert set(np.unique(m.numpy())) <= {0.0, 1.0}
        for i in range(2):
            assert_aligned(np.round(x[i].numpy() * 255), m[i].numpy().astype(np.uint8))


@pytest.mark.parametrize("size, depth", [(32, 2), (64, 3), (96, 4)])
def test_unet_output_has_the_input_size_and_is_fully_convolutional(size, depth):
    model = segmentation.unet(base_filters=4, depth=depth)
    for h, w in [(size, size), (size, size + 16)]:
        assert model(np.zeros((1, h, w, 1), np.float32)).shape == (1, h, w, 1)


def test_unet_batch_norm_normalises_every_3x3_convolution_and_is_off_by_default():
    kinds = lambda model: [type(layer).__name__ for layer in model.layers]  # noqa: E731
    plain, normed = segmentation.unet(4, depth=3), segmentation.unet(4, depth=3, batch_norm=True)
    assert "BatchNormalization" not in kinds(plain)
    assert kinds(normed).count("BatchNormalization") == 2 * (2 * 3 + 1), "two 3x3 convolutions per level and bottleneck"
    assert sum(k == "Conv2D" for k in kinds(plain)) == sum(k == "Conv2D" for k in kinds(normed))


def test_unet_in_mixed_bfloat16_computes_hidden_layers_in_bfloat16_and_outputs_float32_probabilities(tmp_path):
    model = segmentation.unet(4, depth=2, dtype="mixed_bfloat16")
    assert {layer.compute_dtype for layer in model.layers[1:-1]} == {"bfloat16"}, "every layer between input and output"
    assert {w.dtype for w in model.weights} == {"float32"}, "the weights stay float32"
    probs = model(np.random.default_rng(0).random((1, 32, 32, 1), dtype=np.float32))
    assert probs.dtype == "float32" and 0 <= float(np.min(probs)) and float(np.max(probs)) <= 1
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert again.layers[1].compute_dtype == "bfloat16"
    np.testing.assert_array_equal(again(np.ones((1, 32, 32, 1), np.float32)), model(np.ones((1, 32, 32, 1), np.float32)))


def test_a_few_steps_on_64px_crops_lower_the_loss():
    keras.utils.set_random_seed(0)
    images, masks = blocky_pairs(n=4, size=128)
    model = segmentation.unet(base_filters=4, depth=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    stream = segmentation.paired_stream(images, masks, crop=64, batch_size=4, seed=0)
    history = model.fit(stream, steps_per_epoch=15, epochs=2, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.8


def test_a_weight_map_goes_through_the_same_crop_and_transform_as_its_pair():
    images, masks = blocky_pairs(n=4, size=64)
    twin = images.astype(np.float32) / 255 * 7 + 0.5  # weights that are the image, rescaled: they must move with it
    transform = lambda x, m, s: segmentation.paired_elastic(  # noqa: E731
        *segmentation.paired_random_affine(x, m, seed=s, rotation=30, horizontal_flip=True), seed=s, alpha=20, sigma=4)
    weighted = segmentation.paired_stream(images, masks, crop=48, batch_size=2, seed=3, transform=transform,
                                          weights=twin)
    plain = segmentation.paired_stream(images, masks, crop=48, batch_size=2, seed=3, transform=transform)
    for (x, m, w), (x0, m0) in zip(weighted.take(4), plain.take(4)):
        np.testing.assert_array_equal(x, x0)  # the weights change nothing else
        np.testing.assert_array_equal(m, m0)
        np.testing.assert_allclose((w.numpy() - 0.5) / 7, x.numpy(), atol=1.5 / 255)


def _two_cells(gap):
    """A (40, 60, 1) mask: two cells (1) side by side, a membrane gap of `gap` columns between them."""
    mask = np.zeros((40, 60, 1), np.uint8)
    mask[5:35, 5:25] = 1
    mask[5:35, 25 + gap:55] = 1
    return mask


def test_border_weight_map_follows_the_papers_equation_2():
    for gap, sigma in [(2, 5.0), (6, 5.0), (6, 2.0)]:
        mask = _two_cells(gap)
        w = segmentation.border_weight_map(mask, w0=10, sigma=sigma)[..., 0]
        share = mask.mean()
        assert w.shape == (40, 60) and w.dtype == np.float32
        np.testing.assert_allclose(w[20, 10], 0.5 / share, rtol=1e-5)  # inside a cell: the class weight only
        col = 25  # the gap's first column: 1 pixel from the left cell, gap pixels from the right one
        d1, d2 = 1.0, float(gap)
        expected = 0.5 / (1 - share) + 10 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2))
        np.testing.assert_allclose(w[20, col], expected, rtol=1e-5)
        assert w[0, 0] < w[20, col], "membrane far from two cells weighs less than the gap between them"


def test_border_weight_map_equals_the_all_pairs_computation_on_many_cells():
    from scipy import ndimage

    rng = np.random.default_rng(1)
    mask = (ndimage.gaussian_filter(rng.random((96, 96)), 3) > 0.5).astype(np.uint8)[..., None]
    w = segmentation.border_weight_map(mask, w0=10, sigma=5)[..., 0]
    cells, n = ndimage.label(mask[..., 0])
    assert n > 5
    dist = np.sort(np.stack([ndimage.distance_transform_edt(cells != k) for k in range(1, n + 1)]), axis=0)
    share = mask.mean()
    full = np.where(mask[..., 0] == 1, 0.5 / share,
                    0.5 / (1 - share) + 10 * np.exp(-((dist[0] + dist[1]) ** 2) / 50))
    np.testing.assert_allclose(w, full, atol=10 * np.exp(-8) + 1e-5)  # each cell is only looked at within 4 sigma


def test_overlap_tile_prediction_equals_the_whole_image_away_from_the_border_and_mirrors_at_it():
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(3, 5, padding="same"),
                            keras.layers.Conv2D(1, 5, padding="same", activation="sigmoid")])  # sees 4 px around
    images = np.random.default_rng(0).random((2, 70, 90, 1)).astype(np.float32)
    tiled = segmentation.predict_tiles(net, images, tile=32, margin=8)
    whole = net.predict(images, verbose=0)
    assert tiled.shape == (2, 70, 90, 1)
    np.testing.assert_allclose(tiled[:, 4:-4, 4:-4], whole[:, 4:-4, 4:-4], atol=1e-5)
    mirrored = net.predict(np.pad(images, [(0, 0), (8, 8), (8, 8), (0, 0)], mode="reflect"), verbose=0)[:, 8:-8, 8:-8]
    np.testing.assert_allclose(tiled, mirrored, atol=1e-5)
    identity = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Identity()])
    np.testing.assert_array_equal(segmentation.predict_tiles(identity, images, tile=32, margin=8), images)


def test_d4_prediction_turns_each_of_the_8_views_back_before_averaging():
    images = np.random.default_rng(0).random((2, 12, 12, 1)).astype(np.float32)
    seen = []

    def predict(x):
        seen.append(x.copy())
        return x * 2

    np.testing.assert_allclose(segmentation.predict_d4(predict, images), images * 2, rtol=1e-6)
    assert len(seen) == 8 and len({v.tobytes() for v in seen}) == 8, "the 8 views are all different"
    ramp = np.arange(12, dtype=np.float32)[None, None, :, None]  # a predictor that is NOT symmetric
    position = segmentation.predict_d4(lambda x: np.broadcast_to(ramp[:, :, :x.shape[2]], x.shape), images)
    np.testing.assert_allclose(position, np.full_like(images, 5.5), rtol=1e-6)  # undone, the 8 views average out


@pytest.mark.parametrize("loss", ["weighted", "bce_dice"])
def test_train_unet_keeps_the_best_epoch_on_disk_with_its_loss(loss, tmp_path):
    images, masks = blocky_pairs(n=4, size=64)
    path = tmp_path / "best.keras"
    model, history, seconds = segmentation.train_unet(
        (images[:3], masks[:3]), (images[3:], masks[3:]), transform=None, loss=loss, path=path, seed=0,
        base_filters=2, depth=2, epochs=2, steps_per_epoch=2, crop=32, batch_size=2)
    assert path.exists() and seconds > 0 and len(history.history["val_membrane_iou"]) == 2
    assert model(np.zeros((1, 64, 64, 1), np.float32)).shape == (1, 64, 64, 1)
    reloaded = keras.models.load_model(path)  # the custom loss is registered: a teacher can load the file
    assert reloaded.loss == model.loss


def test_paired_crop_generator_visits_every_pair_once_per_pass_with_its_own_crop():
    images, masks = blocky_pairs(n=5, size=64)
    ids = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((5, 64, 64, 1), np.uint8)
    tagged = np.concatenate([images, ids], axis=-1)  # channel 2 carries the pair's index
    batches = list(itertools.islice(segmentation.paired_crop_generator(tagged, masks, crop=24, batch_size=2, seed=0), 6))
    assert [len(x) for x, _ in batches] == [2, 2, 1, 2, 2, 1]
    for epoch in (batches[:3], batches[3:]):
        assert sorted(int(x[0, 0, 1]) for xb, _ in epoch for x in xb) == [0, 1, 2, 3, 4]
    for xb, mb in batches:
        assert xb.shape[1:3] == (24, 24)
        for x, m in zip(xb, mb):
            assert_aligned(x[..., :1], m)
    assert len({(x[..., 0].tobytes()) for xb, _ in batches for x in xb}) > 5, "crop positions differ"
