"""Config: valid files load and round-trip; each broken file is one message naming its key and line."""

import textwrap

import pytest
import yaml

from nnctl import config
from nnctl.errors import ConfigError

VALID = """\
seed: 3
data:
  name: moons
  n_samples: 200
model:
  layers:
    - {units: 8, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 1e-3}
"""


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path, text) -> str:
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, text))
    return str(info.value)


def test_valid_config_loads_with_defaults_resolved(tmp_path):
    cfg = config.load(write(tmp_path, VALID, "my-run.yaml"))
    assert cfg.optimizer.lr == 1e-3  # 1e-3 without a dot is the number the user meant
    assert cfg.data.noise == 0.2 and cfg.data.scaling == "standard"
    assert cfg.model.layers[0].initializer == "he_uniform"
    assert cfg.model.layers[1].initializer == "glorot_uniform"
    assert cfg.run.name == "my-run" and cfg.training.dtype == "float32"


def test_resolved_config_round_trips(tmp_path):
    cfg = config.load(write(tmp_path, VALID))
    again = config.load(write(tmp_path, config.dump(cfg), "again.yaml"))
    assert again == cfg


def test_config_is_immutable(tmp_path):
    cfg = config.load(write(tmp_path, VALID))
    with pytest.raises(Exception):
        cfg.seed = 4


@pytest.mark.parametrize("shipped", ["moons", "breast_cancer", "mnist"])
def test_shipped_configs_are_valid(shipped):
    assert config.load(f"configs/{shipped}.yaml").data.name == shipped


BROKEN = [
    # (replace this, with that, expected fragments of the message)
    ("activation: softmax}", "activation: sofmax}", ["c.yaml:8", "model.layers[1].activation", "did you mean 'softmax'"]),
    ("name: moons", "name: moonz", ["c.yaml:3", "data.name", "did you mean 'moons'"]),
    ("n_samples: 200", "n_sample: 200", ["c.yaml:4", "data.n_sample", "unknown key", "did you mean 'n_samples'"]),
    ("lr: 1e-3", "lr: -1", ["c.yaml:10", "optimizer.lr", "greater than 0"]),
    ("loss: cross_entropy", "loss: crossentropy", ["c.yaml:9", "loss", "did you mean 'cross_entropy'"]),
    ("loss: cross_entropy", "", ["loss", "required"]),
    ("{name: adam, lr: 1e-3}", "{name: adm}", ["optimizer.name", "did you mean 'adam'"]),
    ("{name: adam, lr: 1e-3}", "{name: sgd, nesterov: true}", ["optimizer", "nesterov: true needs momentum"]),
    ("{units: 2, activation: softmax}", "{units: 3, activation: softmax}", ["c.yaml:8", "model.layers[1].units", "2 classes"]),
    ("{units: 2, activation: softmax}", "{units: 2, activation: relu}", ["model.layers[1].activation", "needs a softmax"]),
    ("{units: 8, activation: relu}", "{units: 8, activation: softmax}", ["model.layers[0].activation", "output layer only"]),
    ("{units: 8, activation: relu}", "{units: zero}", ["model.layers[0].units", "integer"]),
    ("seed: 3", "seed: 3\nseed: 4", ["c.yaml:2", "seed", "duplicate key", "line 1"]),
    ("seed: 3", "seed: 3\ntraining: {shuffle: maybe}", ["training.shuffle", "boolean"]),
    ("seed: 3", "seed: 3\nrun: {name: on}", ["run.name", "quote it"]),
    ("seed: 3", "seed: 3\ntraining: {epochs: yes}", ["training.epochs", "quote it"]),
    ("seed: 3", "seed: 3\ntraining: {dtype: float16}", ["training.dtype", "float32, float64"]),
    ("seed: 3", "seed: 3\nrun: {name: ../escape}", ["run.name", "pattern"]),
]


@pytest.mark.parametrize("old,new,fragments", BROKEN)
def test_broken_config_names_its_key(tmp_path, old, new, fragments):
    assert old in VALID
    message = error_of(tmp_path, VALID.replace(old, new, 1))
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message and "Traceback" not in message


def test_binary_task_checks(tmp_path):
    bce = VALID.replace("loss: cross_entropy", "loss: binary_cross_entropy")
    assert "needs 1 output unit" in error_of(tmp_path, bce.replace("{units: 2, activation: softmax}", "{units: 2, activation: sigmoid}"))
    assert "needs a sigmoid" in error_of(tmp_path, bce.replace("{units: 2, activation: softmax}", "{units: 1, activation: tanh}"))
    config.load(write(tmp_path, bce.replace("{units: 2, activation: softmax}", "{units: 1, activation: sigmoid}")))
    mnist = bce.replace("name: moons\n  n_samples: 200", "name: mnist").replace("{units: 2, activation: softmax}", "{units: 1, activation: sigmoid}")
    assert "two classes" in error_of(tmp_path, mnist)


@pytest.mark.parametrize("text,fragment", [
    ("", "empty"),
    ("- 1\n- 2\n", "must be a mapping"),
    ("seed: 1\n\tdata: 2\n", "c.yaml:2: a tab"),
    ("a: [1\n", "not valid YAML"),
    ("a: &x [1, 2]\nb: *x\n", "aliases"),
    ("a: &a [1]\nb: &b [*a, *a]\nc: &c [*b, *b]\n", "aliases"),
])
def test_yaml_traps(tmp_path, text, fragment):
    assert fragment in error_of(tmp_path, text)


def test_binary_and_huge_files(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"\x00\xff\xfe binary")
    with pytest.raises(ConfigError, match="not a text file"):
        config.load(tmp_path / "bin.yaml")
    (tmp_path / "big.yaml").write_bytes(b"# " + b"x" * 2_000_000)
    with pytest.raises(ConfigError, match="at most"):
        config.load(tmp_path / "big.yaml")
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "missing.yaml")


def test_json_schema_lists_the_sections():
    schema = config.json_schema()
    assert {"seed", "data", "model", "loss", "optimizer", "training", "run"} <= set(schema["properties"])
    yaml.safe_dump(schema)  # plain data
