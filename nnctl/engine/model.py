"""Sequential: an ordered list of layers. Forward is a loop, backward the reversed loop.

`build` makes one from plain values: a dict of a layer's YAML keys per layer, each made by its
type's class (protocol.LAYER_TYPES) and built for the shape the layer before it gives (`plan`).
The summary, the checkpoint's expected shapes and the memory estimate ask the same plan.
"""

from typing import NamedTuple

import numpy as np

# conv, conv_steps, pooling and reshape: the image layer types and steps register themselves on import
from . import conv, conv_steps, kernels, pooling, reshape  # noqa: F401
from .activations import ACTIVATIONS
from .layers import Activation
from .packing import Packed, pack
from .protocol import DEFAULT_TYPE, LAYER_TYPES, Layer, ShapeError
from .regularizers import Penalty


class Sequential:
    """Layers in order, each with a dotted name prefix (`layers.0`); the parameters in one flat
    buffer and the gradients in another, seen by name through params() and grads(). It takes
    rows of `input_shape` (the data's flat rows are viewed as images (N, H, W, C) when the
    shape is an image's)."""

    def __init__(self, named_layers: list[tuple[str, object]], penalties: list[tuple[object, str, Penalty]] = (),
                 input_shape: tuple = ()):
        self.named_layers = named_layers
        self.layers = [layer for _, layer in named_layers]
        self.penalties = list(penalties)  # (layer, parameter key, Penalty): L1 / L2 on weights
        self.input_shape = tuple(input_shape)
        self._image = len(self.input_shape) > 1  # forward views the rows as images first
        # Every parameter becomes a view of one buffer, every gradient a view of another, in
        # params() order, and the layers' dicts read-only mappings of those views (packing.py):
        # an optimizer steps the two buffers with a dozen NumPy calls instead of a dozen per array.
        flat_params, flat_grads = pack(self.layers, "params"), pack(self.layers, "grads")
        # NumPy or the compiled kernels in training, decided here once for the whole model: its
        # optimizer's steps (through the packed mappings), its layers, its loss and accuracy count
        self.compiled = kernels.for_model(flat_params.size, self._image)
        self._params = Packed({f"{p}.{k}": v for p, layer in named_layers for k, v in layer.params.items()},
                              flat_params, "params", self.compiled)
        self._grads = Packed({f"{p}.{k}": v for p, layer in named_layers for k, v in layer.grads.items()},
                             flat_grads, "grads", self.compiled)
        self._owned = [(layer, layer.params, layer.grads) for layer in self.layers]
        # One call per layer and nothing else per step (a small network's step is Python
        # overhead): the layers in order, and in reverse, listed once here. A dense layer followed
        # by an activation with compiled epilogues (relu) runs as one step (DenseEpilogue).
        self._forward = {False: _steps(self.layers), True: _steps(self.layers[:-1])}
        self._backward = {logits: _backward_steps(steps) for logits, steps in self._forward.items()}
        for step in {*self.layers, *self._forward[False], *self._forward[True]}:
            if hasattr(step, "compiled"):
                step.compiled = self.compiled

    @property
    def kernels(self):
        """The compiled kernels this model trains with (numba imported at the first call), or None: NumPy."""
        return kernels.load() if self.compiled else None

    def as_input(self, x):
        """Rows x as the first layer takes them: (N, H, W, C) images viewed from flat (N, H*W*C) rows."""
        return x.reshape(len(x), *self.input_shape) if self._image else x

    def forward(self, x, training=False, logits=False):
        """x: (batch, n_in). With logits=True the final activation is skipped (a fused loss applies it)."""
        if self._image:
            x = self.as_input(x)
        for layer in self._forward[logits]:
            x = layer.forward(x, training)
        return x

    def backward(self, dy, logits=False):
        """Propagate dL/d(output) (or dL/d(logits)) back, filling every layer's grads."""
        for layer, need_dx in self._backward[logits]:
            dy = layer.backward(dy) if need_dx else layer.backward(dy, need_dx=False)
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
        return {f"{prefix}.{k}": v for prefix, layer in self.named_layers for k,
                v in getattr(layer, "buffers", {}).items()}

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
    """The layers as the forward pass runs them: a layer with a fused step (Dense, Conv2D: their
    `fused_with_activation`) followed by an activation with compiled epilogues
    (ACTIVATIONS[name].epilogue) paired into that one step; a conv2d, its relu and the max pooling
    after them in one (conv_steps.ConvReluPool), where its `takes` says they can."""
    steps, i = [], 0
    while i < len(layers):
        layer = layers[i]
        after, then = (layers[i + 1:i + 3] + [None, None])[:2]
        fused = getattr(layer, "fused_with_activation", None)
        if fused is not None and isinstance(after, Activation) and ACTIVATIONS[after.name].epilogue:
            with_pool = getattr(fused, "with_pool", None)  # a conv's step may take the max pooling after it too
            if with_pool is not None and with_pool.takes(layer, after, then):
                steps.append(with_pool(layer, after, then))
                i += 3
                continue
            steps.append(fused(layer, after))
            i += 2
        else:
            steps.append(layer)
            i += 1
    return tuple(steps)


def _backward_steps(steps: tuple) -> tuple:
    """(step, need_dx) in reverse order. Nothing before the first step that trains something
    needs a gradient, so the steps before it are left out and it computes no dx (for a first
    Dense layer, a quarter of the MNIST network's backward products)."""
    first = next((i for i, step in enumerate(steps) if step.params), len(steps))
    return tuple((step, i > first) for i, step in reversed(list(enumerate(steps))) if i >= first)


def layer_type(layer: dict) -> type[Layer]:
    """The class of a layer's dict of YAML keys (a layer without `type` is dense)."""
    kind = layer.get("type", DEFAULT_TYPE)
    if kind not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r}")
    return LAYER_TYPES[kind]


def make(layer: dict) -> Layer:
    """The unbuilt layer a dict of its YAML keys describes."""
    return layer_type(layer)(**{k: v for k, v in layer.items() if k != "type"})


def input_shape(layers: list[dict], n_features: int, image_shape: tuple | None = None) -> tuple:
    """The shape a model of `layers` takes: the data's image (H, W, C) when one of its layers takes
    images (conv2d, pooling), else rows of n_features, as every dense network always took them (a
    batchnorm on MNIST's pixels normalises each pixel, not the one channel)."""
    if image_shape is not None and any(layer_type(layer).takes_images for layer in layers):
        return tuple(image_shape)
    return (n_features,)


class Planned(NamedTuple):
    """One layer of a plan: its index in the config, the unbuilt layer, its input and output shape."""

    index: int
    layer: Layer
    input_shape: tuple
    output_shape: tuple


def plan(layers: list[dict], input_shape) -> list[Planned]:
    """The layers `layers` describes, unbuilt, each with the shape it takes and gives, from the
    model's `input_shape` (a tuple, or an int: rows of that many features) on. ShapeError, with
    the layer's index, at the first layer that cannot take its input, or whose output is empty."""
    shape = _shape(input_shape)
    out = []
    for i, options in enumerate(layers):
        layer = make(options)
        try:
            given = layer.output_shape(shape)
        except ShapeError as e:
            raise ShapeError(str(e), e.key, i) from None
        if min(given, default=1) < 1:
            raise ShapeError(f"its output would be {given}, with nothing in it", None, i)
        out.append(Planned(i, layer, shape, given))
        shape = given
    return out


def build(layers: list[dict], input_shape, rng: np.random.Generator, dtype="float32") -> Sequential:
    """The network `layers` describes, one dict of a layer's YAML keys each (`{"type": "dense",
    "units": 32, "activation": "relu"}`; keys left out take their defaults: an initializer from the
    activation), for inputs of `input_shape` (a tuple without the batch, or an int: rows of that
    many features), with weights drawn from `rng` in the layers' order (None: weights left unset,
    for a checkpoint to fill; dropout then draws from a generator seeded with 0)."""
    named, penalties = [], []
    steps = plan(layers, input_shape)
    for step in steps:
        layer = step.layer
        layer.build(step.input_shape, rng, dtype)
        named.append((f"layers.{step.index}", layer))
        penalties += [(layer, key, penalty) for key, penalty in layer.penalties()]
        activation = layer.activation_after()
        if activation != "linear":
            named.append((f"layers.{step.index}.{activation}", Activation(activation)))
    return Sequential(named, penalties, _shape(input_shape))


def summary_rows(layers: list[dict], input_shape) -> list[dict]:
    """One row per layer (dicts as build takes them): name, type, output shape, parameter count
    (Keras' convention: batchnorm's running statistics count as non-trainable parameters)."""
    return [step.layer.summary_row(f"layers.{step.index}", step.input_shape) for step in plan(layers, input_shape)]


def state_shapes(layers: list[dict], input_shape) -> tuple[dict, dict]:
    """The shapes of the arrays a built model's params() and buffers() hold, by dotted name, from
    the layers' dicts alone: a checkpoint is checked against them before anything is allocated."""
    params, buffers = {}, {}
    for step in plan(layers, input_shape):
        prefix = f"layers.{step.index}"
        params.update({f"{prefix}.{k}": s for k, s in step.layer.param_shapes(step.input_shape).items()})
        buffers.update({f"{prefix}.{k}": s for k, s in step.layer.buffer_shapes(step.input_shape).items()})
    return params, buffers


def _shape(input_shape) -> tuple:
    """An input shape as a tuple: an int n is rows of n features, (n,)."""
    return (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
