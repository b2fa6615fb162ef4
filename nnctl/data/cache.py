"""Where data lives on this machine: the cache of downloads and decoded sets, and the folder of local sets."""

from __future__ import annotations

import os
from pathlib import Path


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
