"""Training with the toolbox: schedules, early stopping, clipping, dropout and batchnorm, end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import api, config
from nnctl.cli import main
from nnctl.errors import ConfigError

BASE = {"seed": 0, "data": {"name": "moons", "n_samples": 300, "noise": 0.15},
        "model": {"layers": [{"units": 16, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
        "loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1}, "training": {"epochs": 6}}


def cfg_with(**training):
    raw = json.loads(json.dumps(BASE))
    raw["training"].update(training)
    return raw


def train(tmp_path, raw, name="run"):
    return api.train(config.from_dict(raw), run_dir=tmp_path / name)


@pytest.mark.slow
def test_the_scheduled_lr_is_the_one_used_and_logged(tmp_path):
    result = train(tmp_path, cfg_with(schedule={"name": "step", "step_size": 2, "gamma": 0.5}))
    assert [r["lr"] for r in result["history"]] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    logged = [json.loads(line)["lr"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert logged == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


@pytest.mark.slow
def test_reduce_on_plateau_cuts_the_rate_in_a_real_run(tmp_path):
    raw = cfg_with(epochs=12, schedule={"name": "reduce_on_plateau", "monitor": "train_loss", "patience": 1,
                                        "factor": 0.5, "min_delta": 10.0})  # nothing counts as better
    lrs = [r["lr"] for r in train(tmp_path, raw)["history"]]
    assert lrs[:4] == [0.1, 0.1, 0.05, 0.025]


@pytest.mark.slow
def test_early_stopping_stops_restores_and_reports(tmp_path):
    raw = cfg_with(epochs=50, early_stopping={"monitor": "val_loss", "patience": 2, "min_delta": 0.5})
    result = train(tmp_path, raw)
    # min_delta 0.5 on a loss below 1: only the first epoch counts, so it stops at epoch 3
    assert result["epochs"] == 3 and result["best_epoch"] == 1 and result["checkpoint_epoch"] == 1
    assert result["early_stopping"] == {"monitor": "val_loss", "mode": "min", "best": result["history"][0]["val_loss"],
                                        "best_epoch": 1, "stopped_epoch": 3, "restored_best": True}
    ckpt = api.load_checkpoint(result["checkpoint"])
    assert ckpt.epoch == 1
    assert api.evaluate_checkpoint(result["checkpoint"])["loss"] == pytest.approx(result["test"]["loss"])
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["early_stopping"]["stopped_epoch"] == 3


@pytest.mark.slow
def test_without_restore_best_the_run_ends_with_the_last_weights(tmp_path):
    raw = cfg_with(epochs=50, early_stopping={"patience": 2, "min_delta": 0.5, "restore_best": False})
    result = train(tmp_path, raw)
    assert result["checkpoint_epoch"] == 3 and api.load_checkpoint(result["checkpoint"]).epoch == 3
    assert api.evaluate_checkpoint(result["checkpoint"])["loss"] == pytest.approx(result["test"]["loss"])


@pytest.mark.slow
def test_cli_reports_early_stopping(tmp_path):
    raw = cfg_with(epochs=50, early_stopping={"patience": 2, "min_delta": 0.5})
    raw["run"] = {"output_dir": str(tmp_path / "runs")}
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(raw))  # JSON is YAML
    result = CliRunner().invoke(main, ["train", str(path), "-q"])
    assert result.exit_code == 0, result.output
    assert "early stop:  stopped at epoch 3; best val_loss" in result.output
    assert "restored the weights of epoch 1" in result.output


@pytest.mark.slow
def test_clipping_bounds_every_step(tmp_path):
    # with lr 1 and a norm of at most 1e-3, no weight can move more than 1e-3 per step
    raw = cfg_with(epochs=1, clip_norm=0.001, shuffle=False)
    raw["optimizer"] = {"name": "sgd", "lr": 1.0}
    raw["data"]["val_fraction"] = 0.0
    cfg = config.from_dict(raw)
    rng = np.random.default_rng(cfg.seed)
    from nnctl.engine.model import build
    start = build(config.plain(cfg.model.layers), 2, rng).params()
    result = api.train(cfg, run_dir=tmp_path / "b")
    end = api.load_checkpoint(result["last_checkpoint"]).model.params()
    n_steps = -(-len(api.load_data(cfg).y_train) // 32)
    moved = np.sqrt(sum(float(((end[k] - start[k]) ** 2).sum()) for k in start))
    assert 0 < moved <= n_steps * 0.001 * 1.0001


@pytest.mark.slow
def test_batchnorm_and_dropout_train_and_round_trip_through_a_checkpoint(tmp_path):
    raw = cfg_with(epochs=4)
    raw["model"]["layers"] = [{"units": 16}, {"type": "batchnorm", "activation": "relu"},
                              {"type": "dropout", "rate": 0.2},
                              {"units": 2, "activation": "softmax"}]
    result = train(tmp_path, raw)
    ckpt = api.load_checkpoint(result["checkpoint"])
    stats = ckpt.model.buffers()
    assert set(stats) == {"layers.1.running_mean", "layers.1.running_var"}
    assert not np.allclose(stats["layers.1.running_mean"], 0)  # the statistics were learnt and saved
    doc = json.loads(Path(result["checkpoint"]).read_text())
    assert {"layers.1.running_mean", "layers.1.running_var", "layers.1.gamma", "layers.1.beta"} <= set(doc["state"])
    x = np.random.default_rng(0).normal(size=(20, 2))
    np.testing.assert_array_equal(api.predict(ckpt, x), api.predict(api.load_checkpoint(result["checkpoint"]), x))
    assert api.evaluate_checkpoint(result["checkpoint"])["accuracy"] == pytest.approx(result["test"]["accuracy"])


@pytest.mark.parametrize("training,fragment", [
    ({"early_stopping": {"monitor": "val_r2"}}, "val_r2 is a regression metric"),
    ({"early_stopping": {"monitor": "val_acuracy"}}, "did you mean 'val_accuracy'"),
    ({"early_stopping": {"patience": 0}}, "training.early_stopping.patience"),
    ({"schedule": {"name": "cosine", "warmup_epochs": 6}}, "warm-up (6 epochs) must be shorter"),
    ({"schedule": {"name": "cosin"}}, "did you mean 'cosine'"),
    ({"schedule": {"name": "step", "gama": 0.5}}, "did you mean 'gamma'"),
    ({"clip_norm": 0}, "training.clip_norm"),
])
def test_training_config_errors(training, fragment):
    with pytest.raises(ConfigError) as e:
        config.from_dict(cfg_with(**training))
    assert fragment in str(e.value)


def test_val_monitor_needs_a_validation_split():
    raw = cfg_with(early_stopping={"monitor": "val_loss"})
    raw["data"]["val_fraction"] = 0.0
    with pytest.raises(ConfigError, match="needs a validation split"):
        config.from_dict(raw)


def test_cosine_epochs_default_to_the_training_epochs():
    cfg = config.from_dict(cfg_with(schedule={"name": "cosine"}))
    assert cfg.training.schedule.epochs == 6
    assert config.from_dict(cfg.model_dump(mode="json")) == cfg  # the resolved config round-trips


@pytest.mark.slow
def test_dropout_runs_repeat_bit_for_bit(tmp_path):
    raw = cfg_with(epochs=2)
    raw["model"]["layers"].insert(1, {"type": "dropout", "rate": 0.3})
    first, second = (train(tmp_path, raw, name) for name in ("a", "b"))
    a, b = (json.loads(Path(r["last_checkpoint"]).read_text()) for r in (first, second))
    assert a["state"] == b["state"]
    raw["seed"] = 1
    assert json.loads(Path(train(tmp_path, raw, "c")["last_checkpoint"]).read_text())["state"] != a["state"]
