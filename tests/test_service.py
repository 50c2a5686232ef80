"""The tf.data service on loopback: exactly-once epochs, the benchmark's service method, servers reachable from
this machine only, and servers that die with the process that started them."""

import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from helpers import feeders
from helpers import service as service_module
from helpers.config import REPO_ROOT
from helpers.service import LocalService
from tests.test_bench import paired_workload

pytestmark = pytest.mark.slow  # three server processes start; lesson 8's quick run uses the service too


@pytest.fixture(scope="module")
def service():
    with LocalService(workers=2) as running:
        processes, ports = list(running.processes), [str(p) for p in running.ports]
        assert len(ports) == 3 and len(_servers(ports)) == 3  # dispatcher + 2 workers
        assert processes and all(p.poll() is None for p in processes)
        yield running
    assert all(p.poll() is not None for p in processes), "every process started must be gone after the block"
    assert not _servers(ports)


def _servers(ports: list[str]) -> list[str]:
    """The command lines of running tf.data service servers on any of ``ports``."""
    return [line for line in subprocess.run(["pgrep", "-af", "helpers.service (dispatcher|worker)"],
                                            capture_output=True, text=True).stdout.splitlines()
            if any(f"--port {p}" in line for p in ports)]


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


def _listening() -> list[str]:
    """Every TCP address:port this network namespace listens on, as `ss` reports it."""
    return [line.split()[3] for line in subprocess.run(["ss", "-ltnH"], capture_output=True, text=True,
                                                        check=True).stdout.splitlines()]


def _outward_address() -> str | None:
    """One of this machine's own addresses that is not loopback, or None."""
    words = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return next((w for w in words if "." in w and not w.startswith("127.")), None)


@pytest.mark.skipif(service_module.loopback_only() is None, reason="bubblewrap cannot make a network namespace here")
def test_the_servers_are_reachable_from_this_machine_only(service):
    assert service.isolated and len(service.ports) == 3
    listening = _listening()
    for port in service.ports:
        mine = [address for address in listening if address.rsplit(":", 1)[1] == str(port)]
        assert mine == [f"127.0.0.1:{port}"], f"port {port} must be open on loopback alone, ss says {mine}"
    if (address := _outward_address()) is not None:
        for port in service.ports:
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((address, port)) != 0, f"{address}:{port} accepted a connection"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_servers_die_with_the_process_that_started_them(how):
    parent = subprocess.Popen([sys.executable, "-c", (
        "import time\nfrom helpers.service import LocalService\n"
        "service = LocalService(workers=1).__enter__()\n"
        "print(*service.ports, flush=True)\ntime.sleep(300)\n")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ports = parent.stdout.readline().split()
    assert len(ports) == 2, "the service did not start"
    parent.send_signal(how)
    parent.wait(30)
    deadline = time.monotonic() + 15
    while _servers(ports) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _servers(ports), f"server processes outlived their parent: {_servers(ports)}"


def test_on_windows_the_process_groups_refuse_clearly_instead_of_crashing(monkeypatch):
    from helpers import scaling

    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(RuntimeError, match="WSL2"):
        LocalService(workers=1).__enter__()
    with pytest.raises(RuntimeError, match="WSL2"):
        scaling.multi_worker(2, steps=1)
