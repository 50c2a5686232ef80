"""The tf.data service on one machine: a dispatcher and worker processes, reached at 127.0.0.1 (lessons 6 and 8).

TensorFlow's servers take no bind address: they listen on every interface, with no authentication. So where
bubblewrap can make one, ``LocalService`` runs them in a network namespace of their own, whose only interface is
loopback, and relays each server's port from this process's 127.0.0.1 into it, through a Unix socket in a folder
only this user can open (``Relay``). Nothing outside this machine can reach them; where no namespace can be had
it warns, and the servers listen on every interface while they run.

On a real cluster the dispatcher and the workers run on CPU hosts of their own, and the training host
only receives finished batches. Here every server is a local process, which shows the mechanics (and
the overhead) on a laptop:

    with LocalService(workers=2) as service:
        ds = pipeline.apply(tf.data.experimental.service.distribute(
            processing_mode="distributed_epoch", service=service.target, job_name="train"))

``python -m helpers.service dispatcher --port P`` and ``python -m helpers.service worker --dispatcher
127.0.0.1:P --port Q`` are the two server processes that ``LocalService`` starts (``group`` starts them all,
with the relays' far ends, inside the namespace).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

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


def require_posix(what: str) -> None:
    """Raise RuntimeError on Windows, where ``what`` cannot work: the course starts its server and worker processes
    in process groups of their own (``start_new_session``) and ends them with ``os.killpg``, which Windows lacks."""
    if sys.platform == "win32":
        raise RuntimeError(f"{what} needs Linux or macOS (process groups); on Windows, run the course in WSL2, "
                           "as TensorFlow recommends, or on Colab")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"a tf.data service server exited with code {process.returncode} before listening "
                               f"on port {port}:\n{said}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"no tf.data service server on port {port} after {timeout:.0f} s")


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes from ``source`` to ``sink`` until ``source`` ends, then end ``sink``'s sending side."""
    try:
        while data := source.recv(1 << 20):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Relay:
    """Accepts connections on ``listener`` and joins each to a new connection made by ``connect()``, copying bytes
    both ways in two threads, until ``close()``. (The standard library has no socket relay; socat would be one more
    system package to install.)"""

    def __init__(self, listener: socket.socket, connect):
        self.listener, self.connect = listener, connect
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                far = self.connect()
            except OSError:
                near.close()
                continue
            with self.lock:
                self.open |= {near, far}
            ended = []  # directions finished; the second closes both sockets

            def join(source: socket.socket, sink: socket.socket, ended=ended, pair=(near, far)) -> None:
                _pump(source, sink)
                with self.lock:
                    ended.append(source)
                    if len(ended) == 2:
                        for sock in pair:
                            sock.close()
                            self.open.discard(sock)

            for a, b in ((near, far), (far, near)):
                threading.Thread(target=join, args=(a, b), daemon=True).start()

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for sock in self.open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.open = set()


def _unix_listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.listen(64)
    return sock


def _tcp_listener(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def _connect_unix(path: Path):
    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(path))
        return sock
    return connect


def _connect_tcp(port: int):
    return lambda: socket.create_connection(("127.0.0.1", port))


def loopback_only() -> list[str] | None:
    """A command prefix that runs a program in a network namespace of its own, where the only interface is
    loopback (bubblewrap ``--unshare-net``), or None where none can be had."""
    if not shutil.which("bwrap"):
        return None
    prefix = ["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent"]
    return prefix if subprocess.run(prefix + ["true"], capture_output=True).returncode == 0 else None


def _server_argv(ports: list[int]) -> list[list[str]]:
    """The command lines of the dispatcher (``ports[0]``) and one worker per further port."""
    module = [sys.executable, "-m", "helpers.service"]
    return ([module + ["dispatcher", "--port", str(ports[0])]]
            + [module + ["worker", "--dispatcher", f"127.0.0.1:{ports[0]}", "--port", str(port)] for port in ports[1:]])


SERVER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


class LocalService:
    """A dispatcher and ``workers`` worker servers, each its own process on this machine (see the module's note).

    A context manager: on exit (also after an error) every process is terminated and reaped, and the relays
    closed. ``target`` is the address to pass to ``distribute``. ``isolate``: True demands the loopback-only
    namespace, False skips it, None (default) uses it where it can be had and warns where not.
    """

    def __init__(self, workers: int = 2, *, timeout: float = 120.0, isolate: bool | None = None):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers, self.timeout, self.isolate = workers, timeout, isolate
        self.processes: list[subprocess.Popen] = []
        self.relays: list[Relay] = []
        self.port = 0
        self.ports: list[int] = []  # the dispatcher's, then each worker's
        self.isolated = False
        self._scratch: Path | None = None

    @property
    def target(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalService:
        require_posix("the local tf.data service")
        prefix = loopback_only() if self.isolate is not False else None
        if self.isolate and prefix is None:
            raise RuntimeError("no network namespace can be made here (bubblewrap missing or not allowed)")
        if prefix is None and self.isolate is None:
            warnings.warn("bubblewrap cannot make a network namespace here: the tf.data service's servers listen on "
                          "every interface of this machine while they run", RuntimeWarning, stacklevel=2)
        try:
            self._scratch = Path(tempfile.mkdtemp(prefix="course-service-"))  # mode 700: only this user
            self.port = free_port()
            ports = self.ports = [self.port] + [free_port() for _ in range(self.workers)]
            if prefix is None:
                self._start_here(ports)
            else:
                self._start_isolated(prefix, ports)
        except BaseException:
            self.close()
            raise
        return self

    def _start_here(self, ports: list[int]) -> None:
        started = []
        for i, argv in enumerate(_server_argv(ports)):  # all at once; workers retry until the dispatcher is up
            log = self._scratch / f"server-{i}.log"
            with open(log, "w") as err:
                started.append(subprocess.Popen(argv, cwd=REPO_ROOT, env=child_env(**SERVER_ENV),
                                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True))
            self.processes.append(started[-1])
        for i, (port, process) in enumerate(zip(ports, started)):
            _wait_for_port(port, process, self.timeout, self._scratch / f"server-{i}.log")

    def _start_isolated(self, prefix: list[str], ports: list[int]) -> None:
        self.relays = [Relay(_tcp_listener(port), _connect_unix(self._scratch / f"{port}.sock")) for port in ports]
        log = self._scratch / "group.log"
        env = {k: v for k, v in os.environ.items() if k != PARENT_ENV}  # bwrap stands between; --die-with-parent
        plan = json.dumps({"ports": ports, "dir": str(self._scratch), "timeout": self.timeout})
        with open(log, "w") as err:
            group = subprocess.Popen(prefix + [sys.executable, "-m", "helpers.service", "group", "--plan", plan],
                                     cwd=REPO_ROOT, env={**env, **SERVER_ENV}, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
        self.processes.append(group)
        deadline = time.monotonic() + self.timeout + 10
        while time.monotonic() < deadline:
            ready, _, _ = select.select([group.stdout], [], [], 0.5)
            if ready and group.stdout.readline().strip() == "ready":
                self.isolated = True
                return
            if group.poll() is not None:
                break
        said = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the tf.data service did not start in its namespace (exit {group.poll()}):\n{said}")

    def close(self) -> None:
        for relay in self.relays:
            relay.close()
        self.relays = []
        for process in self.processes:
            if process.stdin:  # the namespace's group: closing its stdin asks it to end and reap its servers, then exit
                process.stdin.close()  # (a SIGTERM would also end bubblewrap, whose death kills the group mid-way)
            elif process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if process.stdout:
                process.stdout.close()
        self.processes = []
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __exit__(self, *exc) -> None:
        self.close()


def _group(plan: dict) -> None:
    """Inside the namespace: start the servers, relay each port's Unix socket to it, say ``ready``, and live
    until a server exits or this process is ended (its servers die with it)."""
    ports, folder = plan["ports"], Path(plan["dir"])
    servers = [subprocess.Popen(argv, cwd=REPO_ROOT, env=child_env(), stdout=subprocess.DEVNULL)
               for argv in _server_argv(ports)]
    for port, process in zip(ports, servers):
        _wait_for_port(port, process, plan["timeout"])
    relays = [Relay(_unix_listener(folder / f"{port}.sock"), _connect_tcp(port)) for port in ports]
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(p.poll() is None for p in servers):
            if select.select([sys.stdin], [], [], 0.5)[0] and not sys.stdin.read(1):
                sys.exit(0)  # LocalService closed our stdin: end the servers (below), then exit
        sys.exit(f"a tf.data service server exited with code {next(p.returncode for p in servers if p.poll() is not None)}")
    finally:
        for relay in relays:
            relay.close()
        for process in servers:
            if process.poll() is None:
                process.kill()
        for process in servers:  # reaped before this process exits: once LocalService has waited for it, they are gone
            process.wait()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="One tf.data service server (LocalService starts these).")
    parser.add_argument("role", choices=["dispatcher", "worker", "group"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--plan", default=None, help=argparse.SUPPRESS)  # group: set by LocalService
    parser.add_argument("--dispatcher", default=None, help="host:port of the dispatcher (workers only)")
    args = parser.parse_args(argv)
    die_with_parent()
    if args.role == "group":
        _group(json.loads(args.plan))
        return
    if args.port is None:
        parser.error(f"a {args.role} needs --port")
    import tensorflow as tf

    service = tf.data.experimental.service
    if args.role == "dispatcher":
        server = service.DispatchServer(service.DispatcherConfig(port=args.port))
    else:
        if not args.dispatcher:
            parser.error("a worker needs --dispatcher host:port")
        server = service.WorkerServer(service.WorkerConfig(
            dispatcher_address=args.dispatcher, worker_address=f"127.0.0.1:{args.port}", port=args.port))
    server.join()


if __name__ == "__main__":
    main()
