"""The tf.data service on loopback: exactly-once epochs, and the benchmark's service method."""

import numpy as np
import pytest
import tensorflow as tf

from helpers import feeders
from helpers.service import LocalService
from tests.test_bench import paired_workload

pytestmark = pytest.mark.slow  # three server processes start; lesson 8's quick run uses the service too


@pytest.fixture(scope="module")
def service():
    with LocalService(workers=2) as running:
        processes = list(running.processes)
        assert len(processes) == 3 and all(p.poll() is None for p in processes)  # dispatcher + 2 workers
        yield running
    assert all(p.poll() is not None for p in processes), "every server process must be gone after the block"


def test_distributed_epoch_delivers_every_sample_exactly_once(service):
    ds = tf.data.Dataset.range(200).map(lambda i: i * 3).apply(tf.data.experimental.service.distribute(
        processing_mode="distributed_epoch", service=service.target, job_name="exactly-once"))
    for _ in range(2):  # each pass over the job's dataset is one epoch, split between the two workers
        got = sorted(int(v) for v in ds)
        assert got == [3 * i for i in range(200)]


def test_parallel_epochs_gives_each_worker_a_whole_epoch(service):
    ds = tf.data.Dataset.range(50).apply(tf.data.experimental.service.distribute(
        processing_mode="parallel_epochs", service=service.target))
    got = sorted(int(v) for v in ds)
    assert got == sorted(list(range(50)) * 2)  # two workers: every sample twice per "epoch"


def test_service_batches_are_model_ready_aligned_and_seeded_apart(service):
    w = paired_workload()
    it = iter(feeders.service_batches(w, 0, service.target, job_name="pairs"))
    seen = []
    for _ in range(4):
        x, y = (np.asarray(t) for t in next(it))
        assert x.shape == (4, 32, 32, 1) and y.shape == (4, 32, 32, 1)
        flat = (np.abs(x - 30 / 255) < 0.02) | (np.abs(x - 230 / 255) < 0.02)
        assert np.mean((x > 130 / 255)[flat] != (y[flat] > 0.5)) < 0.01
        seen.append(x.tobytes())
    assert len(set(seen)) == 4, "batches from two workers must not repeat each other's draws"
