"""The model API's layers and optimizers: one class per engine layer type and optimizer, made from
what the engine declares (keys, defaults, Keras' positional order), checked as a config is."""

import inspect

import pytest

import nnctl
from nnctl.config.schema import LAYER_MODELS
from nnctl.engine.model import LAYER_TYPES
from nnctl.engine.optimizers import OPTIMIZERS
from nnctl.errors import ConfigError
from nnctl.models import layers, optimizers


def test_every_layer_type_has_a_class_named_as_keras_names_it():
    assert {cls.type: cls.__name__ for cls in layers.BY_TYPE.values()} == \
        {name: cls.title for name, cls in LAYER_TYPES.items()}
    for name, cls in layers.BY_TYPE.items():
        assert getattr(layers, cls.__name__) is cls and cls.__name__ in layers.__all__
        keys = [p for p in inspect.signature(cls).parameters if p != "input_shape"]
        assert keys == [key.name for key in LAYER_TYPES[name].keys] == \
            [k for k in LAYER_MODELS[name].model_fields if k != "type"]  # the schema's keys, in its order
        for key in LAYER_TYPES[name].keys:  # help(layers.X) tells each key's meaning
            assert f"    {key.name}: " in cls.__doc__


def test_keras_positional_order():
    assert layers.Dense(32, "relu").get_config() == {"type": "dense", "units": 32, "activation": "relu"}
    assert layers.Conv2D(16, (3, 5), 2, "same").get_config() == \
        {"type": "conv2d", "filters": 16, "kernel_size": [3, 5], "strides": 2, "padding": "same"}
    assert layers.MaxPooling2D(3, 2).get_config() == {"type": "maxpool2d", "pool_size": 3, "strides": 2}
    assert layers.Dropout(0.25).options == {"rate": 0.25} and layers.Activation("tanh").options == {
        "activation": "tanh"
    }
    assert str(inspect.signature(layers.Dense)).startswith("(units, activation='linear', *, initializer=None")
    with pytest.raises(ConfigError, match=r"layers.Dense: takes 2 arguments by position \(units, activation\), got 3"):
        layers.Dense(32, "relu", "he_normal")
    with pytest.raises(ConfigError, match="takes 0 arguments by position"):
        layers.BatchNormalization(0.9)  # Keras' first is axis: by name only
    with pytest.raises(ConfigError, match="units is given twice"):
        layers.Dense(3, units=4)


def test_keras_and_pytorch_names_of_keys_and_words():
    dense = layers.Dense(8, activation="ReLU", kernel_initializer="kaiming_normal")
    assert dense.options == {"units": 8, "activation": "relu", "initializer": "he_normal"}
    assert layers.Conv2D(4, 3, dilation_rate=2).options["dilation"] == 2
    assert layers.ReLU().get_config() == {"type": "activation", "activation": "relu"}
    assert layers.Softmax().options == {"activation": "softmax"} and layers.ELU().options == {"activation": "elu"}
    assert repr(layers.Dense(4, activation="tanh")) == "Dense(units=4, activation='tanh')"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: layers.Dense(0), r"^layers.Dense: units: input should be greater than or equal to 1, got 0$"),
        (
            lambda: layers.Dense(32, activaton="relu"),
            (r"^layers.Dense: activaton: unknown key; did you mean 'activation'\? "
            r"\(allowed: units, activation, initializer, l1, l2\)$"),
        ),
        (lambda: layers.Dense(), r"^layers.Dense: units: is required but missing$"),
        (lambda: layers.Dense(32.0), r"units: input should be a valid integer, got 32.0"),
        (lambda: layers.Conv2D(8, 3, padding="smae"), r"padding: expected valid, same, an integer .* got 'smae'"),
        (lambda: layers.Dropout(1.5), r"^layers.Dropout: rate: input should be less than 1, got 1.5$"),
        (
            lambda: layers.Dense(4, activation="relu6"),
            r"activation: expected one of relu, .*, got 'relu6'; did you mean 'relu'",
        ),
        (lambda: layers.Dense(4, input_shape=(0,)), r"input_shape: expected the shape of one input"),
        (lambda: layers.Input((28, 28, 1, 1)), r"^layers.Input: input_shape"),
    ],
)
def test_a_wrong_argument_is_a_config_error_naming_it(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_a_layers_keys_are_its_attributes_as_in_keras():
    dense = layers.Dense(32, activation="relu")
    assert (dense.units, dense.activation, dense.l2) == (32, "relu", 0.0)  # given, or the key's default
    assert layers.Dropout(0.25).rate == 0.25 and layers.Conv2D(8, 3).padding == "valid"
    with pytest.raises(AttributeError, match=r"^Dense has no attribute 'unit' \(its keys: units, activation"):
        _ = dense.unit


def test_layers_from_a_configs_layer_dicts():
    assert layers.from_config({"units": 3}) == layers.Dense(3)
    assert layers.from_config({"type": "Conv2d", "out_channels": 4, "kernel_size": 3}) == layers.Conv2D(4, 3)
    assert layers.from_config({"type": "ReLU"}) == layers.ReLU()
    with pytest.raises(ConfigError, match="a layer's type: expected one of dense, .*got 'dens'"):
        layers.from_config({"type": "dens"})


def test_input_shapes():
    assert layers.Input(20).shape == (20,) and layers.Input((28, 28)).shape == (28, 28, 1)
    assert layers.Input(shape=[8, 8, 3]).shape == (8, 8, 3)
    assert layers.Dense(3, input_shape=(5,)).input_shape == (5,)


def test_every_optimizer_has_a_class_with_the_engines_arguments():
    assert {cls.name: cls.__name__ for cls in optimizers.BY_NAME.values()} == {
        n: c.__name__ for n, c in OPTIMIZERS.items()
    }
    for name, cls in optimizers.BY_NAME.items():
        engine = list(inspect.signature(OPTIMIZERS[name]).parameters.values())
        ours = list(inspect.signature(cls).parameters.values())
        assert [(p.name, p.default) for p in ours[: len(engine)]] == [(p.name, p.default) for p in engine]
        assert ours[-1].name == "learning_rate"


def test_optimizer_options_as_a_configs():
    assert optimizers.Adam(1e-3).get_config() == {"name": "adam", "lr": 1e-3}
    assert optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True).get_config() == {
        "name": "sgd",
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": True,
    }
    with pytest.raises(ConfigError, match=r"^optimizers.Adam: lr: input should be greater than 0, got -1$"):
        optimizers.Adam(lr=-1)
    with pytest.raises(ConfigError, match="lr and learning_rate are the same key"):
        optimizers.Adam(lr=0.1, learning_rate=0.2)
    with pytest.raises(ConfigError, match="betas: unknown key; did you mean 'beta_2'"):
        optimizers.Adam(betas=(0.9, 0.99))
    with pytest.raises(ConfigError, match="nesterov: true needs momentum > 0"):
        optimizers.SGD(nesterov=True)


def test_the_package_names_are_imported_on_first_use():
    assert nnctl.layers is layers and nnctl.optimizers is optimizers
    assert nnctl.Sequential.__name__ == "Sequential" and nnctl.Input is layers.Input and callable(nnctl.load)
    assert {"Sequential", "layers", "load"} <= set(dir(nnctl))
    with pytest.raises(AttributeError, match="no attribute 'Sequentail'"):
        nnctl.Sequentail  # noqa: B018
