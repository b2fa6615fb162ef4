"""Real `nnctl train` processes: signals, simultaneous starts, identical results across processes."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import api
from nnctl.cli import main
from nnctl.errors import Interrupted
from nnctl.runs import folder as runs

pytestmark = pytest.mark.slow  # real processes: not in the fast tier

CONFIG = moons_yaml(seed=11, data={"n_samples": "N", "noise": None},
                    model={"layers": [{"units": 32, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
                    optimizer={"lr": 0.003}, training={"epochs": "EPOCHS", "batch_size": 8, "save_interval": 0},
                    run={"output_dir": "OUT"})  # every epoch saved: the tests watch the files as it trains


def write_config(tmp_path, n=1000, epochs=60, out="runs"):
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.replace("N", str(n)).replace("EPOCHS", str(epochs)).replace("OUT", out))
    return path


def nnctl(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nnctl.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def without_seconds(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    api.train(api.load_config(write_config(folder)), run_dir=folder / "run")
    return folder / "run"


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_last_json_and_resume_carries_on(reference, tmp_path, sig, code):
    run_dir = tmp_path / "run"
    process = nnctl("train", write_config(tmp_path), "--run-dir", run_dir, "-q")
    deadline = time.monotonic() + 60
    while not ((run_dir / "metrics.jsonl").exists() and (run_dir / "metrics.jsonl").read_text()):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and f"interrupted by {sig.name}" in stderr
    assert f"nnctl train --resume {run_dir}" in stderr
    status = json.loads((run_dir / "run.json").read_text())
    assert status["status"] == "interrupted" and status["signal"] == sig.name
    assert 1 <= status["epochs"] < 60
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    stopped_at = api.load_checkpoint(run_dir / "last.json")
    assert stopped_at.epoch == status["epochs"]
    assert status["interrupted_at"]["rows_done"] == stopped_at.training["rows_done"]

    result = CliRunner().invoke(main, ["train", "--resume", str(run_dir), "-q"])
    assert result.exit_code == 0, result.output
    for name in ("last.json", "checkpoint.json"):
        assert (run_dir / name).read_bytes() == (reference / name).read_bytes(), name
    assert without_seconds(run_dir / "metrics.jsonl") == without_seconds(reference / "metrics.jsonl")
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


def test_simultaneous_runs_get_their_own_folders_and_identical_results(tmp_path):
    config = write_config(tmp_path, n=300, epochs=3, out=str(tmp_path / "runs"))
    processes = [nnctl("train", config, "--json") for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    folders = [Path(json.loads(stdout)["run_dir"]) for stdout, _ in outputs]
    assert len(set(folders)) == 3 and set(folders) == set((tmp_path / "runs").iterdir())
    first = folders[0]
    for folder in folders[1:]:  # same config and seed, separate processes: the same bytes
        for name in ("last.json", "checkpoint.json", "config.yaml"):
            assert (folder / name).read_bytes() == (first / name).read_bytes(), name
        assert without_seconds(folder / "metrics.jsonl") == without_seconds(first / "metrics.jsonl")
    environment = json.loads((first / "run.json").read_text())["environment"]
    assert environment["python"] and environment["numpy"]
    assert environment["blas"] and all(pool["num_threads"] >= 1 and pool["version"] for pool in environment["blas"])


def test_same_name_and_second_get_different_folders(tmp_path, monkeypatch):
    """Forced collisions: the same UTC second and the same random id. mkdir refuses, a new id is drawn."""
    class Frozen:
        @staticmethod
        def now(tz=None):
            from datetime import datetime
            return datetime(2030, 1, 1, 12, 0, 0, tzinfo=tz)
    ids = iter(["aaaaaa", "aaaaaa", "aaaaaa", "bbbbbb"])
    monkeypatch.setattr(runs, "datetime", Frozen)
    monkeypatch.setattr(runs.secrets, "token_hex", lambda n: next(ids))
    first = runs.create(tmp_path, "x")
    second = runs.create(tmp_path, "x")
    assert first.name == "x-20300101-120000-aaaaaa" and second.name == "x-20300101-120000-bbbbbb"


def test_one_empty_run_dir_is_claimed_once(tmp_path):
    """A claim holds the folder's lock until its run has written config.yaml: a second claim meanwhile
    is refused by the lock, and after it by the run's files. Only a claim whose process stopped
    before writing anything (run.json's empty placeholder alone, the lock free) is taken over."""
    path, lock, created = runs.claim(tmp_path / "run")
    assert path == tmp_path / "run" and created
    with pytest.raises(runs.folder_lock.RunBusy):
        runs.claim(tmp_path / "run")
    lock.release()
    assert runs.use(tmp_path / "run") == path  # abandoned before config.yaml: taken over
    runs.Run(path, "seed: 0\n")
    with pytest.raises(runs.WriteError, match="not empty"):
        runs.use(tmp_path / "run")


def interrupted_after_epoch_1(tmp_path) -> Path:
    """A run of the reference's config stopped (as by SIGTERM) after its first epoch."""
    records = []

    def stop():
        return signal.SIGTERM if records else 0

    with pytest.raises(Interrupted):
        api.train(api.load_config(write_config(tmp_path)), run_dir=tmp_path / "run", on_epoch=records.append, stop=stop)
    return tmp_path / "run"


def assert_whole_like(run_dir: Path, reference: Path) -> None:
    """The run ended as the one left alone: every epoch's row, the same checkpoints, finished."""
    for name in ("last.json", "checkpoint.json"):
        assert (run_dir / name).read_bytes() == (reference / name).read_bytes(), name
    assert without_seconds(run_dir / "metrics.jsonl") == without_seconds(reference / "metrics.jsonl")
    status = json.loads((run_dir / "run.json").read_text())
    assert status["status"] == "finished" and status["epochs"] == 60
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]


def test_two_resumes_started_together_one_trains_the_other_is_refused(reference, tmp_path):
    run_dir = interrupted_after_epoch_1(tmp_path)
    processes = [nnctl("train", "--resume", run_dir, "-q", "--no-plots") for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes == [0, 1], outputs
    refused = next(stderr for p, (_, stderr) in zip(processes, outputs) if p.returncode == 1)
    assert "another nnctl process (pid" in refused and "Traceback" not in refused
    assert_whole_like(run_dir, reference)
    assert len(json.loads((run_dir / "run.json").read_text())["resumes"]) == 1


def test_a_resume_while_another_trains_is_refused(reference, tmp_path):
    run_dir, slow = interrupted_after_epoch_1(tmp_path), tmp_path / "slow"
    # seconds per fsync: the first resume trains long enough to be caught at it, even on a loaded
    # machine where starting the second process takes seconds; unlinking the flag lets it finish fast
    slow.write_text("0.3")
    first = slowed(slow, "train", "--resume", run_dir, "-q", "--no-plots")
    try:
        deadline = time.monotonic() + 120
        while len((run_dir / "metrics.jsonl").read_text().splitlines()) < 3:  # it trains: epoch 3 written
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.01)
        for args, message in ((["--resume", run_dir], f"another nnctl process (pid {first.pid}"),
                              ([write_config(tmp_path), "--run-dir", run_dir],
                               f"another nnctl process (pid {first.pid}")):
            second = nnctl("train", *args, "-q")
            _, stderr = second.communicate(timeout=60)
            assert first.poll() is None, "the first resume ended before the second was refused"
            assert second.returncode == 1 and message in stderr and "Traceback" not in stderr, stderr
    finally:
        slow.unlink()
        _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert_whole_like(run_dir, reference)


def test_resumes_of_a_finished_run_never_cut_its_history(reference, tmp_path):
    """Two resumes of a finished run at once: each either recomputes the test scores or is
    refused; the history stays whole and the checkpoints unchanged."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for f in reference.iterdir():
        (run_dir / f.name).write_bytes(f.read_bytes())
    processes = [nnctl("train", "--resume", run_dir, "-q", "--no-plots") for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert {p.returncode for p in processes} <= {0, 1} and 0 in {p.returncode for p in processes}, outputs
    assert all("another nnctl process" in stderr for p, (_, stderr) in zip(processes, outputs) if p.returncode)
    assert_whole_like(run_dir, reference)


SLOWED = """\
import os, stat, sys, time
from pathlib import Path
# while the file argv[1] exists, every fsync of a file nnctl saves (its temporary file, before the
# rename) first waits the seconds it holds, and says so by creating `saving` beside it
real, flag = os.fsync, Path(sys.argv[1])
def fsync(fd):
    try:
        seconds = float(flag.read_text())
    except OSError:
        seconds = 0
    if seconds and stat.S_ISREG(os.fstat(fd).st_mode):
        flag.with_name("saving").touch()
        time.sleep(seconds)
    real(fd)
os.fsync = fsync
from nnctl.cli import main
main(sys.argv[2:], prog_name="nnctl")
"""


def slowed(flag: Path, *args) -> subprocess.Popen:
    """`nnctl ARGS` whose saves are slowed while the file `flag` exists."""
    return subprocess.Popen([sys.executable, "-c", SLOWED, str(flag), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_signal_during_the_save_exits_with_its_own_code(tmp_path, sig, code):
    """The first signal asks for a save; the second, while a file is being saved, stops at once."""
    run_dir, flag = tmp_path / "run", tmp_path / "slow"
    process = slowed(flag, "train", write_config(tmp_path), "--run-dir", run_dir, "-q")
    deadline = time.monotonic() + 60
    while not (run_dir / "last.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    flag.write_text("2")
    process.send_signal(sig)
    while not (tmp_path / "saving").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and f"second signal ({sig.name})" in stderr
    status = json.loads((run_dir / "run.json").read_text())
    assert status["status"] == "interrupted" and status["signal"] == sig.name
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]
    api.load_checkpoint(run_dir / "last.json")  # whole: the last save before the signals


def test_kill_9_during_a_save_leaves_a_temporary_file_the_resume_removes(reference, tmp_path):
    run_dir, flag = tmp_path / "run", tmp_path / "slow"
    process = slowed(flag, "train", write_config(tmp_path), "--run-dir", run_dir, "-q")
    deadline = time.monotonic() + 60
    while not (run_dir / "last.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    flag.write_text("30")
    while not (tmp_path / "saving").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.kill()
    process.communicate()
    orphans = [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    assert orphans, "test set-up: the kill should have left the save's temporary file"
    flag.unlink()
    resumed = nnctl("train", "--resume", run_dir, "-q", "--no-plots")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert_whole_like(run_dir, reference)
