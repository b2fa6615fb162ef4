"""Losses as (value and gradient) functions, averaged over the batch and numerically stable.

cross_entropy and binary_cross_entropy take the *logits* of the output layer: the model skips
its final softmax or sigmoid during training (`Loss.fused`), so the gradient is the fused
`softmax - onehot` (or `sigmoid - y`) and no probability is ever log()ed.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import kernels

FLOATS = (np.float32, np.float64)  # the dtypes the loss kernels are compiled for


def cross_entropy(z, y):
    """z: (batch, classes) logits; y: (batch,) class indices. Returns (mean loss, dL/dz)."""
    # Runs once per batch: one exp, and the gradient is built in place in the array that holds it.
    n = z.shape[0]
    jit = kernels.if_loaded()
    if jit is not None and z.dtype in FLOATS and isinstance(y, np.ndarray) and y.dtype.kind in "iu":
        compiled = _cross_entropy_compiled(jit, z, y)
        if compiled is not None:
            return compiled
    # np.maximum.reduce, np.add.reduce: what z.max(), .sum() and .mean() compute, without their
    # Python wrappers (a few microseconds each, per step of a small network)
    shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)  # log-sum-exp shift: exp never overflows
    rows = np.arange(n)
    picked = shifted[rows, y]
    e = np.exp(shifted, out=shifted)
    total = np.add.reduce(e, axis=1, keepdims=True)
    # -log softmax(z)[y] = log sum exp(shifted) - shifted[y]
    loss = np.add.reduce(np.log(total[:, 0]) - picked, axis=None) / n
    dz = np.divide(e, total * n, out=e)  # softmax / n ...
    dz[rows, y] -= 1 / n  # ... minus onehot / n
    return float(loss), dz


def _cross_entropy_compiled(jit, z, y):
    """cross_entropy's arithmetic with half its NumPy calls (each ~3-10 us on a 128 x 10 batch):
    exp, log, the row sums and the mean stay NumPy's, since a compiled exp or sum gives other bits.
    None where a class index is out of range: NumPy's indexing then decides."""
    n = z.shape[0]
    shifted, picked = np.empty_like(z), np.empty(n, z.dtype)
    if not jit.softmax_shift(z, y, shifted, picked):
        return None
    e = np.exp(shifted, out=shifted)
    total = np.add.reduce(e, axis=1)  # .sum() and .mean() without their wrappers, as below
    per_row = np.log(total)
    loss = np.add.reduce(np.subtract(per_row, picked, out=per_row), axis=None) / n
    jit.softmax_onehot_grad(e, total, y, z.dtype.type(n), z.dtype.type(1 / n))
    return float(loss), e


def binary_cross_entropy(z, y):
    """z: (batch, 1) logits; y: (batch,) labels 0/1. Returns (mean loss, dL/dz)."""
    t = y.reshape(-1, 1).astype(z.dtype)
    # log(1 + exp(-|z|)) + max(z, 0) - z t  ==  -t log s(z) - (1 - t) log(1 - s(z)), without overflow
    loss = (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean()
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return float(loss), (s - t) / z.shape[0]


def mse(out, y):
    """out: (batch, k) outputs; y: class indices (one-hot against k > 1 outputs) or values. Returns (loss, dL/dout)."""
    target = targets_for(out, y)
    diff = out - target
    return float((diff * diff).mean()), 2 * diff / diff.size


def mae(out, y):
    """Mean absolute error against targets_for(out, y). Returns (loss, dL/dout)."""
    diff = out - targets_for(out, y)
    return float(np.abs(diff).mean()), np.sign(diff) / diff.size


HUBER_DELTA = 1.0  # on standardised regression targets, one standard deviation


def huber(out, y):
    """Huber loss: quadratic within HUBER_DELTA of the target, linear beyond, so outliers pull less.
    0.5 d**2 for |d| <= delta, delta (|d| - 0.5 delta) otherwise. Returns (loss, dL/dout)."""
    diff = out - targets_for(out, y)
    small = np.abs(diff) <= HUBER_DELTA
    loss = np.where(small, 0.5 * diff * diff, HUBER_DELTA * (np.abs(diff) - 0.5 * HUBER_DELTA))
    grad = np.where(small, diff, HUBER_DELTA * np.sign(diff))
    return float(loss.mean()), grad / diff.size


def targets_for(out, y):
    """The array mse compares `out` with: one-hot rows for k > 1 outputs, a column otherwise."""
    if out.shape[1] == 1:
        return y.reshape(-1, 1).astype(out.dtype)
    onehot = np.zeros_like(out)
    onehot[np.arange(len(y)), y] = 1
    return onehot


@dataclass(frozen=True)
class Loss:
    value_and_grad: Callable
    fused: str | None  # the output activation folded into the loss, skipped by the model in training


LOSSES = {
    "cross_entropy": Loss(cross_entropy, fused="softmax"),
    "binary_cross_entropy": Loss(binary_cross_entropy, fused="sigmoid"),
    "mse": Loss(mse, fused=None),
    "mae": Loss(mae, fused=None),
    "huber": Loss(huber, fused=None),
}
