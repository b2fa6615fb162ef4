"""The sweep spec: dotted keys, validation errors as good as a config's, grid and seeded random expansion."""

from pathlib import Path

import pytest

from nnctl.config import keys
from nnctl.errors import ConfigError
from nnctl.sweep import spec as sweep_spec

BASE = """\
base:
  data: {name: moons, n_samples: 200, noise: 0.1}
  model:
    layers:
      - {units: 8, activation: relu}
      - {units: 2, activation: softmax}
  loss: cross_entropy
  optimizer: {name: adam, lr: 0.01}
  training: {epochs: 2}
"""


def load(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return sweep_spec.load(path)


def test_parse_and_set_dotted_keys():
    """The sweep sets its parameters by the rule --set uses (nnctl.config.keys)."""
    assert keys.parse_key("model.layers[0].units") == ("model", "layers", 0, "units")
    assert keys.parse_key("seed") == ("seed",)
    for bad in ("", "optimizer..lr", ".lr", "layers[x]", "a[0]b", "optimizer.lr.", "1abc"):
        with pytest.raises(ValueError):
            keys.parse_key(bad)
    data = {"model": {"layers": [{"units": 8}]}, "optimizer": {"name": "adam"}}
    keys.set_key(data, ("model", "layers", 0, "units"), 32)
    keys.set_key(data, ("training", "epochs"), 3)  # a missing mapping is created
    assert data["model"]["layers"][0]["units"] == 32 and data["training"] == {"epochs": 3}
    with pytest.raises(ValueError, match=r"model.layers has 1 items, so there is no \[2\]"):
        keys.set_key(data, ("model", "layers", 2, "units"), 1)
    with pytest.raises(ValueError, match=r"model.layerz is not a list, so there is no \[0\]"):
        keys.set_key(data, ("model", "layerz", 0, "units"), 1)
    with pytest.raises(ValueError, match="optimizer.name is a string, not a mapping"):
        keys.set_key(data, ("optimizer", "name", "x"), 1)
    # the rule of --set: a last index one past the end appends
    keys.set_key(data, ("model", "layers", 1), {"units": 2})
    assert data["model"]["layers"] == [{"units": 32}, {"units": 2}]


def test_grid_is_the_product_in_file_order_and_ids_are_config_hashes(tmp_path):
    sweep = load(tmp_path, BASE + "parameters:\n  optimizer.lr: [0.1, 0.01]\n  model.layers[0].units: [4, 8, 16]\n")
    trials, invalid = sweep.trials()
    assert not invalid and len(trials) == 6
    assert [t.params for t in trials[:3]] == [{"optimizer.lr": 0.1, "model.layers[0].units": u} for u in (4, 8, 16)]
    assert trials[1].config["model"]["layers"][0]["units"] == 8 and trials[3].config["optimizer"]["lr"] == 0.01
    assert len({t.id for t in trials}) == 6
    # the same config has the same id wherever the sweep writes it
    other = load(tmp_path, BASE + "parameters:\n  model.layers[0].units: [8]\noutput_dir: elsewhere\nname: x\n")
    assert other.trials()[0][0].id == trials[4].id  # lr 0.01 (the base's), 8 units
    run = trials[0].config["run"]
    assert (run["name"], run["output_dir"]) == ("s", str(sweep.folder))
    assert run["tracking"] == {"mlflow": None, "tensorboard": False}  # the base config's: trials log where it does
    assert sweep.folder.parts[-2:] == ("sweeps", "s") and sweep.folder.is_absolute()


def test_random_draws_are_seeded_and_in_range(tmp_path):
    text = BASE + """\
method: random
trials: 12
seed: 7
parameters:
  optimizer.lr: {distribution: log_uniform, low: 1.0e-4, high: 0.1}
  training.batch_size: {distribution: integer, low: 8, high: 10}
  model.layers[0].activation: {distribution: choice, values: [relu, tanh]}
  optimizer.beta_1: {distribution: uniform, low: 0.8, high: 0.95}
  seed: [0, 1]
"""
    first = sweep_spec.assignments(load(tmp_path, text))
    assert first == sweep_spec.assignments(load(tmp_path, text))
    assert first != sweep_spec.assignments(load(tmp_path, text.replace("seed: 7", "seed: 8")))
    assert len(first) == 12
    for a in first:
        assert 1e-4 <= a["optimizer.lr"] <= 0.1 and 0.8 <= a["optimizer.beta_1"] <= 0.95
        assert a["training.batch_size"] in (8, 9, 10) and a["model.layers[0].activation"] in ("relu", "tanh")
        assert a["seed"] in (0, 1)
    assert {a["training.batch_size"] for a in first} == {8, 9, 10}  # both ends are drawn
    # more trials with the same seed keep the first draws: a sweep can be extended
    assert sweep_spec.assignments(load(tmp_path, text.replace("trials: 12", "trials: 20")))[:12] == first


def test_duplicates_run_once_and_bad_combinations_are_set_apart(tmp_path):
    sweep = load(tmp_path, BASE + """\
parameters:
  model.layers[0].activation: [relu, softmax, relu]
""")
    trials, invalid = sweep.trials()
    assert len(trials) == 1 and len(invalid) == 1
    assert "model.layers[0].activation='softmax'" in invalid[0]["error"]
    assert "softmax belongs on the output layer only" in invalid[0]["error"]


@pytest.mark.parametrize("text, message", [
    (BASE + "parameters:\n  optimizer.lr: [0.1]\nmetirc: val_loss\n",
     r"s.yaml:12: metirc: unknown key; did you mean 'metric'\?"),
    (BASE + "method: random\nparameters:\n  optimizer.lr: [0.1]\n",
     r"s.yaml:1: top level: method: random needs trials"),
    (BASE + "trials: 3\nparameters:\n  optimizer.lr: [0.1]\n", r"trials is for method: random"),
    (BASE + "parameters:\n  optimizer.lr: {distribution: uniform, low: 0.1, high: 0.2}\n",
     r"s.yaml:11: parameters.optimizer.lr: a grid needs a list of values; distributions need method: random"),
    (BASE + "method: random\ntrials: 2\nparameters:\n  optimizer.lr: {distribution: log_unifrom, low: 0.1, high: "
            "0.2}\n",
     r"s.yaml:13: parameters.optimizer.lr.distribution: expected one of .*did you mean 'log_uniform'\?"),
    (BASE + "method: random\ntrials: 2\nparameters:\n  optimizer.lr:\n    distribution: uniform\n    low: 0.5\n    "
            "hihg: 1\n",
     r"s.yaml:16: parameters.optimizer.lr.hihg: unknown key; did you mean 'high'\?"),
    (BASE + "method: random\ntrials: 2\nparameters:\n  optimizer.lr: {distribution: log_uniform, low: 0, high: 1}\n",
     r"s.yaml:13: parameters.optimizer.lr.low: input should be greater than 0"),
    (BASE + "method: random\ntrials: 2\nparameters:\n  optimizer.lr: {distribution: uniform, low: 2, high: 1}\n",
     r"low \(2.0\) must be less than high \(1.0\)"),
    (BASE + "parameters:\n  optimizer.lr: []\n", r"s.yaml:11: parameters.optimizer.lr: an empty list"),
    (BASE + "parameters:\n  optimizer..lr: [1]\n",
     r"s.yaml:11: parameters.optimizer..lr: 'optimizer..lr' is not a dotted"),
    (BASE + "parameters:\n  optimizer.lrr: [0.1, 0.2]\n",
     r"s.yaml:11: parameters.optimizer.lrr: optimizer.lrr is not a config key; did you mean 'lr'\?"),
    (BASE + "parameters:\n  model.layers[5].units: [3]\n",
     r"s.yaml:11: parameters.model.layers\[5\].units: model.layers has 2 items"),
    (BASE + "parameters:\n  optimizer.lr: [-1, 0]\n",
     (r"s.yaml:11: optimizer.lr: input should be greater than 0, got -1 \(no trial has a valid config; "
     r"this is the first, trial \(optimizer.lr=-1\)\)")),
    (BASE.replace("training: {epochs: 2}", "training: {epochs: 0}") + "parameters:\n  seed: [1]\n",
     r"s.yaml:9: training.epochs: input should be greater than or equal to 1, got 0 \(no trial"),
    ("base: missing.yaml\nparameters:\n  optimizer.lr: [1]\n", r"missing.yaml: no such file"),
    ("- a\n", r"s.yaml:1: a sweep spec is a mapping"),
    (BASE + "parameters:\n" + "".join(f"  model.layers[0].{k}: [{', '.join(['1'] * 100)}]\n" for k in ("units", "type",
                                                                                                       "activation")),
     r"s.yaml: the grid has 1,000,000 combinations; at most 10,000"),
    (BASE.replace("epochs: 2}", "epochs: 2}\n  data: {name: moons, val_fraction: 0}").replace("  data: {name: moons, "
                                                                                              "n_samples: 200, noise: "
                                                                                              "0.1}\n", "")
     + "parameters:\n  seed: [1]\n",
     r"s.yaml:9: data.val_fraction: is 0, but metric val_loss needs a validation split"),
    ("base: [1]\nparameters: {seed: [1]}\n",
     r"s.yaml:1: base: expected the path of a config file or an inline config mapping, got a list"),
    ("base: {}\nparameters: {}\n", r"s.yaml:2: parameters: give at least one dotted config key to vary"),
    ("base: {}\nparameters: [seed]\n", r"s.yaml:2: parameters: expected a mapping of keys to values, got a list"),
    ("parameters: {seed: [1]}\n", r"s.yaml:1: base: is required but missing"),
    (BASE + "parameters:\n  seed: 3\n", r"s.yaml:11: parameters.seed: expected a list of values .*belongs in base"),
    (BASE + "metric: val_acc\nparameters:\n  seed: [1]\n",
     (r"s.yaml:10: metric: expected one of val_loss, val_accuracy, val_mae, val_rmse, val_r2, got 'val_acc'; did you "
      r"mean 'val_accuracy'\?")),
])
def test_spec_errors_name_file_line_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, text).trials()


@pytest.mark.parametrize("name", [".", ".."])
def test_a_sweep_folder_never_leads_out_of_its_output_dir(name, tmp_path):
    with pytest.raises(ConfigError, match=r"s.yaml:12: name: '\.+' names output_dir itself or the folder above it"):
        load(tmp_path, BASE + f"parameters:\n  seed: [1]\nname: '{name}'\n")
    derived = load(tmp_path, BASE + "parameters:\n  seed: [1]\n", name="...yaml")  # a stem of '..'
    assert derived.folder.parent == (Path.cwd() / "sweeps").resolve() and derived.spec.name == "_"


def test_base_may_be_a_file_next_to_the_spec_and_a_key_valid_in_some_trials_is_fine(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE.replace("base:\n", "").replace("\n  ", "\n").lstrip())
    sweep = load(tmp_path, """\
base: base.yaml
parameters:
  optimizer: [{name: sgd, lr: 0.1}, {name: adam}]
  optimizer.momentum: [0.0, 0.9]
""")
    trials, invalid = sweep.trials()
    assert [t.config["optimizer"]["name"] for t in trials] == ["sgd", "sgd"]
    assert len(invalid) == 2 and all("momentum: unknown key" in bad["error"] for bad in invalid)
    assert invalid[0]["error"].startswith("trial (optimizer={'name': 'adam'}, optimizer.momentum=0.0): ")
    assert f"{tmp_path / 'base.yaml'}:" in invalid[0]["error"]


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "configs").glob("sweep_*.yaml")),
                         ids=lambda p: p.stem)
def test_every_shipped_sweep_is_valid(path):
    trials, invalid = sweep_spec.load(path).trials()
    assert trials and not invalid


def test_the_shipped_sweep_expands():
    sweep = sweep_spec.load(Path(__file__).parents[2] / "configs" / "sweep_moons.yaml")
    trials, invalid = sweep.trials()
    assert sweep.spec.method == "random" and len(trials) == 8 and not invalid
    assert all(t.config["data"]["name"] == "moons" and t.config["training"]["epochs"] == 60 for t in trials)
