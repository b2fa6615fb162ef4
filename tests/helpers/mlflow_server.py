"""Real MLflow processes on loopback for the tracking tests: a tracking server (one per test session),
a model server, and a TCP relay between nnctl and the tracking server that can be cut mid-run."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90.0) -> None:
    """Poll `url` until it answers 200 (the process dying or the time running out fails the test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@contextlib.contextmanager
def process(args: list, url: str, cwd, log, env=None):
    """A server process, ready once `url` answers; stopped afterwards."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")} | (env or {})
    started = subprocess.Popen([sys.executable, "-m", "mlflow", *map(str, args)], cwd=cwd, env=environ,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(url, started)
        yield started
    finally:  # the whole process group: mlflow runs uvicorn (and a model server bash) as children
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.pid, signal.SIGTERM)
        try:
            started.wait(1)  # uvicorn waits for idle keep-alive connections: a test server need not
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(started.pid, signal.SIGKILL)
            started.wait()


class Quiet:
    """An object whose methods run with warnings ignored (MLflow's dependencies warn: SQLAlchemy's
    deprecations, which the test suite makes errors)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped

    def __getattr__(self, name):
        attribute = getattr(self.wrapped, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return attribute(*args, **kwargs)
        return call


def client(uri: str):
    """MLflow's client on `uri`, its warnings ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient
        return Quiet(MlflowClient(tracking_uri=uri))


class Relay:
    """A TCP relay on loopback to `port`: `up` forwards, `hang` swallows every byte (a server that
    stopped answering: requests time out), `down` closes each connection (a server that is gone)."""

    def __init__(self, port: int):
        self.target, self.mode = port, "up"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "down":
                conn.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source, sink):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            if self.mode == "up":
                with contextlib.suppress(OSError):
                    sink.sendall(data)

    def close(self):
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()
