"""helpers.pipelines: lesson 5's fixed random-crop generator."""

import numpy as np

from helpers import pipelines
from tests.pairs import assert_aligned, blocky_pairs


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
