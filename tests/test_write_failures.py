"""Writes that fail (full disk, no permission, the run folder removed): exit 1 with the path,
and nothing half-written left behind; what was finished can be resumed."""

import errno
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from nnctl import api, files
from nnctl.cli import main
from nnctl.errors import WriteError

CONFIG = """\
seed: 4
data: {name: moons, n_samples: 300}
model:
  layers:
    - {units: 8, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.01}
training: {epochs: 5, batch_size: 32}
"""


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


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the monkeypatched test above covers it")
def test_read_only_run_folder(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    try:
        with pytest.raises(WriteError, match="Permission denied"):
            files.atomic_write(tmp_path / "ro" / "x.json", "data")
    finally:
        (tmp_path / "ro").chmod(0o700)


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
        if record["epoch"] == 2:
            shutil.rmtree(run_dir)

    with pytest.raises(WriteError) as info:
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=run_dir, on_epoch=remove)
    assert str(run_dir) in str(info.value) and "No such file or directory" in str(info.value)
    assert not run_dir.exists()  # nothing recreated, nothing half-written


def test_output_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("")
    (tmp_path / "c.yaml").write_text(CONFIG + f"run: {{output_dir: {tmp_path / 'file' / 'runs'}}}\n")
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml")])
    assert result.exit_code == 1 and f"{tmp_path / 'file' / 'runs'}: cannot create a run folder" in result.stderr
