"""MLflow and TensorBoard trackers, with the real packages: what a run logs, read back."""

import json
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnctl.cli import main

MOONS = str(Path(__file__).resolve().parents[2] / "configs" / "moons.yaml")


def train(*args):
    return CliRunner().invoke(main, ["train", MOONS, "-q", "--no-plots", "--set", "training.epochs=3",
                                     "--set", "data.n_samples=300", *args])


def records(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_mlflow_logs_params_metrics_artifacts_and_a_resume_continues_the_same_run(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # a SQLite store keeps its artifacts in ./mlruns
    uri, run_dir = f"sqlite:///{tmp_path / 'ml.db'}", tmp_path / "run"
    result = train("--run-dir", str(run_dir), "--mlflow", uri)
    assert result.exit_code == 0, result.output
    status = json.loads((run_dir / "run.json").read_text())
    run_id = status["tracking"]["mlflow"]["run_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient
        client = MlflowClient(tracking_uri=uri)
        logged = client.get_run(run_id)
        history = client.get_metric_history(run_id, "val_loss")
        artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert logged.data.params["optimizer.lr"] == "0.01"
    assert logged.data.params["model.layers.0.units"] == "32"
    assert logged.data.params["run.tracking.mlflow.uri"] == uri
    assert logged.data.tags["nnctl.status"] == "finished" and logged.info.status == "FINISHED"
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == \
        [(r["epoch"], pytest.approx(r["val_loss"])) for r in records(run_dir)]
    assert "test_accuracy" in logged.data.metrics and "lr" in logged.data.metrics
    assert {"config.yaml", "checkpoint.json", "run.json"} <= artifacts

    # interrupted halfway is hard to stage here: a finished run resumed with more epochs keeps its id
    result = CliRunner().invoke(main, ["train", MOONS, "-q", "--no-plots", "--set", "training.epochs=3",
                                       "--set", "data.n_samples=300", "--mlflow", uri, "--resume", str(run_dir)])
    status = json.loads((run_dir / "run.json").read_text())
    assert status["tracking"]["mlflow"]["run_id"] == run_id


@pytest.mark.slow
def test_tensorboard_scalars_equal_the_metrics(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    result = train("--run-dir", str(run_dir), "--tensorboard")
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = EventAccumulator(str(run_dir / "tensorboard"))
        events.Reload()
    logged = records(run_dir)
    for key in ("train_loss", "val_loss", "val_accuracy", "lr"):
        assert [(e.step, e.value) for e in events.Scalars(key)] == \
            [(r["epoch"], pytest.approx(r[key], rel=1e-6)) for r in logged]


def test_tensorboard_histograms_of_each_dense_layers_weights_and_gradient(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    result = train("--run-dir", str(run_dir), "--tensorboard", "--set", "training.epochs=2")
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"histograms": 0})
        events.Reload()
    tags = set(events.Tags()["histograms"])
    assert {"layers.0.W", "layers.0.W/grad"} <= tags
    weights = events.Histograms("layers.0.W")
    assert [h.step for h in weights] == [1, 2]
    last = weights[-1].histogram_value
    assert last.num == sum(last.bucket) > 0 and last.min <= last.max
    assert [h.step for h in events.Histograms("layers.0.W/grad")] == [1, 2]


def test_an_unreachable_mlflow_server_fails_before_training(tmp_path):
    pytest.importorskip("mlflow")
    run_dir = tmp_path / "run"
    result = train("--run-dir", str(run_dir), "--mlflow", "http://127.0.0.1:9")
    assert result.exit_code == 5
    assert "http://127.0.0.1:9 cannot be used" in result.output
    assert not (run_dir / "metrics.jsonl").exists()


@pytest.mark.parametrize("package, option", [("mlflow", "--mlflow"), ("tensorboard", "--tensorboard")])
def test_a_missing_package_exits_5_naming_the_extra(tmp_path, monkeypatch, package, option):
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")] + [package]:
        monkeypatch.setitem(sys.modules, name, None)  # imported ones too: as if never installed
    result = train("--run-dir", str(tmp_path / "run"), option)
    assert result.exit_code == 5
    assert f"nnctl[{package}]" in result.output
