"""The layers of a Sequential model, with Keras' names and arguments: one class for each layer type
of the engine (engine.protocol.LAYER_TYPES), made here from the keys the type declares, so that
its arguments are its YAML keys, with their defaults, bounds and meanings, listed nowhere else.

    layers.Dense(32, activation="relu")          # {units: 32, activation: relu}
    layers.Conv2D(16, 3, padding="same")         # {type: conv2d, filters: 16, kernel_size: 3, padding: same}
    layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.3), layers.BatchNormalization()
    layers.Input(shape=(8, 8, 1))                # the model's input shape, as Keras' Input

Each class bears the name Keras gives the layer (the type's `title`); its first arguments may be
given by position in Keras' order (the type's `positional`), the others by name, Keras' and
PyTorch's names of a key included (`kernel_initializer`, `dilation_rate`). The arguments are
checked as a config's layer is, at once: a wrong one raises ConfigError naming it.
"""

from __future__ import annotations

import inspect
import textwrap

from pydantic import ValidationError

from ..config import layer_models, plain_data
from ..config.aliases import ACTIVATIONS as ACTIVATION_WORDS, LAYER_TYPES as TYPE_WORDS, canonical
from ..config.messages import describe_all
from ..config.schema import LAYER_MODELS
from ..engine.model import LAYER_TYPES
from ..engine.protocol import REQUIRED
from ..errors import ConfigError

# Keras' layers that are one activation, by their Keras names (LeakyReLU is not one of them: its
# slope is 0.3 in Keras and 0.01 in nnctl, as in PyTorch; write Activation("leaky_relu")).
KERAS_ACTIVATION_LAYERS = ("ReLU", "ELU", "Softmax")


class Layer:
    """A layer of a Sequential model: the YAML keys of one layer type, checked as a config's are."""

    type = ""  # the layer type's YAML word (engine.protocol.Layer.type)
    _positional: tuple[str, ...] = ()  # the keys it takes by position, in order

    def __init__(self, *args, **kwargs):
        name = type(self).__name__
        if len(args) > len(self._positional):
            which = f" ({', '.join(self._positional)})" if self._positional else ""
            raise ConfigError(f"layers.{name}: takes {len(self._positional)} "
                              f"argument{'s' * (len(self._positional) != 1)} "
                              f"by position{which}, got {len(args)}: give the others by name")
        given = dict(zip(self._positional, args))
        twice = sorted(set(given) & set(kwargs))
        if twice:
            raise ConfigError(f"layers.{name}: {twice[0]} is given twice, by position and by name")
        given.update(kwargs)
        self.input_shape = input_shape(given.pop("input_shape", None), f"layers.{name}")
        self.options = check(self.type, given, f"layers.{name}")

    def __getattr__(self, name):
        """A key's value as an attribute, as Keras' layers have them (layers.Dense(32).units): the one
        given, else the key's default."""
        keys = {key.name: key for key in LAYER_TYPES[self.type].keys}
        if name in keys:
            return self.__dict__.get("options", {}).get(name, keys[name].default)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (its keys: {', '.join(keys) or 'none'})")

    def get_config(self) -> dict:
        """The layer as a config's model.layers holds it: its type and the keys given."""
        return {"type": self.type, **self.options}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"

    def __eq__(self, other):
        return isinstance(other,
                          Layer) and other.get_config() == self.get_config() and other.input_shape == self.input_shape

    __hash__ = None  # mutable options: no hash


class Input:
    """The model's input shape without the batch, as the first element of a Sequential (Keras'
    Input): (features,) for rows, (height, width, channels) for images; (height, width) is
    (height, width, 1)."""

    def __init__(self, shape):
        self.shape = input_shape(shape, "layers.Input")

    def __repr__(self):
        return f"Input(shape={self.shape})"


def input_shape(shape, source: str) -> tuple | None:
    """A shape as the model takes it: (n,) rows or (H, W, C) images (None stays None); ConfigError otherwise."""
    if shape is None:
        return None
    shape = plain_data(shape, source)
    shape = [shape] if isinstance(shape, int) and not isinstance(shape, bool) else shape
    if not isinstance(shape, list) or len(shape) not in (1, 2, 3) or \
            not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise ConfigError(f"{source}: input_shape: expected the shape of one input without the batch, (features,) or "
                          f"(height, width, channels) of integers ≥ 1, got {shape!r}")
    return (*shape, 1) if len(shape) == 2 else tuple(shape)


def check(kind: str, options: dict, source: str) -> dict:
    """The keys `options` of a layer of type `kind`, checked as a config's layer is (ConfigError
    naming the key, `source` first), with nnctl's names and words for Keras' and PyTorch's."""
    layer = {"type": kind, **plain_data(options, source)}
    layer = canonical({"model": {"layers": [layer]}}, {}, source)["model"]["layers"][0]
    model = LAYER_MODELS[layer["type"]]
    try:
        model.model_validate(layer)
    except ValidationError as e:
        raise ConfigError(describe_all(e.errors(), layer, source, {}, root=model).replace("(allowed: type, ",
                                                                                          "(allowed: ")) \
            from None
    return {key: value for key, value in layer.items() if key != "type"}


def from_config(layer: dict) -> Layer:
    """The Layer a config's layer dict describes (`{"units": 32}`, `{"type": "Conv2D", ...}`)."""
    if not isinstance(layer, dict):
        raise ConfigError(f"a layer is a layers.* object or a config's layer dict, got {type(layer).__name__}")
    kind = layer.get("type", "dense")
    word = TYPE_WORDS.lookup(kind) or ("activation" if ACTIVATION_WORDS.lookup(kind) else None)
    if word is None:
        raise ConfigError(f"a layer's type: expected one of {', '.join(LAYER_TYPES)}, got {kind!r}")
    options = {k: v for k, v in layer.items() if k != "type"}
    if word == "activation" and TYPE_WORDS.lookup(kind) is None:
        options["activation"] = kind  # {type: ReLU}: an activation's name as the type
    return BY_TYPE[word](**options)


def _documentation(cls, positional: int) -> str:
    """The docstring of the model API's class for the engine's layer class `cls`: what it does,
    then every argument, from its declared key."""
    lines = [inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0], "",
             f"The config's layer {{type: {cls.type}, ...}}: each argument is one of its keys (docs/config.md)."]
    if positional:
        lines[-1] += f" The first {positional} may be given by position, as in Keras."
    if cls.keys:
        lines += ["", "Arguments:"]
    for key in cls.keys:
        default = "required" if key.default is REQUIRED else f"default {key.default!r}"
        also = f" Also named {', '.join(key.aliases)}." if key.aliases else ""
        text = f"{layer_models.expected(key)}; {default}. {key.description[0].upper()}{key.description[1:]}.{also}"
        lines += textwrap.wrap(text, 96, initial_indent=f"    {key.name}: ", subsequent_indent="        ")
    lines += ["", "input_shape (by name only): the model's input shape without the batch, (features,) or",
              "(height, width, channels), on the first layer (as Keras' input_shape)."]
    return "\n".join(lines)


def _layer_class(cls) -> type[Layer]:
    """The model API's class of the engine's layer class `cls`, named as Keras names it."""
    required = next((i for i, key in enumerate(cls.keys) if key.default is not REQUIRED), len(cls.keys))
    positional = cls.positional if cls.positional is not None else required
    parameters = [inspect.Parameter(key.name, inspect.Parameter.POSITIONAL_OR_KEYWORD if i < positional else
                                    inspect.Parameter.KEYWORD_ONLY,
                                    default=inspect.Parameter.empty if key.default is REQUIRED else key.default)
                  for i, key in enumerate(cls.keys)]
    parameters.append(inspect.Parameter("input_shape", inspect.Parameter.KEYWORD_ONLY, default=None))
    return type(cls.title, (Layer,), {
        "type": cls.type, "_positional": tuple(key.name for key in cls.keys[:positional]), "__module__": __name__,
        "__doc__": _documentation(cls, positional), "__signature__": inspect.Signature(parameters)})


def _activation_class(name: str, base: type[Layer]) -> type[Layer]:
    """Keras' layer `name` (ReLU) that is one activation: Activation(its activation)."""
    activation = ACTIVATION_WORDS.lookup(name)

    def __init__(self, *, input_shape=None):
        base.__init__(self, activation, input_shape=input_shape)

    return type(name, (base,), {
        "__init__": __init__, "__module__": __name__,
        "__doc__": f"The activation {activation} as a layer of its own: Activation({activation!r}).",
        "__signature__": inspect.Signature([inspect.Parameter("input_shape", inspect.Parameter.KEYWORD_ONLY,
                                                              default=None)])})


BY_TYPE = {name: _layer_class(cls) for name, cls in LAYER_TYPES.items()}  # a layer type's YAML word -> its class
globals().update({cls.__name__: cls for cls in BY_TYPE.values()})
globals().update({name: _activation_class(name, BY_TYPE["activation"]) for name in KERAS_ACTIVATION_LAYERS})
__all__ = ["Input", "Layer", *(cls.__name__ for cls in BY_TYPE.values()),  # noqa: PLE0604 - generated classes
           *KERAS_ACTIVATION_LAYERS]
