"""The JSON Schema accepts what nnctl accepts (every alias, in any spelling nnctl folds, a `$schema`
key) and refuses what nnctl refuses where a schema can say it; the sweep spec's schema likewise."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, strategies as st

from nnctl import config
from nnctl.cli import main
from nnctl.config import aliases
from nnctl.config.json_schema import places, spelling_pattern
from nnctl.errors import ConfigError
from nnctl.sweep import spec as sweep_spec

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads(CliRunner().invoke(main, ["schema"]).stdout)
SWEEP_SCHEMA = json.loads(CliRunner().invoke(main, ["schema", "--sweep"]).stdout)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MOONS = {"seed": 0, "data": {"name": "moons", "n_samples": 100},
         "model": {"layers": [{"units": 4, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
         "loss": "cross_entropy", "optimizer": {"name": "adam"}, "training": {"epochs": 1}}


def spellings(word: str) -> list[str]:
    """Ways users write one word that aliases.fold makes the same."""
    parts = word.replace("-", "_").split("_")
    return sorted({word, word.upper(), word.lower(), word.replace("_", "-"), word.replace("_", " "),
                   "".join(p[:1].upper() + p[1:] for p in parts), f" {word}_"})


def config_with(table: aliases.Words, word: str, canonical_word: str) -> dict:
    """A config nnctl accepts with `word` (a spelling of `canonical_word`) where `table` is read."""
    cfg = copy.deepcopy(MOONS)
    layers = cfg["model"]["layers"]
    if table is aliases.LOSSES:
        if canonical_word == "binary_cross_entropy":
            layers[-1] = {"units": 1, "activation": "sigmoid"}
        elif canonical_word in ("mse", "mae", "huber"):
            cfg["data"], layers[-1] = {"name": "diabetes"}, {"units": 1}
        cfg["loss"] = word
    elif table is aliases.ACTIVATIONS:
        (layers[-1] if canonical_word == "softmax" else layers[0])["activation"] = word
    elif table is aliases.INITIALIZERS:
        layers[0]["initializer"] = word
    elif table is aliases.LAYER_TYPES and canonical_word in IMAGE_LAYERS:  # on images, before the dense layers
        cfg["data"] = {"name": "digits"}
        flat = [] if canonical_word in ("flatten", "global_avgpool2d") else [{"type": "flatten"}]
        cfg["model"]["layers"] = [{"type": word, **IMAGE_LAYERS[canonical_word]}, *flat,
                                  {"units": 10, "activation": "softmax"}]
    elif table is aliases.LAYER_TYPES:
        layers.insert(1, {"type": word, **{"dense": {"units": 3}, "dropout": {"rate": 0.1},
                                           "activation": {"activation": "tanh"}}.get(canonical_word, {})})
    elif table is aliases.OPTIMIZERS:
        cfg["optimizer"] = {"name": word}
    elif table is aliases.SCHEDULES:
        cfg["training"]["schedule"] = {"name": word}
    elif table is aliases.DATA_SETS:
        cfg["data"] = {"name": word, **{"csv": {"path": "t.csv"}, "npz": {"path": "t.npz"},
                                        "openml": {"dataset": "iris"}}.get(canonical_word, {})}
        if canonical_word in ("diabetes",):
            cfg["loss"], layers[-1] = "mse", {"units": 1}
        elif canonical_word in ("mnist", "fashion_mnist", "digits", "blobs"):
            layers[-1]["units"] = 10 if canonical_word != "blobs" else 3
        elif canonical_word in ("iris", "wine"):
            layers[-1]["units"] = 3
    return cfg


IMAGE_LAYERS = {"conv2d": {"filters": 2, "kernel_size": 3}, "maxpool2d": {}, "avgpool2d": {}, "flatten": {},
                "global_avgpool2d": {}}  # the keys each needs


ALL_WORDS = [(table, word, target) for table in aliases.WORDS
             for word, target in [*((n, n) for n in table.names), *table.aliases.items()]]


@pytest.mark.parametrize("table, word, target", ALL_WORDS, ids=[f"{t.key}={w}" for t, w, _ in ALL_WORDS])
def test_every_word_and_alias_in_every_spelling_nnctl_accepts_validates(table, word, target):
    for spelling in spellings(word):
        cfg = config_with(table, spelling, target)
        config.from_dict(copy.deepcopy(cfg))  # nnctl accepts it...
        VALIDATOR.validate(cfg)  # ...and so does the schema


@pytest.mark.parametrize("section, renamed", [(s, r) for s, keys in aliases.KEYS.items() for r in keys.items()])
def test_every_key_alias_validates_and_giving_both_names_is_refused(section, renamed):
    alias, key = renamed
    cfg = copy.deepcopy(MOONS)
    node = {"optimizer": cfg["optimizer"], "training": cfg["training"],
            "model.layers[]": cfg["model"]["layers"][0]}[section]
    value = {"lr": 0.01, "units": 4, "initializer": "he_normal", "epochs": 2, "clip_norm": 1.0}[key]
    node.pop(key, None)
    node[alias] = value
    config.from_dict(copy.deepcopy(cfg))
    VALIDATOR.validate(cfg)
    node[key] = value
    with pytest.raises(ConfigError, match="are the same key"):
        config.from_dict(copy.deepcopy(cfg))
    assert not VALIDATOR.is_valid(cfg)


@given(st.sampled_from([(t, w) for t, w, _ in ALL_WORDS]), st.lists(st.sampled_from(["", "", "_", "-", " ", ".", "x"]),
       min_size=40, max_size=40), st.lists(st.booleans(), min_size=40, max_size=40))
@pytest.mark.slow
def test_the_pattern_matches_a_spelling_exactly_when_nnctl_folds_it_to_a_word(chosen, separators, upper):
    """Random case and separators in a word (and a few characters fold keeps): the schema's pattern
    and nnctl's lookup agree on every one."""
    table, word = chosen
    spelled = "".join(sep + (c.upper() if up else c) for c, sep, up in zip(word, separators, upper))
    spelled += separators[len(word) % 40]
    known = table.lookup(spelled) is not None
    pattern = spelling_pattern([*table.names, *table.aliases])
    assert jsonschema.Draft202012Validator({"type": "string", "pattern": pattern}).is_valid(spelled) == known


def test_the_shipped_configs_and_sweep_specs_validate():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(SWEEP_SCHEMA)
    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert len(configs) >= 10
    sweeps = jsonschema.Draft202012Validator(SWEEP_SCHEMA)
    for path in configs:
        data = yaml.safe_load(path.read_text())
        (sweeps if path.stem.startswith("sweep_") else VALIDATOR).validate(data)


@pytest.mark.parametrize("change", [
    {"loss": "cross_entrophy"}, {"seed": -1}, {"extra": 1}, {"optimizer": {"name": "adam", "lr": "fast"}},
    {"optimizer": {"name": "adamm"}}, {"optimizer": {"name": "adam", "lr": -1}},
    {"model": {"layers": [{"units": 0}]}}, {"model": {"layers": [{"units": 2, "activation": "rleu"}]}},
    {"model": {"layers": [{"type": "dropout", "units": 2}]}}, {"model": {"layers": []}},
    {"training": {"epochs": 1, "$schema": "x.json"}}, {"data": {"name": "moons", "nosie": 0.1}},
    {"training": {"schedule": {"name": "cosine_annealing_warm"}}}, {"loss": "l2_loss"},
])
def test_what_nnctl_refuses_the_schema_refuses(change):
    cfg = {**copy.deepcopy(MOONS), **change}
    with pytest.raises(ConfigError):
        config.from_dict(copy.deepcopy(cfg))
    assert not VALIDATOR.is_valid(cfg)


def test_a_top_level_schema_key_is_allowed_and_ignored(tmp_path):
    path = tmp_path / "moons.yaml"
    path.write_text("# yaml-language-server: $schema=nnctl.schema.json\n$schema: ./nnctl.schema.json\n"
                    + yaml.safe_dump(MOONS))
    cfg = config.load(path)
    assert cfg == config.from_dict(copy.deepcopy(MOONS), stem="moons")
    assert "$schema" not in config.dump(cfg)
    VALIDATOR.validate(yaml.safe_load(path.read_text()))
    assert SCHEMA["properties"]["$schema"]["type"] == "string"


def test_the_sweep_schema_accepts_specs_nnctl_accepts_and_refuses_what_it_refuses(tmp_path):
    validator = jsonschema.Draft202012Validator(SWEEP_SCHEMA)
    good = {"$schema": "sweep.schema.json", "base": MOONS, "method": "random", "trials": 2,
            "parameters": {"optimizer.lr": {"distribution": "log_uniform", "low": 1e-3, "high": 0.1},
                           "model.layers[0].units": [4, 8]}}
    bad = [{**good, "method": "grid"},  # trials and a distribution are for random
           {**good, "trials": None}, {k: v for k, v in good.items() if k != "trials"},
           {**good, "parameters": {"optimizer.lr": []}}, {**good, "parameters": {}},
           {**good, "parameters": {"optimizer..lr": [1]}}, {**good, "metric": "accuracy"},
           {**good, "parameters": {"optimizer.lr": {"distribution": "normal", "low": 1, "high": 2}}}]
    for number, spec in enumerate([good, *bad]):
        path = tmp_path / f"spec{number}.yaml"
        path.write_text(yaml.safe_dump(spec))
        try:
            sweep_spec.load(path)
            accepted = True
        except ConfigError:
            accepted = False
        assert validator.is_valid(spec) == accepted == (spec is good), spec


def test_places_finds_each_word_of_every_table():
    for table in aliases.WORDS:
        assert places(SCHEMA, table.key), table.key
    for section in aliases.KEYS:
        assert places(SCHEMA, section, resolve=True), section


IMAGE_CONFIG = {"data": {"name": "digits"}, "loss": "cross_entropy", "optimizer": {"name": "adam"}}


@pytest.mark.parametrize("layer", [{"type": "ReLU"}, {"type": "leaky relu"}, {"type": "Tanh"},
                                   {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "stride": 1},
                                   {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Dropout", "p": 0.1},
                                   {"type": "BatchNorm2d", "eps": 0.01}])
def test_layer_spellings_of_image_and_activation_layers_validate_as_nnctl_accepts_them(layer):
    """Each layer type's own key aliases (PyTorch's out_channels, stride, p, eps) and an activation's
    name as a layer's type (Keras' ReLU layer) are in the schema, as nnctl reads them."""
    cfg = {**IMAGE_CONFIG, "model": {"layers": [layer, {"type": "flatten"}, {"units": 10, "activation": "softmax"}]}}
    config.from_dict(copy.deepcopy(cfg))
    jsonschema.validate(cfg, SCHEMA)


@pytest.mark.parametrize("layer", [{"type": "ReLU", "activation": "relu"}, {"type": "ReLU", "units": 3},
                                   {"type": "MaxPool2d", "out_channels": 2}, {"type": "conv2d", "filters": 2,
                                                                              "kernel_size": 3, "p": 0.1}])
def test_what_nnctl_refuses_in_a_layer_the_schema_refuses(layer):
    cfg = {**IMAGE_CONFIG, "model": {"layers": [layer, {"type": "flatten"}, {"units": 10, "activation": "softmax"}]}}
    with pytest.raises(ConfigError):
        config.from_dict(copy.deepcopy(cfg))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cfg, SCHEMA)
