"""The tf.data service on one machine: a dispatcher and worker processes, reached at localhost (lessons 6 and 8).

TensorFlow's servers take no bind address: while they run they listen on every interface of this machine, with no
authentication. The process that reads from them must reach them, so they cannot be shut in a network namespace
the way ``helpers.scaling.multi_worker`` shuts its workers; on a shared network, use them behind a firewall.

On a real cluster the dispatcher and the workers run on CPU hosts of their own, and the training host
only receives finished batches. Here every server is a local process, which shows the mechanics (and
the overhead) on a laptop:

    with LocalService(workers=2) as service:
        ds = pipeline.apply(tf.data.experimental.service.distribute(
            processing_mode="distributed_epoch", service=service.target, job_name="train"))

``python -m helpers.service dispatcher --port P`` and ``python -m helpers.service worker --dispatcher
localhost:P --port Q`` are the two server processes that ``LocalService`` starts.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

from helpers.config import REPO_ROOT

PARENT_ENV = "COURSE_PARENT_PID"  # set by the course for the server and worker processes it starts


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a server or worker process this process starts: ours, plus our pid, so that the child
    can tie its life to ours (``die_with_parent``)."""
    return {**os.environ, PARENT_ENV: str(os.getpid()), **extra}


def die_with_parent() -> None:
    """Called first thing in a process the course started: on Linux, ask the kernel to SIGKILL this process when
    its parent dies (``prctl(PR_SET_PDEATHSIG)``), whatever ends the parent, and exit at once if it is already
    gone. A server or worker left behind would keep its port and its cores. Elsewhere, and when this process was
    not started by the course, it does nothing."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != int(parent):  # the parent died before the request was in place
        os._exit(1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a tf.data service server exited with code {process.returncode} before listening "
                               f"on port {port}:\n{process.stderr.read() if process.stderr else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"no tf.data service server on port {port} after {timeout:.0f} s")


class LocalService:
    """A dispatcher and ``workers`` worker servers, each its own process on this machine (see the module's note).

    A context manager: on exit (also after an error) every process is terminated and reaped.
    ``target`` is the address to pass to ``distribute``.
    """

    def __init__(self, workers: int = 2, *, timeout: float = 120.0):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers, self.timeout = workers, timeout
        self.processes: list[subprocess.Popen] = []
        self.port = 0

    @property
    def target(self) -> str:
        return f"grpc://localhost:{self.port}"

    def _start(self, *args: str) -> subprocess.Popen:
        env = child_env(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
        process = subprocess.Popen([sys.executable, "-m", "helpers.service", *args], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def __enter__(self) -> LocalService:
        try:  # all servers start at once (each imports TensorFlow); workers retry until the dispatcher is up
            self.port = free_port()
            ports = [self.port] + [free_port() for _ in range(self.workers)]
            started = [self._start("dispatcher", "--port", str(self.port))]
            started += [self._start("worker", "--dispatcher", f"localhost:{self.port}", "--port", str(port))
                        for port in ports[1:]]
            for port, process in zip(ports, started):
                _wait_for_port(port, process, self.timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if process.stderr:
                process.stderr.close()
        self.processes = []

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="One tf.data service server (LocalService starts these).")
    parser.add_argument("role", choices=["dispatcher", "worker"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dispatcher", default=None, help="host:port of the dispatcher (workers only)")
    args = parser.parse_args(argv)
    die_with_parent()
    import tensorflow as tf

    service = tf.data.experimental.service
    if args.role == "dispatcher":
        server = service.DispatchServer(service.DispatcherConfig(port=args.port))
    else:
        if not args.dispatcher:
            parser.error("a worker needs --dispatcher host:port")
        server = service.WorkerServer(service.WorkerConfig(
            dispatcher_address=args.dispatcher, worker_address=f"localhost:{args.port}", port=args.port))
    server.join()


if __name__ == "__main__":
    main()
