"""Sequential: an ordered list of layers. Forward is a loop, backward the reversed loop."""

import numpy as np

from .layers import Activation, BatchNorm, Dense, Dropout
from .packing import pack
from .regularizers import Penalty


class Sequential:
    """Layers in order, each with a dotted name prefix (`layers.0`); parameters as one dict."""

    def __init__(self, named_layers: list[tuple[str, object]], penalties: list[tuple[object, str, Penalty]] = ()):
        self.named_layers = named_layers
        self.layers = [layer for _, layer in named_layers]
        self.penalties = list(penalties)  # (layer, parameter key, Penalty): L1 / L2 on weights
        # Every parameter (and every gradient) becomes a view of one buffer, in params() order, so
        # that an optimizer steps all of them with a dozen NumPy calls instead of a dozen per array
        # (packing.py). Nothing else depends on it: the views are ordinary arrays.
        pack([layer.params for layer in self.layers])
        pack([layer.grads for layer in self.layers])

    def forward(self, x, training=False, logits=False):
        """x: (batch, n_in). With logits=True the final activation is skipped (a fused loss applies it)."""
        layers = self.layers[:-1] if logits else self.layers
        for layer in layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dy, logits=False):
        """Propagate dL/d(output) (or dL/d(logits)) back, filling every layer's grads.

        The gradient with respect to the network's input is never used, so a first Dense layer
        does not compute it (a quarter of the MNIST network's backward products).
        """
        layers = self.layers[:-1] if logits else self.layers
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            dy = layer.backward(dy, need_dx=False) if i == 0 and isinstance(layer, Dense) else layer.backward(dy)
        for layer, key, penalty in self.penalties:
            penalty.add_grad(layer.params[key], layer.grads[key])

    def penalty(self) -> float:
        """The weight penalties' total, added to a batch's mean loss in training."""
        return sum(penalty.value(layer.params[key]) for layer, key, penalty in self.penalties)

    def params(self) -> dict:
        """Every parameter array by dotted name, e.g. `layers.0.W`; the arrays themselves, not copies."""
        return {f"{prefix}.{k}": v for prefix, layer in self.named_layers for k, v in layer.params.items()}

    def grads(self) -> dict:
        """Every gradient array, under the same names as params()."""
        return {f"{prefix}.{k}": v for prefix, layer in self.named_layers for k, v in layer.grads.items()}

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

    @property
    def output_activation(self) -> str | None:
        last = self.layers[-1]
        return last.name if isinstance(last, Activation) else None

    def predict(self, x, batch_size: int = 8192):
        """Outputs (probabilities for classifiers) in inference mode, in batches to bound memory."""
        if len(x) <= batch_size:
            return self.forward(x)
        return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def build(layers_cfg, n_inputs: int, rng: np.random.Generator, dtype="float32") -> Sequential:
    """The network a config's `model.layers` describes, with weights drawn from `rng` (None: weights
    left unset, for a checkpoint to fill; dropout then draws from a generator seeded with 0)."""
    named, penalties, n_in = [], [], n_inputs
    for i, layer in enumerate(layers_cfg):
        kind = getattr(layer, "type", "dense")
        if kind == "dense":
            dense = Dense(n_in, layer.units, layer.initializer, rng, dtype)
            named.append((f"layers.{i}", dense))
            if layer.l1 or layer.l2:
                penalties.append((dense, "W", Penalty(layer.l1, layer.l2)))
            n_in = layer.units
        elif kind == "dropout":
            # its own generator, drawn from the seed, so masks never shift the weights' draws
            seed = 0 if rng is None else rng.integers(2**63)
            named.append((f"layers.{i}", Dropout(layer.rate, np.random.default_rng(seed))))
        elif kind == "batchnorm":
            named.append((f"layers.{i}", BatchNorm(n_in, layer.momentum, layer.epsilon, dtype)))
        else:
            raise ValueError(f"unknown layer type {kind!r}")
        if getattr(layer, "activation", "linear") != "linear":
            named.append((f"layers.{i}.{layer.activation}", Activation(layer.activation)))
    return Sequential(named, penalties)


def summary_rows(layers_cfg, n_inputs: int) -> list[dict]:
    """One row per configured layer: name, type, output shape, parameter count (Keras' convention:
    batchnorm's running statistics count as non-trainable parameters)."""
    rows, n_in = [], n_inputs
    for i, layer in enumerate(layers_cfg):
        kind = getattr(layer, "type", "dense")
        n_out = layer.units if kind == "dense" else n_in
        params = {"dense": n_in * n_out + n_out, "dropout": 0, "batchnorm": 4 * n_in}[kind]
        rows.append({"name": f"layers.{i}", "type": {"dense": "Dense", "dropout": "Dropout", "batchnorm": "BatchNorm"}[kind],
                     "activation": getattr(layer, "activation", "linear"), "output_shape": [None, n_out],
                     "params": params, "trainable": True,
                     "non_trainable_params": 2 * n_in if kind == "batchnorm" else 0})
        n_in = n_out
    return rows


def state_shapes(layers_cfg, n_inputs: int) -> tuple[dict, dict]:
    """The shapes of the arrays a built model's params() and buffers() hold, by dotted name, from
    the config alone: a checkpoint is checked against them before anything is allocated."""
    params, buffers, n_in = {}, {}, n_inputs
    for i, layer in enumerate(layers_cfg):
        kind = getattr(layer, "type", "dense")
        if kind == "dense":
            params[f"layers.{i}.W"], params[f"layers.{i}.b"] = (n_in, layer.units), (layer.units,)
            n_in = layer.units
        elif kind == "batchnorm":
            params[f"layers.{i}.gamma"] = params[f"layers.{i}.beta"] = (n_in,)
            buffers[f"layers.{i}.running_mean"] = buffers[f"layers.{i}.running_var"] = (n_in,)
    return params, buffers
