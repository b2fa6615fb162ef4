"""A loss or weights gone NaN/inf: stop at once, keep the last good checkpoint, exit 6, say why."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import api
from nnctl.cli import main
from nnctl.engine import divergence
from nnctl.engine.losses import LOSSES, Loss

CONFIG = moons_yaml(seed=4, data={"noise": None},
                    model={"layers": [{"units": 8, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
                    optimizer={"lr": 0.01}, training={"epochs": 5})


def test_loss_going_infinite_in_epoch_3_keeps_epoch_2(tmp_path, monkeypatch):
    real, calls = LOSSES["cross_entropy"], []

    def value_and_grad(z, y):  # the untrained reference, then 7 training batches and one validation pass an epoch
        calls.append(1)
        value, dz = real.value_and_grad(z, y)
        return (np.inf if len(calls) == 18 else value), dz

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
                                     .replace("{name: adam, lr: 0.01}",
                                              "{name: sgd, lr: 1.0e+30}").replace("cross_entropy", "mse"))
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 6
    assert "optimizer.lr is 1e+30" in result.stderr and "no epoch finished" in result.stderr
    assert "largest absolute input is 2." in result.stderr  # moons' raw coordinates
    assert not (tmp_path / "run" / "last.json").exists()


@pytest.mark.slow
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

    from nnctl.engine import optimizers

    real_step, steps = optimizers.Adam.step, []

    def step(self, params, grads):
        real_step(self, params, grads)
        steps.append(1)
        if len(steps) == 10:  # epoch 2, batch 3 (7 batches an epoch)
            params["layers.0.b"][0] = np.inf

    monkeypatch.setattr(optimizers.Adam, "step", step)
    stop = lambda: signal.SIGINT if len(steps) >= 10 else 0
    (tmp_path / "c.yaml").write_text(CONFIG)
    with pytest.raises(api.TrainingDiverged, match="epoch 2: the weights became NaN or infinite"):
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run", stop=stop)
    assert api.load_checkpoint(tmp_path / "run" / "last.json").epoch == 1


ABSURD = """\
seed: 0
data: {{name: moons, n_samples: 400}}
model: {{layers: [{{units: 16, activation: relu}}, {{units: 2, activation: softmax}}]}}
loss: cross_entropy
optimizer: {{name: {name}, lr: {lr}}}
training: {{epochs: 4, batch_size: 32, dtype: {dtype}}}
"""


def test_an_exploded_but_finite_run_exits_6_not_0(tmp_path):
    """Adam at lr 1e12 keeps every number finite (weights ~1e13, loss ~1e24): it has diverged all the same."""
    (tmp_path / "c.yaml").write_text(ABSURD.format(name="adam", lr="1.0e+12", dtype="float32"))
    result = CliRunner().invoke(main, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 6, result.output
    assert "training diverged at epoch 1: the weight layers." in result.stderr and "beyond 1e+08" in result.stderr
    assert "no epoch finished, so no checkpoint was written" in result.stderr
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "diverged"
    assert not (tmp_path / "run" / "last.json").exists()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,lr", [("sgd", "1.0e+3"), ("adam", "1.0e+12"), ("adam", "1.0e+3"), ("rmsprop", "1.0e+12"),
                                     ("rmsprop", "10.0")])
def test_absurd_learning_rates_diverge_with_every_optimizer_and_dtype(tmp_path, name, lr, dtype):
    (tmp_path / "c.yaml").write_text(ABSURD.format(name=name, lr=lr, dtype=dtype))
    with pytest.raises(api.TrainingDiverged, match="training diverged at epoch 1") as caught:
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run", plots=False)
    # whichever comes first: non-finite, a weight beyond the bound, or a loss 1000x the untrained one
    assert any(why in str(caught.value) for why in ("became nan", "became inf", "beyond 1e+08",
                                                    "the training loss reached"))
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "diverged"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_loss_1000_times_the_untrained_one_is_divergence(tmp_path, dtype):
    """RMSprop at lr 10 reaches a cross-entropy of ~1.7e4 in epoch 1 with weights of ~200: only the loss says so."""
    (tmp_path / "c.yaml").write_text(ABSURD.format(name="rmsprop", lr="10.0", dtype=dtype))
    with pytest.raises(api.TrainingDiverged,
                       match=r"epoch 1: the training loss reached .*above 1\.\d+e\+03 \(1000 times"):
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run", plots=False)


def test_a_high_but_sane_learning_rate_still_trains(tmp_path):
    """Adam at lr 10 starts badly (a cross-entropy of ~250 in epoch 1) but trains: below the limit, not divergence."""
    (tmp_path / "c.yaml").write_text(ABSURD.format(name="adam", lr="10.0", dtype="float32"))
    result = api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run", plots=False)
    assert result["history"][0]["train_loss"] > 100 and result["test"]["accuracy"] > 0.7


def test_the_loss_limit_is_relative_to_the_untrained_loss_with_a_floor():
    assert divergence.loss_limit(0.01) == 1000.0  # a nearly fitted start does not make a loss of 11 "explode"
    assert divergence.loss_limit(3.0e4) == 3.0e7  # an unscaled regression target starts high
    assert divergence.loss_limit(float("nan")) == float("inf")


def test_an_unscaled_regression_target_is_judged_in_its_own_units(tmp_path):
    """diabetes' target unscaled (25..346): the untrained mean squared error is ~2.9e4, far above
    any absolute bound; relative to it, sane training is not divergence, an absurd rate is."""
    text = """\
seed: 0
data: {{name: diabetes, target_scaling: none}}
model: {{layers: [{{units: 32, activation: relu}}, {{units: 1}}]}}
loss: mse
optimizer: {{name: adam, lr: {lr}}}
training: {{epochs: 5}}
"""
    (tmp_path / "c.yaml").write_text(text.format(lr=0.01))
    result = api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "sane", plots=False)
    assert result["history"][0]["train_loss"] > 1e4  # above 1000 x the floor: an absolute bound would fire
    (tmp_path / "c.yaml").write_text(text.format(lr="1.0e+4"))
    with pytest.raises(api.TrainingDiverged, match="training loss reached|beyond 1e\\+08"):
        api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "absurd", plots=False)


def test_a_resumed_run_gets_the_limit_of_its_untrained_weights(tmp_path, monkeypatch):
    from nnctl.engine.callbacks import LossLimit
    from nnctl.runs import training

    limits, real_fit = [], training.fit

    def fit(*args, **kwargs):
        limits.extend(c.limit for c in kwargs["callbacks"] if isinstance(c, LossLimit))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(training, "fit", fit)
    (tmp_path / "c.yaml").write_text(CONFIG)
    api.train(api.load_config(tmp_path / "c.yaml"), run_dir=tmp_path / "run", plots=False)
    api.resume(tmp_path / "run", plots=False)  # a finished run: recomputes its test scores
    assert len(limits) == 2 and limits[0] == limits[1] and 1000 <= limits[0] < 1e4


def test_divergence_is_raised_from_one_helper_with_what_it_knows():
    divergence.check(None, 3)  # nothing found: nothing raised
    with pytest.raises(api.TrainingDiverged,
                       match=r"epoch 3, batch 2: val_r2 became nan\. .*\(optimizer\.lr is 0\.5: "
                             r"try a tenth of it\) .*largest absolute input is 4"):
        what = divergence.non_finite({"val_loss": 1.0, "val_r2": float("nan")})
        divergence.check(what, 3, 0.5, np.array([-4.0, 1]), 2)
    with pytest.raises(api.TrainingDiverged,
                       match=r"epoch 1: val_loss became inf\. .*\(try a tenth of optimizer\.lr\)"):
        # a record not made by fit: no lr, no inputs
        divergence.check(divergence.non_finite({"val_loss": float("inf")}), 1)
