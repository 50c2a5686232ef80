import numpy as np
import pytest

from helpers import augment, pipelines

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
