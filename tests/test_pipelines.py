import numpy as np
import pytest
import tensorflow as tf

from helpers import augment, pipelines
from tests.pairs import assert_aligned, blocky_pairs

X = np.arange(10 * 4 * 4 * 3, dtype=np.uint8).reshape(10, 4, 4, 3)
Y = np.arange(10)


def shift(images, seed):
    return augment.random_affine(images, seed=seed, shift=0.5, interpolation="nearest")


def take(ds, n):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


def test_one_epoch_sees_every_sample_once_and_the_next_is_reshuffled():
    ds, steps = pipelines.training_batches(X, Y, batch_size=4, seed=0)
    assert steps == 3
    labels = np.concatenate([y for _, y in take(ds, 5)])  # 20 labels = two epochs
    assert sorted(labels[:10]) == list(range(10)) and sorted(labels[10:20]) == list(range(10))
    assert labels[:10].tolist() != labels[10:20].tolist()


def test_same_seed_same_batches_and_fresh_augmentation_every_batch():
    a, _ = pipelines.training_batches(X, Y, batch_size=5, seed=3, augment=shift)
    b, _ = pipelines.training_batches(X, Y, batch_size=5, seed=3, augment=shift)
    for (xa, ya), (xb, yb) in zip(take(a, 4), take(b, 4)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    plain, _ = pipelines.training_batches(X, Y, batch_size=5, seed=3)
    (x_aug, _), (x_plain, _) = take(a, 1)[0], take(plain, 1)[0]
    assert x_aug.dtype == np.float32 and x_aug.min() >= -1 and x_aug.max() <= 1
    assert not np.array_equal(x_aug, x_plain)


def test_input_data_is_never_modified():
    before = X.copy()
    ds, _ = pipelines.training_batches(X, Y, batch_size=4, seed=0, augment=shift)
    take(ds, 10)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("batch_size", [0, 11])
def test_batch_size_must_fit_the_data(batch_size):
    with pytest.raises(ValueError, match="between 1 and the number of images"):
        pipelines.training_batches(X, Y, batch_size=batch_size, seed=0)


def test_labels_must_match_images():
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        pipelines.training_batches(X, Y[:9], batch_size=2, seed=0)


def test_evaluation_batches_are_in_order_and_scaled():
    batches = list(pipelines.evaluation_batches(X, Y, batch_size=4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    np.testing.assert_allclose(batches[0][0].numpy(), X[:4] / 127.5 - 1, atol=1e-6)


# ---- the corrected generator, the PyDataset and tf.data from files (lesson 3's library copies)

N, BS = 23, 5  # 23 is not a multiple of 5: the last batch is partial


def _data():
    x = np.arange(N, dtype=np.uint8)[:, None, None, None] * np.ones((1, 6, 6, 3), np.uint8)
    return x, np.arange(N)


def _ids(batches):
    return np.concatenate([y for _, y in batches]).tolist()


def _brighten(batch, seed):
    return np.minimum(batch.astype(int) + 1, 255).astype(np.uint8)


def test_corrected_generator_sees_every_sample_once_per_epoch_and_never_writes_its_input():
    x, y = _data()
    before = x.copy()
    gen = pipelines.batch_generator(x, y, BS, seed=0, augment=_brighten)
    steps = pipelines.steps_per_epoch(N, BS)
    assert steps == 5
    epochs = [[next(gen) for _ in range(steps)] for _ in range(50)]
    for batches in epochs:
        assert sorted(_ids(batches)) == list(range(N))
        assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]  # the partial batch is kept, not dropped
    assert _ids(epochs[0]) != _ids(epochs[1]), "reshuffled every epoch"
    np.testing.assert_array_equal(x, before)
    xb, yb = epochs[3][0]
    np.testing.assert_array_equal(xb, np.minimum(x[yb].astype(int) + 1, 255))  # augmentation on a copy


def test_finite_generator_stops_after_its_epochs():
    x, y = _data()
    assert len(list(pipelines.batch_generator(x, y, BS, epochs=2))) == 10


def test_pydataset_same_contract():
    x, y = _data()
    before = x.copy()
    ds = pipelines.AugmentedPyDataset(x, y, BS, augment=_brighten)
    orders = []
    for _ in range(3):
        batches = [ds[i] for i in range(len(ds))]
        assert sorted(_ids(batches)) == list(range(N)) and len(batches[-1][1]) == 3
        orders.append(_ids(batches))
        ds.on_epoch_end()
    assert orders[0] != orders[1]
    np.testing.assert_array_equal(x, before)


def test_tf_data_from_files_same_contract(tmp_path):
    from PIL import Image

    paths = []
    for i in range(N):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (6, 6), (i, i, i)).save(paths[-1])
    ds = pipelines.image_file_dataset(paths, np.arange(N), size=(6, 6), batch_size=BS, repeat=True)
    batches = [(x.numpy(), y.numpy()) for x, y in ds.take(2 * pipelines.steps_per_epoch(N, BS))]
    first, second = batches[:5], batches[5:]
    assert sorted(_ids(first)) == list(range(N)) and sorted(_ids(second)) == list(range(N))
    assert [len(b[1]) for b in first] == [5, 5, 5, 5, 3]
    for xb, yb in first:
        assert (xb[:, 0, 0, 0] == yb).all(), "pixels stay with their labels"


def test_three_feeders_give_the_same_samples_per_epoch(tmp_path):
    from PIL import Image

    from helpers import studies

    x, y = _data()
    paths = []
    for i in range(N):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(x[i]).save(paths[-1])
    feeders = studies.flower_feeders((x, y % 3, np.asarray(paths)), batch_size=BS, seed=0, size=(6, 6))
    steps = pipelines.steps_per_epoch(N, BS)
    counts = {
        "python_generator": sum(len(next(feeders["python_generator"])[1]) for _ in range(steps)),
        "pydataset": sum(len(feeders["pydataset"][i][1]) for i in range(len(feeders["pydataset"]))),
        "tf_data": sum(len(yb) for _, yb in feeders["tf_data"].take(steps)),
    }
    assert counts == {"python_generator": N, "pydataset": N, "tf_data": N}


# ---- paired image/mask batches (lesson 5's library copy)


def test_paired_pipeline_batches_stay_aligned_and_binary():
    images, masks = blocky_pairs(n=5)
    stream, steps = pipelines.paired_training_batches(
        images, masks, crop=32, batch_size=2, seed=0,
        augment=lambda x, m, s: augment.paired_random_affine(x, m, seed=s, rotation=20, horizontal_flip=True))
    assert steps == 3
    for x, m in stream.take(6):
        assert x.shape == (2, 32, 32, 1) and x.dtype == tf.float32 and float(tf.reduce_max(x)) <= 1
        for i in range(2):
            assert_aligned(np.round(x[i].numpy() * 255), m[i].numpy().astype(np.uint8))


def test_paired_crop_generator_visits_every_pair_once_per_pass_with_its_own_crop():
    images, masks = blocky_pairs(n=5, size=64)
    ids = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((5, 64, 64, 1), np.uint8)
    tagged = np.concatenate([images, ids], axis=-1)  # channel 2 carries the pair's index
    batches = list(pipelines.paired_crop_generator(tagged, masks, crop=24, batch_size=2, seed=0, epochs=2))
    assert [len(x) for x, _ in batches] == [2, 2, 1, 2, 2, 1]
    for epoch in (batches[:3], batches[3:]):
        assert sorted(int(x[0, 0, 1]) for xb, _ in epoch for x in xb) == [0, 1, 2, 3, 4]
    for xb, mb in batches:
        assert xb.shape[1:3] == (24, 24)
        for x, m in zip(xb, mb):
            assert_aligned(x[..., :1], m)
    assert len({(x[..., 0].tobytes()) for xb, _ in batches for x in xb}) > 5, "crop positions differ"
