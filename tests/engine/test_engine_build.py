"""The engine builds from plain values, a layer's or a section's YAML keys, with no config objects."""

import numpy as np

from nnctl import config
from nnctl.engine import callbacks, optimizers, schedules
from nnctl.engine.layers import default_initializer
from nnctl.engine.model import build, state_shapes, summary_rows

LAYERS = [{"units": 5, "activation": "relu"}, {"type": "dropout", "rate": 0.5},
          {"type": "batchnorm", "activation": "tanh"},
          {"type": "dense", "units": 2, "activation": "softmax", "l2": 0.1}]


def test_a_model_builds_from_plain_dicts_as_from_the_resolved_config():
    cfg = config.from_dict({"data": {"name": "moons"}, "model": {"layers": LAYERS}, "loss": "cross_entropy",
                            "optimizer": {"name": "adam"}})
    resolved = config.plain(cfg.model.layers)
    assert resolved[0]["initializer"] == default_initializer("relu") == "he_uniform"
    assert resolved[3]["initializer"] == default_initializer("softmax") == "glorot_uniform"
    plain, full = (build(layers, 2, np.random.default_rng(0), "float64") for layers in (LAYERS, resolved))
    assert [name for name, _ in plain.named_layers] == [name for name, _ in full.named_layers] == \
        ["layers.0", "layers.0.relu", "layers.1", "layers.2", "layers.2.tanh", "layers.3", "layers.3.softmax"]
    assert {k: v.tobytes() for k, v in plain.state().items()} == {k: v.tobytes() for k, v in full.state().items()}
    assert len(plain.penalties) == 1 and plain.penalties[0][2].l2 == 0.1
    assert summary_rows(LAYERS, 2) == summary_rows(resolved, 2)
    assert state_shapes(LAYERS, 2)[0] == {k: v.shape for k, v in plain.params().items()}


def test_the_config_fills_in_the_engines_default_initializer():
    assert config.default_initializer is default_initializer


def test_optimizers_schedules_and_stopping_build_from_their_yaml_keys():
    adam = optimizers.build({"name": "adam", "lr": 0.1, "amsgrad": True})
    assert type(adam) is optimizers.Adam and adam.lr == 0.1 and adam.amsgrad
    step = schedules.build({"name": "step", "step_size": 3})
    assert type(step) is schedules.Step and step.step_size == 3 and step.gamma == 0.1
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=2)
    assert stop.patience == 2 and stop.mode == "max"
