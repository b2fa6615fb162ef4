"""--set key=value: dotted keys and list indices, YAML values, validated like the file, named in errors."""

import pytest
from helpers.configs import VALID, write

from nnctl import config
from nnctl.errors import ConfigError


def load(tmp_path, *overrides):
    return config.load(write(tmp_path, VALID), overrides)


def error_of(tmp_path, *overrides) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, *overrides)
    return str(info.value)


def test_overrides_set_nested_keys_list_items_and_new_sections(tmp_path):
    cfg = load(tmp_path, "optimizer.lr=0.01", "model.layers[0].units=64", "training.epochs=5", "run.name=tuned",
               "data.noise=1e-1")
    assert cfg.optimizer.lr == 0.01 and cfg.model.layers[0].units == 64
    assert cfg.training.epochs == 5 and cfg.run.name == "tuned" and cfg.data.noise == 0.1


def test_values_are_yaml_so_mappings_and_lists_work(tmp_path):
    cfg = load(tmp_path, "optimizer={name: sgd, lr: 0.1, momentum: 0.9}",
               "model.layers=[{units: 4, activation: tanh}, {units: 2, activation: softmax}]")
    assert cfg.optimizer.name == "sgd" and cfg.optimizer.momentum == 0.9
    assert [layer.units for layer in cfg.model.layers] == [4, 2]


def test_an_index_one_past_the_end_appends(tmp_path):
    cfg = load(tmp_path, "model.layers[1]={units: 8, activation: relu}",
               "model.layers[2]={units: 2, activation: softmax}")
    assert [layer.units for layer in cfg.model.layers] == [8, 8, 2]


def test_later_overrides_win_and_are_recorded_in_the_resolved_config(tmp_path):
    cfg = load(tmp_path, "optimizer.lr=0.5", "optimizer.lr=0.25")
    text = config.dump(cfg)
    assert cfg.optimizer.lr == 0.25
    assert text.startswith("# --set optimizer.lr=0.5\n# --set optimizer.lr=0.25\n")
    assert "lr: 0.25" in text
    # the resolved file loads back to the same values, comments and all
    assert config.load(write(tmp_path, text, "again.yaml")).optimizer.lr == 0.25


@pytest.mark.parametrize("override,fragments", [
    ("optimizer.lr=abc", ["--set optimizer.lr=abc", "optimizer.lr", "valid number"]),
    ("training.epochs=0", ["--set training.epochs=0", "training.epochs", "greater than or equal to 1"]),
    ("optimizer.name=sdg", ["--set optimizer.name=sdg", "did you mean 'sgd'"]),
    ("model.layers[1].units=3", ["--set model.layers[1].units=3", "2 classes"]),  # output layer vs data set
    ("model.layers[7].units=3", ["--set model.layers[7].units=3", "model.layers has 2 items"]),
    ("training.epoch=3", ["--set training.epoch=3", "unknown key", "did you mean 'epochs'"]),
    ("seed.x=1", ["--set seed.x=1", "seed is an integer"]),
    ("model.layers.x=1", ["model.layers is a list"]),
    ("optimizer.lr", ["--set optimizer.lr", "expected key=value"]),
    ("=3", ["expected key=value"]),
    ("x[=1", ["not a dotted key"]),
    ("optimizer.lr=[", ["--set optimizer.lr=[", "not valid YAML"]),
])
def test_bad_overrides_name_the_set(tmp_path, override, fragments):
    message = error_of(tmp_path, override)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "c.yaml:" not in message  # the fault is in the --set, not in a line of the file


def test_errors_elsewhere_still_point_into_the_file(tmp_path):
    message = error_of(tmp_path, "model.layers[2]={units: 2, activation: softmax}")
    assert "c.yaml:8" in message and "model.layers[1].activation" in message


def test_train_records_the_overrides_in_the_run_folder(tmp_path):
    import json

    from click.testing import CliRunner

    from nnctl.cli import main

    path = write(tmp_path, VALID)
    result = CliRunner().invoke(main, ["train", str(path), "--run-dir", str(tmp_path / "run"), "--no-plots", "--json",
                                       "--set", "training.epochs=2", "--set", "optimizer.lr=0.05"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["epochs"] == 2
    text = (tmp_path / "run" / "config.yaml").read_text()
    assert text.startswith("# --set training.epochs=2\n# --set optimizer.lr=0.05\n")
    resolved = config.load(tmp_path / "run" / "config.yaml")
    assert resolved.training.epochs == 2 and resolved.optimizer.lr == 0.05
    bad = CliRunner().invoke(main, ["train", str(path), "--set", "training.epochs=-1"])
    assert bad.exit_code == 3 and "--set training.epochs=-1: training.epochs" in bad.stderr
