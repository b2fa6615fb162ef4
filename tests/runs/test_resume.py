"""Resume: a run stopped anywhere and continued ends bit-identical to the run left alone."""

import hashlib
import json
import platform
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import api, config
from nnctl.cli import main
from nnctl.config import plain
from nnctl.engine import optimizers
from nnctl.errors import CheckpointError, ConfigError, Interrupted, NnctlError
from nnctl.runs import checkpoint, folder as runs, lock as folder_lock, resume as resume_module, training

CONFIG = moons_yaml(seed=5, data={"noise": None},
                    model={"layers": [{"units": 12, "activation": "tanh"}, {"units": 2, "activation": "softmax"}]},
                    optimizer={"name": "OPTIMIZER", "lr": None}, training={"epochs": 6, "batch_size": 16})
OPTIMIZERS = {"adam": "adam, lr: 0.01", "sgd": "sgd, lr: 0.05, momentum: 0.9, nesterov: true"}
FILES = ("last.json", "checkpoint.json")


def config_of(tmp_path, optimizer="adam", text=CONFIG):
    path = tmp_path / "c.yaml"
    path.write_text(text.replace("OPTIMIZER", OPTIMIZERS[optimizer]))
    return api.load_config(path)


def stop_after(*, epoch=None, batches=None):
    """A stop() that asks for SIGTERM once `epoch` finished, or after `batches` calls."""
    state = {"calls": 0, "on": False}

    def stop():
        state["calls"] += 1
        return signal.SIGTERM if state["on"] or (batches is not None and state["calls"] > batches) else 0

    def on_epoch(record):
        state["on"] = state["on"] or record["epoch"] == epoch
    return stop, on_epoch


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same runs left alone, one per optimizer."""
    out = {}
    for name in OPTIMIZERS:
        folder = tmp_path_factory.mktemp(name)
        result = api.train(config_of(folder, name), run_dir=folder / "run")
        out[name] = (Path(result["run_dir"]), result)
    return out


def same_files(a: Path, b: Path):
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    strip = [{k: v for k, v in json.loads(line).items() if k != "seconds"}
             for line in (a / "metrics.jsonl").read_text().splitlines()]
    assert strip == [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                     for line in (b / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("k", [1, 3])
def test_stopped_after_epoch_k_and_resumed_is_bit_identical(reference, tmp_path, optimizer, k):
    cfg = config_of(tmp_path, optimizer)
    stop, on_epoch = stop_after(epoch=k)
    with pytest.raises(Interrupted) as info:
        api.train(cfg, run_dir=tmp_path / "run", stop=stop, on_epoch=on_epoch)
    assert info.value.exit_code == 143 and f"after epoch {k}" in str(info.value)
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "interrupted" and status["signal"] == "SIGTERM"
    last = checkpoint.load(tmp_path / "run" / "last.json")
    # 216 training rows, batches of 16
    assert last.epoch == k and last.training["rows_done"] == 0 and last.optimizer["t"] == k * 14
    result = api.resume(tmp_path / "run")
    ref_dir, ref = reference[optimizer]
    same_files(tmp_path / "run", ref_dir)
    assert result["test"] == ref["test"] and result["best_epoch"] == ref["best_epoch"] and result["epochs"] == 6
    assert json.loads((tmp_path / "run" / "run.json").read_text())["resumes"][0]["epoch"] == k


@pytest.mark.slow
def test_stopped_mid_epoch_twice_and_resumed_is_bit_identical(reference, tmp_path):
    cfg = config_of(tmp_path)
    stop, _ = stop_after(batches=20)  # 14 batches an epoch, 14 calls of stop(): stops in epoch 2
    with pytest.raises(Interrupted, match=r"in epoch 2 \(96 of 216 rows done\)"):
        api.train(cfg, run_dir=tmp_path / "run", stop=stop)
    assert checkpoint.load(tmp_path / "run" / "last.json").training["rows_done"] == 96
    stop, _ = stop_after(batches=31)
    with pytest.raises(Interrupted, match="in epoch 4"):
        api.resume(tmp_path / "run", stop=stop)
    api.resume(tmp_path / "run")
    same_files(tmp_path / "run", reference["adam"][0])
    assert len(json.loads((tmp_path / "run" / "run.json").read_text())["resumes"]) == 2


@pytest.mark.slow
def test_rows_written_after_the_checkpoint_are_dropped(reference, tmp_path):
    """A process that died between writing metrics.jsonl and last.json leaves one row too many."""
    cfg = config_of(tmp_path)
    stop, on_epoch = stop_after(epoch=2)
    with pytest.raises(Interrupted):
        api.train(cfg, run_dir=tmp_path / "run", stop=stop, on_epoch=on_epoch)
    log = tmp_path / "run" / "metrics.jsonl"
    row = json.loads(log.read_text().splitlines()[-1])
    log.write_text(log.read_text() + json.dumps({**row, "epoch": 3, "train_loss": 123.0}) + "\n")
    result = api.resume(tmp_path / "run")
    assert [r["epoch"] for r in result["history"]] == [1, 2, 3, 4, 5, 6]
    same_files(tmp_path / "run", reference["adam"][0])
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 7


@pytest.mark.slow
def test_best_checkpoint_not_yet_rewritten_is_recovered(reference, tmp_path):
    """Killed between last.json and checkpoint.json of a new best epoch: last.json holds it."""
    cfg = config_of(tmp_path, "sgd")
    ref_dir, ref = reference["sgd"]
    k = ref["best_epoch"] if ref["best_epoch"] > 1 else pytest.fail("the reference's best epoch must be > 1")
    stop, on_epoch = stop_after(epoch=k)
    with pytest.raises(Interrupted):
        api.train(cfg, run_dir=tmp_path / "run", stop=stop, on_epoch=on_epoch)
    earlier = tmp_path / "earlier"
    stop, on_epoch = stop_after(epoch=k - 1)
    with pytest.raises(Interrupted):
        api.train(cfg, run_dir=earlier, stop=stop, on_epoch=on_epoch)
    (tmp_path / "run" / "checkpoint.json").write_bytes((earlier / "checkpoint.json").read_bytes())
    if checkpoint.load(earlier / "checkpoint.json").epoch == k:
        pytest.fail("test set-up: the earlier run must not already hold the best epoch")
    api.resume(tmp_path / "run")
    same_files(tmp_path / "run", ref_dir)


@pytest.mark.slow
def test_format_1_last_json_resumes_through_the_upgrade(reference, tmp_path):
    """A run written by format 1 (no training state) continues: best epoch from the metrics log."""
    cfg = config_of(tmp_path)
    stop, on_epoch = stop_after(epoch=3)
    with pytest.raises(Interrupted):
        api.train(cfg, run_dir=tmp_path / "run", stop=stop, on_epoch=on_epoch)
    for name in FILES:
        doc = json.loads((tmp_path / "run" / name).read_text())
        del doc["training"], doc["data_file"]
        doc["version"], doc["n_inputs"] = 1, doc.pop("input_shape")[0]
        doc["sha256"] = checkpoint._digest(doc)
        (tmp_path / "run" / name).write_text(json.dumps(doc))
    assert checkpoint.load(tmp_path / "run" / "last.json").version == 1
    result = api.resume(tmp_path / "run")
    ref_dir, ref = reference["adam"]
    assert (tmp_path / "run" / "last.json").read_bytes() == (ref_dir / "last.json").read_bytes()
    assert result["best_epoch"] == ref["best_epoch"] and result["test"] == ref["test"]
    best, ref_best = (json.loads((d / "checkpoint.json").read_text()) for d in (tmp_path / "run", ref_dir))
    assert best["state"] == ref_best["state"] and best["epoch"] == ref_best["epoch"]


@pytest.mark.slow
def test_finished_run_resumes_to_the_same_result(reference, tmp_path):
    ref_dir, ref = reference["adam"]
    result = api.resume(ref_dir)
    assert result["test"] == ref["test"] and result["epochs"] == 6
    assert json.loads((ref_dir / "run.json").read_text())["status"] == "finished"


@pytest.mark.slow
def test_no_epoch_saved_starts_from_the_beginning(reference, tmp_path):
    cfg = config_of(tmp_path)
    path = runs.use(tmp_path / "run")
    runs.Run(path, config.dump(cfg)).finish("interrupted")
    api.resume(path)
    same_files(path, reference["adam"][0])


@pytest.mark.slow
def test_changed_config_is_refused_with_the_difference(reference, tmp_path):
    ref_dir, _ = reference["adam"]
    changed = config_of(tmp_path, text=CONFIG.replace("epochs: 6", "epochs: 9").replace("units: 12", "units: 13"))
    with pytest.raises(ConfigError) as info:
        api.resume(ref_dir, changed)
    message = str(info.value)
    assert "training.epochs: the run has 6, now 9" in message
    assert "model.layers[0].units: the run has 12, now 13" in message
    cfg = config_of(tmp_path)
    renamed = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": "other"})})
    api.resume(ref_dir, renamed)  # the run section does not change training


def test_edited_config_yaml_in_the_folder_is_refused(reference, tmp_path):
    ref_dir, _ = reference["sgd"]
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in ref_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / "config.yaml").write_text((copy / "config.yaml").read_text().replace("momentum: 0.9", "momentum: 0.5"))
    with pytest.raises(ConfigError, match="optimizer.momentum: the run has 0.9, now 0.5"):
        api.resume(copy)


@pytest.mark.parametrize("damage,error,fragment", [
    (lambda p: (p / "run.json").unlink(), CheckpointError, "not a run folder"),
    (lambda p: (p / "run.json").write_text("{"), CheckpointError, "run.json: cannot be read"),
    (lambda p: (p / "last.json").write_text("{}"), CheckpointError, "not an nnctl checkpoint"),
    (lambda p: (p / "metrics.jsonl").write_text("{}\n"), CheckpointError, "metrics.jsonl:1"),
    (lambda p: (p / "metrics.jsonl").unlink(), CheckpointError, "metrics.jsonl: missing"),
    (lambda p: (p / "last.json").write_bytes((p / "checkpoint.json").read_bytes()), CheckpointError,
     "no training state"),
])
def test_broken_run_folders_are_refused(reference, tmp_path, damage, error, fragment):
    ref_dir, _ = reference["adam"]
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in ref_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    damage(copy)
    with pytest.raises(error, match=fragment):
        api.resume(copy)
    assert "last.json" in {p.name for p in copy.iterdir()} or fragment == "no training state"


def test_callback_states_must_match_by_name(reference, tmp_path, monkeypatch):
    ref_dir, _ = reference["adam"]
    point = resume_module.prepare(ref_dir)
    point.last.training["callbacks"] = {"schedule": {"step": 3}}
    with pytest.raises(CheckpointError, match=r"training.callbacks: holds states for \['schedule'\]"):
        resume_module.restore(point, point.last.model, optimizers.build(plain(point.cfg.optimizer)), {})


@pytest.mark.slow
def test_cli_resume(reference, tmp_path):
    runner = CliRunner()
    ref_dir, _ = reference["adam"]
    result = runner.invoke(main, ["train", "--resume", str(ref_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["epochs"] == 6
    assert runner.invoke(main, ["train", "--resume", str(ref_dir), "--run-dir", str(tmp_path)]).exit_code == 2
    missing = runner.invoke(main, ["train", "--resume", str(tmp_path / "nope")])
    assert missing.exit_code == 4 and "no such folder" in missing.stderr
    (tmp_path / "other.yaml").write_text(CONFIG.replace("OPTIMIZER", OPTIMIZERS["sgd"]))
    refused = runner.invoke(main, ["train", str(tmp_path / "other.yaml"), "--resume", str(ref_dir)])
    assert refused.exit_code == 3 and "optimizer.name: the run has \"adam\", now \"sgd\"" in refused.stderr
    assert "Traceback" not in refused.output


@pytest.mark.slow
def test_stopped_before_the_first_batch(reference, tmp_path):
    stop, _ = stop_after(batches=0)
    with pytest.raises(Interrupted, match="before the first batch"):
        api.train(config_of(tmp_path), run_dir=tmp_path / "run", stop=stop)
    assert checkpoint.load(tmp_path / "run" / "last.json").epoch == 0
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
    api.resume(tmp_path / "run")
    same_files(tmp_path / "run", reference["adam"][0])


class Stateful:
    """A stand-in for a schedule or early stopping: a state_dict in, the same state_dict out."""

    state_key = "extra"

    def __init__(self, state):
        self.state = state

    def state_dict(self):
        return dict(self.state)

    def load_state_dict(self, state):
        self.state = dict(state)


@pytest.mark.slow
def test_stateful_callbacks_are_saved_and_restored_by_name(tmp_path, monkeypatch):
    made = []

    real = training.stateful

    def stateful(callbacks):
        made.append(Stateful({"step": 7, "bad_epochs": 2}))
        return real([*callbacks, made[-1]])

    monkeypatch.setattr(training, "stateful", stateful)
    stop, on_epoch = stop_after(epoch=2)
    with pytest.raises(Interrupted):
        api.train(config_of(tmp_path), run_dir=tmp_path / "run", stop=stop, on_epoch=on_epoch)
    saved = checkpoint.load(tmp_path / "run" / "last.json").training["callbacks"]
    assert saved["extra"] == {"step": 7, "bad_epochs": 2} and set(saved) == {"extra", "monitor", "schedule"}
    doc = json.loads((tmp_path / "run" / "last.json").read_text())
    doc["training"]["callbacks"]["extra"]["step"] = 9
    doc["sha256"] = checkpoint._digest(doc)
    (tmp_path / "run" / "last.json").write_text(json.dumps(doc))
    api.resume(tmp_path / "run")
    assert made[-1].state == {"step": 9, "bad_epochs": 2}  # restored into the new run's object


@pytest.mark.parametrize("rows_done", [5, 216, 10**6])
def test_a_position_off_the_batch_grid_is_refused(reference, tmp_path, rows_done):
    stop, on_epoch = stop_after(epoch=2)
    with pytest.raises(Interrupted):
        api.train(config_of(tmp_path), run_dir=tmp_path / "run", stop=stop, on_epoch=on_epoch)
    doc = json.loads((tmp_path / "run" / "last.json").read_text())
    doc["training"].update(rows_done=rows_done, correct=0)
    doc["sha256"] = checkpoint._digest(doc)
    (tmp_path / "run" / "last.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="not a batch boundary"):
        api.resume(tmp_path / "run")


def copy_of(folder: Path, to: Path) -> Path:
    to.mkdir()
    for f in folder.iterdir():
        (to / f.name).write_bytes(f.read_bytes())
    return to


@pytest.mark.slow
def test_a_run_its_live_process_still_trains_is_refused(reference, tmp_path):
    """run.json names its writer by pid, start time, boot and folder; a live process is the
    writer only if all of them match. The process here has `nnctl train` in its command line,
    as has any program run from a clone named nnctl: that says nothing."""
    copy = copy_of(reference["adam"][0], tmp_path / "copy")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "nnctl", "train", str(copy)])
    try:
        writer = {"status": "running", "host": platform.node(), **folder_lock.identity(process.pid),
                  "run_dir": str(copy)}
        assert type(writer["pid_start"]) is int
        (copy / "run.json").write_text(json.dumps(writer))
        with pytest.raises(NnctlError, match=f"still being trained by process {process.pid}") as info:
            api.resume(copy)
        assert info.value.exit_code == 1
        for other in ({"pid_start": writer["pid_start"] - 1},  # the pid reused by another program
                      {"boot_id": "0123-another-boot"},        # written before the machine restarted
                      {"run_dir": str(tmp_path / "original")}):  # a copy: that process writes the original
            (copy / "run.json").write_text(json.dumps({**writer, **other}))
            assert api.resume(copy)["epochs"] == 6, other
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_an_older_run_json_without_the_start_time_is_judged_by_the_times(reference, tmp_path):
    """Pids are unique among live processes: one that started after the run (re)started is not
    its writer. run.json from before the start time was recorded has `started` and `resumes`."""
    copy = copy_of(reference["adam"][0], tmp_path / "copy")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "nnctl", "train"])
    try:
        old = {"status": "running", "pid": process.pid, "host": platform.node()}
        hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(timespec="seconds")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        (copy / "run.json").write_text(json.dumps({**old, "started": now}))
        with pytest.raises(NnctlError, match="still being trained"):
            api.resume(copy)
        (copy / "run.json").write_text(json.dumps({**old, "started": hour_ago, "resumes": [{"at": now}]}))
        with pytest.raises(NnctlError, match="still being trained"):
            api.resume(copy)
        (copy / "run.json").write_text(json.dumps({**old, "started": hour_ago}))
        assert api.resume(copy)["epochs"] == 6
    finally:
        process.kill()
        process.wait()


def hashes(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def resign(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    doc["sha256"] = checkpoint._digest(doc)
    path.write_text(json.dumps(doc))


def hold_lock(folder: Path) -> subprocess.Popen:
    """Another process that holds `folder`'s lock, as a trainer of it does, until killed."""
    holder = subprocess.Popen([sys.executable, "-c", ("import sys, time; from nnctl.runs import lock as folder_lock; "
                               "folder_lock.acquire(sys.argv[1]); print('held', flush=True); time.sleep(60)"),
                               str(folder)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


@pytest.mark.parametrize("damage,error,fragment", [
    (lambda p: resign(p / "last.json", lambda d: d["training"]["callbacks"]["monitor"].clear()), CheckpointError,
     "training.callbacks.monitor: not a valid state"),
    (lambda p: resign(p / "last.json", lambda d: d["training"]["callbacks"].pop("monitor")), CheckpointError,
     "training.callbacks: holds states for"),
    (lambda p: resign(p / "checkpoint.json", lambda d: d.update(epoch=2)), CheckpointError,
     "checkpoint.json: holds epoch 2"),
    (lambda p: (p / "checkpoint.json").write_text("{"), CheckpointError, "checkpoint.json"),
    (lambda p: resign(p / "last.json", lambda d: d["training"].update(rows_done=5, correct=0)), CheckpointError,
     "not a batch boundary"),
    (lambda p: (p / "config.yaml").write_text((p / "config.yaml").read_text().replace("epochs: 6", "epochs: 7")),
     ConfigError, "training.epochs"),
    (lambda p: (p / "metrics.jsonl").write_text("{}\n"), CheckpointError, "metrics.jsonl:1"),
    ("locked", NnctlError, "another nnctl process \\(pid \\d+"),
])
@pytest.mark.slow
def test_a_refused_resume_leaves_every_file_as_it_was(tmp_path, damage, error, fragment):
    """Interrupted in epoch 2 (so checkpoint.json is needed), with a temporary file a kill -9
    left: whatever refuses the resume, no file of the folder changes, run.json included."""
    stop, _ = stop_after(batches=20)
    with pytest.raises(Interrupted, match="in epoch 2"):
        api.train(config_of(tmp_path), run_dir=tmp_path / "run", stop=stop)
    run_dir = tmp_path / "run"
    (run_dir / ".last.json.k9_abcde.tmp").write_text('{"half": ')
    holder = hold_lock(run_dir) if damage == "locked" else None
    if holder is None:
        damage(run_dir)
    before = hashes(run_dir)
    try:
        with pytest.raises(error, match=fragment) as info:
            api.resume(run_dir)
        assert hashes(run_dir) == before
        refused = CliRunner().invoke(main, ["train", "--resume", str(run_dir), "-q"])
        assert refused.exit_code == info.value.exit_code and "Traceback" not in refused.output, refused.output
        assert hashes(run_dir) == before
    finally:
        if holder is not None:
            holder.kill()
            holder.communicate()


@pytest.mark.slow
def test_a_resume_removes_what_a_killed_write_left(reference, tmp_path):
    stop, on_epoch = stop_after(epoch=2)
    with pytest.raises(Interrupted):
        api.train(config_of(tmp_path), run_dir=tmp_path / "run", stop=stop, on_epoch=on_epoch)
    orphans = [".last.json.k9_abcde.tmp", ".metrics.jsonl.a1b2c3d4.tmp", ".run.json.zz_zz_zz.tmp"]
    for name in orphans:
        (tmp_path / "run" / name).write_text("half")
    (tmp_path / "run" / "notes.tmp").write_text("the user's")  # not an atomic write's name: kept
    api.resume(tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert not names & set(orphans) and "notes.tmp" in names and ".lock" not in names
    same_files(tmp_path / "run", reference["adam"][0])


TOOLBOX = """\
seed: 8
data: {name: moons, n_samples: 300}
model:
  layers:
    - {units: 16, activation: relu}
    - {type: batchnorm}
    - {type: dropout, rate: 0.3}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adamw, lr: 0.02}
training:
  epochs: 12
  batch_size: 16
  schedule: {name: reduce_on_plateau, patience: 1, factor: 0.5}
  early_stopping: {monitor: val_accuracy, patience: 4}
"""


@pytest.mark.slow
@pytest.mark.parametrize("batches", [3, 40, 95])
def test_dropout_batchnorm_schedule_and_early_stopping_resume_bit_identically(tmp_path, batches):
    """The dropout generator, batchnorm's running statistics, the plateau schedule and early
    stopping's counters are all in last.json: resumed mid-epoch, the run ends as if left alone."""
    (tmp_path / "t.yaml").write_text(TOOLBOX)
    cfg = api.load_config(tmp_path / "t.yaml")
    ref = api.train(cfg, run_dir=tmp_path / "ref")
    stop, _ = stop_after(batches=batches)
    try:
        api.train(cfg, run_dir=tmp_path / "run", stop=stop)
        pytest.fail("expected an interrupt")
    except Interrupted:
        pass
    result = api.resume(tmp_path / "run")
    same_files(tmp_path / "run", tmp_path / "ref")
    assert result["early_stopping"] == ref["early_stopping"] and result["test"] == ref["test"]
    assert [r["lr"] for r in result["history"]] == [r["lr"] for r in ref["history"]]


STATEFUL = moons_yaml(seed=2, model={"layers": [{"units": 8, "activation": "relu"}, {"type": "dropout", "rate": 0.2},
                                                {"units": 2, "activation": "softmax"}]},
                      training={"epochs": 4, "schedule": {"name": "reduce_on_plateau"},
                                "early_stopping": {"patience": 3}})


@pytest.fixture(scope="module")
def stopped_in_epoch_2(tmp_path_factory):
    """A run of every stateful callback (monitor, schedule, dropout, the diagnostics' mid-epoch sums)
    stopped in its second epoch."""
    folder = tmp_path_factory.mktemp("stateful")
    (folder / "c.yaml").write_text(STATEFUL)
    stop, _ = stop_after(batches=12)
    with pytest.raises(Interrupted, match="in epoch 2"):
        api.train(api.load_config(folder / "c.yaml"), run_dir=folder / "run", stop=stop, plots=False)
    return folder / "run"


@pytest.mark.parametrize("name,key,value,expected", [
    ("monitor", "best", "text", "best: expected a number, got 'text'"),
    ("monitor", "wait", "1", "wait: expected a whole number >= 0, got '1'"),
    ("monitor", "best_epoch", 1.5, "best_epoch: expected a whole number >= 1"),
    ("monitor", "stopped_epoch", "2", "stopped_epoch: expected a whole number >= 1, got '2'"),
    ("schedule", "scale", "0.5", "scale: expected a number >= 0, got '0.5'"),
    ("schedule", "best", [1], "best: expected a number"),
    ("schedule", "wait", 1.5, "wait: expected a whole number"),
    ("diagnostics", "batches", "3", "batches: expected a whole number >= 1, got '3'"),
    ("diagnostics", "grad_sq", ["1.0", 2.0], "grad_sq: expected a number >= 0, got '1.0'"),
    ("diagnostics", "begin", {"layers.0": ["0.5"] * 16, "layers.2": [0.5] * 18},
     "begin.layers.0: expected 16 finite numbers"),
    ("dropout", "states", "none", "not a valid state"),
])
def test_every_saved_state_is_checked_before_anything_changes(stopped_in_epoch_2, tmp_path, name, key, value, expected):
    """Text where a number belongs in a re-signed last.json: an internal error once training used it,
    after run.json had changed. Each callback's state is checked as it is loaded: exit 4, every file as it was."""
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_in_epoch_2, run_dir)
    resign(run_dir / "last.json", lambda d: d["training"]["callbacks"][name].update({key: value}))
    before = hashes(run_dir)
    result = CliRunner().invoke(main, ["train", "--resume", str(run_dir), "-q", "--no-plots"])
    assert result.exit_code == 4 and f"training.callbacks.{name}: not a valid state" in result.stderr, result.output
    assert expected in result.stderr
    assert hashes(run_dir) == before
