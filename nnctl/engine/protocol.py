"""The layer protocol: what every layer type says about itself, and the registry of types.

A layer type is one class (Keras' `Layer`), registered under its YAML word (`type`) when it is
defined, and everything else asks it:

    keys                 its YAML keys: type, default, bounds, meaning (Key). The constructor takes
                         exactly them; config/schema.py builds the config's models from them, and
                         docs/config.md is generated from those models
    output_shape(s)      the shape of its output for an input of shape s, without allocating;
                         ShapeError when s does not suit it
    param_shapes(s)      its parameters' shapes by short name (`W`, `b`); buffer_shapes(s): its
                         state that is not trained (batchnorm's running statistics)
    work_values(s)       the values a training batch keeps per row, and scratch_values what a pass
                         needs besides, whatever the rows (the memory estimate)
    summary_row(...)     its row of `nnctl summary`
    build(s, rng, dtype) allocate its arrays (weights drawn from rng; None: left to a checkpoint)
    forward / backward   the numerics (layers.py states the contract)
    graph_node()         what an export writes for it at inference (nnctl/export reads it)

Shapes are tuples without the batch: (n,) for rows of n features, (H, W, C) for images, channels
last as Keras' default; a batch of images is (N, H, W, C). Adding a layer type is one class in one
module that model.py imports (layers.py, conv.py, pooling.py), plus its tests.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import DTypeLike, NDArray

Array: TypeAlias = NDArray[Any]  # a batch, a parameter, a gradient: the engine's arrays
Shape: TypeAlias = tuple[int, ...]  # without the batch: (n,) rows, (H, W, C) images

REQUIRED = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()  # a key without a default
PAIR = "pair"  # a kind of value: [height, width], two integers (an integer n stands for [n, n])

LAYER_TYPES: dict[str, type[Layer]] = {}  # a layer's `type` -> its class, in the order they are defined
DEFAULT_TYPE = "dense"  # a layer that names no type


@dataclass(frozen=True)
class Key:
    """One YAML key of a layer type, as plain data (the engine knows no pydantic).

    `kinds` lists what a value may be, any of: int, float, bool, PAIR, None, or a tuple of the
    words allowed; the bounds hold for every number (each of a pair's two). `aliases`: the key's
    names in Keras and PyTorch, which a config may use instead (config/aliases.py)."""

    name: str
    kinds: tuple[Any, ...]
    description: str
    default: object = REQUIRED
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    aliases: tuple[str, ...] = ()

    @property
    def bounds(self) -> dict[str, float]:
        """The bounds given, by pydantic's names (ge, gt, le, lt)."""
        return {k: v for k in ("ge", "gt", "le", "lt") if (v := getattr(self, k)) is not None}


class ShapeError(ValueError):
    """A layer cannot take the shape it is given. `key`: the YAML key at fault (None: the layer
    itself, or the layer before it); `index`: the layer's position, set by model.plan."""

    def __init__(self, message: str, key: str | None = None, index: int | None = None):
        super().__init__(message)
        self.key, self.index = key, index


class GraphNode(NamedTuple):
    """A layer at inference, as an export writes it: its kind (`dense`, `conv2d`, `activation` ...),
    its arrays by short name, and what else the node needs (strides, padding, epsilon, the
    activation's name). An exporter writes the kinds it knows and refuses the others."""

    kind: str
    arrays: dict[str, Array]
    attributes: dict[str, Any]


def shown(shape: Shape) -> str:
    """A shape as Keras prints it, with the batch: (None, 28, 28, 16)."""
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"


class Layer:
    """The base of every layer type: registers a subclass that sets `type`, takes the YAML keys
    (`keys`, their defaults filled in, as attributes of the same names), and gives the protocol's
    defaults: no parameters, no buffers, the output shaped as the input, one row in the summary."""

    type: ClassVar[str]  # the YAML word: set by a registered class
    title: ClassVar[str]  # the summary's type column: Keras' class name
    keys: ClassVar[tuple[Key, ...]] = ()
    aliases: ClassVar[tuple[str, ...]] = ()  # other names of the type (Keras', PyTorch's)
    # how many of `keys`, in their order, Keras' constructor takes by position (Dense(units,
    # activation)): the model API's layers take the others by name. None: those without a default.
    positional: ClassVar[int | None] = None
    takes_images: ClassVar[bool] = False  # a model holding it gives it (H, W, C) images, not flat rows
    # the step that runs it and the activation after it as one, where the activation has compiled
    # epilogues (layers.DenseEpilogue, conv.ConvEpilogue); None: the two run one after the other
    fused_with_activation: ClassVar[builtins.type | None] = None

    params: dict[str, Array]  # trained, by short name (`W`, `b`)
    grads: dict[str, Array]  # their gradients, under the same names
    buffers: dict[str, Array]  # state that is not trained (batchnorm's running statistics)
    work: dict[str, Array]  # what forward keeps for backward

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            if cls.type in LAYER_TYPES:
                raise TypeError(f"two layer types are called {cls.type!r}")
            LAYER_TYPES[cls.type] = cls

    def __init__(self, **options: Any) -> None:
        for key in self.keys:
            value = options.pop(key.name, key.default)
            if value is REQUIRED:
                raise TypeError(f"{self.type} needs {key.name!r}")
            setattr(self, key.name, value)
        if options:
            raise TypeError(f"{self.type} takes no key {min(options)!r}")
        self.params, self.grads, self.buffers, self.work = {}, {}, {}, {}

    def get_config(self) -> dict[str, Any]:
        """The YAML keys it was made with, `type` first: `LAYER_TYPES[c["type"]](**rest)` remakes it."""
        return {"type": self.type, **{key.name: getattr(self, key.name) for key in self.keys}}

    def activation_after(self) -> str:
        """The activation the model runs after this layer, as a layer of its own (`layers.0.relu`)."""
        return str(getattr(self, "activation", "linear"))

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {}

    def buffer_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {}

    def work_values(self, input_shape: Shape) -> int:
        """Values per row a training batch keeps for this layer and its activation: its output, the
        activation's output, the gradient flowing back and a mask or work array (four outputs)."""
        return 4 * math.prod(self.output_shape(input_shape))

    def scratch_values(self, input_shape: Shape, rows: int) -> int:
        """Scratch values a pass over `rows` rows needs besides what work_values counts per row (a
        convolution's patches, a chunk of images at a time): kept between batches in training."""
        return 0

    def penalties(self) -> list[tuple[str, Any]]:
        """(parameter's short name, regularizers.Penalty) for each weight penalty it adds to the loss."""
        return []

    def summary_row(self, name: str, input_shape: Shape) -> dict[str, Any]:
        """Its row of `nnctl summary` (Keras' convention: buffers count as non-trainable parameters)."""
        trained = sum(math.prod(s) for s in self.param_shapes(input_shape).values())
        kept = sum(math.prod(s) for s in self.buffer_shapes(input_shape).values())
        return {"name": name, "type": self.title, "activation": self.activation_after(),
                "output_shape": [None, *self.output_shape(input_shape)], "params": trained + kept,
                "trainable": True, "non_trainable_params": kept}

    def build(self, input_shape: Shape, rng: np.random.Generator | None, dtype: DTypeLike) -> None:
        """Allocate the arrays for inputs of `input_shape` (nothing, for a layer without any)."""

    def graph_node(self) -> GraphNode | None:
        """What an export writes for it; None: nothing (the identity at inference, as dropout)."""
        return GraphNode(self.type, {**self.params, **self.buffers}, self.get_config())

    def forward(self, x: Array, training: bool = False) -> Array:
        """y from x: (batch, *input_shape) -> (batch, *output_shape); with training, keeps in `work`
        what backward needs."""
        raise NotImplementedError

    def backward(self, dy: Array, need_dx: bool = True) -> Array | None:
        """dL/dx from dL/dy of the last training forward, filling `grads`; None when need_dx is False
        (the first layer's input gradient is never used)."""
        raise NotImplementedError


def pair(value: object, key: str) -> tuple[int, int]:
    """A PAIR key's value as (height, width): an integer n is (n, n)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{key}: expected an integer or a pair [height, width], got {value!r}")
