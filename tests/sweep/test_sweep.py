"""Running sweeps: local processes (joblib/loky), a real Dask cluster on loopback, resuming after a kill."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.sweeps import BASE, RANDOM, same_numbers, sweep, write

from nnctl.cli import main

pytestmark = pytest.mark.slow  # real processes or long trainings: not in the fast tier

GRID = BASE + """\
parameters:
  optimizer.lr: [0.003, 0.03]
  model.layers[0].units: [4, 16]
output_dir: OUT
"""

# mse on one linear unit with a huge SGD step: the loss overflows in the first epoch
DIVERGING = BASE.replace("{name: adam, lr: 0.01}", "{name: sgd, lr: 0.01}").replace(
    "{units: 2, activation: softmax}", "{units: 1, activation: linear}").replace("cross_entropy", "mse") + """\
parameters:
  optimizer.lr: LRS
output_dir: OUT
"""


def check_ranking(board, metric, best_is):
    finished = [r for r in board["leaderboard"] if r["status"] == "finished"]
    values = [r[metric] for r in finished]
    assert values == sorted(values, reverse=best_is is max)
    assert board["best"]["trial"] == finished[0]["trial"] and board["best"][metric] == best_is(values)
    assert [r["rank"] for r in finished] == list(range(1, len(finished) + 1))


def test_grid_with_two_jobs_ranks_by_val_loss_and_trials_are_run_folders(tmp_path):
    result = sweep(write(tmp_path, GRID), "--jobs", 2, "--json", "-q")
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert board["trials"] == board["finished"] == board["ran"] == 4 and board["reused"] == 0
    check_ranking(board, "val_loss", min)
    folder = tmp_path / "out" / "sweep"
    assert Path(board["sweep_dir"]) == folder
    assert board == json.loads((folder / "leaderboard.json").read_text())
    csv_rows = (folder / "leaderboard.csv").read_text().splitlines()
    assert csv_rows[0].startswith("rank,trial,status,optimizer.lr,model.layers[0].units,val_loss")
    assert [row.split(",")[1] for row in csv_rows[1:]] == [r["trial"] for r in board["leaderboard"]]
    for row in board["leaderboard"]:
        run = folder / row["trial"]
        status = json.loads((run / "run.json").read_text())
        assert status["status"] == "finished"
        # the recorded metric is the best epoch's, as the run folder says
        history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert row["val_loss"] == min(r["val_loss"] for r in history)
        # BLAS was limited to one thread inside the trial
        assert all(pool["num_threads"] == 1 for pool in status["environment"]["blas"])
    best = folder / board["best"]["trial"] / "checkpoint.json"
    scores = CliRunner().invoke(main, ["eval", str(best), "--json"])
    assert scores.exit_code == 0 and json.loads(scores.stdout)["accuracy"] == board["best"]["test_accuracy"]
    spec = (folder / "sweep.yaml").read_text()
    assert "method: grid" in spec and "metric: val_loss" in spec and "mode: min" in spec and "n_samples: 200" in spec
    # the table lists every trial, best first
    table = sweep(tmp_path / "sweep.yaml").stdout.splitlines()
    assert table[0].split()[:5] == ["rank", "trial", "status", "optimizer.lr", "model.layers[0].units"]
    assert table[1].split()[:2] == ["1", board["best"]["trial"]]
    assert "4 of 4 trials finished (0 run now, 4 finished before)" in table[-1]
    # the resolved spec in the sweep folder is a spec too: it resumes the same sweep
    again = json.loads(sweep(folder / "sweep.yaml", "--json", "-q").stdout)
    assert again["sweep_dir"] == str(folder) and (again["reused"], again["ran"]) == (4, 0)


@pytest.fixture(scope="module")
def local_random(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("random")
    result = sweep(write(tmp_path, RANDOM), "--jobs", 2, "--json", "-q")
    assert result.exit_code == 0, result.output
    return tmp_path, json.loads(result.stdout)


def test_random_with_two_jobs_ranks_by_val_accuracy_and_matches_a_serial_run(local_random, tmp_path):
    _, board = local_random
    assert board["method"] == "random" and board["mode"] == "max"
    assert board["finished"] == board["trials"] and 1 <= board["trials"] <= 4
    check_ranking(board, "val_accuracy", max)
    assert len({r["trial"] for r in board["leaderboard"]}) == board["trials"]
    serial = sweep(write(tmp_path, RANDOM, out="serial"), "--json", "-q")
    assert same_numbers(json.loads(serial.stdout)) == same_numbers(board)


REGRESSION = """\
base:
  data: {name: diabetes}
  model:
    layers:
      - {units: 8, activation: relu}
      - {units: 1}
  loss: mse
  optimizer: {name: adam, lr: 0.01}
  training: {epochs: 4}
metric: val_r2
parameters:
  model.layers[0].units: [2, 16]
output_dir: OUT
"""


def test_a_regression_sweep_ranks_by_val_r2_and_reports_regression_scores(tmp_path):
    result = sweep(write(tmp_path, REGRESSION), "--json", "-q")
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert board["mode"] == "max" and board["finished"] == 2
    assert board["metrics"] == ["val_loss", "val_mae", "val_rmse", "val_r2", "test_loss", "test_mae",
                                "test_rmse", "test_r2"]
    check_ranking(board, "val_r2", max)
    header = (tmp_path / "out" / "sweep" / "leaderboard.csv").read_text().splitlines()[0]
    assert header.startswith("rank,trial,status,model.layers[0].units,val_loss,val_mae,val_rmse,val_r2,test_loss")
    table = sweep(tmp_path / "sweep.yaml").stdout.splitlines()
    assert table[0].split()[4:] == ["val_loss", "val_mae", "val_rmse", "val_r2", "test_mae", "test_rmse", "test_r2",
                                    "epochs", "seconds"]
    # a classification metric for a regression task is a spec error
    wrong = sweep(write(tmp_path, REGRESSION.replace("val_r2", "val_accuracy"), name="wrong.yaml"))
    assert wrong.exit_code == 3
    assert "wrong.yaml:10: metric: val_accuracy does not apply to diabetes, a regression task" in wrong.stderr


def test_a_diverging_trial_is_recorded_and_the_others_finish(tmp_path):
    result = sweep(write(tmp_path, DIVERGING.replace("LRS", "[0.01, 10000.0, 0.02]")), "--json", "-q")
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert (board["finished"], board["diverged"]) == (2, 1)
    last = board["leaderboard"][-1]
    assert last["status"] == "diverged" and last["rank"] is None and last["exit_code"] == 6
    assert last["params"] == {"optimizer.lr": 10000.0} and "diverged" in last["error"]
    assert json.loads((Path(last["run_dir"]) / "run.json").read_text())["status"] == "diverged"
    # a failed trial is rerun, a finished one is not
    again = json.loads(sweep(tmp_path / "sweep.yaml", "--json", "-q").stdout)
    assert (again["ran"], again["reused"], again["diverged"]) == (1, 2, 1)


def test_when_no_trial_finishes_the_exit_code_is_the_failure_s(tmp_path):
    result = sweep(write(tmp_path, DIVERGING.replace("LRS", "[10000.0, 20000.0]")))
    assert result.exit_code == 6
    assert "error: no trial finished; the first failure: training diverged" in result.stderr
    assert "0 of 2 trials finished" in result.stdout


def test_help():
    result = sweep("--help")
    assert result.exit_code == 0 and "--scheduler" in result.output and "--jobs" in result.output


def test_a_bad_spec_exits_3_with_file_and_line(tmp_path):
    result = sweep(write(tmp_path, GRID.replace("optimizer.lr:", "optimizer.lrr:")))
    assert result.exit_code == 3
    expected = "sweep.yaml:12: parameters.optimizer.lrr: optimizer.lrr is not a config key; did you mean 'lr'?"
    assert expected in result.stderr


def test_a_worker_that_dies_stops_the_sweep_with_a_message():
    from nnctl.errors import NnctlError
    from nnctl.sweep import runner as sweep_module

    with pytest.raises(NnctlError, match="worker process died .* run the same sweep again to resume"):
        list(sweep_module._loky([("a", {}, "x"), ("b", {}, "y")], 2, trial=lambda *task: os._exit(9)))


def test_one_sweep_at_a_time_per_folder(tmp_path):
    from nnctl.runs import lock as folder_lock

    spec = write(tmp_path, GRID)
    folder = tmp_path / "out" / "sweep"
    folder.mkdir(parents=True)
    with folder_lock.acquire(folder, "sweep.lock"):  # as a running sweep holds it
        result = sweep(spec)
    assert result.exit_code == 1 and f"another sweep (pid {os.getpid()} on {socket.gethostname()})" in result.stderr
    assert not list(folder.glob("*/run.json"))
    assert sweep(spec, "--jobs", 2, "--scheduler", "tcp://127.0.0.1:8786").exit_code == 2


def test_an_empty_lock_of_a_sweep_killed_before_writing_it_blocks_nothing(tmp_path):
    """Issue 20: a sweep killed between creating sweep.lock and writing it left an empty file that
    refused every later sweep ("pid None on None"). A flock dies with its process: no stale lock."""
    spec = write(tmp_path, GRID.replace("[0.003, 0.03]", "[0.003]").replace("[4, 16]", "[4]"))
    folder = tmp_path / "out" / "sweep"
    folder.mkdir(parents=True)
    (folder / "sweep.lock").write_text("")
    result = sweep(spec, "-q")
    assert result.exit_code == 0, result.output
    assert not (folder / "sweep.lock").exists()


def test_killed_sweep_reruns_only_the_missing_trials(tmp_path):
    spec = write(tmp_path, BASE.replace("epochs: 3", "epochs: 12") + """\
parameters:
  optimizer.lr: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008]
output_dir: OUT
""")
    folder = tmp_path / "out" / "sweep"
    # its own session, so that the kill reaches the sweep and the loky workers it started
    process = subprocess.Popen([sys.executable, "-m", "nnctl.cli", "sweep", str(spec), "--jobs", "2", "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(finished_runs(folder)) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = finished_runs(folder)
    assert 2 <= len(before) < 8, "the sweep was not killed part-way"
    assert (folder / "sweep.lock").exists()
    stamps = {name: (folder / name / "run.json").stat().st_mtime_ns for name in before}
    result = sweep(spec, "--json", "-q", "--jobs", 2)
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert (board["finished"], board["reused"], board["ran"]) == (8, len(before), 8 - len(before))
    assert {r["trial"] for r in board["leaderboard"] if r["reused"]} == set(before)
    assert stamps == {name: (folder / name / "run.json").stat().st_mtime_ns for name in before}
    assert len(finished_runs(folder)) == 8
    assert not (folder / "sweep.lock").exists()  # the killed sweep's lock was taken over, then released


def finished_runs(folder: Path) -> list:
    names = []
    for status in folder.glob("*/run.json"):
        try:
            if json.loads(status.read_text())["status"] == "finished":
                names.append(status.parent.name)
        except (OSError, ValueError):
            pass
    return names


def test_a_sweep_with_mlflow_logs_a_parent_run_with_one_nested_run_per_trial(tmp_path, monkeypatch, empty_store):
    pytest.importorskip("mlflow")
    import shutil
    import warnings

    monkeypatch.chdir(tmp_path)  # a SQLite store keeps its artifacts in ./mlruns
    shutil.copyfile(empty_store, tmp_path / "ml.db")
    uri = f"sqlite:///{tmp_path / 'ml.db'}"
    text = BASE.replace("  training: {epochs: 3, batch_size: 32}\n",
                        f"  training: {{epochs: 2, batch_size: 32}}\n  run: "
                        f"{{tracking: {{mlflow: {{uri: '{uri}'}}}}}}\n")
    text += "name: tracked\nparameters:\n  optimizer.lr: [0.003, 0.03]\noutput_dir: OUT\n"
    result = sweep(write(tmp_path, text), "--jobs", 2, "--json", "-q")
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("nnctl")
        runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.info.run_name == "tracked"]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED" and parent.data.params["optimizer.lr"] == "[0.003, 0.03]"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2 and len(runs) == 3
    trial_runs = {json.loads((Path(row["run_dir"]) / "run.json").read_text())["tracking"]["mlflow"]["run_id"]
                  for row in board["leaderboard"]}
    assert trial_runs == {r.info.run_id for r in children}
    assert all(r.info.status == "FINISHED" for r in children)
