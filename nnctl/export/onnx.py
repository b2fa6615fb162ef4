"""A checkpoint as an ONNX model: raw features in, the checkpoint's scaling and network inside.

    features       (N, n_inputs) float32 (float64 for a float64 checkpoint), raw, as `nnctl predict` reads them
    probabilities  (N, classes)  classification; one sigmoid unit gives both columns, p(classes[1]) last
    label          (N,) int64    the index into the class names (metadata `classes`)
    prediction     (N,) float64  regression, in the target's own units ((N, outputs) for several)

Opset 17 (ONNX 1.12, onnxruntime 1.12 and newer), IR version 8. Every activation is built from
operators whose constants carry the model's dtype (an ONNX attribute is always float32, which would
cost a float64 model its last digits); batchnorm is folded into the dense layer before it when one
comes right before it, else written as a BatchNormalization node.
"""

from __future__ import annotations

import json

import numpy as np

from .. import __version__
from ..engine.activations import ELU_ALPHA, GELU_C, LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE
from ..errors import MissingDependency
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
    """W, b of a dense layer followed by batchnorm, as one dense layer (computed in float64):
    gamma (x W + b - mean) / sqrt(var + eps) + beta = x (W s) + ((b - mean) s + beta), s = gamma / sqrt(var + eps)."""
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


def _network(g: Graph, x: str, network: list[Step]) -> str:
    i = 0
    while i < len(network):
        step = network[i]
        following = network[i + 1] if i + 1 < len(network) else None
        if step.kind == "dense" and following is not None and following.kind == "batchnorm":
            W, b = _folded(step, following, g.dtype)
            x = g.op("Add", g.op("MatMul", x, g.const(W, f"{step.name}.W")), g.const(b, f"{step.name}.b"))
            i += 2
            continue
        if step.kind == "dense":
            x = g.op("MatMul", x, g.const(step.arrays["W"], f"{step.name}.W"))
            x = g.op("Add", x, g.const(step.arrays["b"], f"{step.name}.b"))
        elif step.kind == "batchnorm":
            # epsilon 0 on a variance that already holds it: an attribute is float32, and would
            # move a float64 model's 1 / sqrt(var + eps) in its last digits
            var = step.arrays["running_var"] + step.epsilon  # in the model's dtype, as nnctl adds them
            x = g.op("BatchNormalization", x, *(g.const(step.arrays[k], f"{step.name}.{k}") for k in ("gamma", "beta", "running_mean")),
                     g.const(var, f"{step.name}.var_plus_epsilon"), epsilon=0.0)
        else:
            x = ACTIVATION_NODES[step.name](g, x)
        i += 1
    return x


def build(ckpt, checkpoint_sha256: str):
    """The ONNX ModelProto of a loaded checkpoint, checked by onnx.checker."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    dtype = ckpt.config.training.dtype
    elem = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}[dtype]
    g = Graph(onnx, dtype)
    x = _network(g, _scaling(g, "features", ckpt.preprocessing), steps(ckpt))
    n_out = ckpt.config.model.layers[-1].units
    if task(ckpt) == "regression":
        target = ckpt.preprocessing["target"]  # unscaled in float64, as nnctl.data.unscale_target does
        y = g.op("Cast", x, to=TensorProto.DOUBLE)
        y = g.op("Add", g.op("Mul", y, g.const(target["std"], dtype="float64")), g.const(target["mean"], dtype="float64"))
        if n_out == 1:
            g.op("Squeeze", y, g.const([1], "axis", dtype="int64"), out="prediction")
        else:
            g.op("Identity", y, out="prediction")
        outputs = [helper.make_tensor_value_info("prediction", TensorProto.DOUBLE, ["N"] if n_out == 1 else ["N", n_out])]
    else:
        if n_out == 1:  # one sigmoid unit: p(classes[1]); class 1 when p > 0.5, as nnctl decides
            g.op("Concat", g.op("Sub", g.const(1.0), x), x, axis=1, out="probabilities")
            above = g.op("Cast", g.op("Greater", x, g.const(0.5)), to=TensorProto.INT64)
            g.op("Squeeze", above, g.const([1], "axis", dtype="int64"), out="label")
        else:
            g.op("Identity", x, out="probabilities")
            g.op("ArgMax", x, axis=1, keepdims=0, out="label")
        outputs = [helper.make_tensor_value_info("probabilities", elem, ["N", len(ckpt.classes)]),
                   helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])]
    inputs = [helper.make_tensor_value_info("features", elem, ["N", ckpt.n_inputs])]
    graph = helper.make_graph(g.nodes, "nnctl", inputs, outputs, g.constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nnctl",
                              producer_version=__version__, ir_version=IR_VERSION,
                              doc_string="exported by nnctl export: raw features in, the checkpoint's scaling inside")
    helper.set_model_props(model, metadata(ckpt, checkpoint_sha256))
    onnx.checker.check_model(model, full_check=True)
    return model


def metadata(ckpt, checkpoint_sha256: str) -> dict:
    """What the model's metadata_props hold, every value a string (JSON where it is structured)."""
    return {"nnctl_version": __version__, "config": json.dumps(ckpt.config.model_dump(mode="json"), sort_keys=True),
            "classes": json.dumps(ckpt.classes), "checkpoint_sha256": checkpoint_sha256,
            "checkpoint_epoch": str(ckpt.epoch), "task": task(ckpt), "dtype": ckpt.config.training.dtype}


def run(path, x: np.ndarray) -> dict:
    """The outputs of the ONNX file `path` for rows x, by onnxruntime when installed, else by
    onnx's reference evaluator: {output name: array}."""
    try:
        import onnxruntime
    except ImportError:
        onnx = require_onnx()
        from onnx.reference import ReferenceEvaluator

        session = ReferenceEvaluator(onnx.load(str(path)))
        names = [o.name for o in session.proto_.graph.output]
        return dict(zip(names, session.run(None, {"features": x})))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"features": x})))
