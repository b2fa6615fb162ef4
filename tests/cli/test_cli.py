"""Each command through click's CliRunner: output, --json, exit codes, no tracebacks."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import __version__
from nnctl.cli import main

CONFIG = moons_yaml(optimizer={"lr": 0.01}, training={"epochs": 5}, run={"output_dir": "OUT"})


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.fixture()
def config_file(tmp_path):
    path = tmp_path / "moons.yaml"
    path.write_text(CONFIG.replace("OUT", str(tmp_path / "runs")))
    return path


def invoke(runner, *args):
    result = runner.invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_version_and_help(runner):
    assert __version__ in invoke(runner, "--version").output
    for command in ([], ["train"], ["eval"], ["summary"]):
        result = invoke(runner, *command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.slow
def test_train_eval_summary_json(runner, config_file, tmp_path):
    result = invoke(runner, "train", config_file, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    run_dir = Path(out["run_dir"])
    assert run_dir.parent == tmp_path / "runs" and run_dir.name.startswith("moons-")
    assert {"config.yaml", "metrics.jsonl", "metrics.csv", "checkpoint.json", "last.json",
            "run.json"} <= {p.name for p in run_dir.iterdir()}
    assert out["epochs"] == 5 and 0.5 < out["test"]["accuracy"] <= 1
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 5
    assert (run_dir / "metrics.csv").read_text().splitlines()[0].startswith("epoch,train_loss")
    assert "epoch 5/5" in result.stderr  # progress goes to stderr, stdout is only the JSON
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"

    result = invoke(runner, "eval", out["checkpoint"], "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["split"] == "test" and scores["n"] == out["test"]["n"]
    assert scores["accuracy"] == pytest.approx(out["test"]["accuracy"])
    assert sum(map(sum, scores["confusion_matrix"])) == scores["n"]

    val = json.loads(invoke(runner, "eval", out["checkpoint"], "--split", "val", "--json").stdout)
    assert val["split"] == "val" and val["n"] == 24

    text = invoke(runner, "eval", out["checkpoint"]).output
    assert "precision" in text and "confusion matrix" in text

    for source in (config_file, out["checkpoint"]):
        info = json.loads(invoke(runner, "summary", source, "--json").stdout)
        assert info["total_params"] == 2 * 16 + 16 + 16 * 2 + 2


@pytest.mark.slow
def test_train_human_output_and_quiet(runner, config_file):
    result = invoke(runner, "train", config_file, "--quiet")
    assert result.exit_code == 0
    assert result.stdout == ""  # everything on stderr: stdout is for --json only
    assert all(part in result.stderr for part in ("done in ", "test loss", "checkpoint.json holds epoch"))
    assert "run folder:" not in result.stderr and "epoch 1/" not in result.stderr  # quiet: no header, no epoch lines


@pytest.mark.slow
def test_run_dir_option(runner, config_file, tmp_path):
    result = invoke(runner, "train", config_file, "--run-dir", tmp_path / "mine", "-q")
    assert result.exit_code == 0
    assert (tmp_path / "mine" / "checkpoint.json").exists()
    again = invoke(runner, "train", config_file, "--run-dir", tmp_path / "mine", "-q")
    assert again.exit_code == 1 and "not empty" in again.stderr


def test_summary_matches_keras_for_breast_cancer(runner, tmp_path):
    result = invoke(runner, "summary", "configs/breast_cancer.yaml")
    assert result.exit_code == 0
    for count in ("3,968", "8,256", "2,080", "33", "Total params: 14,337"):
        assert count in result.output
    assert "Layer (type)" in result.output and "Output Shape" in result.output and "Param #" in result.output


def test_bad_config_exits_3(runner, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(CONFIG.replace("activation: relu", "activation: relu6"))
    result = invoke(runner, "train", path)
    assert result.exit_code == 3
    assert "bad.yaml:5" in result.stderr and "model.layers[0].activation" in result.stderr
    assert not (tmp_path / "OUT").exists() and not (tmp_path / "runs").exists()  # nothing created


def test_bad_checkpoint_exits_4(runner, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "nnctl-checkpoint"')
    for command in ("eval", "summary"):
        result = invoke(runner, command, path)
        assert result.exit_code == 4 and "broken.json" in result.stderr


def test_missing_data_exits_5(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNCTL_DATA_DIR", raising=False)
    path = tmp_path / "mnist.yaml"
    path.write_text(Path("configs/mnist.yaml").read_text() + f"run: {{output_dir: {tmp_path / 'runs'}}}\n")
    path.write_text(path.read_text().replace("val_fraction: 0.1", f"val_fraction: 0.1\n  path: {tmp_path / 'nowhere'}"))
    result = invoke(runner, "train", path)
    assert result.exit_code == 5 and "nowhere" in result.stderr


def test_diverging_training_exits_6(runner, tmp_path):
    path = tmp_path / "wild.yaml"
    path.write_text(CONFIG.replace("OUT", str(tmp_path / "runs"))
                    .replace("{name: adam, lr: 0.01}", "{name: sgd, lr: 1.0e+30}")
                    .replace("loss: cross_entropy", "loss: mse"))
    result = invoke(runner, "train", path, "-q")
    assert result.exit_code == 6, result.output
    assert "diverged" in result.stderr and "learning rate" in result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "diverged"


def test_usage_error_exits_2(runner):
    assert invoke(runner, "train").exit_code == 2
    assert invoke(runner, "eval", "x.json", "--split", "nope").exit_code == 2


def test_validation_overflow_is_a_divergence():
    # finite weights, finite training loss, but validation rows so large that their loss overflows
    from types import SimpleNamespace

    import numpy as np

    from nnctl.engine.losses import LOSSES
    from nnctl.engine.model import build
    from nnctl.engine.optimizers import SGD
    from nnctl.engine.train import fit
    from nnctl.errors import TrainingDiverged

    rng = np.random.default_rng(0)
    model = build([dict(units=1, activation="linear", initializer="glorot_uniform")], 2, rng, "float32")
    data = SimpleNamespace(x_train=rng.normal(size=(32, 2)).astype("float32"), y_train=rng.integers(0, 2, 32),
                           x_val=np.full((8, 2), 3e38, dtype="float32"), y_val=np.zeros(8, dtype=np.int64),
                           task="classification", target_scale=1.0)
    with pytest.raises(TrainingDiverged, match="val_loss became inf"):
        fit(model, LOSSES["mse"], SGD(lr=0.01), data, epochs=1, batch_size=8, shuffle=False, seed=0)
