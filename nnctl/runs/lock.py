"""Who writes a run folder: the lock its writer holds, and the identity it records in run.json.

    with folder_lock.acquire(run_dir):     # RunBusy if another process writes the folder
        ...                                # train or resume into run_dir

The lock is `RUN_DIR/.lock`, held with flock(LOCK_EX | LOCK_NB) for as long as the process
writes the folder (a sweep holds its folder's `sweep.lock` the same way: acquire(folder, name=...));
the kernel drops it when the process dies, even by kill -9, so a lock is never stale. run.json also records the writer's
identity (pid, the process's start time and the
folder), for a folder written by an nnctl without the lock: a pid alone is not enough, because
the system reuses it for other programs once the writer is gone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import platform
import stat
from pathlib import Path
from typing import final

from ..errors import RunBusy, WriteError
from ..files import NO_LINK

NAME = ".lock"
UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS}


@final
class FolderLock:
    """An exclusive lock on one run folder; `release()` (or leaving the `with` block) ends it.
    `held` is False on a file system without locks (run.json's writer identity guards it then)."""

    def __init__(self, path: Path, fd: int, held: bool = True, name: str = NAME):
        self.path, self.fd, self.held, self.name = path, fd, held, name

    def release(self) -> None:
        """Remove the lock file, then unlock: a process that opened the old file before the
        unlink sees, once it gets the lock, that the file is gone and tries again."""
        if self.fd is None:
            return
        try:
            os.unlink(self.path / self.name)
        except OSError:
            pass  # the folder was removed, or is read-only now: closing still unlocks
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(path: str | Path, name: str = NAME) -> FolderLock:
    """Lock the existing folder `path` for this process (its lock file `name`), or raise RunBusy
    naming the holder (also as the error's `holder`: "pid N on HOST", or "" when unknown).
    The lock file is opened without following a symbolic link and must be a regular file with no
    other name (WriteError otherwise): its holder's line is written into it, never into another file."""
    path = Path(path)
    lock_path = path / name
    for _ in range(20):  # the lock file removed under us by a releasing holder: open the new one
        fd = _open(path, lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            pid = holder.split()[1] if holder.startswith("pid ") else "PID"
            busy = RunBusy(f"{path}: another nnctl process{f' ({holder})' if holder else ''} is writing this run "
                           f"folder; wait for it to end, or stop it (Ctrl-C, or kill {pid}: it saves last.json and "
                           "exits)")
            busy.holder = holder
            raise busy from None
        except OSError as e:
            if e.errno in UNSUPPORTED:  # a file system without locks: run.json's writer identity still guards it
                return FolderLock(path, fd, held=False, name=name)
            os.close(fd)
            raise WriteError(f"{lock_path}: cannot be locked: {e.strerror or e}") from None
        if _same_file(fd, lock_path):
            _write_holder(fd)
            return FolderLock(path, fd, name=name)
        os.close(fd)
    raise RunBusy(f"{path}: the run folder's lock keeps changing hands; try again")


def _open(path: Path, lock_path: Path) -> int:
    """The lock file's descriptor: created, or the existing one when it is a regular file of one
    name. A symbolic link, a hard link to another file, a FIFO or a folder in its place is refused
    before anything is written (a `.lock` planted to point at a user's file must not overwrite it)."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o666)
    except FileNotFoundError:
        raise WriteError(f"{path}: no such folder") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise WriteError(f"{lock_path}: is a symbolic link, not nnctl's lock file ({NO_LINK}): remove it") from None
        raise WriteError(f"{lock_path}: cannot be written: {e.strerror or e}") from None
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode) or found.st_nlink > 1:  # 0: removed by its releasing holder (see acquire)
        os.close(fd)
        what = "a file with other names (hard links)" if stat.S_ISREG(found.st_mode) else "not a regular file"
        raise WriteError(f"{lock_path}: is {what}, not nnctl's lock file: remove it")
    return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, current = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (current.st_dev, current.st_ino)


def _write_holder(fd: int) -> None:
    """Best effort: the pid only makes RunBusy's message clearer (a full disk must not stop the run)."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {platform.node()}\n".encode(), 0)
    except OSError:
        pass


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return "".join(c for c in text if c.isprintable())[:100]


def identity(pid: int | None = None) -> dict:
    """This process's identity for run.json: its pid and start time (ticks since boot, and the
    boot's id), which together never name another process."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "pid_start": start_ticks(pid), "boot_id": boot_id()}


def alive(pid) -> bool:
    """Whether a process `pid` exists on this machine, whoever's it is."""
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, another user's
    return True


def same_process(recorded: dict) -> bool:
    """Whether the process an identity() names (`recorded`: pid, and pid_start and boot_id where
    known) still runs: alive, and started at the same tick of the same boot. A pid alone is not
    enough, since it is reused by other programs; True when it cannot be told (no /proc, or an
    identity recorded with the pid only)."""
    pid = recorded.get("pid")
    if not alive(pid):
        return False
    started = recorded.get("pid_start")
    if type(started) is not int:
        return True
    boot = recorded.get("boot_id")
    if boot is not None and boot_id() not in (None, boot):
        return False  # recorded before the machine restarted
    live = start_ticks(pid)
    return live is None or live == started


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot; None
    where there is no /proc (or no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        # field 2 is the program's name in parentheses and may itself hold spaces or ')'
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
