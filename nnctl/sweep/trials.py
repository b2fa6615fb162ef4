"""One trial in its run folder: continued from its last.json after a kill, started again after a
failure, and never touched while another process writes it.

A trial's folder is written by whichever process runs the trial: this one, a loky worker, or a
Dask worker on another machine. Dask runs a trial again when it loses the worker that ran it,
and a lost worker may be unreachable rather than dead. So the folder's lock (nnctl.runs.lock) is
taken before anything in it is judged or removed: a folder that another process still locks is
left as it is (RunBusy), and only a folder this process holds is emptied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import CheckpointError, ConfigError
from ..runs import lock as folder_lock

RESUMABLE = ("running", "interrupted")  # run.json's status after a kill, or after Ctrl-C / SIGTERM


def train(cfg, path: Path, stop=None) -> str:
    """Train the trial `cfg` into its folder `path`, and say how: "started" (a new folder),
    "resumed" (from the last.json a killed or interrupted run left) or "restarted" (from nothing,
    in a folder a failed run left, or one whose last.json cannot be continued)."""
    from .. import api

    if not path.exists():
        api.train(cfg, run_dir=path, stop=stop)
        return "started"
    with folder_lock.acquire(path):  # RunBusy: another process still writes this trial
        resumable = _status(path) in RESUMABLE and (path / "last.json").is_file()
        if not resumable:
            _empty(path)
    if resumable:
        try:
            api.resume(path, cfg, stop=stop)
            return "resumed"
        except (CheckpointError, ConfigError):  # refused before anything changed: start again
            with folder_lock.acquire(path):
                _empty(path)
    api.train(cfg, run_dir=path, stop=stop)
    return "restarted"


def _status(path: Path) -> str | None:
    try:
        status = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return status.get("status") if isinstance(status, dict) else None


def _empty(path: Path) -> None:
    """Remove what the folder holds but its lock file (held by this process)."""
    for entry in path.iterdir():
        if entry.name == folder_lock.NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
