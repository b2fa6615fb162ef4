"""Every crash point of a run folder: a process killed (or a disk full) at any write of a save
leaves a folder that --resume continues to the bytes of the run left alone.

Every file nnctl writes into a run folder lands by a rename (files.atomic_write), so the k-th
rename is the k-th crash point. Each scenario below is run once to list its renames, then once
per rename in a child process that dies (os._exit, as kill -9) just before it, and once per
rename in this process with that write failing (ENOSPC, as a full disk); the folder is then
resumed and must end as the run left alone."""

import errno
import json
import os
import shutil
import signal
import warnings
from pathlib import Path

import pytest
from helpers.moons import moons_yaml

from nnctl import api
from nnctl.errors import CheckpointError, Interrupted, WriteError

# seed 2: epoch 1 best, 2 not, 3 best (a last.json whose best epoch is behind it, then a new best);
# seed 7: best epoch 2 of 3 (one save of every epoch, with the best in its middle)
SCENARIOS = {"every-epoch": (2, 0), "one-save": (7, 3600)}


def config(tmp_path, scenario):
    seed, interval = SCENARIOS[scenario]
    path = tmp_path / f"{scenario}.yaml"
    path.write_text(moons_yaml(seed=seed, data={"n_samples": 200, "noise": 0.3}, optimizer={"lr": 0.1},
                               model={"layers": [{"units": 8, "activation": "relu"},
                                                 {"units": 2, "activation": "softmax"}]},
                               training={"epochs": 3, "save_interval": interval}))
    return api.load_config(path)


def stop_in_epoch_3():
    """A stop() asking for SIGTERM after two batches of epoch 3 (5 batches an epoch)."""
    calls = []

    def stop():
        calls.append(1)
        return signal.SIGTERM if len(calls) == 1 + 2 * 6 + 2 else 0  # before epoch 1, then 5 batches + 1 per epoch
    return stop


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


def without_seconds(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in path.read_text().splitlines()]


def assert_like(run_dir: Path, reference: Path, where: str) -> None:
    for name in ("last.json", "checkpoint.json"):
        assert (run_dir / name).read_bytes() == (reference / name).read_bytes(), f"{where}: {name}"
    assert without_seconds(run_dir / "metrics.jsonl") == without_seconds(reference / "metrics.jsonl"), where
    csv = [[c for i,
            c in enumerate(line.split(",")) if i != 6] for line in (run_dir / "metrics.csv").read_text().splitlines()]
    assert csv == [[c for i, c in enumerate(line.split(",")) if i != 6]
                   for line in (reference / "metrics.csv").read_text().splitlines()], where
    status, expected = (json.loads((d / "run.json").read_text()) for d in (run_dir, reference))
    assert status["status"] == "finished" and status["test"] == expected["test"], where
    assert {k: status[k] for k in ("epochs", "best_epoch", "checkpoint_epoch")} == \
        {k: expected[k] for k in ("epochs", "best_epoch", "checkpoint_epoch")}, where
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(p.name for p in reference.iterdir()), where


def crash_everywhere(tmp_path, start, resume, reference: Path, prepared: Path | None = None):
    """`start(run_dir)` stopped at each of its renames, by death and by a full disk; then `resume`
    (which itself must never need a second try) continued to `reference`'s files."""
    counted = Renames()
    folder = tmp_path / "counted"
    if prepared is not None:
        shutil.copytree(prepared, folder)
    os.replace = counted
    try:
        start(folder)
    except (Interrupted, WriteError):
        pass
    finally:
        os.replace = counted.real
    assert counted.names, "the scenario writes nothing"
    for k, name in enumerate(counted.names):
        for how in ("die", "fail"):
            run_dir, where = tmp_path / f"{how}-{k}", f"{how} at rename {k} ({name})"
            if prepared is not None:
                shutil.copytree(prepared, run_dir)
            renames = Renames(k, how)
            os.replace = renames
            try:
                if how == "die":
                    assert in_child(lambda run_dir=run_dir: start(run_dir)) == 137, where
                else:
                    try:
                        start(run_dir)
                    except (Interrupted, WriteError):
                        pass
            finally:
                os.replace = renames.real
            if how == "fail":
                assert renames.names[k:k + 1] == [name], where
            resume(run_dir, where)
            assert_like(run_dir, reference, where)
            shutil.rmtree(run_dir)
    return counted.names


def resume_or_restart(cfg):
    """--resume; or, for a folder killed before it held config.yaml, train into it again."""
    def resume(run_dir, where):
        if (run_dir / "config.yaml").exists():
            api.resume(run_dir, plots=False)
        else:
            api.train(cfg, run_dir=run_dir, plots=False)
    return resume


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    return {name: Path(api.train(config(folder, name), run_dir=folder / name, plots=False)["run_dir"])
            for name in SCENARIOS}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_run_killed_or_failing_at_any_write_resumes_to_the_same_bytes(references, tmp_path, scenario):
    cfg = config(tmp_path, scenario)
    names = crash_everywhere(tmp_path, lambda run_dir: api.train(cfg, run_dir=run_dir, plots=False),
                             resume_or_restart(cfg), references[scenario])
    assert names[:2] == ["config.yaml", "run.json"] and names[-1] == "run.json"
    assert names.count("last.json") == (3 if scenario == "every-epoch" else 1)
    assert {"checkpoint.json", "metrics.jsonl", "metrics.csv"} <= set(names)


@pytest.mark.slow
def test_a_save_on_a_signal_killed_or_failing_at_any_write_resumes(references, tmp_path):
    """The save of an interrupted run: the epochs kept in memory, then where it stopped, then run.json."""
    cfg = config(tmp_path, "one-save")
    names = crash_everywhere(tmp_path,
                             lambda run_dir: api.train(cfg, run_dir=run_dir, plots=False, stop=stop_in_epoch_3()),
                             resume_or_restart(cfg), references["one-save"])
    assert names[-3:] == ["last.json", "last.json", "run.json"]


@pytest.mark.slow
def test_a_resume_killed_or_failing_at_any_write_resumes(references, tmp_path):
    """A resume's own writes: the logs cut back, run.json, checkpoint.json rewritten, the epochs after."""
    cfg = config(tmp_path, "every-epoch")
    with pytest.raises(Interrupted):
        api.train(cfg, run_dir=tmp_path / "stopped", plots=False, stop=stop_in_epoch_3())
    names = crash_everywhere(tmp_path, lambda run_dir: api.resume(run_dir, plots=False), resume_or_restart(cfg),
                             references["every-epoch"], prepared=tmp_path / "stopped")
    assert names[:3] == ["metrics.jsonl", "metrics.csv", "run.json"]


KILLED_AT = """\
import os, sys, time
from pathlib import Path
# at the second rename of last.json or checkpoint.json (the first save holds one of each): say so
# (the file argv[1]), then wait to be killed
real, renamed = os.replace, []
def replace(source, destination):
    if Path(destination).name in ("last.json", "checkpoint.json"):
        renamed.append(Path(destination).name)
        if len(renamed) == 2:
            Path(sys.argv[1]).touch()
            time.sleep(60)
    real(source, destination)
os.replace = replace
from nnctl.cli import main
main(sys.argv[2:], prog_name="nnctl")
"""


@pytest.mark.slow
def test_kill_9_between_checkpoint_json_and_last_json_resumes(references, tmp_path):
    """A real SIGKILL from outside, between the two checkpoints of one save: the case that lost the
    run when last.json was written before checkpoint.json."""
    import subprocess
    import sys
    import time

    from click.testing import CliRunner

    from nnctl.cli import main

    cfg, run_dir, here = tmp_path / "one-save.yaml", tmp_path / "run", tmp_path / "here"
    config(tmp_path, "one-save")  # written to cfg: its name is the run's name, inside the checkpoints
    process = subprocess.Popen([sys.executable, "-c", KILLED_AT, str(here), "train", str(cfg),
                                "--run-dir", str(run_dir), "-q", "--no-plots"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not here.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.kill()
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert [(run_dir / name).exists() for name in ("last.json", "checkpoint.json")].count(True) == 1
    result = CliRunner().invoke(main, ["train", "--resume", str(run_dir), "-q", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert_like(run_dir, references["one-save"], "killed before last.json")


@pytest.mark.slow
def test_a_run_killed_while_drawing_its_plots_resumes_to_the_same_pictures(tmp_path):
    """The plots come after run.json says finished: --resume of a finished run draws them again."""
    cfg, reference = config(tmp_path, "one-save"), tmp_path / "reference"
    counted = Renames()
    os.replace = counted
    try:
        api.train(cfg, run_dir=reference)  # left alone: the reference
    finally:
        os.replace = counted.real
    pictures = [k for k, name in enumerate(counted.names) if name.endswith(".png")]
    assert len(pictures) == 4
    # the first picture and the last (the others are written the same way), and a full disk between
    for k, how in ((pictures[0], "die"), (pictures[-1], "die"), (pictures[1], "fail")):
        run_dir, where = tmp_path / f"{how}-{k}", f"{how} at rename {k} ({counted.names[k]})"
        renames = Renames(k, how)
        os.replace = renames
        try:
            if how == "die":
                assert in_child(lambda run_dir=run_dir: api.train(cfg, run_dir=run_dir)) == 137, where
            else:
                with pytest.raises(WriteError):
                    api.train(cfg, run_dir=run_dir)
        finally:
            os.replace = renames.real
        api.resume(run_dir)
        assert_like(run_dir, reference, where)
        for picture in reference.glob("*.png"):
            assert (run_dir / picture.name).read_bytes() == picture.read_bytes(), f"{where}: {picture.name}"


@pytest.fixture
def ahead(tmp_path):
    """A run killed between the checkpoint.json and the last.json of epoch 3: checkpoint.json holds
    epoch 3, last.json epoch 2 (whose best epoch, 1, no file holds any more)."""
    cfg, run_dir = config(tmp_path, "every-epoch"), tmp_path / "run"
    counted = Renames()
    os.replace = counted
    try:
        api.train(cfg, run_dir=tmp_path / "counted", plots=False)
    finally:
        os.replace = counted.real
    k = max(i for i, name in enumerate(counted.names) if name == "last.json")
    assert counted.names[k - 1] == "checkpoint.json"
    os.replace = Renames(k, "die")
    try:
        assert in_child(lambda: api.train(cfg, run_dir=run_dir, plots=False)) == 137
    finally:
        os.replace = counted.real
    assert api.load_checkpoint(run_dir / "checkpoint.json").epoch == 3
    assert api.load_checkpoint(run_dir / "last.json").epoch == 2
    return run_dir


def test_a_checkpoint_ahead_of_last_json_is_checked_against_the_metrics(ahead):
    """Only a save cut short leaves one: its epoch's row in metrics.jsonl, with its metrics, and the
    best epoch by the rows after last.json's. Anything else is refused before a file changes."""
    log = ahead / "metrics.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    for damage, message in ((rows[:2], "metrics.jsonl has no row of that epoch"),
                            (rows[:2] + [{**rows[2], "val_accuracy": 0.25}],
                             "metrics.jsonl has no row of that epoch with its metrics")):
        log.write_text("".join(json.dumps(r) + "\n" for r in damage))
        before = files_of(ahead)
        with pytest.raises(CheckpointError,
                           match=f"checkpoint.json: holds epoch 3, after last.json's 2, but {message}"):
            api.resume(ahead, plots=False)
        assert files_of(ahead) == before


def files_of(run_dir: Path) -> dict:
    """Every file's bytes but the lock's (the killed process's, which a resume takes and removes)."""
    return {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != ".lock"}


def test_a_checkpoint_ahead_that_the_monitor_would_not_pick_is_refused(ahead, monkeypatch):
    from nnctl.engine.callbacks import Monitor

    real = Monitor.update
    monkeypatch.setattr(Monitor, "update", lambda self, record: real(self, {**record, "val_loss": record["epoch"]}))
    before = files_of(ahead)
    with pytest.raises(CheckpointError, match="by metrics.jsonl the best epoch up to it is 1"):
        api.resume(ahead, plots=False)
    assert files_of(ahead) == before


def test_a_resumed_run_that_does_not_train_the_same_bits_says_so(ahead, monkeypatch):
    """What resuming from a checkpoint.json ahead counts on: the run reaching that epoch again, as
    the best. One that does not (another machine's bits, here a monitor changed after the checks)
    ends with exit 4 rather than with another epoch's checkpoint."""
    from nnctl.engine.callbacks import Monitor
    from nnctl.runs import resume

    monkeypatch.setattr(resume, "_check_ahead", lambda *a: None)
    real = Monitor.update
    monkeypatch.setattr(Monitor, "update", lambda self, record: real(self, {**record, "val_loss": record["epoch"]}))
    with pytest.raises(CheckpointError, match=r"the weights of the best epoch \(1\) were not trained again"):
        api.resume(ahead, plots=False)
    assert json.loads((ahead / "run.json").read_text())["status"] == "failed"
