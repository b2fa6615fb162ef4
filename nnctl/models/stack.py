"""A stack of layers and its shapes: what a Sequential model is before anything trains (add, pop,
build, summary, count_params), its input shape told by an Input, a first layer's input_shape=,
build() or the data, and every layer checked against the shape the layer before it gives."""

from __future__ import annotations

import numpy as np

from ..engine import model as engine_model
from ..engine.protocol import ShapeError
from ..errors import ConfigError
from ..runs import summary as summary_module
from . import layers as layers_module


class LayerStack:
    """Layers in order (layers.* objects) and the shape of one input; Sequential trains one."""

    def __init__(self, layers=None, name: str | None = None):
        self.name = name
        self._layers: list[layers_module.Layer] = []
        self._input_shape: tuple | None = None  # declared: Input, input_shape=, build(); or the data's once fit
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise ConfigError(f"Sequential: layers: expected a list of layers (Sequential([layers.Dense(8), ...])), "
                              f"got {type(layers).__name__}")
        for layer in layers or ():
            self.add(layer)

    def _changed(self) -> None:
        """Called when the layers or the input shape change (Sequential forgets its weights)."""

    @property
    def layers(self) -> list:
        """The layers, in order (layers.* objects)."""
        return list(self._layers)

    @property
    def input_shape(self) -> tuple | None:
        """The shape of one input without the batch: (features,) or (height, width, channels); None
        until build(), an Input, a first layer's input_shape= or fit's data tells it."""
        return self._input_shape

    def add(self, layer) -> None:
        """Add a layer at the end (a layers.* object, a layers.Input first, or a config's layer dict).
        ConfigError when it cannot take what the layer before it gives (once the input shape is known)."""
        if isinstance(layer, layers_module.Input):
            if self._layers:
                raise ConfigError("Sequential.add: an Input comes first, before the layers")
            self._declare(layer.shape)
            return
        if not isinstance(layer, layers_module.Layer):
            layer = layers_module.from_config(layer)
        if layer.input_shape is not None:
            if self._layers:
                raise ConfigError(f"Sequential.add: {layer!r}: input_shape is the model's, given to its first layer")
            self._declare(layer.input_shape)
        if self._input_shape is not None:
            self._plan([*self._layers, layer], self._input_shape, "Sequential.add")
        self._layers.append(layer)
        self._changed()

    def pop(self):
        """Remove the last layer and return it."""
        if not self._layers:
            raise ConfigError("Sequential.pop: the model has no layers")
        self._changed()
        return self._layers.pop()

    def build(self, input_shape) -> None:
        """Set the input shape (Keras' build): (features,), (height, width, channels), or either
        with the batch first as None ((None, 20)); the layers are checked against it."""
        shape = list(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
        if isinstance(shape, list) and shape and shape[0] is None:
            shape = shape[1:]
        shape = layers_module.input_shape(shape, "Sequential.build")
        self._plan(self._layers, shape, "Sequential.build")
        self._declare(shape)

    def _declare(self, shape: tuple) -> None:
        if tuple(shape) != self._input_shape:
            self._changed()
        self._input_shape = tuple(shape)

    def _specs(self, layers=None) -> list[dict]:
        """The layers as a config's model.layers holds them."""
        return [layer.get_config() for layer in (self._layers if layers is None else layers)]

    def _image_shape(self) -> tuple | None:
        """The input shape when it is an image's."""
        return self._input_shape if self._input_shape is not None and len(self._input_shape) == 3 else None

    def _plan(self, layers, shape: tuple, source: str) -> tuple[tuple, list]:
        """(the shape the engine's model of `layers` takes for inputs of `shape`: rows, or images
        when a layer takes them; the layers' summary rows); ConfigError naming the layer that cannot
        take its input."""
        specs = self._specs(layers)
        taken = engine_model.input_shape(specs, int(np.prod(shape)), shape if len(shape) == 3 else None)
        try:
            return taken, engine_model.summary_rows(specs, taken)
        except ShapeError as e:
            key = "." + e.key if e.key else ""
            raise ConfigError(f"{source}: model.layers[{e.index}]{key}: {specs[e.index]['type']}: {e}") from None

    def summary(self) -> list[dict]:
        """Print the table `nnctl summary` prints (Layer (type), Output Shape, Activation, Param #,
        the totals), and return its rows. Before the input shape is known, shapes and counts are ?."""
        info = self._summary()
        print(summary_module.render(info))
        return info["layers"]

    def _summary(self, dtype: str = "float32") -> dict:
        """What `nnctl summary --json` gives for a config of these layers."""
        name = self.name or "sequential"
        if self._input_shape is None:
            rows = [{"name": f"layers.{i}", "type": type(layer).__name__, "output_shape": None, "params": None,
                     "activation": ("linear" if layer.type == "activation"
                                    else layer.options.get("activation", "linear"))}
                    for i, layer in enumerate(self._layers)]
            return {"name": name, "input_shape": None, "layers": rows, "total_params": None, "trainable_params": None,
                    "non_trainable_params": None, "dtype": dtype}
        shape, rows = self._plan(self._layers, self._input_shape, "Sequential.summary")
        total = sum(r["params"] for r in rows)
        frozen = sum(r.get("non_trainable_params", 0) for r in rows)
        return {"name": name, "input_shape": [None, *shape], "layers": rows, "total_params": total,
                "trainable_params": total - frozen, "non_trainable_params": frozen, "dtype": dtype}

    def count_params(self) -> int:
        """The number of parameters (buffers such as batchnorm's running statistics included, as Keras counts)."""
        total = self._summary()["total_params"]
        if total is None:
            raise ConfigError("count_params: the input shape is not known yet: build(input_shape), a layers.Input "
                              "first, or fit")
        return total

    def __repr__(self):
        return f"{type(self).__name__}([{', '.join(map(repr, self._layers))}])"
