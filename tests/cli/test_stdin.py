"""`-` reads a config (or a sweep spec) from stdin wherever a command takes one: errors say
<stdin>:LINE, a run is named after its data, and stdin is read once."""

import io
import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl.cli import main
from nnctl.sweep import spec as sweep_spec

TINY = moons_yaml(data={"n_samples": 100}, training={"epochs": 1})


def invoke(*args, stdin=TINY):
    result = CliRunner().invoke(main, [str(a) for a in args], input=stdin)
    assert "Traceback" not in result.output
    return result


@pytest.mark.slow
def test_check_summary_and_gradcheck_read_a_config_on_stdin():
    checked = invoke("check", "-")
    assert checked.exit_code == 0 and "ok: <stdin> is valid: moons" in checked.stderr
    assert yaml.safe_load(checked.stdout)["run"]["name"] == "moons"  # named after its data, not after "-"
    assert invoke("summary", "-").stdout.startswith('Model: "moons"')
    assert invoke("gradcheck", "-", "--samples", "3").exit_code == 0


def test_an_error_names_stdin_and_the_line():
    result = invoke("check", "-", stdin=TINY.replace("units: 16", "units: 0"))
    assert result.exit_code == 3
    line = 1 + TINY.splitlines().index(next(t for t in TINY.splitlines() if "units: 16" in t))
    assert f"error: <stdin>:{line}: model.layers[0].units: " in result.stderr


def test_train_names_the_run_after_its_data_and_anchors_paths_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("train", "-", "--json", "-q", "--no-plots")
    assert result.exit_code == 0, result.output
    run = Path(json.loads(result.stdout)["run_dir"])
    assert run.parent == Path("runs") and run.name.startswith("moons-")
    (tmp_path / "t.csv").write_text("a,b,y\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(40)))
    csv = ("data: {name: csv, path: t.csv, target: y}\nmodel: {layers: [{units: 2, activation: softmax}]}\n"
           "loss: cross_entropy\noptimizer: {name: adam}\n")
    resolved = json.loads(invoke("check", "-", "--json", stdin=csv).stdout)["resolved"]
    assert resolved["data"]["path"] == str(tmp_path / "t.csv") and resolved["run"]["name"] == "t"


def test_a_config_layer_may_come_from_stdin_but_stdin_only_once(tmp_path):
    base = tmp_path / "moons.yaml"
    base.write_text(TINY)
    merged = invoke("check", base, "--config", "-", "--json", stdin="training: {epochs: 7}\n")
    assert merged.exit_code == 0 and json.loads(merged.stdout)["resolved"]["training"]["epochs"] == 7
    twice = invoke("check", "-", "--config", "-")
    assert twice.exit_code == 3 and "stdin holds one file" in twice.stderr


@pytest.mark.slow  # a sweep: not in the fast tier
def test_a_sweep_spec_on_stdin_gets_a_folder_of_its_own_and_resumes_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "moons.yaml").write_text(TINY)
    spec = "base: moons.yaml\nparameters:\n  optimizer.lr: [0.01]\n"
    first = invoke("sweep", "-", "--json", "-q", stdin=spec)
    assert first.exit_code == 0, first.output
    board = json.loads(first.stdout)
    assert Path(board["sweep_dir"]).name.startswith("stdin-") and board["ran"] == 1
    again = json.loads(invoke("sweep", "-", "--json", "-q", stdin=spec).stdout)
    assert again["sweep_dir"] == board["sweep_dir"] and again["reused"] == 1


def test_two_sweep_specs_on_stdin_get_two_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "moons.yaml").write_text(TINY)
    folders = []
    for lr in ("0.01", "0.02", "0.01"):
        spec = f"base: moons.yaml\nparameters:\n  optimizer.lr: [{lr}]\n"
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(spec.encode())))
        folders.append(sweep_spec.load("-").folder)
    assert folders[0] == folders[2] != folders[1] and folders[0].parent == tmp_path / "sweeps"
