"""Property tests: whatever the bytes, the loaders raise only nnctl's own errors, and the CLI
answers with exit 3 (config) or 4 (checkpoint), never a traceback."""

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from nnctl import api, config
from nnctl.cli import main
from nnctl.errors import CheckpointError, ConfigError
from nnctl.runs import checkpoint

VALID = {
    "seed": 3,
    "data": {"name": "moons", "n_samples": 100, "noise": 0.1, "scaling": "standard"},
    "model": {"layers": [{"units": 4, "activation": "tanh"}, {"units": 2, "activation": "softmax"}]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 0.01},
    "training": {"epochs": 2, "batch_size": 16, "dtype": "float32"},
}
WORDS = ["seed", "data", "model", "layers", "loss", "optimizer", "training", "run", "name", "units", "activation",
         "moons", "mnist", "adam", "sgd", "lr", "epochs", "batch_size", "softmax", "sigmoid", "mse", "dtype", "path"]
scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=20) | st.sampled_from(WORDS))
keys = st.sampled_from(WORDS) | st.text(max_size=10)
json_values = st.recursive(scalars,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                           max_leaves=20)


def paths_of(value, prefix=()):
    """Every path into a nested dict/list, the root included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


def mutate(doc, data, under=None):
    """Replace, delete or add at a random path of a deep copy of `doc` (below a top key in `under`)."""
    doc = json.loads(json.dumps(doc))
    paths = [p for p in paths_of(doc) if p and (under is None or p[0] in under)]
    path = data.draw(st.sampled_from(paths))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = data.draw(json_values)
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(keys)] = data.draw(json_values)
    else:
        parent.append(data.draw(json_values))
    return doc


def load_config_or_error(path):
    try:
        return config.load(path)
    except ConfigError as e:
        # one line per error, each naming the file; a YAML mistake shows its line under it
        lines = str(e).split("\n")
        assert all(line.startswith(str(path)) or re.fullmatch(r"  [0-9]+ \| .*", line) for line in lines), str(e)
        return None


# ---------------------------------------------------------------- configs


@pytest.mark.slow
@given(doc=json_values)
def test_config_loader_on_arbitrary_yaml_documents(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("c") / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    load_config_or_error(path)


@pytest.mark.slow
@given(data=st.data())
def test_config_loader_on_mutations_of_a_valid_config(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("c") / "c.yaml"
    path.write_text(yaml.safe_dump(mutate(VALID, data)))
    load_config_or_error(path)


@pytest.mark.slow
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_config_loader_on_arbitrary_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("c") / "c.yaml"
    path.write_bytes(raw)
    load_config_or_error(path)


@given(raw=st.sampled_from([b"\x00\x01", b"a: [", b"- 1", b"a: &x 1\nb: *x", b"\t- x", b""]) | st.binary(max_size=100))
@settings(max_examples=30)
def test_cli_on_broken_configs_exits_3(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("c") / "c.yaml"
    path.write_bytes(raw)
    for command in ("train", "summary"):
        result = CliRunner().invoke(main, [command, str(path)])
        assert result.exit_code == 3, result.output
        assert "Traceback" not in result.output and result.stderr.startswith("error: ")


# ---------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("valid")
    (folder / "c.yaml").write_text(yaml.safe_dump(VALID))
    result = api.train(api.load_config(folder / "c.yaml"), run_dir=folder / "run")
    return Path(result["last_checkpoint"]).read_bytes()


def load_checkpoint_or_error(path):
    try:
        return checkpoint.load(path)
    except CheckpointError as e:
        assert str(e)
        return None


@pytest.mark.slow
@given(data=st.data(), resign=st.booleans())
def test_checkpoint_loader_on_mutated_documents(tmp_path_factory, valid, data, resign):
    doc = mutate(json.loads(valid), data)
    if resign and isinstance(doc, dict):
        doc["sha256"] = checkpoint._digest(doc)
    path = tmp_path_factory.mktemp("k") / "k.json"
    path.write_text(json.dumps(doc))
    load_checkpoint_or_error(path)


@pytest.mark.slow
@given(data=st.data())
def test_checkpoint_loader_on_mutations_outside_the_config(tmp_path_factory, valid, data):
    """Most paths lead into the config; these are the parts checkpoint.load checks itself."""
    doc = mutate(json.loads(valid), data, under={"preprocessing", "classes", "training", "optimizer", "state", "epoch",
                                                  "input_shape", "metrics", "version", "format"})
    doc["sha256"] = checkpoint._digest(doc)
    path = tmp_path_factory.mktemp("k") / "k.json"
    path.write_text(json.dumps(doc))
    load_checkpoint_or_error(path)


@given(data=st.data())
def test_checkpoint_loader_on_mutated_bytes(tmp_path_factory, valid, data):
    raw = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if how == "flip":
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "cut":
            del raw[i:i + data.draw(st.integers(1, 50))]
        elif how == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=20))
        else:
            del raw[i:]
        if not raw:
            break
    path = tmp_path_factory.mktemp("k") / "k.json"
    path.write_bytes(bytes(raw))
    assert load_checkpoint_or_error(path) is None or bytes(raw) == valid


@pytest.mark.slow
@given(data=st.data())
@settings(max_examples=30)
def test_cli_on_mutated_checkpoints_exits_4(tmp_path_factory, valid, data):
    doc = mutate(json.loads(valid), data)
    doc["sha256"] = checkpoint._digest(doc)
    path = tmp_path_factory.mktemp("k") / "k.json"
    path.write_text(json.dumps(doc))
    for command in ("eval", "summary"):
        result = CliRunner().invoke(main, [command, str(path)])
        assert "Traceback" not in result.output
        assert result.exit_code in (0, 4), result.output
        assert result.exit_code == 0 or result.stderr.startswith("error: ")
