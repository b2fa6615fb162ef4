"""Activations, one entry each in ACTIVATIONS, keyed by the YAML word: the one table of them.

An entry holds `forward(x)` and `backward(y, dy)`; backward takes the activation's *output* y (as
scikit-learn does), so a layer keeps one array per activation; softmax's Jacobian-vector product
fits the same signature. gelu and silu, which are not one-to-one, take the input instead
(`from_input`). `initializer` is the weight initialiser a dense layer feeding it gets by default
(He for the relu-like ones). `forward_into(x, work)`, where there is one, gives forward's bits
into arrays kept in the dict `work` and reused batch after batch (the training path; as
scikit-learn's inplace_relu). `epilogue` names the compiled kernels (kernels_jit) that fuse a dense
layer's bias add with the activation, and its backward with the bias gradient (layers.DenseEpilogue);
`pool_epilogue` those that also fuse a max pooling after a convolution (conv_steps.ConvReluPool).
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .work import reusable


class Rule(NamedTuple):
    """One activation: its functions and what goes with it."""
    forward: Callable
    backward: Callable
    from_input: bool = False  # backward takes the input x rather than the output y
    initializer: str = "glorot_uniform"  # for the weights of a dense layer feeding it, by default
    forward_into: Callable | None = None  # forward's bits into reused arrays, for training
    backward_into: Callable | None = None  # backward's bits into reused arrays (a layer's `work`)
    epilogue: tuple[str, str] | None = None  # kernels_jit's (forward, backward) fused with a dense layer's bias
    # kernels_images' (forward, backward) fused with a conv's bias and a max pool
    pool_epilogue: tuple[str, str] | None = None

LEAKY_SLOPE = 0.01


def _relu(x):
    return np.maximum(x, 0)


def _relu_into(x, work):
    # compared with an array of zeros, which NumPy vectorises, where a scalar 0 is ~3x slower
    zeros = reusable(work, "zeros", x.shape, x.dtype, zeroed=True)
    return np.maximum(x, zeros, out=reusable(work, "y", x.shape, x.dtype))


def _relu_grad(y, dy):
    return dy * (y > 0)


def _relu_grad_into(y, dy, work):
    # _relu_grad's two ufuncs, into arrays reused batch after batch: no allocation per step
    mask = np.greater(y, 0, out=reusable(work, "mask", y.shape, np.bool_))
    return np.multiply(dy, mask, out=reusable(work, "dx", dy.shape, dy.dtype))


def _leaky_relu(x):
    return np.where(x > 0, x, LEAKY_SLOPE * x)


def _leaky_relu_grad(y, dy):
    return np.where(y > 0, dy, LEAKY_SLOPE * dy)


def _sigmoid(x):
    # exp of a negative argument only: no overflow for any x
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_grad(y, dy):
    return dy * y * (1 - y)


def _tanh(x):
    return np.tanh(x)


def _tanh_grad(y, dy):
    return dy * (1 - y * y)


def _softmax(x):
    z = x - x.max(axis=1, keepdims=True)  # log-sum-exp shift: exp never overflows
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _softmax_grad(y, dy):
    # J^T dy for J = diag(y) - y y^T, row by row
    return y * (dy - (dy * y).sum(axis=1, keepdims=True))


def _linear(x):
    return x


def _linear_grad(y, dy):
    return dy


ELU_ALPHA = 1.0
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # Klambauer et al. (2017)
# Python floats, never NumPy scalars: under NumPy 2 an np.float64 constant turns a float32 array into float64
GELU_C = math.sqrt(2 / math.pi)


def _elu(x):
    return np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0)))  # min: no overflow in the unused branch


def _elu_grad(y, dy):
    return np.where(y > 0, dy, dy * (y + ELU_ALPHA))  # d/dx alpha (e^x - 1) = y + alpha


def _selu(x):
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def _selu_grad(y, dy):
    return np.where(y > 0, SELU_SCALE * dy, dy * (y + SELU_SCALE * SELU_ALPHA))


def _softplus(x):
    return np.logaddexp(0, x)  # log(1 + e^x) without overflow


def _softplus_grad(y, dy):
    return dy * -np.expm1(-y)  # sigmoid(x) = 1 - e^-y, precise for tiny y


def _gelu(x):
    # the tanh approximation (Hendrycks & Gimpel, 2016), as BERT and GPT-2 use it
    return 0.5 * x * (1 + np.tanh(GELU_C * (x + 0.044715 * x**3)))


def _gelu_grad(x, dy):  # takes the input: gelu is not one-to-one
    t = np.tanh(GELU_C * (x + 0.044715 * x**3))
    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x))


def _silu(x):
    return x * _sigmoid(x)


def _silu_grad(x, dy):  # takes the input: silu is not one-to-one
    s = _sigmoid(x)
    return dy * s * (1 + x * (1 - s))


HE = "he_uniform"

ACTIVATIONS = {
    "relu": Rule(_relu, _relu_grad, initializer=HE, forward_into=_relu_into, backward_into=_relu_grad_into,
                 epilogue=("bias_relu", "relu_backward_bias"),
                 pool_epilogue=("bias_relu_maxpool", "maxpool_relu_backward_bias")),
    "leaky_relu": Rule(_leaky_relu, _leaky_relu_grad, initializer=HE),
    "sigmoid": Rule(_sigmoid, _sigmoid_grad),
    "tanh": Rule(_tanh, _tanh_grad),
    "softmax": Rule(_softmax, _softmax_grad),
    "linear": Rule(_linear, _linear_grad),
    "elu": Rule(_elu, _elu_grad, initializer=HE),
    "selu": Rule(_selu, _selu_grad),
    "gelu": Rule(_gelu, _gelu_grad, from_input=True, initializer=HE),
    "softplus": Rule(_softplus, _softplus_grad),
    "silu": Rule(_silu, _silu_grad, from_input=True, initializer=HE),
}

# gelu and silu are not one-to-one, so their output cannot give the derivative: backward takes the input.
FROM_INPUT = frozenset(name for name, rule in ACTIVATIONS.items() if rule.from_input)
