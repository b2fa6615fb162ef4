"""Writing files so that a reader never sees half of one: a temporary name, fsync, then rename."""

import os
import re
import tempfile
from pathlib import Path

from .errors import WriteError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates files only their owner can read; a run folder's files get the usual mode
MODE = 0o666 & ~_umask()


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Replace `path` with `data` in one step; on failure nothing is left behind."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(fd, MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _sync_folder(path.parent)
    except OSError as e:
        raise WriteError(f"{path}: cannot be written: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# atomic_write's temporary names: "." + the file's name + "." + mkstemp's 8 random characters + ".tmp"
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def remove_temporaries(folder: str | Path) -> list[str]:
    """Delete the temporary files atomic_write left in `folder` when its process was killed in
    the middle of a write; return their names. Only for a folder no other process writes (its
    lock held): a live writer's temporary file would go too."""
    removed = []
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)]
    except OSError:
        return removed
    for name in names:
        if TEMPORARY.fullmatch(name):
            try:
                os.unlink(Path(folder) / name)
                removed.append(name)
            except OSError:
                pass  # left for the next time: it only takes space
    return removed


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a power cut must not bring back the old file); best effort:
    some file systems refuse fsync on a folder, and the new file is in place either way."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_limited(path: str | Path, limit: int, error: type, what: str, too_big: str) -> bytes:
    """The bytes of `path`, refused with `error` (naming the path) when missing, unreadable or
    over `limit` bytes (`too_big` formatted with size and limit); the size is checked first."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > limit:
            raise error(f"{source}: " + too_big.format(size=size, limit=limit))
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{source}: no such file") from None
    except IsADirectoryError:
        raise error(f"{source}: is a folder, not {what} file") from None
    except OSError as e:
        raise error(f"{source}: cannot be read: {e.strerror}") from None
