"""The run folder: resolved config, metrics logs, status and checkpoints, each written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path

from .errors import WriteError
from .files import atomic_write

METRIC_COLUMNS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]  # classification
REGRESSION_COLUMNS = ["epoch", "train_loss", "train_mae", "val_loss", "val_mae", "val_rmse", "val_r2", "lr", "seconds"]


def create(output_dir: str | Path, name: str) -> Path:
    """A new, empty folder `<output_dir>/<name>-<UTC timestamp>-<random id>`; never one that exists."""
    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        while True:
            path = output_dir / f"{name}-{stamp}-{secrets.token_hex(3)}"
            try:
                path.mkdir()  # fails if it exists: two runs never share a folder
                return path
            except FileExistsError:
                continue
    except OSError as e:
        raise WriteError(f"{output_dir}: cannot create a run folder: {e.strerror or e}") from None


def use(path: str | Path) -> Path:
    """An explicitly named run folder (--run-dir): created, or an existing empty folder."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if any(path.iterdir()):
            raise WriteError(f"{path}: the run folder is not empty; name a new one or remove it")
    except OSError as e:
        raise WriteError(f"{path}: cannot create the run folder: {e.strerror or e}") from None
    return path


def environment() -> dict:
    """Versions and threads that explain a difference between two machines."""
    import numpy as np

    info = {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform(),
            "machine": platform.machine(), "cpu_count": os.cpu_count()}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: pool.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                        for pool in threadpool_info() if pool.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = None
    return info


class Run:
    """Writes one run folder as training goes."""

    def __init__(self, path: Path, config_yaml: str):
        self.path = Path(path)
        self.history: list[dict] = []
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.status = {"status": "running", "started": self.started, "finished": None, "epochs": 0,
                       "pid": os.getpid(), "command": sys.argv[1:], "environment": environment()}
        atomic_write(self.path / "config.yaml", config_yaml)
        self._write_status()

    def log(self, record: dict) -> None:
        """Append one epoch's metrics to metrics.jsonl and metrics.csv (rewritten whole, atomically)."""
        self.history.append(record)
        atomic_write(self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in self.history))
        buffer = io.StringIO()
        # the columns of the first record: classification and regression log different metrics
        columns = list(self.history[0])
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if r.get(k) is None else r[k]) for k in columns} for r in self.history)
        atomic_write(self.path / "metrics.csv", buffer.getvalue())
        self.status["epochs"] = record["epoch"]
        self._write_status()

    def finish(self, status: str, **extra) -> None:
        """Record how the run ended: finished, diverged, interrupted or failed."""
        self.status.update(status=status, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra)
        try:
            self._write_status()
        except WriteError:
            if status == "finished":
                raise

    def _write_status(self) -> None:
        atomic_write(self.path / "run.json", json.dumps(self.status, indent=2) + "\n")
