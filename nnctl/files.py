"""Writing files so that a reader never sees half of one: a temporary name, fsync, then rename."""

import os
import tempfile
from pathlib import Path

from .errors import WriteError


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Replace `path` with `data` in one step; on failure nothing is left behind."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise WriteError(f"{path}: cannot be written: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
