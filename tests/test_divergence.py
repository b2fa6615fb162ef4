"""A loss or weights gone NaN/inf: stop at once, keep the last good checkpoint, exit 6, say why."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import api
from nnctl.cli import main
from nnctl.losses import LOSSES, Loss

CONFIG = """\
seed: 4
data: {name: moons, n_samples: 300}
model:
  layers:
    - {units: 8, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.01}
training: {epochs: 5, batch_size: 32}
"""


def test_loss_going_infinite_in_epoch_3_keeps_epoch_2(tmp_path, monkeypatch):
    real, calls = LOSSES["cross_entropy"], []

    def value_and_grad(z, y):  # 7 training batches and one validation pass an epoch
        calls.append(1)
        value, dz = real.value_and_grad(z, y)
        return (np.inf if len(calls) == 17 else value), dz

    monkeypatch.setitem(LOSSES, "cross_entropy", Loss(value_and_grad, fused=real.fused))
    (tmp_path / "c.yaml").write_text(CONFIG)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(run_dir), "-q"])
    assert result.exit_code == 6 and "Traceback" not in result.output
    message = result.stderr
    assert "epoch 3, batch 1: the loss became inf" in message
    assert "optimizer.lr is 0.01" in message and "largest absolute input is" in message
    assert "last.json holds the last good epoch" in message
    last = api.load_checkpoint(run_dir / "last.json")  # finite, verified
    assert last.epoch == 2
    assert api.load_checkpoint(run_dir / "checkpoint.json").epoch <= 2
    status = json.loads((run_dir / "run.json").read_text())
    assert status["status"] == "diverged" and "loss became inf" in status["error"]
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2


def test_unscaled_inputs_name_their_size(tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG.replace("n_samples: 300}", "n_samples: 300, scaling: none}")
                                     .replace("{name: adam, lr: 0.01}", "{name: sgd, lr: 1.0e+30}").replace("cross_entropy", "mse"))
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 6
    assert "optimizer.lr is 1e+30" in result.stderr and "no epoch finished" in result.stderr
    assert "largest absolute input is 2." in result.stderr  # moons' raw coordinates
    assert not (tmp_path / "run" / "last.json").exists()


def test_unscaled_features_and_extreme_rows_raise_no_numpy_warning(tmp_path):
    """Warnings are errors in this suite: breast_cancer unscaled (features up to ~4000, logits in
    the thousands) either trains or stops as diverged, and predictions on rows of ±1e4 and
    constant columns stay finite."""
    (tmp_path / "c.yaml").write_text("""\
data: {name: breast_cancer, scaling: none}
model: {layers: [{units: 16, activation: relu}, {units: 1, activation: sigmoid}]}
loss: binary_cross_entropy
optimizer: {name: adam, lr: 0.01}
training: {epochs: 3, batch_size: 64}
""")
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow is harmless
        try:
            result = api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run")
        except api.TrainingDiverged as e:
            pytest.fail(f"unscaled but finite inputs should not diverge at this rate: {e}")
        ckpt = api.load_checkpoint(result["checkpoint"])
        rows = np.zeros((4, 30))
        rows[0], rows[1], rows[2] = 1e4, -1e4, 7.0  # huge, huge negative, constant
        probabilities = api.predict(ckpt, rows)
    assert np.isfinite(probabilities).all() and ((probabilities >= 0) & (probabilities <= 1)).all()
    assert np.isfinite(result["test"]["loss"])


def test_an_interrupt_never_saves_non_finite_weights(tmp_path, monkeypatch):
    """Weights gone to inf in the batch a signal ends: diverged (exit 6), and last.json keeps epoch 1."""
    import signal

    from nnctl import optimizers

    real_step, steps = optimizers.Adam.step, []

    def step(self, params, grads):
        real_step(self, params, grads)
        steps.append(1)
        if len(steps) == 10:  # epoch 2, batch 3 (7 batches an epoch)
            params["layers.0.b"][0] = np.inf

    monkeypatch.setattr(optimizers.Adam, "step", step)
    stop = lambda: signal.SIGINT if len(steps) >= 10 else 0  # noqa: E731
    (tmp_path / "c.yaml").write_text(CONFIG)
    with pytest.raises(api.TrainingDiverged, match="epoch 2: the weights became NaN or infinite"):
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run", stop=stop)
    assert api.load_checkpoint(tmp_path / "run" / "last.json").epoch == 1
