"""What each layer with weights did in an epoch: the columns `nnctl doctor` reads, recorded while training.

`Diagnostics` is a callback that adds to each epoch's record, for every layer with weights W
(dense, conv2d) `layers.N` (N its index in model.layers):

    layers.N.grad_norm           sqrt(mean of ||dL/dW||^2) over every GRAD_EVERY-th batch of the epoch
                                 and its last: the gradient the optimizer stepped with (after clip_norm)
    layers.N.weight_norm         ||W|| at the epoch's end (Frobenius; the bias is left out)
    layers.N.update_ratio        ||W_end - W_begin|| / steps / ||W_end||: the epoch's total update
                                 per step, against the weights (the classic rule of thumb, about
                                 1e-3, is per step; an epoch's whole update grows with its number
                                 of batches and could not be compared between configs)
    layers.N.dead_fraction       hidden relu-family layers: the share of units (a convolution's
                                 channels) never positive over the probe rows
    layers.N.saturated_fraction  hidden sigmoid/tanh layers: the share of outputs within 1% of
                                 the activation's limits (|tanh| > 0.99; sigmoid < 0.01 or > 0.99)

The probe rows are at most PROBE_ROWS rows spread evenly over the validation split (the training
split when there is none), taken once: a forward pass over them at each epoch's end costs a few
per cent of one over a large validation split. It only reads the model (inference forward, which
keeps nothing training needs) and draws no random numbers, so the trained weights are the same
with or without it. The gradient is sampled every GRAD_EVERY batches (one dot product per layer)
rather than read at the epoch's last batch alone, which may be a remainder of a few rows, and
not at every batch, which would cost about 2% of an MNIST epoch by itself.

A run stopped mid-epoch saves the sums so far and the weights the epoch began with, so the
resumed epoch's record is the one an uninterrupted run writes; between epochs the state is empty.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import ACTIVATIONS, HE
from .callbacks import Callback, saved_count, saved_number
from .layers import Activation

PROBE_ROWS = 1000
GRAD_EVERY = 8  # batches between two reads of the gradient's norm
SATURATION = 0.99  # |tanh| above it, or a sigmoid within 1 - SATURATION of 0 or 1, is saturated
# relu and its family share He initialisation (activations.py): the units that can die
RELU_LIKE = frozenset(name for name, rule in ACTIVATIONS.items() if rule.initializer == HE)
SATURATING = frozenset({"sigmoid", "tanh"})
STATS = ("grad_norm", "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction")  # doctor's names


def probe_rows(x_val: np.ndarray, x_train: np.ndarray, n: int = PROBE_ROWS) -> np.ndarray:
    """At most n rows spread evenly over the validation split, else over the training split (a copy)."""
    x = x_val if len(x_val) else x_train
    if len(x) <= n:
        return np.array(x)
    return x[np.linspace(0, len(x) - 1, n).astype(np.int64)]


def saturated(name: str, y: np.ndarray) -> np.ndarray:
    """Which outputs y of a sigmoid or tanh are at their limits."""
    if name == "tanh":
        return np.abs(y) > SATURATION
    return np.abs(2 * y - 1) > 2 * SATURATION - 1


class Diagnostics(Callback):
    """Per-layer gradient and weight norms, update ratios, dead and saturated shares, into each
    epoch's record. Put it first: before the callbacks that log or save the record, and before a
    stop request ends the batch it has to count."""

    state_optional = True  # a last.json written before it existed resumes: its empty state is a fresh one

    def __init__(self, model, x_probe: np.ndarray):
        self.model, self.x_probe = model, x_probe
        params, grads = model.params(), model.grads()
        self.dense = [name for name, layer in model.named_layers if "W" in layer.params]  # dense and conv2d
        self.weights = [params[f"{name}.W"] for name in self.dense]
        self.grads = [grads[f"{name}.W"].reshape(-1) for name in self.dense]  # views: one dot product each
        last = self.dense[-1] if self.dense else None
        # the hidden activations: an output layer's sigmoid is meant to reach 0 and 1
        self.probed = {name: layer.name for name, layer in model.named_layers
                       if isinstance(layer, Activation) and not name.startswith(f"{last}.")
                       and (layer.name in RELU_LIKE or layer.name in SATURATING)}
        self.reset()

    def reset(self) -> None:
        self.begin: list[np.ndarray] | None = None
        self.grad_sq = [0.0] * len(self.dense)
        self.batches = self.sampled = 0

    def on_epoch_begin(self, epoch):
        if self.begin is None:  # set already when a run resumes mid-epoch
            self.begin = [w.copy() for w in self.weights]

    def on_batch_end(self, epoch, rows_done, n_rows, position=None):
        self.batches += 1
        if self.batches % GRAD_EVERY == 0 or rows_done == n_rows:
            for i, g in enumerate(self.grads):
                self.grad_sq[i] += float(np.dot(g, g))
            self.sampled += 1

    def on_epoch_end(self, record):
        if self.begin is None:  # an epoch it did not see begin (a format-1 resume replays the old records)
            return False
        for i, (name, w) in enumerate(zip(self.dense, self.weights)):
            norm = float(np.linalg.norm(w))
            steps = max(self.batches, 1)
            update = float(np.linalg.norm(w - self.begin[i])) / steps
            record[f"{name}.grad_norm"] = math.sqrt(self.grad_sq[i] / self.sampled) if self.sampled else None
            record[f"{name}.weight_norm"] = norm
            record[f"{name}.update_ratio"] = update / norm if norm > 0 else None
        record.update(self.activations())
        self.reset()
        return False

    def activations(self) -> dict:
        """The dead and saturated shares of the hidden activations over the probe rows."""
        found, x = {}, self.x_probe
        if not self.probed or not len(x):
            return found
        last = max(i for i, (name, _) in enumerate(self.model.named_layers) if name in self.probed)
        x = self.model.as_input(x)
        with np.errstate(over="ignore", invalid="ignore"):
            for name, layer in self.model.named_layers[:last + 1]:
                x = layer.forward(x, False)
                kind = self.probed.get(name)
                prefix = name if name.count(".") == 1 else name.rsplit(".", 1)[0]  # an activation layer's own, or its layer's
                units = x.reshape(-1, x.shape[-1])  # images: a unit is a channel, at every position
                if kind in RELU_LIKE:
                    found[f"{prefix}.dead_fraction"] = float(np.mean(~(units > 0).any(axis=0)))
                elif kind in SATURATING:
                    found[f"{prefix}.saturated_fraction"] = float(np.mean(saturated(kind, x)))
        return found

    def state_dict(self) -> dict:
        """Empty between epochs; mid-epoch, the sums so far and the weights the epoch began with."""
        if not self.batches:
            return {}
        return {"batches": self.batches, "sampled": self.sampled, "grad_sq": list(self.grad_sq),
                "begin": {name: w.ravel().tolist() for name, w in zip(self.dense, self.begin)}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict returned: ValueError (naming the key) for anything else, checked
        in full before the callback changes."""
        self.reset()
        if not state:
            return
        begin = [_saved_array(state["begin"][name], w, f"begin.{name}") for name, w in zip(self.dense, self.weights)]
        sums = state["grad_sq"]
        if not isinstance(sums, list) or len(sums) != len(self.dense):
            raise ValueError(f"grad_sq: expected {len(self.dense)} gradient sums (one per dense layer), got {sums!r:.60}")
        grad_sq = [saved_number({"grad_sq": v}, "grad_sq", low=0.0) for v in sums]
        batches, sampled = saved_count(state, "batches", 1), saved_count(state, "sampled")
        self.begin, self.grad_sq, self.batches, self.sampled = begin, [float(v) for v in grad_sq], batches, sampled


def _saved_array(values, like: np.ndarray, key: str) -> np.ndarray:
    """A saved list of numbers as an array of `like`'s shape and dtype; ValueError naming `key`
    for text, booleans, nesting or another size (np.asarray alone would read '1.5' as a number)."""
    array = np.asarray(values) if isinstance(values, list) else None
    if array is None or array.dtype.kind not in "if" or array.shape != (like.size,) or not np.isfinite(array).all():
        raise ValueError(f"{key}: expected {like.size} finite numbers")
    return array.astype(like.dtype).reshape(like.shape)

