import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from helpers import scaling, service
from tests.conftest import needs_offline

ROOT = Path(__file__).resolve().parents[1]


def test_linear_learning_rate_rule():
    assert scaling.scaled_learning_rate(1e-3, 128, 128) == pytest.approx(1e-3)
    assert scaling.scaled_learning_rate(1e-3, 128, 512) == pytest.approx(4e-3)


def test_shards_are_disjoint_and_cover_the_data():
    owners = scaling.shard_owners(10, 3)
    assert owners == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(i for shard in owners for i in shard) == list(range(10))


def test_tf_config_names_the_cluster_and_this_task():
    config = json.loads(scaling.tf_config(["host1:12345", "host2:12345"], 1))
    assert config == {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 1}}


def test_mirrored_fit_on_one_device():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 64)
    result = scaling.mirrored_fit(tf.distribute.MirroredStrategy(), x, y, per_replica_batch=32, base_batch=32,
                                  base_lr=1e-3)
    assert result["replicas"] == 1 and result["global_batch"] == 32 and result["learning_rate"] == pytest.approx(1e-3)
    assert np.isfinite(result["loss"][0])


@needs_offline("cifar-10-batches-py")
# `python -m helpers.scaling --cpu-replicas 2` runs in lesson 6 (with check=True); the command itself exits
# non-zero unless it got the replicas it asked for. Not repeated here: it costs a TensorFlow start-up.


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z" if Path(f"/proc/{pid}").exists() else False


@pytest.mark.slow
@needs_offline("cifar-10-batches-py")
def test_two_workers_on_loopback_end_with_identical_weights():
    done = subprocess.run([sys.executable, "-m", "helpers.scaling", "--workers", "2", "--steps", "2", "--images", "128"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["worker"] for r in rows] == [0, 1] and len({r["pid"] for r in rows}) == 2
    assert all(r["replicas"] == 2 and r["steps"] == 2 and r["global_batch"] == 64 for r in rows)
    assert len({r["weights"] for r in rows}) == 1, "all-reduced gradients and synchronized BatchNorm: one model"
    assert "weights IDENTICAL" in done.stdout
    assert not any(_alive(r["pid"]) for r in rows)


def test_workers_that_overrun_their_time_are_killed():
    with pytest.raises(RuntimeError, match="did not finish"):
        scaling.multi_worker(2, steps=1, images=64, timeout=0.5, isolate=False)
    leftovers = subprocess.run(["pgrep", "-f", "helpers.scaling --as-worker"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "no worker process may outlive the run"


@pytest.mark.slow
@pytest.mark.skipif(service.loopback_only() is None, reason="bubblewrap cannot make a network namespace here")
def test_the_workers_servers_cannot_be_reached_from_outside_their_namespace(tmp_path):
    """Each fake worker listens on every interface at its cluster port, as TensorFlow's servers do, and reaches
    its peer; from this process (outside the namespace) the same ports are closed."""
    import socket
    import threading

    script = ("import json, os, pathlib, socket, time\n"
              "spec = json.loads(os.environ['TF_CONFIG'])\n"
              "me, peers = spec['task']['index'], spec['cluster']['worker']\n"
              "port = int(peers[me].split(':')[1])\n"
              "server = socket.create_server(('0.0.0.0', port))\n"
              f"folder = pathlib.Path({str(tmp_path)!r})\n"
              "(folder / f'port{me}').write_text(str(port))\n"
              "for attempt in range(200):  # until the peer listens\n"
              "    try:\n"
              "        peer = socket.create_connection(('127.0.0.1', int(peers[1 - me].split(':')[1])), timeout=5)\n"
              "        break\n"
              "    except ConnectionRefusedError:\n"
              "        time.sleep(0.05)\n"
              "deadline = time.time() + 30\n"
              "while not (folder / 'probed').exists() and time.time() < deadline:\n"
              "    time.sleep(0.05)\n"
              "print(json.dumps({'worker': me, 'reached_peer': True}))\n")
    result = {}
    run = threading.Thread(target=lambda: result.update(rows=scaling.multi_worker(
        2, timeout=60, command=[sys.executable, "-c", script], isolate=True)))
    run.start()
    deadline = time.monotonic() + 40
    while len(list(tmp_path.glob("port*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    ports = [int(p.read_text()) for p in sorted(tmp_path.glob("port*"))]
    reached = []
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(2)
            reached.append(probe.connect_ex(("127.0.0.1", port)) == 0)
    (tmp_path / "probed").write_text("done")
    run.join(60)
    assert len(ports) == 2 and not any(reached), f"a worker's port was open outside its namespace: {ports}"
    assert sorted(r["worker"] for r in result["rows"]) == [0, 1] and all(r["reached_peer"] for r in result["rows"])


def test_the_worker_that_failed_first_is_named_with_how_it_ended():
    """Worker 1 is killed; worker 0, left waiting at a collective, fails later with exit 1 (simulated here)."""
    script = ("import json, os, signal, time\n"
              "index = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
              "time.sleep(0.2) if index else time.sleep(1.5)\n"
              "os.kill(os.getpid(), signal.SIGKILL) if index else exit(1)\n")
    with pytest.raises(RuntimeError, match=r"worker 1 was killed by SIGKILL first"):
        scaling.multi_worker(2, timeout=30, command=[sys.executable, "-c", script], isolate=False)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_child_dies_with_its_parent_whatever_ends_the_parent(how):
    """The servers and workers call service.die_with_parent() first: killing their parent kills them."""
    parent = ("import subprocess, sys, time\n"
              "from helpers import service\n"
              "child = subprocess.Popen([sys.executable, '-c', 'from helpers import service; "
              "service.die_with_parent(); import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "time.sleep(120)'], env=service.child_env(), start_new_session=True)\n"
              "print(child.pid, flush=True)\n"
              "time.sleep(120)\n")
    process = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(process.stdout.readline())
    time.sleep(1.0)  # the child has imported and asked for its death signal
    assert _alive(child)
    process.send_signal(how)
    process.wait(10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), f"the child outlived its parent ({how.name})"
