"""Config: valid files load and round-trip; each broken file is one message naming its key and line."""


import pydantic
import pytest
import yaml
from helpers.configs import VALID, write

from nnctl import config
from nnctl.errors import ConfigError


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
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.seed = 4


@pytest.mark.parametrize("shipped", ["moons", "breast_cancer", "mnist"])
def test_shipped_configs_are_valid(shipped):
    assert config.load(f"configs/{shipped}.yaml").data.name == shipped


BROKEN = [
    # (replace this, with that, expected fragments of the message)
    ("activation: softmax}", "activation: sofmax}",
     ["c.yaml:8", "model.layers[1].activation", "did you mean 'softmax'"]),
    ("name: moons", "name: moonz", ["c.yaml:3", "data.name", "did you mean 'moons'"]),
    ("n_samples: 200", "n_sample: 200", ["c.yaml:4", "data.n_sample", "unknown key", "did you mean 'n_samples'"]),
    ("lr: 1e-3", "lr: -1", ["c.yaml:10", "optimizer.lr", "greater than 0"]),
    ("loss: cross_entropy", "loss: cross_entropi", ["c.yaml:9", "loss", "did you mean 'cross_entropy'"]),
    ("loss: cross_entropy", "", ["loss", "required"]),
    ("{name: adam, lr: 1e-3}", "{name: adm}", ["optimizer.name", "did you mean 'adam'"]),
    ("{name: adam, lr: 1e-3}", "{name: sgd, nesterov: true}", ["optimizer", "nesterov: true needs momentum"]),
    ("{units: 2, activation: softmax}", "{units: 3, activation: softmax}",
     ["c.yaml:8", "model.layers[1].units", "2 classes"]),
    ("{units: 2, activation: softmax}", "{units: 2, activation: relu}",
     ["model.layers[1].activation", "needs a softmax"]),
    ("{units: 8, activation: relu}", "{units: 8, activation: softmax}",
     ["model.layers[0].activation", "output layer only"]),
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
    assert "needs 1 output unit" in error_of(tmp_path, bce.replace("{units: 2, activation: softmax}",
                                                                   "{units: 2, activation: sigmoid}"))
    assert "needs a sigmoid" in error_of(tmp_path,
                                         bce.replace("{units: 2, activation: softmax}", "{units: 1, activation: tanh}"))
    config.load(write(tmp_path, bce.replace("{units: 2, activation: softmax}", "{units: 1, activation: sigmoid}")))
    mnist = bce.replace("name: moons\n  n_samples: 200", "name: mnist").replace("{units: 2, activation: softmax}",
                                                                                "{units: 1, activation: sigmoid}")
    assert "two classes" in error_of(tmp_path, mnist)


@pytest.mark.parametrize("text,fragment", [
    ("", "empty"),
    ("- 1\n- 2\n", "must be a mapping"),
    ("seed: 1\n\tdata: 2\n", "c.yaml:2: a tab"),
    ("a: [1\n", "c.yaml:1: the [ opened on this line is never closed: close it with ]\n  1 | a: [1"),
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


# ---------------------------------------------------------------- YAML traps, each with its defined behaviour


@pytest.mark.parametrize("written,value", [("1e-3", 1e-3), ("1E-3", 1e-3), ("5e-4", 5e-4), (".5e-2", 0.005),
                                           ("1e+2", 100.0), ("2e0", 2.0), ("1.0e-3", 1e-3), ("0.001", 1e-3)])
def test_exponents_without_a_dot_are_the_numbers_meant(tmp_path, written, value):
    assert config.load(write(tmp_path, VALID.replace("lr: 1e-3", f"lr: {written}"))).optimizer.lr == value


@pytest.mark.parametrize("old,new,fragments", [
    ("name: moons", "name: yes", ["data.name", "got True", "quote it"]),
    ("loss: cross_entropy", "loss: no", ["loss", "got False", "quote it"]),
    ("activation: relu}", "activation: off}", ["model.layers[0].activation", "got False", "quote it"]),
    ("seed: 3", "seed: 3\nrun: {name: no}", ["run.name", "quote it"]),
    ("seed: 3", "seed: 3\nrun: {output_dir: on}", ["run.output_dir", "quote it"]),
    ("lr: 1e-3", "lr: .inf", ["optimizer.lr", "finite number"]),
    ("lr: 1e-3", "lr: .nan", ["optimizer.lr"]),
    ("lr: 1e-3", "lr: '1e-3'", ["optimizer.lr", "valid number"]),  # a quoted number stays a string
    ("seed: 3", "seed: 3\ntraining: {epochs: 1e3}", ["training.epochs", "integer"]),
    ("seed: 3", "seed: 2001-12-14", ["seed", "integer"]),
])
def test_yes_no_on_off_and_numbers(tmp_path, old, new, fragments):
    message = error_of(tmp_path, VALID.replace(old, new, 1))
    for fragment in fragments:
        assert fragment in message, message


def test_quoted_yes_is_a_string(tmp_path):
    assert config.load(write(tmp_path, VALID.replace("seed: 3", "seed: 3\nrun: {name: 'yes'}"))).run.name == "yes"


@pytest.mark.parametrize("text,fragment", [
    ("   \n# only a comment\n", "empty"),
    ("just a string\n", "not a string"),
    ("42\n", "not an integer"),
    ("seed: 1\n---\nseed: 2\n", "another document"),
    ("a: !!python/object/apply:os.system ['touch PWNED']\n", "could not determine a constructor"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply"),
])
def test_more_yaml_traps(tmp_path, text, fragment, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert fragment in error_of(tmp_path, text)
    assert not (tmp_path / "PWNED").exists()


def test_alias_bomb_is_refused_quickly(tmp_path):
    """The billion laughs: nine levels of ten aliases would expand to 10^9 strings."""
    import time

    lines = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    started = time.perf_counter()
    assert "aliases" in error_of(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2


def test_a_100_mb_file_is_refused_without_reading_it(tmp_path):
    import time
    import tracemalloc

    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(100_000_000)  # sparse: 100 MB long, no disk used
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ConfigError, match="100,000,000 bytes; a config is at most 1,000,000"):
            config.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000 and time.perf_counter() - started < 1


def test_byte_order_mark_and_windows_line_ends_are_fine(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.replace("\n", "\r\n").encode())
    assert config.load(path).optimizer.lr == 1e-3


# subnormal: already rounded
@pytest.mark.parametrize("dtype,epsilon,rounded", [("float32", "1.0e-300", "0"), ("float32", "1.0e-39", "1e-39"),
                                                   ("float64", "1.0e-320", "9.99989e-321")])
def test_a_batchnorm_epsilon_below_the_dtypes_smallest_normal_is_refused(tmp_path, dtype, epsilon, rounded):
    """1e-300 is 0 in float32: it used to warn of a division by zero, then blame the learning rate."""
    text = VALID.replace("- {units: 8, activation: relu}",
                         f"- {{units: 8, activation: relu}}\n    - {{type: batchnorm, epsilon: {epsilon}}}")
    message = error_of(tmp_path, text + f"training: {{dtype: {dtype}}}\n")
    assert message.startswith(f"{tmp_path / 'c.yaml'}:8: model.layers[1].epsilon: ")
    assert f"below {dtype}'s smallest normal number" in message and f"({rounded} in {dtype})" in message
    assert "use the default 1e-3" in message


def test_a_small_but_normal_batchnorm_epsilon_is_fine(tmp_path):
    text = VALID.replace("- {units: 8, activation: relu}",
                         "- {units: 8, activation: relu}\n    - {type: batchnorm, epsilon: 1.0e-30}")
    assert config.load(write(tmp_path, text)).model.layers[1].epsilon == 1e-30


@pytest.mark.parametrize("text,line,anchor", [
    ("seed: &s 0\n", 1, "&s"),  # an anchor no alias uses
    ("seed: 0\ndata: &d {name: moons}\n", 2, "&d"),
    ("seed: 0\nmodel:\n  layers:\n    - &first {units: 8}\n", 4, "&first"),
    ("seed: &s 0\nrun: {name: *s}\n", 1, "&s"),  # refused at the anchor, before the alias
])
def test_yaml_anchors_are_refused_with_their_line(tmp_path, text, line, anchor):
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'c.yaml'}:{line}: YAML anchors and aliases ({anchor}) are not supported")
