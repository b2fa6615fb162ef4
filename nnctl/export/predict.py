"""Predictions of a model exported by `nnctl export --format numpy`. It needs NumPy and nothing else.

    python predict.py input.csv       # one predicted class (regression: value) per row, in input order
    python predict.py - < input.csv   # the same, CSV on stdin

    from predict import predict, predict_proba
    predict(x)          # x: (n, n_features) raw feature rows -> the class names (regression: the values)
    predict_proba(x)    # -> the class probabilities, (n, classes) in the order of `classes()`

The input is raw features, as `nnctl predict` reads them: the model's fitted scaling is applied
here. model.npz, next to this file, holds the weights and the scaling (read without pickle); its
`spec` entry (JSON) lists the steps of the network in order. Every number is computed as nnctl
computes it, in the model's dtype.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

MODEL = Path(__file__).with_name("model.npz")

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
GELU_C = math.sqrt(2 / math.pi)  # Python floats: a NumPy float64 constant would turn float32 arrays into float64


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # exp of a negative argument only: no overflow
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, LEAKY_SLOPE * x),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
    "linear": lambda x: x,
    "elu": lambda x: np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(GELU_C * (x + 0.044715 * x**3))),  # the tanh form
    "softplus": lambda x: np.logaddexp(0, x),
    "silu": lambda x: x * _sigmoid(x),
}


def load(path=MODEL):
    """(spec, arrays) of a model.npz: the JSON description and the arrays by name."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return json.loads(str(arrays.pop("spec"))), arrays


_model = None


def _loaded():
    global _model
    if _model is None:
        _model = load()
    return _model


def classes():
    """The class names, in the order of predict_proba's columns (None for regression)."""
    return _loaded()[0]["classes"]


def outputs(x):
    """The network's outputs for raw feature rows x: (n, n_features), before any class decision."""
    spec, arrays = _loaded()
    dtype = spec["dtype"]
    x = np.array(x, dtype=dtype, order="C", copy=True)
    if x.ndim != 2 or x.shape[1] != spec["n_inputs"]:
        raise ValueError(f"expected rows of {spec['n_inputs']} features, got an array of shape {x.shape}")
    scaling = spec["scaling"]
    if scaling == "standard":
        x -= arrays["scaling.mean"].astype(dtype)
        x /= arrays["scaling.std"].astype(dtype)
    elif scaling == "pixels":
        x /= arrays["scaling.scale"].astype(dtype)
    for step in spec["steps"]:
        kind, name = step["kind"], step["name"]
        if kind == "dense":
            x = x @ arrays[f"{name}.W"]
            x += arrays[f"{name}.b"]
        elif kind == "batchnorm":
            inv_std = 1 / np.sqrt(arrays[f"{name}.running_var"] + step["epsilon"])
            x = (x - arrays[f"{name}.running_mean"]) * inv_std * arrays[f"{name}.gamma"] + arrays[f"{name}.beta"]
        else:
            x = ACTIVATIONS[name](x)
    return x


def predict_proba(x):
    """Class probabilities (n, classes); one sigmoid unit gives both columns."""
    out = outputs(x)
    return np.hstack([1 - out, out]) if out.shape[1] == 1 else out


def predict(x):
    """The predicted class names, or for regression the values in the target's own units
    ((n,) for one output, (n, outputs) for several)."""
    spec = _loaded()[0]
    out = outputs(x)
    if spec["task"] == "regression":
        values = np.asarray(out, dtype=np.float64) * spec["target_std"] + spec["target_mean"]
        return values[:, 0] if values.shape[1] == 1 else values
    index = (out[:, 0] > 0.5).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)
    return np.asarray(spec["classes"])[index]


def read_csv(text):
    """Rows of numbers from CSV text; a first row that is not all numbers is taken as a header."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines:
        try:
            [float(cell) for cell in lines[0].split(",")]
        except ValueError:
            lines = lines[1:]
    return np.loadtxt(lines, delimiter=",", ndmin=2, dtype=np.float64)


def main(argv):
    if len(argv) != 1:
        print("usage: python predict.py INPUT.csv  (or - for stdin)", file=sys.stderr)
        return 2
    text = sys.stdin.read() if argv[0] == "-" else Path(argv[0]).read_text(encoding="utf-8-sig")
    for value in predict(read_csv(text)).tolist():
        print(value if not isinstance(value, list) else ",".join(repr(v) for v in value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
