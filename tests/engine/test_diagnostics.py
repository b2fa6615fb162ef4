"""The per-layer diagnostics recorded while training: the columns nnctl doctor reads, on real runs
broken on purpose; they never change the weights, and a run stopped mid-epoch records the same."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from helpers.moons import MOONS

from nnctl import config
from nnctl.cli import main
from nnctl.engine.diagnostics import GRAD_EVERY, STATS, Diagnostics
from nnctl.engine.train import fit
from nnctl.runs import doctor, training
from nnctl.runs.doctor import LAYER_COLUMN

DEAD = """\
seed: 0
data: {name: moons, n_samples: 400, noise: 0.2, test_fraction: 0.2, val_fraction: 0.2}
model:
  layers:
    - {units: 32, activation: relu}
    - {units: 32, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: sgd, lr: 3.0}
training: {epochs: 10, batch_size: 32}
"""

SATURATED = """\
seed: 0
data: {name: breast_cancer, test_fraction: 0.2, val_fraction: 0.2, scaling: none}
model:
  layers:
    - {units: 16, activation: tanh}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: sgd, lr: 0.01}
training: {epochs: 4, batch_size: 32}
"""


def train_cli(tmp_path, text, name="run"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["train", str(path), "--run-dir", str(tmp_path / name), "-q", "--no-plots"])
    assert result.exit_code == 0, result.output
    return tmp_path / name


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def setup(text=MOONS):
    cfg = config.from_dict(yaml.safe_load(text))
    dataset = training.load_data(cfg)
    return training.Training(cfg, dataset), dataset, cfg


def fit_with(run, dataset, cfg, callbacks):
    return fit(run.model, run.loss, run.optimizer, dataset, epochs=3, batch_size=cfg.training.batch_size,
               shuffle=True, seed=cfg.seed, callbacks=callbacks)


def test_the_columns_are_the_ones_doctor_reads(tmp_path):
    run_dir = train_cli(tmp_path, DEAD)
    first = rows(run_dir)[0]
    columns = [k for k in first if k.startswith("layers.")]
    assert columns and all(LAYER_COLUMN.match(k) for k in columns)
    assert {k.rsplit(".", 1)[1] for k in columns} == set(STATS) - {"saturated_fraction"}
    # every dense layer gets the norms; only the hidden relu layers a dead share
    for n in (0, 1, 2):
        assert {f"layers.{n}.grad_norm", f"layers.{n}.weight_norm", f"layers.{n}.update_ratio"} <= set(first)
    assert "layers.2.dead_fraction" not in first and "layers.1.dead_fraction" in first
    header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == list(first)


def test_a_huge_rate_kills_relu_units_and_doctor_says_so(tmp_path):
    run_dir = train_cli(tmp_path, DEAD)
    found = {f["code"]: f for f in doctor.diagnose(doctor.read(run_dir, data=False))}
    assert "dead_units" in found and "layers.1: 94% of relu units dead since epoch 1" in found["dead_units"]["evidence"]


def test_unscaled_inputs_saturate_tanh_and_doctor_says_so(tmp_path):
    run_dir = train_cli(tmp_path, SATURATED)
    assert all(r["layers.0.saturated_fraction"] > 0.99 for r in rows(run_dir))
    found = {f["code"]: f for f in doctor.diagnose(doctor.read(run_dir, data=False))}
    assert "of outputs saturated since epoch 1" in found["saturation"]["evidence"]


def test_recording_never_changes_the_weights():
    plain, dataset, cfg = setup()
    fit_with(plain, dataset, cfg, [])
    watched, dataset, cfg = setup()
    history = fit_with(watched, dataset, cfg, [Diagnostics(watched.model)])
    assert "layers.0.grad_norm" in history[-1]
    for name, array in plain.model.state().items():
        assert np.array_equal(array, watched.model.state()[name]), name


def test_the_numbers_are_what_they_say():
    run, dataset, cfg = setup()
    diagnostics = Diagnostics(run.model)
    begin = run.model.params()["layers.0.W"].copy()
    record = fit_with(run, dataset, cfg, [diagnostics])[0]  # the first epoch's record
    # (the model has moved on two epochs since: recompute the weight norm from a fresh one-epoch run)
    run1, dataset, cfg = setup()
    fit(run1.model, run1.loss, run1.optimizer, dataset, epochs=1, batch_size=cfg.training.batch_size, shuffle=True,
        seed=cfg.seed)
    w = run1.model.params()["layers.0.W"]
    steps = -(-len(dataset.x_train) // cfg.training.batch_size)
    assert record["layers.0.weight_norm"] == pytest.approx(np.linalg.norm(w))
    assert record["layers.0.update_ratio"] == pytest.approx(np.linalg.norm(w - begin) / steps / np.linalg.norm(w))


def test_a_state_mid_epoch_continues_the_epoch_exactly():
    """Stopped after 3 batches of epoch 2, saved and restored into a fresh callback: the same record."""
    run, dataset, cfg = setup()
    whole = fit_with(run, dataset, cfg, [Diagnostics(run.model)])

    class StopAt:
        def __init__(self):
            self.batches = 0

        def on_epoch_begin(self, epoch): ...

        def on_batch_end(self, epoch, rows_done, n_rows, position=None):
            if epoch == 2:
                self.batches += 1
                if self.batches == 3:
                    raise training.Interrupted(15)

        def on_epoch_end(self, record):
            return False

    run, dataset, cfg = setup()
    first = Diagnostics(run.model)
    with pytest.raises(training.Interrupted) as info:
        fit_with(run, dataset, cfg, [first, StopAt()])
    state = json.loads(json.dumps(first.state_dict()))
    assert state["batches"] == 3
    second = Diagnostics(run.model)
    second.load_state_dict(state)
    rest = fit(run.model, run.loss, run.optimizer, dataset, epochs=3, batch_size=cfg.training.batch_size, shuffle=True,
               seed=cfg.seed, callbacks=[second], start=info.value.position)
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}
    assert [strip(r) for r in rest] == [strip(r) for r in whole[1:]]
    assert Diagnostics(run.model).state_dict() == {}


def test_train_prints_the_top_warning_at_the_end_on_stderr(tmp_path):
    path = tmp_path / "dead.yaml"
    path.write_text(DEAD)
    result = CliRunner().invoke(main, ["train", str(path), "--run-dir", str(tmp_path / "run"), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "doctor:      lr_too_high: " in result.stderr and "doctor:" not in result.stdout
    assert f"nnctl doctor {tmp_path / 'run'}" in result.stderr
    for quiet in (["-q"], ["--json"]):
        result = CliRunner().invoke(main, ["train", str(path), "--no-plots", "--run-dir",
                                                           str(tmp_path / f"run{quiet[0]}"), *quiet])
        assert result.exit_code == 0 and "doctor:" not in result.stderr + result.stdout


def test_a_healthy_run_prints_no_finding(tmp_path):
    path = Path(__file__).resolve().parents[2] / "configs" / "moons.yaml"  # shipped: no warning (test_doctor)
    result = CliRunner().invoke(main, ["train", str(path), "--run-dir", str(tmp_path / "run"), "--no-plots"])
    assert result.exit_code == 0 and "doctor:" not in result.stderr


def units_data():
    """20 rows, 10 batches of 2 (unshuffled) into relu units equal to the inputs: unit 0 positive
    on every row, unit 1 on none, unit 2 only in batch 3, unit 3 only in batch 8."""
    x = -np.ones((20, 4), np.float32)
    x[:, 0] = 1
    x[4:6, 2] = 1  # batch 3: not sampled
    x[14:16, 3] = 1  # batch 8: sampled (every GRAD_EVERY-th batch, and the last)
    y = np.zeros(20, np.int64)
    return SimpleNamespace(x_train=x, y_train=y, x_val=x[:2], y_val=y[:2], task="classification", target_scale=1.0)


def units_model():
    from nnctl.engine.model import build

    model = build([{"units": 4, "activation": "relu"}, {"units": 2, "activation": "softmax"}], 4,
                  np.random.default_rng(0))
    model.params()["layers.0.W"][...] = np.eye(4)
    return model


def fit_units(model, callbacks, start=None):
    from nnctl.engine.losses import LOSSES
    from nnctl.engine.optimizers import SGD
    from nnctl.engine.train import Position

    return fit(model, LOSSES["cross_entropy"], SGD(lr=0.0), units_data(), epochs=1, batch_size=2, shuffle=False,
               seed=0, callbacks=callbacks, start=start or Position())


def test_dead_units_are_those_never_positive_in_the_sampled_batches():
    assert GRAD_EVERY == 8
    model = units_model()
    record = fit_units(model, [Diagnostics(model)])[0]
    assert record["layers.0.dead_fraction"] == 0.5  # units 1 and 2: unit 2 was positive in a batch not sampled


def test_a_run_stopped_after_a_sample_keeps_the_units_seen():
    model = units_model()
    first = Diagnostics(model)

    class StopAt:
        def on_epoch_begin(self, epoch): ...

        def on_batch_end(self, epoch, rows_done, n_rows, position=None):
            if rows_done == 16:  # after batch 8, the sampled one
                raise training.Interrupted(15)

        def on_epoch_end(self, record):
            return False

    with pytest.raises(training.Interrupted) as info:
        fit_units(model, [first, StopAt()])
    state = json.loads(json.dumps(first.state_dict()))
    assert state["alive"] == {"layers.0": [1, 0, 0, 1]}
    second = Diagnostics(model)
    second.load_state_dict(state)
    assert fit_units(model, [second], start=info.value.position)[0]["layers.0.dead_fraction"] == 0.5
