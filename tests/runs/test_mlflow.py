"""MLflow tracking with the real thing: an `mlflow server` over HTTP (one per test session), SQLite
stores, `mlflow models serve`; what nnctl logs, read back with MLflow's own client."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from helpers.mlflow_server import Relay, client, free_port, process

from nnctl import api, data
from nnctl.cli import main
from nnctl.errors import DataError
from nnctl.runs import mlflow_store, mlflow_tracker

pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow  # MLflow itself: seconds to import and to make its store, before any test
ROOT = Path(__file__).resolve().parents[2]
MOONS = str(ROOT / "configs" / "moons.yaml")
SMALL = ["--set", "training.epochs=3", "--set", "data.n_samples=300"]


def train(*args):
    return CliRunner().invoke(main, ["train", MOONS, "-q", "--no-plots", *SMALL, *args])


def run_id_of(run_dir) -> str:
    return json.loads((Path(run_dir) / "run.json").read_text())["tracking"]["mlflow"]["run_id"]


def records(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def history(uri, run_id, key):
    return sorted((m.step, m.value) for m in client(uri).get_metric_history(run_id, key))


@pytest.fixture()
def sqlite_uri(tmp_path, monkeypatch, empty_store):
    """A fresh SQLite store in the working folder (tmp_path), as `ml.db` and as MLflow's default `mlflow.db`."""
    monkeypatch.chdir(tmp_path)  # a SQLite store keeps its artifacts in ./mlruns
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name in ("ml.db", "mlflow.db"):
        shutil.copyfile(empty_store, tmp_path / name)
    return f"sqlite:///{tmp_path / 'ml.db'}"


# ---------------------------------------------------------------- keys and stores that cannot be used


@pytest.mark.parametrize("key, expected", [("model.layers[0].units", "model.layers.0.units"),
                                           ("optimizer.lr", "optimizer.lr"), ("a:b=c", "a_b_c"),
                                           ("../x//y/", "x/y"), ("layers.ü", "layers._"), ("", "_")])
def test_param_keys_take_the_form_mlflow_accepts_everywhere(key, expected):
    from mlflow.utils.validation import _validate_param_name

    assert mlflow_store.mlflow_key(key) == expected
    _validate_param_name(expected)  # MLflow's own rule, here
    assert re.fullmatch(r"[/\w.\- ]*", expected, re.ASCII)  # and its rule on Windows (no colon)


def test_sessions_shorten_mlflow_s_requests_but_keep_the_user_s_settings(monkeypatch, capsys):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "4")  # the user's own
    with mlflow_store.session(10):
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "10"
        with mlflow_store.session(3):
            assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "3"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "10"
        with mlflow_store.session(1):
            assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "1"
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "4"
        print("View run ...")  # MLflow's link: on stderr
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ and os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "4"
    printed = capsys.readouterr()
    assert printed.out == "" and "View run" in printed.err


def test_a_refused_param_is_named(sqlite_uri):
    with mlflow_store.session(5):
        store = mlflow_store.Store.open(sqlite_uri, None)
        run_id = store.create_run("r", "r@0", {})
        with pytest.raises(DataError, match=r"refused the param 'model.layers\[0\].units'"):
            store.log_params(run_id, {"optimizer.lr": "0.1", "model.layers[0].units": "8"})


def test_a_run_whose_params_are_refused_exits_5_naming_the_key_and_ends_failed(sqlite_uri, monkeypatch):
    monkeypatch.setattr(mlflow_tracker, "params_of", lambda config: {"model.layers[0].units": "32"})  # unsanitised
    result = train("--run-dir", "run", "--mlflow", sqlite_uri)
    assert result.exit_code == 5 and "refused the param 'model.layers[0].units'" in result.stderr
    experiment = client(sqlite_uri).get_experiment_by_name("nnctl").experiment_id
    (run,) = client(sqlite_uri).search_runs([experiment])
    assert run.info.status == "FAILED"  # not RUNNING forever


@pytest.mark.parametrize("kind", ["folder", "closed port"])
def test_a_store_that_cannot_be_opened_fails_at_once_in_one_line(tmp_path, kind, capfd):
    uri = f"sqlite:///{tmp_path}" if kind == "folder" else f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = train("--run-dir", str(tmp_path / "run"), "--mlflow", uri)
    assert result.exit_code == 5 and time.monotonic() - started < 10  # was ~100 s of retries
    assert result.stderr.count("\n") == 1 and f"the MLflow tracking store {uri} cannot be used" in result.stderr
    assert capfd.readouterr().err == ""  # MLflow's own loggers (~40 warnings) said nothing either
    assert result.stdout == "" and not (tmp_path / "run" / "metrics.jsonl").exists()


# ---------------------------------------------------------------- a run in a local store


def test_defaults_follow_mlflow_and_logging_is_batched(sqlite_uri, tmp_path, monkeypatch):
    """No URI: MLflow's own default (sqlite:///mlflow.db here, what `mlflow ui` opens: the fixture
    made it, as MLflow would, but without its seconds of migrations); the experiment from
    MLFLOW_EXPERIMENT_NAME; system tags; one request for many epochs. Then MLFLOW_TRACKING_URI and
    MLFLOW_EXPERIMENT_ID."""
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    sent = []
    original = mlflow_store.Store.log_metrics
    monkeypatch.setattr(mlflow_store.Store, "log_metrics", lambda self, run_id, m: sent.append(len(m)) or
                        original(self, run_id, m))
    (tmp_path / "ml.db").unlink()
    result = train("--run-dir", "run", "--mlflow", "--set", "training.epochs=20")
    assert result.exit_code == 0, result.output
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = client(uri).get_run(run_id_of("run"))
    assert client(uri).get_experiment(run.info.experiment_id).name == "from-env"
    commit = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == commit.strip() and tags["mlflow.user"]
    assert tags["mlflow.source.name"].startswith("nnctl ") and tags["mlflow.source.type"] == "LOCAL"
    assert len(history(uri, run.info.run_id, "val_loss")) == 20
    assert len(sent) <= 3  # the 20 epochs in one or two requests (one per 2 s), then the summary; was 21

    other = f"sqlite:///{tmp_path / 'ml.db'}"  # MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID, as MLflow reads them
    shutil.copyfile(tmp_path / "mlflow.db", tmp_path / "ml.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", run.info.experiment_id)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    assert train("--run-dir", "run2", "--mlflow").exit_code == 0
    assert client(other).get_run(run_id_of("run2")).info.experiment_id == run.info.experiment_id
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "another")  # both, disagreeing: refused, as MLflow does
    refused = train("--run-dir", "run3", "--mlflow")
    assert refused.exit_code == 5 and "MLFLOW_EXPERIMENT_ID is" in refused.stderr


def test_a_slow_store_is_sent_to_less_often(sqlite_uri, monkeypatch):
    """Epochs wait for the next request, 2 s apart; one that took 0.25 s makes the next wait 20
    times that: sending takes at most a twentieth of the training."""
    sent = []
    monkeypatch.setattr(mlflow_store.Store, "log_metrics", lambda self, run_id, m: time.sleep(0.25) or sent.append(m))
    tracker = mlflow_tracker.MlflowTracker.__new__(mlflow_tracker.MlflowTracker)
    tracker.broken, tracker.logged, tracker.pending, tracker.run_id = False, set(), [], "r"
    with mlflow_store.session(5):
        tracker.store = mlflow_store.Store.open(sqlite_uri, None)
    tracker.flushed, tracker.interval = time.monotonic(), mlflow_tracker.FLUSH_SECONDS
    for epoch in range(1, 51):
        tracker.on_epoch_end({"epoch": epoch, "train_loss": 1.0})
    assert sent == [] and len(tracker.pending) == 50
    tracker.flush()
    assert [len(m) for m in sent] == [50] and tracker.interval >= 20 * 0.25


def test_summary_metrics_sort_as_nnctl_runs_does(sqlite_uri):
    result = train("--run-dir", "run", "--mlflow", sqlite_uri, "--set", "training.epochs=8")
    assert result.exit_code == 0, result.output
    status = json.loads(Path("run/run.json").read_text())
    best = next(r for r in records("run") if r["epoch"] == status["best_epoch"])
    metrics = client(sqlite_uri).get_run(run_id_of("run")).data.metrics
    assert metrics["best_epoch"] == status["best_epoch"] and metrics["checkpoint_epoch"] == status["checkpoint_epoch"]
    assert metrics["best_val_loss"] == pytest.approx(best["val_loss"])
    assert metrics["checkpoint_val_accuracy"] == pytest.approx(best["val_accuracy"])
    assert metrics["test_accuracy"] == pytest.approx(status["test"]["accuracy"])
    experiment = client(sqlite_uri).get_experiment_by_name("nnctl").experiment_id
    (model,) = client(sqlite_uri).search_logged_models([experiment])
    assert model.name == "model" and model.source_run_id == run_id_of("run") and str(model.status) == "READY"
    result = train("--run-dir", "run2", "--mlflow", sqlite_uri, "--set", "run.tracking.mlflow.log_model=false")
    assert result.exit_code == 0 and len(client(sqlite_uri).search_logged_models([experiment])) == 1


def test_a_stopped_run_resumed_and_replayed_has_each_point_once(sqlite_uri, tmp_path):
    """Stopped by a signal after epoch 3 (KILLED), resumed (the same MLflow run), replayed twice:
    every metric has one point per epoch, and the replays add nothing."""
    cfg = api.load_config(MOONS, ["training.epochs=6", "data.n_samples=300", f"run.tracking.mlflow.uri={sqlite_uri}"])
    seen = []
    with pytest.raises(api.NnctlError):
        api.train(cfg, run_dir="run", plots=False, on_epoch=seen.append,
                  stop=lambda: signal.SIGTERM if len(seen) == 3 else None)
    run_id = run_id_of("run")
    assert client(sqlite_uri).get_run(run_id).info.status == "KILLED"
    api.resume("run", plots=False)
    assert run_id_of("run") == run_id
    for _ in range(2):  # twice: the second adds nothing either
        result = CliRunner().invoke(main, ["track", "run", "--json"])
        assert result.exit_code == 0, result.output
        replayed = json.loads(result.stdout)
        assert replayed["run_id"] == run_id and replayed["points_added"] == 0 and not replayed["created"]
    run = client(sqlite_uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["nnctl.status"] == "finished"
    assert history(sqlite_uri, run_id, "train_loss") == [(r["epoch"], pytest.approx(r["train_loss"]))
                                                        for r in records("run")]


def test_a_run_killed_by_sigkill_resumes_and_replays_without_duplicates(sqlite_uri, tmp_path):
    """kill -9 after MLflow got epochs the folder had not saved: the resumed run trains them again
    (to the same bits) and MLflow keeps one point per epoch; `nnctl track` then adds nothing."""
    code = ("import os, signal, sys; from nnctl import api; from nnctl.runs import mlflow_tracker\n"
            "mlflow_tracker.FLUSH_SECONDS, mlflow_tracker.FLUSH_SHARE = 0, 0\n"
            f"cfg = api.load_config({MOONS!r}, ['training.epochs=6', 'data.n_samples=300', "
            "'training.save_interval=3600',"
            f" 'run.tracking.mlflow.uri={sqlite_uri}'])\n"
            "api.train(cfg, run_dir='run', plots=False,"
            " on_epoch=lambda r: r['epoch'] == 4 and os.kill(os.getpid(), signal.SIGKILL))\n")
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # run.json was not rewritten since the run started: the resume finds the MLflow run by its tag
    (found,) = client(sqlite_uri).search_runs([client(sqlite_uri).get_experiment_by_name("nnctl").experiment_id])
    run_id = found.info.run_id
    assert [s for s, _ in history(sqlite_uri, run_id, "val_loss")] == [1, 2, 3, 4]
    assert not Path("run/metrics.jsonl").exists()  # nothing saved yet: the resume trains again from epoch 1
    result = CliRunner().invoke(main, ["train", "--resume", "run", "-q", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert run_id_of("run") == run_id
    assert history(sqlite_uri, run_id,
                   "val_loss") == [(r["epoch"], pytest.approx(r["val_loss"])) for r in records("run")]
    result = CliRunner().invoke(main, ["track", "run", "--json"])
    assert json.loads(result.stdout)["points_added"] == 0


# ---------------------------------------------------------------- a server over HTTP


def test_the_shipped_sweep_logs_a_parent_with_the_best_trial(mlflow_server, tmp_path):
    spec = yaml.safe_load((ROOT / "configs" / "sweep_moons.yaml").read_text())
    base = yaml.safe_load(Path(MOONS).read_text())
    base["training"]["epochs"], base["data"]["n_samples"] = 3, 300
    base["run"] = {"tracking": {"mlflow": {"uri": mlflow_server, "experiment": "sweeps"}}}
    spec.update(base=base, trials=2, output_dir=str(tmp_path / "out"), name="shipped")
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "sweep.yaml"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)  # nothing of MLflow's on stdout
    mlflow = client(mlflow_server)
    experiment = mlflow.get_experiment_by_name("sweeps")
    runs = mlflow.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if r.info.run_name == "shipped")
    assert parent.info.status == "FINISHED"
    assert json.loads(parent.data.params["model.layers.0.units"]) == [8, 16, 32, 64]  # refused as layers[0]
    best = board["best"]
    assert parent.data.tags["nnctl.best_trial"] == best["trial"]
    assert parent.data.tags["nnctl.best_run_id"] == run_id_of(best["run_dir"])
    assert parent.data.metrics["best_val_loss"] == pytest.approx(best["val_loss"])
    for row in board["leaderboard"]:  # the UI sorts the trials as the leaderboard ranks them
        child = mlflow.get_run(run_id_of(row["run_dir"]))
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.metrics["checkpoint_val_loss"] == pytest.approx(row["val_loss"])


def test_the_parent_run_ends_failed_when_the_sweep_fails_after_it_started(sqlite_uri, tmp_path, monkeypatch):
    from nnctl.sweep import runner

    base = yaml.safe_load(Path(MOONS).read_text())
    base["run"] = {"tracking": {"mlflow": {"uri": sqlite_uri}}}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"base": base, "name": "broken", "output_dir": "out",
                                                         "parameters": {"optimizer.lr": [0.01, 0.1]}}))

    def broken(*args):
        raise OSError("the disk is full")

    monkeypatch.setattr(runner, "write_leaderboard", broken)
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "sweep.yaml"), "-q"])
    assert result.exit_code == 1
    experiment = client(sqlite_uri).get_experiment_by_name("nnctl").experiment_id
    parent = next(r for r in client(sqlite_uri).search_runs([experiment]) if r.info.run_name == "broken")
    assert parent.info.status == "FAILED"  # was RUNNING forever


def test_a_server_that_stops_answering_mid_run_costs_seconds(mlflow_server, tmp_path, monkeypatch, capsys):
    """The relay between nnctl and the server swallows every byte from epoch 3 on: training ends in
    about one request's timeout, the folder is whole, the MLflow run is ended FAILED once the server
    is back, and `nnctl track` then completes it."""
    monkeypatch.setattr(mlflow_tracker, "FLUSH_SECONDS", 0.0)  # a request every epoch
    monkeypatch.setattr(mlflow_tracker, "FLUSH_SHARE", 0)
    monkeypatch.setattr(mlflow_tracker, "LOGGING_SECONDS", 1)
    relay = Relay(int(mlflow_server.rsplit(":", 1)[1]))
    uri = f"http://127.0.0.1:{relay.port}"
    cfg = api.load_config(MOONS, ["training.epochs=8", "data.n_samples=300", f"run.tracking.mlflow.uri={uri}"])

    def outage(record):
        relay.mode = "hang" if 2 <= record["epoch"] < 8 else "up"

    started = time.monotonic()
    try:
        result = api.train(cfg, run_dir=tmp_path / "run", plots=False, on_epoch=outage)
    finally:
        relay.close()
    assert time.monotonic() - started < 10  # one timed-out request; MLflow's defaults: ~4 minutes
    assert len(result["history"]) == 8 and (tmp_path / "run" / "checkpoint.json").is_file()
    said = [line for line in capsys.readouterr().err.splitlines() if "MLflow tracking failed" in line]
    assert len(said) == 1 and f"{uri}: no answer within 1 s" in said[0] and "nnctl track RUN_DIR" in said[0]
    run_id = run_id_of(tmp_path / "run")
    run = client(mlflow_server).get_run(run_id)
    assert run.info.status == "FAILED" and run.data.tags["nnctl.tracking"].startswith("incomplete")
    assert [s for s, _ in history(mlflow_server, run_id, "val_loss")] == [1, 2]
    replayed = CliRunner().invoke(main, ["track", str(tmp_path / "run"), "--mlflow", mlflow_server, "--json"])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["run_id"] == run_id  # found by its tag: run.json names the relay's URI
    assert [s for s, _ in history(mlflow_server, run_id, "val_loss")] == list(range(1, 9))
    assert client(mlflow_server).get_run(run_id).info.status == "FINISHED"


def test_json_stays_alone_on_stdout_and_the_model_loads_registers_and_serves(mlflow_server, tmp_path, monkeypatch):
    import pandas as pd

    result = train("--run-dir", str(tmp_path / "run"), "--mlflow", mlflow_server, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_dir"] == str(tmp_path / "run")  # MLflow printed "View run ..." here
    assert "View run" in result.stderr
    run_id = run_id_of(tmp_path / "run")
    ckpt = api.load_checkpoint(tmp_path / "run" / "checkpoint.json")
    rows = np.array([[0.5, 0.25], [-1.0, 0.5], [2.0, -0.3]])
    want = api.predict(ckpt, rows)
    frame = pd.DataFrame({"x1": rows[:, 1], "x0": rows[:, 0]})  # matched by name, not by place
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow

        model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
        got = model.predict(frame)
        assert [c.name for c in model.metadata.signature.inputs.inputs] == ["x0", "x1"]
        assert model.metadata.saved_input_example_info is not None
        version = mlflow.register_model(f"runs:/{run_id}/model", "nnctl-moons")
        registered = mlflow.pyfunc.load_model(f"models:/nnctl-moons/{version.version}").predict(frame)
    assert list(got.columns) == ["label", "probability_0", "probability_1"]
    assert got["label"].tolist() == [ckpt.classes[i] for i in want.argmax(axis=1)]
    np.testing.assert_allclose(got[["probability_0", "probability_1"]].to_numpy(), want, atol=1e-6)
    assert registered.equals(got)
    port = free_port()
    shims = tmp_path / "bin"  # `mlflow models serve` runs `uvicorn`: this Python's, whatever PATH says
    shims.mkdir()
    (shims / "uvicorn").write_text(f'#!/bin/sh\nexec {sys.executable} -m uvicorn "$@"\n')
    (shims / "uvicorn").chmod(0o755)
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    with open(tmp_path / "serve.log", "w") as log, process(
            ["models", "serve", "-m", f"runs:/{run_id}/model", "--env-manager", "local", "-h", "127.0.0.1", "-p", port],
            f"http://127.0.0.1:{port}/ping", tmp_path, log, env=env):
        import urllib.request

        body = json.dumps({"dataframe_split": {"columns": ["x1", "x0"], "data": rows[:, ::-1].tolist()}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            served = json.loads(answer.read())["predictions"]
    assert [p["label"] for p in served] == got["label"].tolist()
    np.testing.assert_allclose([p["probability_1"] for p in served], want[:, 1], atol=1e-6)


TINY_CNN = """\
seed: 0
data: {name: digits}
model:
  layers:
    - {type: conv2d, filters: 4, kernel_size: 3, padding: same, activation: relu}
    - {type: maxpool2d}
    - {type: flatten}
    - {units: 10, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.01}
training: {epochs: 1}
"""


def test_a_conv_run_logs_a_model_that_predicts_its_images(sqlite_uri, tmp_path, monkeypatch):
    """The logged MLflow model of a convolutional network (the NumPy export inside) takes its
    images as rows of named pixels, x0 ... x63, and gives nnctl's classes."""
    import pandas as pd

    (tmp_path / "cnn.yaml").write_text(TINY_CNN)
    result = CliRunner().invoke(main, ["train", "cnn.yaml", "-q", "--no-plots", "--run-dir", "run", "--mlflow",
                                       sqlite_uri])
    assert result.exit_code == 0, result.output
    ckpt = api.load_checkpoint(tmp_path / "run" / "checkpoint.json")
    x = data.load(ckpt.config.data, ckpt.config.seed, "float64", preprocessing={"scaling": "none"}).x_test[:40]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow

        model = mlflow.pyfunc.load_model(f"runs:/{run_id_of(tmp_path / 'run')}/model")
        got = model.predict(pd.DataFrame(x, columns=[f"x{i}" for i in range(64)]))
    assert [c.name for c in model.metadata.signature.inputs.inputs] == [f"x{i}" for i in range(64)]
    expected = api.predictions(ckpt, x)
    assert got["label"].tolist() == [ckpt.classes[i] for i in expected["predicted"]]
    np.testing.assert_allclose(got[[f"probability_{c}" for c in ckpt.classes]].to_numpy(), expected["probabilities"],
                               atol=1e-5)
