"""Activations as (forward, backward) pairs in one dict keyed by the YAML word.

`backward(y, dy)` takes the activation's *output* y (as scikit-learn does), so a layer keeps
one array per activation; softmax's Jacobian-vector product fits the same signature.
"""

import numpy as np

LEAKY_SLOPE = 0.01


def _relu(x):
    return np.maximum(x, 0)


def _relu_grad(y, dy):
    return dy * (y > 0)


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


ACTIVATIONS = {
    "relu": (_relu, _relu_grad),
    "leaky_relu": (_leaky_relu, _leaky_relu_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "tanh": (_tanh, _tanh_grad),
    "softmax": (_softmax, _softmax_grad),
    "linear": (_linear, _linear_grad),
}
