"""TensorBoard's event files, read back with TensorBoard's own reader; what both trackers share.
(MLflow, with a real server: test_mlflow.py.)"""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from helpers.tensorboard import events

from nnctl import api
from nnctl.cli import main

MOONS = str(Path(__file__).resolve().parents[2] / "configs" / "moons.yaml")


def train(*args):
    return CliRunner().invoke(main, ["train", MOONS, "-q", "--no-plots", "--set", "training.epochs=3",
                                     "--set", "data.n_samples=300", *args])


def records(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def tensorboard_run(tmp_path_factory):
    pytest.importorskip("tensorboard")
    run_dir = tmp_path_factory.mktemp("tb") / "run"
    result = train("--run-dir", str(run_dir), "--tensorboard")
    assert result.exit_code == 0, result.output
    return run_dir


def test_train_and_validation_curves_share_their_tags_and_equal_the_metrics(tensorboard_run):
    """Keras' layout: train/ and validation/ runs with the same tags, so TensorBoard overlays them."""
    logged = records(tensorboard_run)
    train_events, validation = events(tensorboard_run / "tensorboard" / "train"), \
        events(tensorboard_run / "tensorboard" / "validation")
    for run, key, tag in ((train_events, "train_loss", "epoch_loss"), (validation, "val_loss", "epoch_loss"),
                          (train_events, "train_accuracy", "epoch_accuracy"),
                          (validation, "val_accuracy", "epoch_accuracy"),
                          (train_events, "lr", "epoch_learning_rate"),
                          (train_events, "layers.0.grad_norm", "layers.0.grad_norm")):
        assert [(e.step, e.value) for e in run.Scalars(tag)] == [(r["epoch"], pytest.approx(r[key], rel=1e-6))
                                                                 for r in logged]
    assert "epoch_learning_rate" not in validation.Tags()["scalars"]


def test_the_test_scores_sit_at_the_checkpoint_s_epoch(tensorboard_run):
    status = json.loads((tensorboard_run / "run.json").read_text())
    test = events(tensorboard_run / "tensorboard" / "test")
    assert [(e.step, e.value) for e in test.Scalars("epoch_accuracy")] == \
        [(status["checkpoint_epoch"], pytest.approx(status["test"]["accuracy"]))]
    assert [e.step for e in test.Scalars("epoch_loss")] == [status["checkpoint_epoch"]]


def test_an_hparams_session_per_run(tensorboard_run):
    """The HParams tab: the run's settings as hparams, its outcome as the session's end."""
    from tensorboard.plugins.hparams import api_pb2, metadata

    root = events(tensorboard_run / "tensorboard", tensors=0)
    content = root.PluginTagToContent(metadata.PLUGIN_NAME)
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    assert start.group_name == tensorboard_run.name
    assert start.hparams["optimizer.lr"].number_value == pytest.approx(0.01)
    assert start.hparams["optimizer.name"].string_value == "adam"
    assert start.hparams["model.layers[0].units"].number_value == 32 and "run.output_dir" not in start.hparams
    end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
    assert end.status == api_pb2.STATUS_SUCCESS


def test_histograms_of_each_dense_layers_weights_and_gradient(tensorboard_run):
    histograms = events(tensorboard_run / "tensorboard" / "train", histograms=0)
    assert {"layers.0.W", "layers.0.W/grad"} <= set(histograms.Tags()["histograms"])
    weights = histograms.Histograms("layers.0.W")
    assert [h.step for h in weights] == [1, 2, 3]
    last = weights[-1].histogram_value
    assert last.num == sum(last.bucket) > 0 and last.min <= last.max
    assert [h.step for h in histograms.Histograms("layers.0.W/grad")] == [1, 2, 3]


def test_a_resumed_run_s_points_replace_those_a_killed_run_wrote_past_its_last_save(tmp_path, monkeypatch):
    """After kill -9, epochs 3-4 were in the event files but not in last.json: the resumed run logs
    them again, and TensorBoard shows each epoch once, the resumed run's."""
    pytest.importorskip("tensorboard")
    import time

    from tensorboard.summary.writer import event_file_writer

    from nnctl.runs.tensorboard_tracker import TensorBoardTracker

    cfg = api.load_config(MOONS)
    run = SimpleNamespace(path=tmp_path, history=[], status={"status": "finished", "test": {}})
    killed = TensorBoardTracker(cfg, run, None)
    for epoch in range(1, 5):
        killed.on_epoch_end({"epoch": epoch, "train_loss": float(epoch), "val_loss": float(epoch)})
    killed.end(run)
    run.history = [{"epoch": 1}, {"epoch": 2}]  # what last.json held
    # the resumed process starts later, so its event files sort after the killed one's (their names
    # hold the second they were made, then a per-process counter TensorBoard compares as text)
    later = time.time() + 2
    monkeypatch.setattr(event_file_writer, "time", SimpleNamespace(time=lambda: later))
    resumed = TensorBoardTracker(cfg, run, None)
    for epoch in range(3, 6):
        resumed.on_epoch_end({"epoch": epoch, "train_loss": 10.0 * epoch, "val_loss": 10.0 * epoch})
    resumed.end(run)
    for folder in ("train", "validation"):
        points = [(e.step, e.value) for e in events(tmp_path / "tensorboard" / folder).Scalars("epoch_loss")]
        assert points == [(1, 1.0), (2, 2.0), (3, 30.0), (4, 40.0), (5, 50.0)]


@pytest.mark.parametrize("package, option", [("mlflow", "--mlflow"), ("tensorboard", "--tensorboard")])
def test_a_missing_package_exits_5_naming_the_extra(tmp_path, monkeypatch, package, option):
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")] + [package]:
        monkeypatch.setitem(sys.modules, name, None)  # imported ones too: as if never installed
    result = train("--run-dir", str(tmp_path / "run"), option)
    assert result.exit_code == 5
    assert f"nnctl[{package}]" in result.output


@pytest.mark.slow
def test_each_sweep_trial_is_an_hparams_session(tmp_path):
    """`tensorboard --logdir SWEEP_DIR`: one HParams session per trial, with the swept value."""
    pytest.importorskip("tensorboard")
    import yaml
    from tensorboard.plugins.hparams import metadata

    base = yaml.safe_load(Path(MOONS).read_text())
    base["training"]["epochs"], base["data"]["n_samples"] = 2, 200
    base["run"] = {"tracking": {"tensorboard": True}}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"base": base, "name": "tb",
                                                         "output_dir": str(tmp_path / "out"),
                                                         "parameters": {"optimizer.lr": [0.01, 0.1]}}))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "sweep.yaml"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    sessions = {}
    for row in json.loads(result.stdout)["leaderboard"]:
        content = events(Path(row["run_dir"]) / "tensorboard", tensors=0).PluginTagToContent(metadata.PLUGIN_NAME)
        start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
        sessions[start.group_name] = start.hparams["optimizer.lr"].number_value
    assert sorted(sessions.values()) == [0.01, 0.1] and set(sessions) == {r["trial"] for r in
                                                                          json.loads(result.stdout)["leaderboard"]}
