"""What MLflow tracking costs a training run, and what a tracking server that stops answering costs.

    python benchmarks/tracking_cost.py                          # a SQLite store in a temporary folder
    python benchmarks/tracking_cost.py --uri http://HOST:PORT   # a server you started (mlflow server)
    python benchmarks/tracking_cost.py --uri http://HOST:PORT --outage
    NNCTL_SOURCE=/path/to/another/checkout python benchmarks/tracking_cost.py   # another version of nnctl

Trains configs/moons.yaml (60 epochs, plots off) without tracking and with MLflow, alternating,
`--rounds` times, and prints per variant the median of: the epochs' loop per epoch (from the end of
the first epoch to the end of the last, the trackers' hooks included, divided by the epochs
between), and the whole api.train call (the tracker's start and end: connecting, the files, the
model). `--outage`: a relay between nnctl and the server swallows every byte from epoch 5 on (a
server that stops answering); prints how long the run took, against the same run untracked.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("NNCTL_SOURCE", str(ROOT)))

from nnctl import api

CONFIG = ROOT / "configs" / "moons.yaml"


def once(folder: Path, uri: str | None, on_epoch=None) -> dict:
    """One training run; the loop's seconds per epoch and the call's seconds."""
    sets = ["training.epochs=60"] + ([f"run.tracking.mlflow.uri={uri}"] if uri else [])
    cfg = api.load_config(CONFIG, sets)
    ends = []

    def watch(record):
        ends.append(time.perf_counter())
        if on_epoch is not None:
            on_epoch(record)

    started = time.perf_counter()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        api.train(cfg, run_dir=folder / f"run-{time.monotonic_ns()}", plots=False, on_epoch=watch)
    total = time.perf_counter() - started
    return {"per_epoch_ms": (ends[-1] - ends[0]) / (len(ends) - 1) * 1000, "total_s": total}


class Relay:
    """A TCP relay to `port` that swallows every byte once `mode` is not "up"."""

    def __init__(self, port: int):
        self.target, self.mode = port, "up"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source, sink):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.mode == "up":
                with contextlib.suppress(OSError):
                    sink.sendall(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help="an MLflow server's URI (default: a SQLite store in a temporary folder)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outage", action="store_true", help="time a run whose server stops answering at epoch 5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # a SQLite store keeps its artifacts in ./mlruns
        uri = args.uri or f"sqlite:///{folder / 'bench.db'}"
        once(folder, uri)  # warm: imports, the store's tables, the experiment
        if args.outage:
            relay = Relay(int(uri.rsplit(":", 1)[1]))

            def cut(record):
                if record["epoch"] == 5:
                    relay.mode = "hang"

            untracked = once(folder, None)["total_s"]
            hung = once(folder, f"http://127.0.0.1:{relay.port}", cut)["total_s"]
            print(json.dumps({"untracked_total_s": round(untracked, 2), "outage_total_s": round(hung, 2)}))
            return
        results: dict[str, list] = {"untracked": [], "mlflow": []}
        for _ in range(args.rounds):  # alternated: the machine's load changes between rounds
            results["untracked"].append(once(folder, None))
            results["mlflow"].append(once(folder, uri))
        summary = {name: {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
                   for name, runs in results.items()}
        summary["store"] = "server" if args.uri else "sqlite"
        added = summary["mlflow"]["per_epoch_ms"] - summary["untracked"]["per_epoch_ms"]
        summary["added_per_epoch_ms"] = round(added, 3)
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
