"""Sequential: an ordered list of layers. Forward is a loop, backward the reversed loop."""

import numpy as np

from .layers import Activation, Dense


class Sequential:
    """Layers in order, each with a dotted name prefix (`layers.0`); parameters as one dict."""

    def __init__(self, named_layers: list[tuple[str, object]]):
        self.named_layers = named_layers
        self.layers = [layer for _, layer in named_layers]

    def forward(self, x, training=False, logits=False):
        """x: (batch, n_in). With logits=True the final activation is skipped (a fused loss applies it)."""
        layers = self.layers[:-1] if logits else self.layers
        for layer in layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dy, logits=False):
        """Propagate dL/d(output) (or dL/d(logits)) back, filling every layer's grads."""
        layers = self.layers[:-1] if logits else self.layers
        for layer in reversed(layers):
            dy = layer.backward(dy)
        return dy

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
    """The network a config's `model.layers` describes, with weights drawn from `rng`."""
    named, n_in = [], n_inputs
    for i, layer in enumerate(layers_cfg):
        named.append((f"layers.{i}", Dense(n_in, layer.units, layer.initializer, rng, dtype)))
        if layer.activation != "linear":
            named.append((f"layers.{i}.{layer.activation}", Activation(layer.activation)))
        n_in = layer.units
    return Sequential(named)


def summary_rows(layers_cfg, n_inputs: int) -> list[dict]:
    """One row per configured layer: name, type, output shape, parameter count (Keras' convention)."""
    rows, n_in = [], n_inputs
    for i, layer in enumerate(layers_cfg):
        rows.append({"name": f"layers.{i}", "type": "Dense", "activation": layer.activation,
                     "output_shape": [None, layer.units], "params": n_in * layer.units + layer.units,
                     "trainable": True})
        n_in = layer.units
    return rows
