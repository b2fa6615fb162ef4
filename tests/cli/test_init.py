"""nnctl init and nnctl train --data: a starter config told from the data, that checks and trains."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.config import starter
from nnctl.data import infer


def run(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in row) for row in rows]) + "\n")
    return path


@pytest.fixture()
def csv_files(tmp_path):
    """A classification CSV whose target is text (and not the last column) and a regression CSV."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    label = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    kinds = write_csv(tmp_path / "kinds.csv", ["a", "label", "b", "c"],
                      [(f"{r[0]:.4f}", l, f"{r[1]:.4f}", f"{r[2]:.4f}") for r, l in zip(x, label)])
    y = 3 * x[:, 0] - x[:, 2] + 0.1 * rng.normal(size=120)
    prices = write_csv(tmp_path / "prices.csv", ["a", "b", "c", "price"],
                       [(*(f"{v:.4f}" for v in r), f"{t:.3f}") for r, t in zip(x, y)])
    return kinds, prices


@pytest.mark.parametrize("name", ["moons", "iris", "breast_cancer", "digits", "diabetes", "wine"])
def test_init_writes_a_config_that_checks_and_trains(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("init", "--data", name)
    assert result.exit_code == 0, result.output
    assert f"wrote {name}.yaml" in result.stderr
    assert run("check", f"{name}.yaml").exit_code == 0
    trained = run("train", f"{name}.yaml", "--set", "training.epochs=2", "--no-plots", "--json", "-q")
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["epochs"] == 2


@pytest.mark.parametrize("units, loss, name", [
    (1, "binary_cross_entropy", "moons"), (3, "cross_entropy", "iris"), (1, "mse", "diabetes")])
def test_the_output_layer_and_loss_fit_the_task(units, loss, name):
    cfg = yaml.safe_load(run("init", "--data", name, "--print").stdout)
    assert cfg["loss"] == loss and cfg["model"]["layers"][-1]["units"] == units
    assert cfg["optimizer"] == {"name": "adam", "lr": 0.001}


def test_every_choice_is_commented():
    text = run("init", "--data", "digits", "--print").stdout
    for line in text.splitlines():
        if line.strip().startswith(("seed", "name: adam", "lr:", "epochs", "batch_size", "patience", "monitor")):
            assert "  # " in line, line
    assert "# 10 classes: one softmax unit per class" in text
    assert "# two hidden layers: 128 units" in text


def test_mnist_gets_wider_layers_larger_batches_and_no_test_fraction():
    cfg = yaml.safe_load(run("init", "--data", "mnist", "--print").stdout)
    assert [layer["units"] for layer in cfg["model"]["layers"]] == [256, 128, 10]
    assert cfg["training"]["batch_size"] == 128 and "test_fraction" not in cfg["data"]


def test_a_csv_classification_by_target_name(csv_files, tmp_path, monkeypatch):
    kinds, _ = csv_files
    monkeypatch.chdir(tmp_path)
    result = run("init", "--data", kinds, "--target", "label")
    assert result.exit_code == 0, result.output
    assert "wrote kinds.yaml (classification, 3 features, 2 classes)" in result.stderr
    text = (tmp_path / "kinds.yaml").read_text()
    assert "task: classification  # the target holds text: 2 classes" in text
    cfg = yaml.safe_load(text)
    assert cfg["data"]["path"] == "kinds.csv" and cfg["data"]["target"] == "label"
    assert cfg["loss"] == "binary_cross_entropy"
    trained = run("train", "kinds.yaml", "--set", "training.epochs=2", "--no-plots", "-q")
    assert trained.exit_code == 0, trained.output


def test_a_csv_regression_from_the_last_column(csv_files, tmp_path, monkeypatch):
    _, prices = csv_files
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "sub" / "p.yaml"
    out.parent.mkdir()
    assert run("init", "--data", prices, "-o", out).exit_code == 0
    text = out.read_text()
    assert "task: regression  # the target holds numbers that are not whole" in text
    cfg = yaml.safe_load(text)
    assert cfg["data"]["path"] == str(prices.resolve())  # written elsewhere: absolute
    assert cfg["loss"] == "mse" and cfg["model"]["layers"][-1] == {"units": 1}
    trained = run("train", out, "--set", "training.epochs=2", "--no-plots", "-q", "--json")
    assert trained.exit_code == 0, trained.output
    assert "r2" in json.loads(trained.stdout)["test"]


def test_the_task_rule():
    assert infer._task(["1", "2", "3"] * 5)[0] == "classification"
    assert infer._task([str(i) for i in range(21)])[0] == "regression"
    assert infer._task(["0.5", "1"])[0] == "regression"
    assert infer._task(["cat", "dog"])[:2] == ("classification", ["cat", "dog"])


def test_hidden_units():
    assert [starter.hidden_units(n) for n in (2, 30, 64, 784)] == [(32, 16), (64, 32), (128, 64), (256, 128)]


def test_init_refuses_to_overwrite_without_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iris.yaml").write_text("mine")
    result = run("init", "--data", "iris")
    assert result.exit_code == 2 and "iris.yaml exists: pass --force to overwrite it" in result.stderr
    assert (tmp_path / "iris.yaml").read_text() == "mine"
    assert run("init", "--data", "iris", "--force").exit_code == 0
    assert "name: iris" in (tmp_path / "iris.yaml").read_text()


@pytest.mark.parametrize("args, code, message", [
    (["--data", "irsi"], 5, "error: irsi: neither a file nor a built-in data set; did you mean 'iris'?"),
    (["--data", "nothere.csv"], 5, "error: nothere.csv: no such file"),
    (["--data", "iris", "--target", "x"], 5, "iris is a built-in data set: its target is known"),
    (["--data", "iris", "--print", "-o", "x.yaml"], 2, "--print writes to stdout"),
])
def test_init_errors(args, code, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("init", *args)
    assert result.exit_code == code and message in result.stderr, result.output


def test_an_unknown_target_column_names_the_columns(csv_files):
    kinds, _ = csv_files
    result = run("init", "--data", kinds, "--target", "labels", "--print")
    assert result.exit_code == 5
    assert "no target column 'labels'; did you mean 'label'?" in result.stderr


def test_train_data_trains_the_default_network_and_saves_its_config(csv_files, tmp_path):
    kinds, _ = csv_files
    result = run("train", "--data", kinds, "--target", "label", "--set", "training.epochs=2", "--no-plots", "-q",
                 "--run-dir", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["data"]["path"] == str(kinds.resolve()) and saved["data"]["target"] == "label"
    assert saved["run"]["name"] == "kinds" and saved["training"]["epochs"] == 2
    again = run("train", tmp_path / "run" / "config.yaml", "--no-plots", "-q", "--run-dir", tmp_path / "again")
    assert again.exit_code == 0, again.output


def test_train_data_without_target_takes_the_last_column(csv_files, tmp_path):
    _, prices = csv_files
    result = run("train", "--data", prices, "--set", "training.epochs=1", "--no-plots", "-q",
                 "--run-dir", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["target"] == "price"


@pytest.mark.parametrize("args, message", [
    (["configs/moons.yaml", "--data", "x.csv"], "--data trains the default network without a CONFIG"),
    (["--target", "y"], "--target names the target column of --data FILE"),
])
def test_train_data_usage_errors(args, message):
    result = run("train", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_eval_scores_a_built_in_set_checkpoint_on_a_csv_of_its_features(tmp_path):
    from sklearn.datasets import load_iris

    assert run("train", "--data", "iris", "--set", "training.epochs=30", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    bunch = load_iris()
    named = write_csv(tmp_path / "named.csv", ["sl", "sw", "pl", "pw", "species"],
                      [(*r, bunch.target_names[t]) for r, t in zip(bunch.data, bunch.target)])
    indices = write_csv(tmp_path / "indices.csv", ["sl", "sw", "pl", "pw", "species"],
                        [(*r, t) for r, t in zip(bunch.data, bunch.target)])
    checkpoint = tmp_path / "run" / "checkpoint.json"
    whole = run("eval", checkpoint, "--data", named, "--split", "all", "--json")
    assert whole.exit_code == 0, whole.output
    scores = json.loads(whole.stdout)
    assert scores["split"] == "all" and scores["n"] == 150 and scores["classes"] == ["setosa", "versicolor",
                                                                                     "virginica"]
    assert scores["per_class"]["support"] == [50, 50, 50]
    by_index = json.loads(run("eval", checkpoint, "--data", indices, "--split", "all", "--json").stdout)
    assert by_index["accuracy"] == scores["accuracy"]  # 0, 1, 2 are the classes' indices
    test = json.loads(run("eval", checkpoint, "--data", named, "--json").stdout)
    assert test["split"] == "test" and test["n"] == 30  # split as the checkpoint's data was


def test_eval_matches_a_new_csv_by_column_name(csv_files, tmp_path):
    kinds, _ = csv_files
    assert run("train", "--data", kinds, "--target", "label", "--set", "training.epochs=5", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    lines = kinds.read_text().splitlines()
    cells = [line.split(",") for line in lines]
    moved = tmp_path / "moved.csv"  # the target first, the features reversed, one column more
    moved.write_text("\n".join(",".join([c[1], c[3], c[2], c[0], "id" if i == 0 else str(i)])
                               for i, c in enumerate(cells)) + "\n")
    checkpoint = tmp_path / "run" / "checkpoint.json"
    same = json.loads(run("eval", checkpoint, "--data", kinds, "--split", "all", "--json").stdout)
    other = run("eval", checkpoint, "--data", moved, "--split", "all", "--json")
    assert other.exit_code == 0, other.output
    assert json.loads(other.stdout)["loss"] == same["loss"] and same["n"] == 120


@pytest.mark.parametrize("text", [
    "f1,label\n" + "".join(f"{i},nan\n" for i in range(20)),  # a regression target with no number
    "f1,label,label\n" + "".join(f"{i},{i % 2},{i % 3}\n" for i in range(20)),  # which label?
    "f1,label\n" + "".join(f"{i},{'b' if i == 3 else 'a'}\n" for i in range(20)),  # a class of one row
])
def test_init_refuses_what_train_refuses_with_the_same_message(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text(text)
    trained = run("train", "--data", "t.csv", "--set", "training.epochs=1", "-q", "--no-plots")
    written = run("init", "--data", "t.csv")
    assert trained.exit_code == written.exit_code == 5, (trained.output, written.output)
    assert written.stderr == trained.stderr
    assert not (tmp_path / "t.yaml").exists()


HOSTILE_NAMES = ["a\nrun: {output_dir: ..}\n#", "it's \"quoted\"", "hash # not a comment", "key: value", "-leading",
                 "ctrl\x1b[31m\x07\x00end", "données ünïcode", "\u202eevil", "tab\tname", "a..b",
                 "[list], {map}", "yes"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_file_or_column_name_never_writes_config(name, tmp_path, monkeypatch):
    """The file's name and its target column's name go through the YAML emitter, and comments are
    one escaped line: the config parses to exactly the keys init chose. The run folder's name derived
    from the file has no separator, no '..', no control character and no leading '-' or '.'."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / f"{name.replace(chr(0), '')}.csv"  # a file name cannot hold NUL; a column can
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as f:  # the header's cell quoted as a spreadsheet writes it
        csv.writer(f).writerows([["f1", "f2", name]] + [[f"{a:.3f}", f"{b:.3f}", int(a > 0)]
                                                         for a, b in rng.normal(size=(40, 2))])
    result = run("init", "--data", path, "--print")
    assert result.exit_code == 0, result.output
    chosen, _ = starter.config(infer.describe(str(path)))
    assert yaml.safe_load(result.stdout) == chosen
    assert chosen["data"]["path"] == str(path.resolve()) and chosen["data"]["target"] == name
    assert all(line.isprintable() for line in result.stdout.splitlines())
    trained = run("train", "--data", path, "--set", "training.epochs=1", "-q", "--no-plots", "--json")
    assert trained.exit_code == 0, trained.output
    folder = Path(json.loads(trained.stdout)["run_dir"])
    assert folder.parent.resolve() == (tmp_path / "runs").resolve()
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", folder.name) and ".." not in folder.name


def test_run_and_sweep_names_from_file_names_are_safe_folder_names():
    from nnctl.config import folder_name

    assert [folder_name(stem,
                        "run") for stem in ["..", ".", "-", ".hidden", "-x", "a..b", "x/../y", "a\nb", "ok-1.v2"]] \
        == ["_", "run", "run", "hidden", "x", "a_b", "x___y", "a_b", "ok-1.v2"]
