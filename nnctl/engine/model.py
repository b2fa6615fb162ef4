"""Sequential: an ordered list of layers. Forward is a loop, backward the reversed loop.

`build` makes one from plain values: a dict of a layer's YAML keys per layer (LAYER_TYPES).
"""

import numpy as np

from .activations import ACTIVATIONS
from .layers import Activation, BatchNorm, Dense, DenseEpilogue, Dropout, default_initializer
from .packing import Packed, pack
from .regularizers import Penalty


class Sequential:
    """Layers in order, each with a dotted name prefix (`layers.0`); the parameters in one flat
    buffer and the gradients in another, seen by name through params() and grads()."""

    def __init__(self, named_layers: list[tuple[str, object]], penalties: list[tuple[object, str, Penalty]] = ()):
        self.named_layers = named_layers
        self.layers = [layer for _, layer in named_layers]
        self.penalties = list(penalties)  # (layer, parameter key, Penalty): L1 / L2 on weights
        # Every parameter becomes a view of one buffer, every gradient a view of another, in
        # params() order, and the layers' dicts read-only mappings of those views (packing.py):
        # an optimizer steps the two buffers with a dozen NumPy calls instead of a dozen per array.
        flat_params, flat_grads = pack(self.layers, "params"), pack(self.layers, "grads")
        self._params = Packed({f"{p}.{k}": v for p, layer in named_layers for k, v in layer.params.items()}, flat_params, "params")
        self._grads = Packed({f"{p}.{k}": v for p, layer in named_layers for k, v in layer.grads.items()}, flat_grads, "grads")
        self._owned = [(layer, layer.params, layer.grads) for layer in self.layers]
        # One call per layer and nothing else per step (a small network's step is Python
        # overhead): the layers in order, and in reverse, listed once here. The gradient with
        # respect to the network's input is never used, so a first Dense layer does not compute
        # it (a quarter of the MNIST network's backward products). A dense layer followed by an
        # activation with compiled epilogues (relu) runs as one step (DenseEpilogue).
        self._forward = {False: _steps(self.layers), True: _steps(self.layers[:-1])}
        self._backward = {logits: tuple((step, i == 0 and isinstance(step, (Dense, DenseEpilogue))) for i, step in reversed(list(enumerate(steps))))
                          for logits, steps in self._forward.items()}

    def forward(self, x, training=False, logits=False):
        """x: (batch, n_in). With logits=True the final activation is skipped (a fused loss applies it)."""
        for layer in self._forward[logits]:
            x = layer.forward(x, training)
        return x

    def backward(self, dy, logits=False):
        """Propagate dL/d(output) (or dL/d(logits)) back, filling every layer's grads."""
        for layer, first_dense in self._backward[logits]:
            dy = layer.backward(dy, need_dx=False) if first_dense else layer.backward(dy)
        for layer, params, grads in self._owned:
            if layer.params is not params or layer.grads is not grads:
                raise TypeError(f"{type(layer).__name__} replaced its params or grads: a layer writes into the views "
                                f"its model gave it, or the optimizer would step the old numbers")
        for layer, key, penalty in self.penalties:
            penalty.add_grad(layer.params[key], layer.grads[key])

    def penalty(self) -> float:
        """The weight penalties' total, added to a batch's mean loss in training."""
        return sum(penalty.value(layer.params[key]) for layer, key, penalty in self.penalties)

    def params(self) -> Packed:
        """Every parameter array by dotted name, e.g. `layers.0.W`; the arrays themselves, not copies,
        views of one buffer (`.flat`). Read-only: write into the arrays."""
        return self._params

    def grads(self) -> Packed:
        """Every gradient array, under the same names as params(), views of a buffer of their own."""
        return self._grads

    def load_params(self, state: dict) -> None:
        """Copy arrays into the parameters (names and shapes must already have been checked)."""
        for name, array in self.params().items():
            array[...] = state[name]

    def buffers(self) -> dict:
        """Arrays that are state but not trained (batchnorm's running statistics), by dotted name."""
        return {f"{prefix}.{k}": v for prefix, layer in self.named_layers for k, v in getattr(layer, "buffers", {}).items()}

    def state(self) -> dict:
        """What a checkpoint stores: params() and buffers(), the arrays themselves."""
        return {**self.params(), **self.buffers()}

    def load_state(self, state: dict) -> None:
        """Copy arrays into the parameters and buffers (names and shapes already checked)."""
        for name, array in self.state().items():
            array[...] = state[name]

    def outputs_from_logits(self, z):
        """The outputs from forward(x, logits=True)'s logits: the final activation applied."""
        return self.layers[-1].forward(z)

    def predict(self, x, batch_size: int = 8192):
        """Outputs (probabilities for classifiers) in inference mode, in batches to bound memory."""
        if len(x) <= batch_size:
            return self.forward(x)
        return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def _steps(layers: list) -> tuple:
    """The layers as the forward pass runs them: each Dense followed by an activation with
    compiled epilogues (ACTIVATIONS[name].epilogue) paired into one DenseEpilogue step."""
    steps, i = [], 0
    while i < len(layers):
        layer, after = layers[i], layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, Dense) and isinstance(after, Activation) and ACTIVATIONS[after.name].epilogue:
            steps.append(DenseEpilogue(layer, after))
            i += 2
        else:
            steps.append(layer)
            i += 1
    return tuple(steps)


def _dense(n_in, rng, dtype, units, activation="linear", initializer=None, **penalty):
    """A dense layer, its weight penalty (None without l1 or l2), its activation, its output width."""
    dense = Dense(n_in, units, initializer or default_initializer(activation), rng, dtype)
    return dense, (Penalty(**penalty) if any(penalty.values()) else None), activation, units


def _dropout(n_in, rng, dtype, rate):
    # its own generator, drawn from the seed, so masks never shift the weights' draws
    seed = 0 if rng is None else rng.integers(2**63)
    return Dropout(rate, np.random.default_rng(seed)), None, "linear", n_in


def _batchnorm(n_in, rng, dtype, activation="linear", **options):
    return BatchNorm(n_in, dtype=dtype, **options), None, activation, n_in


LAYER_TYPES = {"dense": _dense, "dropout": _dropout, "batchnorm": _batchnorm}  # a layer's `type` -> its maker


def _type(layer: dict) -> str:
    """A layer without `type` is dense."""
    kind = layer.get("type", "dense")
    if kind not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r}")
    return kind


def build(layers: list[dict], n_inputs: int, rng: np.random.Generator, dtype="float32") -> Sequential:
    """The network `layers` describes, one dict of a layer's YAML keys each (`{"type": "dense",
    "units": 32, "activation": "relu"}`; keys left out take their defaults: an initializer from the
    activation), with weights drawn from `rng` (None: weights left unset, for a checkpoint to fill;
    dropout then draws from a generator seeded with 0)."""
    named, penalties, n_in = [], [], n_inputs
    for i, layer in enumerate(layers):
        options = {k: v for k, v in layer.items() if k != "type"}
        made, penalty, activation, n_in = LAYER_TYPES[_type(layer)](n_in, rng, dtype, **options)
        named.append((f"layers.{i}", made))
        if penalty is not None:
            penalties.append((made, "W", penalty))
        if activation != "linear":
            named.append((f"layers.{i}.{activation}", Activation(activation)))
    return Sequential(named, penalties)


def summary_rows(layers: list[dict], n_inputs: int) -> list[dict]:
    """One row per layer (dicts as build takes them): name, type, output shape, parameter count
    (Keras' convention: batchnorm's running statistics count as non-trainable parameters)."""
    rows, n_in = [], n_inputs
    for i, layer in enumerate(layers):
        kind = _type(layer)
        n_out = layer["units"] if kind == "dense" else n_in
        params = {"dense": n_in * n_out + n_out, "dropout": 0, "batchnorm": 4 * n_in}[kind]
        rows.append({"name": f"layers.{i}", "type": {"dense": "Dense", "dropout": "Dropout", "batchnorm": "BatchNorm"}[kind],
                     "activation": layer.get("activation", "linear"), "output_shape": [None, n_out],
                     "params": params, "trainable": True,
                     "non_trainable_params": 2 * n_in if kind == "batchnorm" else 0})
        n_in = n_out
    return rows


def state_shapes(layers: list[dict], n_inputs: int) -> tuple[dict, dict]:
    """The shapes of the arrays a built model's params() and buffers() hold, by dotted name, from
    the layers' dicts alone: a checkpoint is checked against them before anything is allocated."""
    params, buffers, n_in = {}, {}, n_inputs
    for i, layer in enumerate(layers):
        kind = _type(layer)
        if kind == "dense":
            params[f"layers.{i}.W"], params[f"layers.{i}.b"] = (n_in, layer["units"]), (layer["units"],)
            n_in = layer["units"]
        elif kind == "batchnorm":
            params[f"layers.{i}.gamma"] = params[f"layers.{i}.beta"] = (n_in,)
            buffers[f"layers.{i}.running_mean"] = buffers[f"layers.{i}.running_var"] = (n_in,)
    return params, buffers
