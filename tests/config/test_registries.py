"""One table per fact: the config schema allows exactly the names the engine registers, and its
defaults are the engine classes' constructor defaults."""

import inspect
import types
import typing

import numpy as np
import pytest

from nnctl import config
from nnctl.engine import callbacks, layers, model, optimizers, schedules
from nnctl.engine.activations import ACTIVATIONS
from nnctl.engine.losses import LOSSES
from nnctl.engine.protocol import REQUIRED


def _choices(annotation) -> tuple:
    """The values a Literal (possibly `Literal[...] | None`) allows."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return tuple(v for arg in typing.get_args(annotation) for v in _choices(arg))


def _members(union) -> list:
    """The models of a (discriminated, possibly tagged) union of the schema."""
    out = []
    for arg in typing.get_args(union):
        if typing.get_origin(arg) in (typing.Annotated, typing.Union, types.UnionType):
            out += _members(arg)
        elif isinstance(arg, type) and issubclass(arg, config.BaseModel):
            out.append(arg)
    return out


def _name(model_cls, key="name") -> str:
    field = model_cls.model_fields[key]
    literal = typing.get_origin(field.annotation) is typing.Literal
    return typing.get_args(field.annotation)[0] if literal else field.default


def test_activation_names_are_the_engines():
    for model_cls in (config.DenseLayer, config.BatchNormLayer):
        assert set(_choices(model_cls.model_fields["activation"].annotation)) == set(ACTIVATIONS)


def test_initializer_names_are_the_engines():
    assert set(_choices(config.DenseLayer.model_fields["initializer"].annotation)) == set(layers.INITIALIZERS)
    rng = np.random.default_rng(0)
    for name in layers.INITIALIZERS:
        assert layers.initialize(name, 3, 2, rng, "float32").shape == (3, 2)


def test_loss_names_are_the_engines():
    assert set(_choices(config.Config.model_fields["loss"].annotation)) == set(LOSSES)


def test_layer_types_are_the_ones_the_engine_builds():
    types = [_name(m, "type") for m in _members(config.LayerConfig)]
    assert types == list(model.LAYER_TYPES)
    samples = {"dense": {"units": 2}, "dropout": {"type": "dropout", "rate": 0.5}, "batchnorm": {"type": "batchnorm"},
               "activation": {"type": "activation", "activation": "tanh"}, "flatten": {"type": "flatten"},
               "conv2d": {"type": "conv2d", "filters": 2, "kernel_size": 3}, "maxpool2d": {"type": "maxpool2d"},
               "avgpool2d": {"type": "avgpool2d"}, "global_avgpool2d": {"type": "global_avgpool2d"}}
    assert set(samples) == set(types)
    for kind in types:  # each as config data, unresolved (the engine fills the default initializer itself)
        images = model.LAYER_TYPES[kind].takes_images
        tail = [{"type": "flatten"}] if images and kind != "global_avgpool2d" else []
        cfg = config.ModelConfig.model_validate({"layers": [samples[kind], *tail, {"units": 2}]})
        layers_ = config.plain(cfg.layers)
        shape = (6, 6, 2) if images else 3
        assert next(r["type"] for r in model.summary_rows(layers_, shape)) == model.LAYER_TYPES[kind].title
        model.build(layers_, shape, np.random.default_rng(0))


@pytest.mark.parametrize("kind", list(model.LAYER_TYPES))
def test_a_layer_types_keys_are_its_classes(kind):
    """The schema's model of a layer type holds exactly the keys its engine class declares, with
    their defaults and meanings; the class takes them as its constructor's keywords."""
    cls, schema_model = model.LAYER_TYPES[kind], config.LAYER_MODELS[kind]
    assert list(schema_model.model_fields) == ["type", *(key.name for key in cls.keys)]
    for key in cls.keys:
        field = schema_model.model_fields[key.name]
        assert field.description == key.description
        assert field.is_required() == (key.default is REQUIRED)
        if key.default is not REQUIRED:
            assert field.default == key.default
    example = {key.name: key.default for key in cls.keys if key.default is not REQUIRED}
    if kind in ("dense", "conv2d"):
        example.update(units=2) if kind == "dense" else example.update(filters=2, kernel_size=3)
    if kind == "dropout":
        example["rate"] = 0.1
    if kind == "activation":
        example["activation"] = "relu"
    layer = cls(**example)
    assert layer.get_config() == {"type": kind, **example}


# (schema union, engine registry, keys of the schema the engine's constructor does not take or
#  whose default the schema sets on purpose)
REGISTRIES = [
    (config.OptimizerConfig, optimizers.OPTIMIZERS, set()),
    (config.ScheduleConfig, schedules.SCHEDULES, {"epochs"}),  # cosine: default training.epochs
]


@pytest.mark.parametrize("union, registry, apart", REGISTRIES, ids=["optimizers", "schedules"])
def test_names_keys_and_defaults_are_the_engines(union, registry, apart):
    members = {_name(m): m for m in _members(union)}
    assert list(members) == list(registry)
    for name, model_cls in members.items():
        _same_keys_and_defaults(model_cls, registry[name], apart)


def test_early_stopping_keys_and_defaults_are_the_engines():
    _same_keys_and_defaults(config.EarlyStoppingConfig, callbacks.EarlyStopping, set())


def _same_keys_and_defaults(model_cls, engine_cls, apart):
    parameters = inspect.signature(engine_cls).parameters
    keys = set(model_cls.model_fields) - {"name"}
    assert keys == set(parameters), (model_cls.__name__, engine_cls.__name__)
    for key in keys - apart:
        assert model_cls.model_fields[key].default == parameters[key].default, (model_cls.__name__, key)
        assert parameters[key].default is not inspect.Parameter.empty, (engine_cls.__name__, key)
