"""Writes that fail (full disk, no permission, the run folder removed): exit 1 with the path,
and nothing half-written left behind; what was finished can be resumed."""

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import api, files
from nnctl.cli import main
from nnctl.errors import ConfigError, DataError, WriteError
from nnctl.runs import checkpoint, folder as runs, training

CONFIG = moons_yaml(seed=4, data={"noise": None},
                    model={"layers": [{"units": 8, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
                    optimizer={"lr": 0.01}, training={"epochs": 5, "save_interval": 0})  # every epoch's files written


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]


def fail_with(code):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "last.json"
    target.write_text("old and whole")
    monkeypatch.setattr(files.os, "fsync", fail_with(errno.ENOSPC))
    with pytest.raises(WriteError, match=f"{target}: cannot be written: No space left on device"):
        files.atomic_write(target, "new" * 1000)
    assert target.read_text() == "old and whole" and leftovers(tmp_path) == []


def test_atomic_write_without_permission(tmp_path, monkeypatch):
    monkeypatch.setattr(files.tempfile, "mkstemp", fail_with(errno.EACCES))
    with pytest.raises(WriteError, match="x.json: cannot be written: Permission denied"):
        files.atomic_write(tmp_path / "x.json", "data")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0,
                    reason="root writes into read-only folders; the monkeypatched test above covers it")
def test_read_only_run_folder(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    try:
        with pytest.raises(WriteError, match="Permission denied"):
            files.atomic_write(tmp_path / "ro" / "x.json", "data")
    finally:
        (tmp_path / "ro").chmod(0o700)


@pytest.mark.slow
def test_disk_full_during_training_exits_1_and_the_run_resumes(tmp_path, monkeypatch):
    """The disk fills while epoch 3's last.json is written; space is freed; --resume finishes the
    run with exactly the result of a run that never failed."""
    (tmp_path / "c.yaml").write_text(CONFIG)
    reference = api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "reference")
    real_fsync, seen = os.fsync, []

    def fsync(fd):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        seen.append(name)
        if sum(n.startswith(".last.json.") for n in seen) >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(run_dir), "-q"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{run_dir / 'last.json'}: cannot be written: No space left on device" in result.stderr
    assert leftovers(run_dir) == []
    assert api.load_checkpoint(run_dir / "last.json").epoch == 2  # the last whole one
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]  # whole lines; epoch 3's is dropped on resume

    monkeypatch.setattr(files.os, "fsync", real_fsync)
    resumed = CliRunner().invoke(main, ["train", "--resume", str(run_dir), "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["test"] == reference["test"]
    for name in ("last.json", "checkpoint.json"):
        assert (run_dir / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()


def test_run_folder_removed_during_training(tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG)
    run_dir = tmp_path / "run"

    def remove(record):
        if record["epoch"] == 2:  # the epoch's files are being written meanwhile: remove until gone
            while run_dir.exists():
                shutil.rmtree(run_dir, ignore_errors=True)

    with pytest.raises(WriteError) as info:
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=run_dir, on_epoch=remove)
    assert str(run_dir) in str(info.value) and "No such file or directory" in str(info.value)
    assert not run_dir.exists()  # nothing recreated, nothing half-written


def test_output_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("")
    (tmp_path / "c.yaml").write_text(CONFIG + f"run: {{output_dir: {tmp_path / 'file' / 'runs'}}}\n")
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml")])
    assert result.exit_code == 1 and f"{tmp_path / 'file' / 'runs'}: cannot create a run folder" in result.stderr


def no_space_for(monkeypatch, name: str, times: int | None = None):
    """atomic_write of the file `name` fails with ENOSPC (`times` times, or always)."""
    real, failures = files.atomic_write, []

    def atomic_write(path, data):
        if os.path.basename(path) == name and (times is None or len(failures) < times):
            failures.append(path)
            raise WriteError(f"{path}: cannot be written: {os.strerror(errno.ENOSPC)}")
        real(path, data)

    for module in (files, runs, checkpoint):
        monkeypatch.setattr(module, "atomic_write", atomic_write)
    return failures


def with_file_size_limit(limit: int):
    """For a child process: files larger than `limit` bytes cannot be written (EFBIG, not a signal)."""
    def limit_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return limit_files


@pytest.mark.slow
@pytest.mark.parametrize("existing", [False, True])
def test_a_start_that_cannot_write_config_yaml_leaves_nothing(tmp_path, existing):
    """ulimit -f: config.yaml cannot be written. Nothing claims the folder afterwards (no empty
    run.json); a folder nnctl made is removed, one that existed is left empty; and the same
    command succeeds once files can be written."""
    (tmp_path / "c.yaml").write_text(CONFIG)
    run_dir = tmp_path / "run"
    if existing:
        run_dir.mkdir()
    command = [sys.executable, "-m", "nnctl.cli", "train", str(tmp_path / "c.yaml"), "--run-dir", str(run_dir), "-q"]
    full = subprocess.run(command, capture_output=True, text=True, preexec_fn=with_file_size_limit(64), timeout=120)
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert f"{run_dir / 'config.yaml'}: cannot be written: File too large" in full.stderr
    assert (list(run_dir.iterdir()) == []) if existing else not run_dir.exists()
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


def test_a_start_under_output_dir_that_cannot_write_run_json_leaves_no_folder(tmp_path, monkeypatch):
    (tmp_path / "c.yaml").write_text(CONFIG + f"run: {{output_dir: {tmp_path / 'runs'}}}\n")
    no_space_for(monkeypatch, "run.json")
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml")])
    assert result.exit_code == 1 and "run.json: cannot be written: No space left on device" in result.stderr
    assert list((tmp_path / "runs").iterdir()) == []


def test_the_failed_status_is_written_on_a_second_try(tmp_path, monkeypatch):
    """last.json cannot be written, and neither can run.json the first time after: run.json
    still ends `failed` with the reason, not `running`."""
    (tmp_path / "c.yaml").write_text(CONFIG)
    real, seen = files.atomic_write, []

    def atomic_write(path, data):
        name = os.path.basename(path)
        seen.append(name)
        if name == "last.json" and seen.count("last.json") == 3 or name == "run.json" and "last.json!" in seen[-2:-1]:
            seen.append(name + "!")
            raise WriteError(f"{path}: cannot be written: {os.strerror(errno.ENOSPC)}")
        real(path, data)

    for module in (files, runs, checkpoint):
        monkeypatch.setattr(module, "atomic_write", atomic_write)
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 1 and "last.json: cannot be written" in result.stderr
    assert seen.count("run.json!") == 1  # the first try of the failed status failed
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "failed" and "last.json: cannot be written" in status["error"]


def test_a_status_that_cannot_be_written_at_all_is_reported(tmp_path, monkeypatch):
    (tmp_path / "c.yaml").write_text(CONFIG)

    def stop_writing(record):
        if record["epoch"] == 2:
            no_space_for(monkeypatch, "run.json")

    with pytest.raises(WriteError) as info:
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run", on_epoch=stop_writing)
    assert str(info.value).endswith("run.json: cannot be written: No space left on device: it still says running)")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "running"  # as the message says


@pytest.mark.parametrize("where,error,code", [
    ("build", MemoryError("Unable to allocate 7.28 TiB for an array"), 3),
    ("evaluate", DataError("the test split is unreadable"), 5),
    ("evaluate", ConfigError("c.yaml: a config error found late"), 3),
])
def test_a_failure_after_the_folder_exists_marks_the_run_failed(tmp_path, monkeypatch, where, error, code):
    """Whatever fails once the run folder exists (building the model, scoring the test split)
    ends with run.json `failed` and the reason, and the error's own exit code."""
    (tmp_path / "c.yaml").write_text(CONFIG)

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(training, where, fail)
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "run"), "-q"])
    assert result.exit_code == code and "internal error" not in result.stderr and "Traceback" not in result.output
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "failed" and str(error) in status["error"]
    assert status["finished"] is not None
