"""Writing files so that a reader never sees half of one: a temporary name, fsync, then rename."""

import errno
import json
import math
import os
import re
import stat
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

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
        fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path.name, 8 + len(".tmp")), suffix=".tmp", dir=path.parent)
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


NAME_MAX = 255  # bytes in a file name: Linux's and macOS's limit


def temporary_prefix(name: str, tail: int) -> str:
    """`.NAME.`, NAME cut so that `tail` more bytes (a random part, a suffix) fit in NAME_MAX: a
    name near the limit still gets a temporary name, which is refused otherwise."""
    cut = name[:NAME_MAX]
    while len(f".{cut}.".encode("utf-8", "surrogateescape")) + tail > NAME_MAX:
        cut = cut[:-1]
    return f".{cut}."


class BackgroundWriter:
    """atomic_write in a thread of its own, file after file in the order asked, so that training
    goes on while the disk syncs: an fsync waits on the disk, not the CPU (a short run spent a
    third of its time waiting on them). The bytes are taken when asked, so what is written is
    what the data was then. The first failure drops every write asked after it (the files stay
    as they were: nothing newer lands after an older file failed) and is raised by the next
    `write` or by `wait`. At most `limit` writes wait their turn: a caller faster than the disk
    waits for it rather than run ahead of its files (and hold their bytes)."""

    def __init__(self, limit: int = 16):
        self.limit = limit
        self._pending: list[tuple[Path, bytes | str]] = []
        self._ready = threading.Condition()
        self._busy = False
        self._error: WriteError | None = None
        self._thread: threading.Thread | None = None

    def write(self, path: str | Path, data: bytes | str) -> None:
        """Ask for `path` to be replaced by `data`; raises the WriteError of an earlier write."""
        with self._ready:
            self._ready.wait_for(lambda: len(self._pending) < self.limit or self._error is not None)
            self._raise()
            self._pending.append((Path(path), data))
            if self._thread is None:  # daemon: a process that dies is not kept alive by its writes
                self._thread = threading.Thread(target=self._work, name="nnctl-writer", daemon=True)
                self._thread.start()
            self._ready.notify_all()

    def wait(self) -> None:
        """Return once every write asked for is on disk; raises the first one that failed."""
        with self._ready:
            self._ready.wait_for(lambda: not self._pending and not self._busy)
            self._raise()

    def cancel(self) -> None:
        """Drop the writes not started yet (a second signal: stop now); the one under way goes on,
        and every file stays whole."""
        with self._ready:
            self._pending.clear()
            self._ready.notify_all()

    def _raise(self) -> None:
        if self._error is not None:
            raise WriteError(str(self._error))

    def _work(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._pending)
                path, data = self._pending.pop(0)
                self._busy = True
            try:
                if self._error is None:
                    atomic_write(path, data)
            except WriteError as e:
                self._error = e
            except Exception as e:  # noqa: BLE001 - never leaves wait() waiting on a thread that is gone
                self._error = WriteError(f"{path}: cannot be written: {e}")
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()


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


MAX_DATA_BYTES = 2_000_000_000  # a data file (CSV, .npz, .npy, IDX) or predict's input, stdin included
DATA_TOO_BIG = "{size:,} bytes is over the {limit:,} nnctl reads from a data file"
_CHUNK = 1 << 20
_KINDS = ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "named pipe (FIFO)"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
NO_LINK = "nnctl follows no symbolic link inside a run folder"


def _refuse_irregular(mode: int, source: str, error: type, what: str) -> None:
    """A device, a FIFO or a folder is refused before a byte is read: /dev/zero never ends, a FIFO
    blocks until someone writes, and neither has a size to check."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISLNK(mode):
        raise error(f"{source}: is a symbolic link, not {what} file ({NO_LINK})")
    kind = next((name for test, name in _KINDS if test(mode)), "special file")
    raise error(f"{source}: is a {kind}, not {what} file (nnctl reads regular files only)")


def open_regular(path: str | Path, error: type, what: str, follow: bool = True) -> BinaryIO:
    """`path` opened for reading in binary, refused with `error` (naming the path) when missing,
    unreadable or not a regular file. Opening never blocks (a FIFO swapped in after the check).
    Without `follow`, a symbolic link is refused too, also one swapped in after the check (O_NOFOLLOW):
    for the files inside a run folder, which nnctl names itself."""
    source = str(path)
    try:
        _refuse_irregular((os.stat if follow else os.lstat)(path).st_mode, source, error, what)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                     | (0 if follow else os.O_NOFOLLOW))
    except FileNotFoundError:
        raise error(f"{source}: no such file") from None
    except OSError as e:
        if e.errno == errno.ELOOP and not follow:
            raise error(f"{source}: is a symbolic link, not {what} file ({NO_LINK})") from None
        raise error(f"{source}: cannot be read: {e.strerror}") from None
    try:
        _refuse_irregular(os.fstat(fd).st_mode, source, error, what)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def open_capped(path: str | Path, limit: int, error: type, what: str, too_big: str) -> BinaryIO:
    """open_regular, and refused when the file is over `limit` bytes (for a reader that reads
    only what the file's own structure says, such as NumPy's or gzip's, up to its end)."""
    f = open_regular(path, error, what)
    size = os.fstat(f.fileno()).st_size
    if size > limit:
        f.close()
        raise error(f"{path}: " + too_big.format(size=size, limit=limit))
    return f


def read_limited(path: str | Path, limit: int, error: type, what: str, too_big: str, follow: bool = True) -> bytes:
    """The bytes of a regular file `path`, refused with `error` (naming the path) when missing,
    unreadable, not a regular file (or a symbolic link, without `follow`), or over `limit` bytes
    (`too_big` formatted with size and limit). The size is checked first, and at most limit + 1
    bytes are read whatever it says."""
    source = str(path)
    with open_regular(path, error, what, follow) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise error(f"{source}: " + too_big.format(size=size, limit=limit))
            data = f.read(size + 1)  # one allocation of the file's size; +1 tells whether it grew
            if len(data) > size:  # it is being written to: read on, but never past the limit
                data += _read_capped(f, limit + 1 - len(data))
        except OSError as e:
            raise error(f"{source}: cannot be read: {e.strerror}") from None
    if len(data) > limit:
        raise error(f"{source}: " + too_big.format(size=len(data), limit=limit))
    return data


def read_stream(stream: BinaryIO, limit: int, error: type, source: str) -> bytes:
    """At most `limit` bytes of a stream (stdin), refused with `error` when more arrive."""
    try:
        data = _read_capped(stream, limit + 1)
    except OSError as e:
        raise error(f"{source}: cannot be read: {e.strerror}") from None
    if len(data) > limit:
        raise error(f"{source}: more than {limit:,} bytes; an input is at most {limit:,}")
    return data


def _read_capped(stream: BinaryIO, most: int) -> bytes:
    """Up to `most` bytes, read in chunks so that nothing larger than what arrives is allocated."""
    chunks, total = [], 0
    while total < most:
        chunk = stream.read(min(_CHUNK, most - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def finite(value):
    """`value` with every NaN or infinite float replaced by None (JSON null), arrays as lists:
    what strict JSON can hold."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def strict_json(obj, **options) -> str:
    """json.dumps of `obj` as strict JSON: a non-finite float is null, never NaN or Infinity,
    which no JSON parser but Python's accepts."""
    return json.dumps(finite(obj), allow_nan=False, **options)
