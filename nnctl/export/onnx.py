"""A checkpoint as an ONNX model: raw features in, the checkpoint's scaling and network inside.

The outputs follow skl2onnx's conventions (a classifier converted with `zipmap=False`, a
regressor), which code written for scikit-learn models in ONNX expects:

    features       (N, n_inputs) float32 (float64 for a float64 checkpoint), raw, as `nnctl predict` reads them;
                                 an image model's rows are its images flattened channels last, (N, H*W*C), the
                                 metadata's `input_shape` [H, W, C]; a model of a CSV: (N, columns), NaN where
                                 missing, or one (N, 1) input per column, named as the column, when a column
                                 holds text (onnx_table.py reads them)
    label          (N,)          classification: the class itself, int64 when every class is an integer, else
                                 string; a constant lookup (Gather) of the predicted index in the class values
    probabilities  (N, classes)  classification; one sigmoid unit gives both columns, p(classes[1]) last
    variable       (N, 1)        regression: float64, in the target's own units

`legacy=True` writes the outputs of nnctl 0.1 instead: `probabilities`, then `label` (N,) int64,
the index into the metadata's `classes`; regression `prediction` (N,) float64.

Opset 17 (ONNX 1.12, onnxruntime 1.12 and newer), IR version 8. The graph is built step by step
(LAYER_NODES: one function per kind of layer, steps.py; the image layers' in onnx_images.py, channels
first inside the graph); every activation is built from operators whose constants carry the model's
dtype (an ONNX attribute is always float32, which would cost a float64 model its last digits);
batchnorm is folded into the dense or conv2d layer before it when one comes right before it, else
written as a BatchNormalization node. onnx_run.py runs the model built here, as the check does.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from .. import __version__
from ..engine.activations import ELU_ALPHA, GELU_C, LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE
from ..errors import MissingDependency
from . import metadata, onnx_images, onnx_table, table
from .steps import Step, steps, task

OPSET = 17
IR_VERSION = 8  # the IR version of opset 17: readable by every runtime that knows the opset
EXTRA = "nnctl[onnx]"


def require_onnx():
    """The onnx package, or MissingDependency (exit 5) naming the extra that installs it."""
    try:
        import onnx
    except ImportError:
        raise MissingDependency(f"the onnx format needs the onnx package: pip install '{EXTRA}'") from None
    return onnx


class Graph:
    """Nodes and constants of one ONNX graph, each value named by a counter."""

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.elem = {"float32": onnx.TensorProto.FLOAT, "float64": onnx.TensorProto.DOUBLE}[self.dtype.name]
        self.nodes, self.constants, self.count = [], [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, hint: str = "c", dtype=None) -> str:
        """A constant (initializer) holding `value` in the model's dtype (or `dtype`)."""
        name = self.name(hint)
        array = np.asarray(value, dtype or self.dtype)
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attributes) -> str:
        out = out or self.name(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], **attributes))
        return out


def _negative_part(g: Graph, x: str, alpha: float) -> str:
    """alpha * (e^min(x, 0) - 1): elu's and selu's branch for x <= 0 (the min: no overflow)."""
    e = g.op("Exp", g.op("Min", x, g.const(0.0)))
    return g.op("Mul", g.const(alpha), g.op("Sub", e, g.const(1.0)))


def _where_positive(g: Graph, x: str, otherwise: str) -> str:
    return g.op("Where", g.op("Greater", x, g.const(0.0)), x, otherwise)


def _gelu(g: Graph, x: str) -> str:
    # 0.5 x (1 + tanh(c (x + 0.044715 x^3))): the tanh form nnctl trains with (opset 20's Gelu is newer than 17)
    cube = g.op("Mul", g.op("Mul", x, x), x)
    inner = g.op("Mul", g.const(GELU_C), g.op("Add", x, g.op("Mul", g.const(0.044715), cube)))
    return g.op("Mul", g.op("Mul", g.const(0.5), x), g.op("Add", g.const(1.0), g.op("Tanh", inner)))


def _softplus(g: Graph, x: str) -> str:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow, as nnctl's logaddexp(0, x)
    tail = g.op("Log", g.op("Add", g.const(1.0), g.op("Exp", g.op("Neg", g.op("Abs", x)))))
    return g.op("Add", g.op("Max", x, g.const(0.0)), tail)


# One entry per activation of nnctl.engine.activations.ACTIVATIONS (a test keeps the keys equal).
ACTIVATION_NODES = {
    "relu": lambda g, x: g.op("Relu", x),
    "leaky_relu": lambda g, x: _where_positive(g, x, g.op("Mul", g.const(LEAKY_SLOPE), x)),
    "sigmoid": lambda g, x: g.op("Sigmoid", x),
    "tanh": lambda g, x: g.op("Tanh", x),
    "softmax": lambda g, x: g.op("Softmax", x, axis=1),
    "linear": lambda g, x: x,
    "elu": lambda g, x: _where_positive(g, x, _negative_part(g, x, ELU_ALPHA)),
    "selu": lambda g, x: g.op("Mul", g.const(SELU_SCALE), _where_positive(g, x, _negative_part(g, x, SELU_ALPHA))),
    "gelu": _gelu,
    "softplus": _softplus,
    "silu": lambda g, x: g.op("Mul", x, g.op("Sigmoid", x)),
}


def _folded(dense: Step, bn: Step, dtype) -> tuple[np.ndarray, np.ndarray]:
    """W, b of a dense (or conv2d) layer followed by batchnorm, as one such layer (computed in float64):
    gamma (x W + b - mean) / sqrt(var + eps) + beta = x (W s) + ((b - mean) s + beta), s = gamma / sqrt(var + eps),
    s scaling W's last axis, its outputs (a convolution's filters)."""
    a = {k: np.asarray(v, np.float64) for k, v in {**dense.arrays, **bn.arrays}.items()}
    s = a["gamma"] / np.sqrt(a["running_var"] + bn.epsilon)
    return (a["W"] * s).astype(dtype), ((a["b"] - a["running_mean"]) * s + a["beta"]).astype(dtype)


def _scaling(g: Graph, x: str, preprocessing: dict) -> str:
    """The checkpoint's fitted feature scaling, as nnctl.data.apply_preprocessing does it."""
    scaling = preprocessing.get("scaling")
    if scaling == "standard":
        x = g.op("Sub", x, g.const(preprocessing["mean"], "mean"))
        return g.op("Div", x, g.const(preprocessing["std"], "std"))
    if scaling == "pixels":
        return g.op("Div", x, g.const(preprocessing["scale"], "scale"))
    return x


def _dense(g: Graph, x: str, step: Step) -> str:
    x = g.op("MatMul", x, g.const(step.arrays["W"], f"{step.name}.W"))
    return g.op("Add", x, g.const(step.arrays["b"], f"{step.name}.b"))


def _batchnorm(g: Graph, x: str, step: Step) -> str:
    # epsilon 0 on a variance that already holds it: an attribute is float32, and would move a
    # float64 model's 1 / sqrt(var + eps) in its last digits
    var = step.arrays["running_var"] + step.epsilon  # in the model's dtype, as nnctl adds them
    statistics = (g.const(step.arrays[k], f"{step.name}.{k}") for k in ("gamma", "beta", "running_mean"))
    return g.op("BatchNormalization", x, *statistics, g.const(var, f"{step.name}.var_plus_epsilon"), epsilon=0.0)


def _activation(g: Graph, x: str, step: Step) -> str:
    return ACTIVATION_NODES[step.name](g, x)


# One entry per kind of step (steps.py): the nodes that compute it from its input `x`.
LAYER_NODES = {"dense": _dense, "batchnorm": _batchnorm, "activation": _activation, **onnx_images.NODES}
FOLDS_BATCHNORM = ("dense", "conv2d")  # the kinds whose outputs a batchnorm right after them can be folded into


def _with_batchnorm_folded(network: list[Step], dtype) -> list[Step]:
    """The steps, each dense or conv2d layer directly followed by batchnorm made one step of its kind."""
    out, i = [], 0
    while i < len(network):
        step = network[i]
        following = network[i + 1] if i + 1 < len(network) else None
        if step.kind in FOLDS_BATCHNORM and following is not None and following.kind == "batchnorm":
            W, b = _folded(step, following, dtype)
            out.append(dataclasses.replace(step, arrays={"W": W, "b": b}))
            i += 2
        else:
            out.append(step)
            i += 1
    return out


def _network(g: Graph, x: str, network: list[Step]) -> str:
    for step in _with_batchnorm_folded(network, g.dtype):
        x = LAYER_NODES[step.kind](g, x, step)
    return x


def _class_index(g: Graph, x: str, n_out: int, TensorProto) -> tuple[str, str]:
    """(probabilities, the predicted class's index (N,) int64) from the network's output x."""
    if n_out == 1:  # one sigmoid unit: p(classes[1]); class 1 when p > 0.5, as nnctl decides
        probabilities = g.op("Concat", g.op("Sub", g.const(1.0), x), x, axis=1)
        above = g.op("Cast", g.op("Greater", x, g.const(0.5)), to=TensorProto.INT64)
        return probabilities, g.op("Squeeze", above, g.const([1], "axis", dtype="int64"))
    return x, g.op("ArgMax", x, axis=1, keepdims=0)


def _classification(g: Graph, x: str, ckpt, elem: int, legacy: bool, helper, TensorProto) -> list:
    """The outputs label and probabilities (legacy: probabilities and label as an index)."""
    n_classes = len(ckpt.classes)
    probabilities, index = _class_index(g, x, ckpt.config.model.layers[-1].units, TensorProto)
    g.op("Identity", probabilities, out="probabilities")
    probabilities_info = helper.make_tensor_value_info("probabilities", elem, ["N", n_classes])
    if legacy:
        g.op("Identity", index, out="label")
        return [probabilities_info, helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])]
    values, kind = metadata.class_values(ckpt.classes)
    table = g.const(values, "classes", dtype=np.int64 if kind == "int64" else object)
    g.op("Gather", table, index, axis=0, out="label")
    label_type = TensorProto.INT64 if kind == "int64" else TensorProto.STRING
    return [helper.make_tensor_value_info("label", label_type, ["N"]), probabilities_info]


def _regression(g: Graph, x: str, ckpt, legacy: bool, helper, TensorProto) -> list:
    """The output variable (N, 1) (legacy: prediction (N,)), in the target's units: unscaled in
    float64, as nnctl.data.unscale_target does."""
    target = ckpt.preprocessing["target"]
    y = g.op("Cast", x, to=TensorProto.DOUBLE)
    y = g.op("Add", g.op("Mul", y, g.const(target["std"], dtype="float64")), g.const(target["mean"], dtype="float64"))
    n_out = ckpt.config.model.layers[-1].units
    if not legacy:
        g.op("Identity", y, out="variable")
        return [helper.make_tensor_value_info("variable", TensorProto.DOUBLE, ["N", n_out])]
    if n_out == 1:
        g.op("Squeeze", y, g.const([1], "axis", dtype="int64"), out="prediction")
    else:
        g.op("Identity", y, out="prediction")
    return [helper.make_tensor_value_info("prediction", TensorProto.DOUBLE, ["N"] if n_out == 1 else ["N", n_out])]


def build(ckpt, checkpoint_sha256: str, legacy: bool = False):
    """The ONNX ModelProto of a loaded checkpoint, checked by onnx.checker; `legacy`: nnctl 0.1's outputs."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    g = Graph(onnx, ckpt.config.training.dtype)
    x, inputs, opsets = _read_inputs(g, ckpt, helper, TensorProto)
    x = _network(g, _scaling(g, x, ckpt.preprocessing), steps(ckpt))
    if task(ckpt) == "regression":
        outputs = _regression(g, x, ckpt, legacy, helper, TensorProto)
    else:
        outputs = _classification(g, x, ckpt, g.elem, legacy, helper, TensorProto)
    graph = helper.make_graph(g.nodes, "nnctl", inputs, outputs, g.constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(*o) for o in opsets], producer_name="nnctl",
                              producer_version=__version__, ir_version=IR_VERSION,
                              doc_string="exported by nnctl export: raw features in, the checkpoint's scaling inside")
    helper.set_model_props(model, model_metadata(ckpt, checkpoint_sha256))
    onnx.checker.check_model(model, full_check=True)
    return model


def _read_inputs(g: Graph, ckpt, helper, TensorProto) -> tuple[str, list, list]:
    """(the network's raw inputs, the graph's inputs, the opsets): `features` as it is; for a
    model of a CSV, its columns read as nnctl reads them (onnx_table.py)."""
    opsets = [("", OPSET)]
    if table.record(ckpt) is None:
        return "features", [helper.make_tensor_value_info("features", g.elem, ["N", ckpt.n_inputs])], opsets
    records, markers = table.columns(ckpt), table.record(ckpt)["missing_values"]
    by_column = table.by_column(ckpt)
    inputs = onnx_table.inputs(helper, records, g.elem, TensorProto.STRING, features=not by_column)
    if not by_column:
        return onnx_table.from_features(g, "features", records), inputs, opsets
    return onnx_table.by_column(g, records, markers), inputs, [*opsets, (onnx_table.ML_DOMAIN, onnx_table.ML_OPSET)]


def model_metadata(ckpt, checkpoint_sha256: str) -> dict:
    """What the model's metadata_props hold, every value a string (JSON where it is structured)."""
    return {"nnctl_version": __version__, "config": json.dumps(metadata.portable_config(ckpt.config), sort_keys=True),
            "classes": json.dumps(ckpt.classes), "feature_names": json.dumps(metadata.feature_names(ckpt)),
            **({"columns": json.dumps(metadata.columns(ckpt))} if table.record(ckpt) is not None else {}),
            "checkpoint_sha256": checkpoint_sha256, "checkpoint_epoch": str(ckpt.epoch), "task": task(ckpt),
            "dtype": ckpt.config.training.dtype, "input_shape": json.dumps(list(ckpt.input_shape))}
