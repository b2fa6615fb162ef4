"""Record, once, what Keras 3 prints in model.summary() for a few networks: tests/reference/keras_summary.json.

The tests build the same networks from nnctl layer dicts and compare every layer's output shape
and parameter count; they do not need Keras. Re-record (only when adding a case) with

    KERAS_BACKEND=torch python tests/reference/record_keras_summary.py

Each case holds an input shape (height, width, channels, or features) and nnctl's layer dicts;
KERAS_LAYERS says which Keras layer each type is (an nnctl layer's activation is an argument of
Keras' layer, as it is of nnctl's).
"""

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras

OUT = Path(__file__).with_name("keras_summary.json")

CASES = {
    "mnist_cnn": ((28, 28, 1), [
        {"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 32, "kernel_size": 5, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"units": 128, "activation": "relu"},
        {"units": 10, "activation": "softmax"}]),
    "strides_dilation_bn": ((17, 13, 3), [
        {"type": "conv2d", "filters": 8, "kernel_size": [3, 5], "strides": [2, 1], "padding": "valid"},
        {"type": "batchnorm", "activation": "relu"},
        {"type": "conv2d", "filters": 6, "kernel_size": 3, "dilation": 2, "padding": "same"},
        {"type": "avgpool2d", "pool_size": 3, "strides": 2, "padding": "same"},
        {"type": "dropout", "rate": 0.3},
        {"type": "global_avgpool2d"},
        {"units": 4, "activation": "softmax"}]),
    "digits_small": ((8, 8, 1), [
        {"type": "conv2d", "filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2, "strides": 1, "padding": "same"},
        {"type": "conv2d", "filters": 64, "kernel_size": 3, "strides": 2},
        {"type": "flatten"},
        {"type": "dropout", "rate": 0.5},
        {"units": 10, "activation": "softmax"}]),
    "dense": ((20,), [{"units": 7, "activation": "tanh"}, {"type": "batchnorm"}, {"units": 3}]),
    # the model API's architectures (tests/models/test_keras_parity.py builds each as a Sequential)
    "mlp_dropout_bn": ((784,), [
        {"units": 256, "activation": "relu"}, {"type": "batchnorm"}, {"type": "dropout", "rate": 0.2},
        {"units": 128, "activation": "relu"}, {"type": "batchnorm"}, {"type": "dropout", "rate": 0.2},
        {"units": 10, "activation": "softmax"}]),
    "keras_mnist_convnet": ((28, 28, 1), [  # Keras' "Simple MNIST convnet" example
        {"type": "conv2d", "filters": 32, "kernel_size": 3, "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 64, "kernel_size": 3, "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dropout", "rate": 0.5},
        {"units": 10, "activation": "softmax"}]),
    "cnn_bn_gap": ((32, 32, 3), [
        {"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": "same"},
        {"type": "batchnorm", "activation": "relu"},
        {"type": "conv2d", "filters": 32, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
        {"type": "avgpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 64, "kernel_size": [3, 1]},
        {"type": "batchnorm"},
        {"type": "global_avgpool2d"},
        {"type": "dropout", "rate": 0.3},
        {"units": 10, "activation": "softmax"}]),
    "activation_layers": ((12,), [
        {"units": 8}, {"type": "activation", "activation": "relu"}, {"units": 8},
        {"type": "activation", "activation": "elu"},
        {"units": 3, "activation": "softmax"}]),
}


def keras_layer(spec: dict):
    """The Keras layer an nnctl layer dict means."""
    kind = spec.get("type", "dense")
    words = {k: v for k, v in spec.items() if k != "type"}
    if "kernel_size" in words:
        words["kernel_size"] = tuple(words["kernel_size"]) if isinstance(words["kernel_size"],
                                                                         list) else words["kernel_size"]
    for key in ("strides", "pool_size"):
        if isinstance(words.get(key), list):
            words[key] = tuple(words[key])
    if "dilation" in words:
        words["dilation_rate"] = words.pop("dilation")
    if kind == "batchnorm":
        activation = words.pop("activation", "linear")
        return [keras.layers.BatchNormalization(**words), keras.layers.Activation(activation)]
    return [{"dense": keras.layers.Dense, "conv2d": keras.layers.Conv2D, "maxpool2d": keras.layers.MaxPooling2D,
             "avgpool2d": keras.layers.AveragePooling2D, "flatten": keras.layers.Flatten,
             "global_avgpool2d": keras.layers.GlobalAveragePooling2D, "dropout": keras.layers.Dropout,
             "activation": keras.layers.Activation}[kind](**words)]


def record() -> dict:
    out = {}
    for name, (shape, layers) in CASES.items():
        rows = []
        x = inputs = keras.Input(shape=shape)
        for spec in layers:
            made = keras_layer(spec)
            for layer in made:
                x = layer(x)
            rows.append({"output_shape": list(x.shape), "params": sum(layer.count_params() for layer in made)})
        model = keras.Model(inputs, x)
        out[name] = {"input_shape": list(shape), "layers": layers, "keras": rows, "total_params": model.count_params(),
                     "keras_version": keras.__version__}
    return out


if __name__ == "__main__":
    OUT.write_text(json.dumps(record(), indent=1) + "\n")
    print(f"wrote {OUT}")
