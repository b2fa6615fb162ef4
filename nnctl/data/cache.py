"""Where data lives on this machine: the cache of downloads and decoded sets, and the folder of local sets."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """Where downloads and decoded data are kept: $NNCTL_CACHE_DIR, else ~/.cache/nnctl."""
    return Path(os.environ.get("NNCTL_CACHE_DIR") or Path.home() / ".cache" / "nnctl").expanduser()


def data_dir() -> Path | None:
    """The folder of local data sets, $NNCTL_DATA_DIR, or None."""
    value = os.environ.get("NNCTL_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_files(name: str) -> list[Path]:
    """The files of the cache that hold the data set `name` (e.g. mnist.npz)."""
    folder = cache_dir()
    return sorted(p for p in folder.glob(f"{name}.*") if p.is_file()) if folder.is_dir() else []


# A decoded tabular set: its rows and the split scikit-learn drew, as scikit-learn made them, in one
# .npz named after the set and its parameters. A second run with the same parameters reads it back
# (bit for bit the same arrays, so the same trained weights) without importing scikit-learn, which
# costs ~1.3 s of a run that trains in 0.2 s. Bump the version when what is stored changes.
SPLIT_CACHE_VERSION = 1


def split_cache_path(name: str, parameters: dict) -> Path:
    """Where the rows and split of data set `name` drawn with `parameters` (JSON-able) are kept:
    `<cache>/<name>.<key>.npz`, so `nnctl data list` counts it as that set's cache."""
    text = json.dumps({"version": SPLIT_CACHE_VERSION, "name": name, **parameters}, sort_keys=True)
    return cache_dir() / f"{name}.{hashlib.sha256(text.encode()).hexdigest()[:16]}.npz"


def read_split(path: Path):
    """(x, y, classes, source, (train, val, test)) from a file write_split wrote, or None when it
    is missing or unreadable (the caller then draws the set again and rewrites it)."""
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("x", "y", "train", "val", "test", "meta")}
        meta = json.loads(str(arrays["meta"]))
        x, y, rows = arrays["x"], arrays["y"], [arrays[k] for k in ("train", "val", "test")]
        if x.ndim != 2 or y.shape != (len(x),) or any(r.dtype.kind != "i" or r.ndim != 1 for r in rows) or \
                any(len(r) and not 0 <= r.min() <= r.max() < len(x) for r in rows):
            return None
        return x, y, list(meta["classes"]), str(meta["source"]), tuple(rows)
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, zlib.error, zipfile.BadZipFile):
        return None


def write_split(path: Path, x, y, classes: list, source: str, rows: tuple) -> None:
    """Keep what read_split reads, atomically; a cache that cannot be written only makes the next load slower."""
    train, val, test = (np.asarray(r) for r in rows)
    meta = np.array(json.dumps({"classes": classes, "source": source}))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x=x, y=y, train=train, val=val, test=test, meta=meta)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
