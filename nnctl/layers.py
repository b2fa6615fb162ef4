"""Layers: small classes with `params` and `grads` dicts under the same keys.

`forward(x, training)` keeps what `backward` needs; `backward(dy)` fills `grads` and returns dx.
"""

import numpy as np

from .activations import ACTIVATIONS


def initialize(name: str, n_in: int, n_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Weights (n_in, n_out) drawn by He (relu-like) or Glorot (the rest) rules."""
    if name == "he_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
    elif name == "he_uniform":
        limit = np.sqrt(6.0 / n_in)
        w = rng.uniform(-limit, limit, size=(n_in, n_out))
    elif name == "glorot_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))
    elif name == "glorot_uniform":
        limit = np.sqrt(6.0 / (n_in + n_out))
        w = rng.uniform(-limit, limit, size=(n_in, n_out))
    else:
        raise ValueError(f"unknown initializer {name!r}")
    return w.astype(dtype)


class Dense:
    """z = x W + b, with x: (batch, n_in), W: (n_in, n_out), b: (n_out,)."""

    def __init__(self, n_in: int, n_out: int, initializer: str, rng: np.random.Generator, dtype="float32"):
        self.params = {"W": initialize(initializer, n_in, n_out, rng, dtype), "b": np.zeros(n_out, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.x = None

    def forward(self, x, training=False):
        self.x = x if training else None
        z = x @ self.params["W"]
        z += self.params["b"]  # in place: z is a fresh array
        return z

    def backward(self, dz):
        # dW = x^T dz, db = sum over the batch of dz, dx = dz W^T; written into the kept buffers
        np.matmul(self.x.T, dz, out=self.grads["W"])
        np.sum(dz, axis=0, out=self.grads["b"])
        return dz @ self.params["W"].T


class Activation:
    """y = f(x) for an activation named in ACTIVATIONS; no parameters."""

    def __init__(self, name: str):
        self.name = name
        self.f, self.df = ACTIVATIONS[name]
        self.params, self.grads = {}, {}
        self.y = None

    def forward(self, x, training=False):
        y = self.f(x)
        self.y = y if training else None
        return y

    def backward(self, dy):
        return self.df(self.y, dy)
