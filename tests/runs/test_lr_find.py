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


def test_the_command_prints_both_rates_and_draws(tmp_path, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("seed: 0\ndata: {name: moons, n_samples: 200}\nmodel:\n  layers:\n    - {units: 8, activation: relu}\n"
                      "    - {units: 2, activation: softmax}\nloss: cross_entropy\noptimizer: {name: adam, lr: 0.01}\n"
                      "training: {epochs: 1, batch_size: 16}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lr-find", str(config), "--steps", "80", "-o", "curve.png",
                                       "--set", "optimizer.name=sgd"])
    assert result.exit_code == 0, result.output
    assert "suggested lr:" in result.output and "minimum at:" in result.output
    assert (tmp_path / "curve.png").stat().st_size > 0 and not (tmp_path / "runs").exists()
