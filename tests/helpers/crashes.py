"""Crash points for the tests: os.replace that dies or fails at its k-th call, and a forked child
to die in."""

import errno
import os
import warnings
from pathlib import Path


class Renames:
    """os.replace counting its calls: `die` at the k-th (os._exit, as kill -9), or `fail` it (ENOSPC)."""

    def __init__(self, at=None, how=None):
        self.at, self.how, self.names, self.real = at, how, [], os.replace

    def __call__(self, source, target):
        if len(self.names) == self.at:
            if self.how == "die":
                os._exit(137)
            self.names.append(Path(target).name)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.names.append(Path(target).name)
        self.real(source, target)


def in_child(action) -> int:
    """Run `action` in a forked child; its exit code (137: it died at a rename). The child only
    trains and writes (the background writer's thread is its own): Python 3.12's warning about
    forking a process with threads does not apply."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 0
        try:
            action()
        except BaseException:  # noqa: BLE001 - a failed run is a valid crash too: its folder is checked
            code = 1
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
