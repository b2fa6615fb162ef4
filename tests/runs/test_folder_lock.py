"""The run folder's lock: one holder at a time, gone with its process, and the writer's identity."""

import os
import subprocess
import sys
import time

import pytest

from nnctl.errors import RunBusy
from nnctl.runs import lock as folder_lock


def test_one_holder_at_a_time_and_the_file_goes_with_the_lock(tmp_path):
    with folder_lock.acquire(tmp_path):
        assert (tmp_path / ".lock").read_text().startswith(f"pid {os.getpid()} on ")
        with pytest.raises(RunBusy, match=f"another nnctl process \\(pid {os.getpid()} .*kill {os.getpid()}"):
            folder_lock.acquire(tmp_path)  # a second open file in the same process is refused too
    assert list(tmp_path.iterdir()) == []
    folder_lock.acquire(tmp_path).release()


def test_a_lock_file_removed_by_its_releasing_holder_is_not_taken(tmp_path, monkeypatch):
    """A process that opened the lock file just before its holder removed it must not lock the
    removed file (a third process would lock the new one): it sees the change and opens again."""
    held = folder_lock.acquire(tmp_path)
    real_open, opened = os.open, []

    def open_then_release(path, *args):
        fd = real_open(path, *args)
        if not opened:
            opened.append(path)
            held.release()  # between this process's open and its flock
        return fd

    monkeypatch.setattr(folder_lock.os, "open", open_then_release)
    with folder_lock.acquire(tmp_path) as lock:
        assert os.fstat(lock.fd).st_ino == os.stat(tmp_path / ".lock").st_ino


def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", ("import sys, time; from nnctl.runs import lock as folder_lock; "
                               "folder_lock.acquire(sys.argv[1]); print('held', flush=True); time.sleep(60)"),
                               str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunBusy, match=f"pid {holder.pid} "):
            folder_lock.acquire(tmp_path)
    finally:
        holder.kill()  # SIGKILL: no clean-up in the holder, its .lock file stays
        holder.communicate()
    assert (tmp_path / ".lock").exists()
    folder_lock.acquire(tmp_path).release()


def test_the_identity_names_this_process_and_no_other():
    me = folder_lock.identity()
    assert me["pid"] == os.getpid() and type(me["pid_start"]) is int and me["boot_id"]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.02)
        assert folder_lock.start_ticks(child.pid) >= me["pid_start"]
    finally:
        child.kill()
        child.wait()
    assert folder_lock.start_ticks(child.pid) is None  # reaped: no such process
