"""The layers' shapes against the data: the shape a config's model takes, and whether every layer fits.

The engine walks the shapes (engine.model.plan) and names the layer that cannot take its input
(ShapeError: a kernel larger than its padded input, a dense layer on images without a flatten, a
convolution on rows of features); here that becomes a ConfigError with the file, the line, the
dotted key and the data set's side of it.
"""

from __future__ import annotations

from ..engine import model
from ..engine.protocol import LAYER_TYPES, ShapeError
from ..errors import ConfigError
from .yaml_lines import dotted_key, file_line, line_of


def input_shape(cfg, n_features: int, image_shape: tuple | None) -> tuple:
    """The shape the model of `cfg` takes from data of n_features per row (an image's (H, W, C)
    when the data has one and a layer takes images: engine.model.input_shape)."""
    return model.input_shape(_layers(cfg), n_features, image_shape)


def check(cfg, spec, source: str = "<config>", lines: dict | None = None, label: str | None = None) -> tuple | None:
    """The input shape of the model of `cfg` on data described by `spec` (a data.DatasetSpec), once
    every layer is known to fit it (ConfigError otherwise); None when the data's width is known
    only once it is loaded (runs.training.check_fits checks it then)."""
    if spec.n_features is None:
        return None
    shape = input_shape(cfg, spec.n_features, spec.image_shape)
    try:
        model.plan(_layers(cfg), shape)
    except ShapeError as e:
        raise ConfigError(message(e, cfg, spec, source, lines or {}, label or cfg.data.name)) from None
    return shape


def message(error: ShapeError, cfg, spec, source: str, lines: dict, label: str) -> str:
    """`file:line: model.layers[i].key: <type>: what does not fit`, with the data's side of it."""
    path = ("model", "layers", error.index) + ((error.key,) if error.key else ())
    kind = cfg.model.layers[error.index].type
    text = f"{file_line(source, line_of(lines, path))}: {dotted_key(path)}: {kind}: {error}"
    if LAYER_TYPES[kind].takes_images and spec.image_shape is None:
        text += f" ({label} is not a set of images: its rows of {spec.n_features} features have no height and width)"
    return text


def _layers(cfg) -> list[dict]:
    return [layer.model_dump() for layer in cfg.model.layers]
