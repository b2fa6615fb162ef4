"""The model API's summary against Keras 3's, recorded once by tests/reference/record_keras_summary.py
(KERAS_BACKEND=torch) for the same networks: every layer's output shape and parameter count, and
the total, for each recorded architecture built as a Sequential."""

import json
from pathlib import Path

import pytest

from nnctl import Input, Sequential, layers

KERAS = json.loads((Path(__file__).resolve().parents[1] / "reference" / "keras_summary.json").read_text())


@pytest.mark.parametrize("name", sorted(KERAS))
def test_a_sequentials_summary_is_keras(name, capsys):
    case = KERAS[name]
    model = Sequential([Input(case["input_shape"]), *(layers.from_config(layer) for layer in case["layers"])])
    rows = model.summary()
    assert [{"output_shape": r["output_shape"], "params": r["params"]} for r in rows] == case["keras"]
    assert model.count_params() == case["total_params"]
    assert f"Total params: {case['total_params']:,}" in capsys.readouterr().out


def test_keras_spelling_builds_the_recorded_networks():
    """The two architectures of the issue written as a Keras user writes them: the same layers as recorded."""
    mlp = Sequential([Input((784,)), layers.Dense(256, activation="relu"), layers.BatchNormalization(),
                      layers.Dropout(0.2), layers.Dense(128, activation="relu"), layers.BatchNormalization(),
                      layers.Dropout(0.2), layers.Dense(10, activation="softmax")])
    convnet = Sequential([Input(shape=(28, 28, 1)), layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                          layers.MaxPooling2D(pool_size=(2, 2)),
                          layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
                          layers.MaxPooling2D(pool_size=(2, 2)), layers.Flatten(), layers.Dropout(0.5),
                          layers.Dense(10, activation="softmax")])
    for model, name in ((mlp, "mlp_dropout_bn"), (convnet, "keras_mnist_convnet")):
        built = [layers.from_config(layer).get_config() for layer in KERAS[name]["layers"]]
        normal = [{k: [v, v] if k in ("kernel_size", "pool_size") and isinstance(v, int) else v
                   for k, v in layer.get_config().items()} for layer in model.layers]
        assert normal == [{k: [v, v] if k in ("kernel_size", "pool_size") and isinstance(v, int) else v
                           for k, v in layer.items()} for layer in built]
    assert convnet.count_params() == 34_826  # Keras' "Simple MNIST convnet" example says so too
