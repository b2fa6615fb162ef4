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
                                 channels) never positive over the sampled batches (a relu
                                 followed by a max pooling: never positive where the pooling takes
                                 it, which the fused conv-relu-pool step computes without writing
                                 the relu's own output)
    layers.N.saturated_fraction  hidden sigmoid/tanh layers: the share of outputs within 1% of
                                 the activation's limits (|tanh| > 0.99; sigmoid < 0.01 or > 0.99)
                                 over the sampled batches

The sampled batches are every GRAD_EVERY-th training batch of the epoch and its last: their
gradient is read (one dot product per layer) and their hidden activations, which the training
step has just computed and keeps until the next batch, are looked at. Reading the gradient at
the epoch's last batch alone would see a remainder of a few rows, and every batch would cost
about 2% of an MNIST epoch; the activations of the training batches cost no forward pass of their
own (a pass over 1,000 validation rows cost about 1% of an MNIST epoch). A unit counts as dead
when it was positive on none of the sampled rows (a relu-family output is positive exactly when
its input is). The callback only reads arrays and draws no random numbers, so the trained
weights are the same with or without it.

A run stopped mid-epoch saves the sums so far and the weights the epoch began with, so the
resumed epoch's record is the one an uninterrupted run writes; between epochs the state is empty.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import ACTIVATIONS, HE
from .callbacks import Callback, saved_count, saved_number
from .layers import Activation
from .pooling import MaxPool2D

GRAD_EVERY = 8  # batches between two samples of the gradient's norm and the activations
SATURATION = 0.99  # |tanh| above it, or a sigmoid within 1 - SATURATION of 0 or 1, is saturated
# relu and its family share He initialisation (activations.py): the units that can die
RELU_LIKE = frozenset(name for name, rule in ACTIVATIONS.items() if rule.initializer == HE)
SATURATING = frozenset({"sigmoid", "tanh"})
STATS = ("grad_norm", "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction")  # doctor's names


def saturated(name: str, y: np.ndarray) -> np.ndarray:
    """Which outputs y of a sigmoid or tanh are at their limits."""
    if name == "tanh":
        return np.abs(y) > SATURATION
    return np.abs(2 * y - 1) > 2 * SATURATION - 1


class Diagnostics(Callback):
    """Per-layer gradient and weight norms, update ratios, dead and saturated shares, into each
    epoch's record. Put it first: before the callbacks that log or save the record, and before a
    stop request ends the batch it has to count."""

    state_key = "diagnostics"
    state_optional = True  # a last.json written before it existed resumes: its empty state is a fresh one

    def __init__(self, model):
        self.model = model
        params, grads = model.params(), model.grads()
        self.dense = [name for name, layer in model.named_layers if "W" in layer.params]  # dense and conv2d
        self.weights = [params[f"{name}.W"] for name in self.dense]
        self.grads = [grads[f"{name}.W"].reshape(-1) for name in self.dense]  # views: one dot product each
        # the hidden activations, those before the last layer with weights (an output layer's sigmoid
        # is meant to reach 0 and 1), by the name their records take: an activation layer's own
        # (`layers.3`), or the layer's it follows (`layers.0` for `layers.0.relu`)
        last = max((i for i, (_, layer) in enumerate(model.named_layers) if "W" in layer.params), default=-1)
        # by name: the activation, and the layer whose kept output the diagnostics count
        self.probed: dict[str, tuple[Activation, Activation | MaxPool2D]] = {}
        self.units, shape, named = {}, model.input_shape, [layer for _, layer in model.named_layers]
        for i, (name, layer) in enumerate(model.named_layers):
            shape = layer.output_shape(shape)
            if i < last and isinstance(layer, Activation) and (layer.name in RELU_LIKE or layer.name in SATURATING):
                prefix = name if name.count(".") == 1 else name.rsplit(".", 1)[0]
                after = named[i + 1] if i + 1 < len(named) else None
                # a relu's max pooling is positive exactly where a relu output it takes is, in every path
                keeper = after if layer.name in RELU_LIKE and isinstance(after, MaxPool2D) else layer
                self.probed[prefix], self.units[prefix] = (layer, keeper), shape[-1]  # images: a unit is a channel
        self.reset()

    def reset(self) -> None:
        self.begin: list[np.ndarray] | None = None
        self.grad_sq = [0.0] * len(self.dense)
        self.batches = self.sampled = 0
        self.alive: dict[str, np.ndarray] = {}  # relu-like layer -> which units were positive on a sampled row
        self.saturated: dict[str, list[int]] = {}  # saturating layer -> [saturated outputs, outputs] sampled

    def on_epoch_begin(self, epoch):
        if self.begin is None:  # set already when a run resumes mid-epoch
            self.begin = [w.copy() for w in self.weights]

    def on_batch_end(self, epoch, rows_done, n_rows, position=None):
        self.batches += 1
        if self.batches % GRAD_EVERY == 0 or rows_done == n_rows:
            for i, g in enumerate(self.grads):
                self.grad_sq[i] += float(np.dot(g, g))
            self.sampled += 1
            self.look_at_activations()

    def look_at_activations(self) -> None:
        """Count the hidden activations of the batch just trained (the arrays its step keeps)."""
        for name, (layer, keeper) in self.probed.items():
            y = keeper.y  # relu-family layers that keep their input instead: positive exactly where the output is
            if y is None:
                continue
            if layer.name in RELU_LIKE:
                positive = np.any(y.reshape(-1, y.shape[-1]) > 0, axis=0)  # images: a channel at every position
                alive = self.alive.get(name)
                self.alive[name] = positive if alive is None else np.logical_or(alive, positive, out=alive)
            else:
                counts = self.saturated.setdefault(name, [0, 0])
                counts[0] += int(np.count_nonzero(saturated(layer.name, y)))
                counts[1] += y.size

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
        for name in self.probed:  # in the layers' order
            if name in self.alive:
                record[f"{name}.dead_fraction"] = float(np.mean(~self.alive[name]))
            elif name in self.saturated:
                hits, total = self.saturated[name]
                record[f"{name}.saturated_fraction"] = hits / total
        self.reset()
        return False

    def state_dict(self) -> dict:
        """Empty between epochs; mid-epoch, the sums so far and the weights the epoch began with."""
        if not self.batches:
            return {}
        return {"batches": self.batches, "sampled": self.sampled, "grad_sq": list(self.grad_sq),
                "begin": {name: w.ravel().tolist() for name, w in zip(self.dense, self.begin)},
                "alive": {name: a.astype(int).ravel().tolist() for name, a in self.alive.items()},
                "saturated": {name: list(counts) for name, counts in self.saturated.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict returned: ValueError (naming the key) for anything else, checked
        in full before the callback changes."""
        self.reset()
        if not state:
            return
        begin = [_saved_array(state["begin"][name], w, f"begin.{name}") for name, w in zip(self.dense, self.weights)]
        sums = state["grad_sq"]
        if not isinstance(sums, list) or len(sums) != len(self.dense):
            raise ValueError(f"grad_sq: expected {len(self.dense)} gradient sums (one per layer with weights), got "
                             f"{sums!r:.60}")
        grad_sq = [saved_number({"grad_sq": v}, "grad_sq", low=0.0) for v in sums]
        batches, sampled = saved_count(state, "batches", 1), saved_count(state, "sampled")
        # a last.json from before the activations were sampled holds neither: the epoch's rest counts
        alive, counted = {}, {}
        for name, saved in _saved_mapping(state, "alive").items():
            layer, _ = self.probed.get(name, (None, None))
            if layer is None or layer.name not in RELU_LIKE:
                raise ValueError(f"alive.{name}: unit counts for a layer with no hidden relu-like activation")
            alive[name] = _saved_array(saved, np.zeros(self.units[name], dtype=np.int64), f"alive.{name}") != 0
        for name, saved in _saved_mapping(state, "saturated").items():
            layer, _ = self.probed.get(name, (None, None))
            if layer is None or layer.name not in SATURATING or not isinstance(saved, list) or len(saved) != 2:
                raise ValueError(f"saturated.{name}: expected [saturated, outputs] of a saturating hidden activation")
            counted[name] = [saved_count({"n": v}, "n") for v in saved]
        self.begin, self.grad_sq, self.batches, self.sampled = begin, [float(v) for v in grad_sq], batches, sampled
        self.alive, self.saturated = alive, counted


def _saved_mapping(state: dict, key: str) -> dict:
    value = state.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected a mapping of layer names, got {value!r:.60}")
    return value


def _saved_array(values, like: np.ndarray, key: str) -> np.ndarray:
    """A saved list of numbers as an array of `like`'s shape and dtype; ValueError naming `key`
    for text, booleans, nesting or another size (np.asarray alone would read '1.5' as a number)."""
    array = np.asarray(values) if isinstance(values, list) else None
    if array is None or array.dtype.kind not in "if" or array.shape != (like.size,) or not np.isfinite(array).all():
        raise ValueError(f"{key}: expected {like.size} finite numbers")
    return array.astype(like.dtype).reshape(like.shape)
