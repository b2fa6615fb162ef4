"""No file inside a run folder is opened through a symbolic link: not the lock (which nnctl writes),
not the files it reads back (run.json, config.yaml, the metrics, the checkpoints), not the
tensorboard/ folder. Each link below points at a whole, valid copy of the file it replaces, so
following it would work: only a refusal passes."""

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.moons import MOONS

from nnctl import api, files
from nnctl.cli import main
from nnctl.errors import WriteError
from nnctl.runs import lock as folder_lock

VICTIM = "a user's file, which no lock may overwrite\n"


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text(VICTIM)
    return path


@pytest.fixture
def run(moons_run, tmp_path):
    """A copy of the shared trained moons run."""
    return Path(shutil.copytree(moons_run["run_dir"], tmp_path / "run"))


@pytest.mark.parametrize("plant", ["symlink", "hardlink", "fifo"])
def test_a_planted_lock_file_is_refused_and_never_written(run, tmp_path, victim, plant):
    (tmp_path / "c.yaml").write_text(MOONS)
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (run, empty):
        lock = folder / ".lock"
        if plant == "symlink":
            lock.symlink_to(victim)
        elif plant == "hardlink":
            os.link(victim, lock)
        else:
            os.mkfifo(lock)
    for args in (["train", "--resume", run], ["train", tmp_path / "c.yaml", "--run-dir", empty]):
        result = invoke(*args, "-q")
        assert result.exit_code == 1 and ".lock: is " in result.stderr and "not nnctl's lock file" in result.stderr
        assert victim.read_text() == VICTIM
    assert sorted(p.name for p in empty.iterdir()) == [".lock"]  # claimed by nothing: run.json never created
    assert json.loads((run / "run.json").read_text())["status"] == "finished"


def test_a_lock_file_of_one_name_is_still_taken(tmp_path):
    (tmp_path / ".lock").write_text("pid 1 on elsewhere\n")  # left by a process killed with it held
    with folder_lock.acquire(tmp_path) as lock:
        assert lock.held and (tmp_path / ".lock").read_text().startswith(f"pid {os.getpid()} ")


@pytest.mark.parametrize("name", ["run.json", "config.yaml", "metrics.jsonl", "last.json"])
def test_resume_follows_no_link_in_the_run_folder(run, tmp_path, name):
    real = tmp_path / f"elsewhere-{name}"
    (run / name).rename(real)
    (run / name).symlink_to(real)
    before = {p.name: (p.read_bytes() if not p.is_symlink() else os.readlink(p)) for p in run.iterdir()}
    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code in (3, 4) and f"{name}: is a symbolic link" in result.stderr, result.stderr
    assert "follows no symbolic link inside a run folder" in result.stderr
    assert {p.name: (p.read_bytes() if not p.is_symlink() else os.readlink(p)) for p in run.iterdir()} == before


def test_resume_replaces_a_checkpoint_link_it_does_not_need_to_read(run, tmp_path):
    """A finished run's best epoch is its last: its weights come from last.json, and checkpoint.json
    is written again, over the link."""
    real = tmp_path / "elsewhere.json"
    (run / "checkpoint.json").rename(real)
    (run / "checkpoint.json").symlink_to(real)
    before = real.read_bytes()
    assert invoke("train", "--resume", run, "-q", "--no-plots").exit_code == 0
    assert not (run / "checkpoint.json").is_symlink() and (run / "checkpoint.json").read_bytes() == before
    assert real.read_bytes() == before


@pytest.mark.parametrize("command,name", [
    (["eval", "RUN"], "checkpoint.json"), (["eval", "RUN", "--which", "last"], "last.json"),
    (["eval", "RUN/checkpoint.json"], "checkpoint.json"), (["summary", "RUN"], "checkpoint.json"),
    (["predict", "RUN", "INPUT"], "checkpoint.json"), (["plot", "RUN"], "checkpoint.json"),
    (["plot", "RUN"], "metrics.jsonl"), (["doctor", "RUN"], "run.json"), (["doctor", "RUN"], "metrics.jsonl"),
    (["export", "RUN", "--format", "numpy", "-o", "OUT"], "checkpoint.json"),
])
def test_the_commands_that_read_a_run_folder_follow_no_link_in_it(run, tmp_path, command, name):
    real = tmp_path / f"elsewhere-{name}"
    (run / name).rename(real)
    (run / name).symlink_to(real)
    (tmp_path / "in.csv").write_text("0.5,0.25\n")
    args = [a.replace("RUN", str(run)).replace("INPUT", str(tmp_path / "in.csv")).replace("OUT", str(tmp_path / "out"))
            for a in command]
    result = invoke(*args)
    code = 5 if args[0] == "plot" and name == "metrics.jsonl" else 4  # plot: the metrics are its data
    assert result.exit_code == code and f"{name}: is a symbolic link" in result.stderr, result.output


def test_runs_shows_a_run_whose_status_is_a_link_as_unreadable(run, tmp_path):
    real = tmp_path / "elsewhere.json"
    (run / "run.json").rename(real)
    (run / "run.json").symlink_to(real)
    result = invoke("runs", tmp_path, "--json")
    assert result.exit_code == 0 and [r["status"] for r in json.loads(result.stdout)["runs"]] == ["unreadable"]


@pytest.mark.parametrize("plant", ["link", "dangling link", "file"])
def test_a_tensorboard_folder_that_is_a_link_is_refused(tmp_path, plant, moons_config):
    pytest.importorskip("tensorboard")
    from nnctl.runs.tensorboard_tracker import TensorBoardTracker

    cfg = api.load_config(moons_config())
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    run.mkdir()
    if plant == "file":
        (run / "tensorboard").write_text("")
    else:
        (run / "tensorboard").symlink_to(elsewhere)
        if plant == "link":
            elsewhere.mkdir()
    with pytest.raises(WriteError, match="tensorboard: is not a folder .*follows no symbolic link"):
        TensorBoardTracker(cfg, type("Run", (), {"path": run})())
    assert not elsewhere.exists() or list(elsewhere.iterdir()) == []
    (run / "tensorboard").unlink()
    TensorBoardTracker(cfg, type("Run", (), {"path": run})()).end(type("Run", (), {"path": run, "status": {}})())
    assert (run / "tensorboard").is_dir() and not (run / "tensorboard").is_symlink()


def test_mlflow_copies_no_link_of_the_run_folder(run, tmp_path, victim):
    from nnctl.runs import mlflow_tracker

    (run / "checkpoint.json").unlink()
    (run / "checkpoint.json").symlink_to(victim)
    (run / "evil.png").symlink_to(victim)
    logged = []
    client = type("Client", (), {"set_terminated": lambda *a, **k: None,
                                 "log_artifact": lambda self, run_id, path, *where: logged.append(Path(path).name)})()
    store = type("Store", (), {"client": client, "Metric": lambda *a: a, "log_metrics": lambda *a: None,
                               "set_tags": lambda *a: None})()
    mlflow_tracker.publish(store, "id", run, {"status": "finished", "test": {}, "epochs": 1}, [])
    assert "checkpoint.json" not in logged and "evil.png" not in logged
    assert {"run.json", "config.yaml", "metrics.csv", "curves.png"} <= set(logged)


def test_an_atomic_write_replaces_a_link_never_what_it_points_to(tmp_path, victim):
    (tmp_path / "run.json").symlink_to(victim)
    files.atomic_write(tmp_path / "run.json", "{}\n")
    assert victim.read_text() == VICTIM and not (tmp_path / "run.json").is_symlink()
