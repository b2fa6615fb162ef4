"""nnctl lr-find: the range test's suggestion is a rate that trains the shipped configs."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.engine import lr_find

ROOT = Path(__file__).resolve().parents[2]


def test_rates_grow_exponentially_and_the_suggestion_is_the_steepest_descent():
    lrs = lr_find.rates(1e-7, 10, 161)
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(10)
    assert np.allclose(np.diff(np.log10(lrs)), 8 / 160)
    # a loss that falls fastest at 1e-3 and is lowest at 1e-1
    x = np.log10(lrs)
    loss = 1 - 0.5 * np.tanh((x + 3) * 2) + np.where(x > -1, 5 * (x + 1) ** 2, 0)
    suggested, minimum = lr_find.suggest(lrs, loss)
    assert suggested == pytest.approx(1e-3, rel=0.2) and minimum == pytest.approx(0.1, rel=0.3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["moons", "digits"])
def test_the_suggestion_trains_the_shipped_config(name, tmp_path, monkeypatch):
    config = ROOT / "configs" / f"{name}.yaml"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lr-find", str(config), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find.png"]  # nothing else written
    working = yaml.safe_load(config.read_text())["optimizer"]["lr"]
    assert working / 10 <= found["suggested"] <= working * 10
    assert found["minimum"] > found["suggested"]

    def accuracy(*sets):
        args = ["train", str(config), "--run-dir", str(tmp_path / f"run{len(sets)}"), "-q", "--no-plots", "--json"]
        for s in sets:
            args += ["--set", s]
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 0, out.output
        return json.loads(out.output)["test"]["accuracy"]

    assert accuracy(f"optimizer.lr={found['suggested']}") >= accuracy() - 0.01


@pytest.mark.slow
def test_the_command_prints_both_rates_and_draws(tmp_path, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("seed: 0\ndata: {name: moons, n_samples: 200}\nmodel:\n  layers:\n    - {units: 8, activation: "
                      "relu}\n"
                      "    - {units: 2, activation: softmax}\nloss: cross_entropy\noptimizer: {name: adam, lr: 0.01}\n"
                      "training: {epochs: 1, batch_size: 16}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lr-find", str(config), "--steps", "80", "-o", "curve.png",
                                       "--set", "optimizer.name=sgd"])
    assert result.exit_code == 0, result.output
    assert "suggested lr:" in result.output and "minimum at:" in result.output
    assert (tmp_path / "curve.png").stat().st_size > 0 and not (tmp_path / "runs").exists()


def test_the_minimum_is_the_smoothed_losss_minimum_among_every_point():
    """The last five points were left out: a loss still falling at the end reported the rate five
    points before the last (1.95 where the minimum is at 4.97 in the reported case)."""
    lrs = lr_find.rates(1e-3, 10, 41)  # ten points a decade
    falling = np.linspace(2.0, 1.0, 41)
    assert lr_find.suggest(lrs, falling)[1] == lrs[-1] == pytest.approx(10)
    dip = falling.copy()
    dip[-3] = 0.5  # the lowest point, third from the end
    assert lr_find.suggest(lrs, dip)[1] == pytest.approx(lrs[-3])
    assert lr_find.suggest(lrs[:3], dip[:3]) == (None, pytest.approx(lrs[2]))  # a minimum, too few points for a slope
    assert lr_find.suggest(np.array([]), np.array([])) == (None, None)
    assert not hasattr(lr_find, "SKIP_START") and not hasattr(lr_find, "SKIP_END")


def one_step(layers, clip_norm=None):
    """A float64 network's range test of one SGD step, and what that step should be by hand."""
    from nnctl.engine import losses, optimizers
    from nnctl.engine.model import build
    from nnctl.engine.regularizers import clip_by_global_norm

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.integers(0, 2, 16)
    model = build(layers, 3, np.random.default_rng(1), "float64")
    loss = losses.LOSSES["cross_entropy"]
    z = model.forward(x, training=True, logits=True)
    value, dz = loss.value_and_grad(z, y)
    expected_loss = value + model.penalty()
    model.backward(dz, logits=True)
    grads = {k: g.copy() for k, g in model.grads().items()}
    if clip_norm is not None:
        clip_by_global_norm(grads, clip_norm)
    lr = 0.5
    expected = {k: w - lr * grads[k] for k, w in model.params().items()}
    found = lr_find.lr_range_test(model, loss, optimizers.build({"name": "sgd", "lr": lr}), iter([(x, y)]),
                                  start_lr=lr, end_lr=lr, n_steps=1, clip_norm=clip_norm)
    return found, expected_loss, expected, model


def test_the_curve_holds_the_penalty_the_steps_apply_and_the_steps_are_clipped():
    """The loss drawn left out the L2 penalty whose gradient the steps applied, and clip_norm was
    ignored: each point is now what a training step of that rate computes."""
    layers = [{"type": "dense", "units": 4, "activation": "tanh", "l2": 0.5},
              {"type": "dense", "units": 2, "activation": "softmax", "l1": 0.1}]
    found, expected_loss, expected, model = one_step(layers)
    assert found["losses"] == [pytest.approx(expected_loss, rel=1e-12)] and model.penalty() > 0.1
    for k, w in model.params().items():
        np.testing.assert_allclose(w, expected[k], rtol=1e-12, atol=1e-15)
    found, _, expected, model = one_step(layers, clip_norm=1e-3)
    for k, w in model.params().items():
        np.testing.assert_allclose(w, expected[k], rtol=1e-12, atol=1e-15)
