"""The config's layer models, built from the keys the engine's layer classes declare.

Each layer type (engine.protocol.Layer) lists its YAML keys as plain data (engine.protocol.Key:
kinds, default, bounds, meaning); here each becomes a strict pydantic model, and the layer types
one union chosen by `type` (a layer without one is dense), which schema.ModelConfig holds.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, Tag, ValidationError, WrapValidator, create_model

from ..engine.model import LAYER_TYPES
from ..engine.protocol import DEFAULT_TYPE, PAIR, REQUIRED


def _value_type(kind, key):
    """The annotation of one kind of value a layer key may take (engine.protocol.Key.kinds)."""
    if kind is None:
        return type(None)
    if isinstance(kind, tuple):
        return Literal[kind]
    if kind == PAIR:  # [height, width]: a YAML list, so a list (strict mode takes no list as a tuple)
        return Annotated[list[Annotated[int, Field(strict=True, **key.bounds)]], Field(min_length=2, max_length=2)]
    return Annotated[kind, Field(**key.bounds)] if key.bounds else kind


def _layer_field(key):
    """(annotation, Field) of a layer key: its bounds on the field when it is one kind of number
    (as docs/config.md shows them), on each alternative when it may be several."""
    alternatives = [kind for kind in key.kinds if kind is not None]
    default = ... if key.default is REQUIRED else key.default
    if len(alternatives) == 1 and alternatives[0] in (int, float, bool):
        annotation = alternatives[0] | None if None in key.kinds else alternatives[0]
        return annotation, Field(default, description=key.description, **key.bounds)
    annotation = Union[tuple(_value_type(kind, key) for kind in key.kinds)]  # noqa: UP007  (built from a tuple)
    if len(alternatives) > 1:
        annotation = Annotated[annotation, WrapValidator(_one_error(key))]
    return annotation, Field(default, description=key.description)


def _one_error(key):
    """A key that may take several kinds of value fails with one error saying them all, rather than
    pydantic's one per alternative."""
    def validate(value, handler):
        try:
            return handler(value)
        except ValidationError:
            words = [w for kind in key.kinds if isinstance(kind, tuple) for w in kind]
            close = [w for w in words if isinstance(value, str) and w.lower() == value.lower()]
            raise ValueError(f"expected {expected(key)}, got {value!r}"
                             + (f"; did you mean '{close[0]}'?" if close else "")) from None
    return validate


def expected(key) -> str:
    """What a layer key takes, in words: `valid, same, an integer ≥ 0 or a pair [height, width] of them`."""
    signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    bounds = " " + ", ".join(f"{signs[k]} {v:,}" for k, v in key.bounds.items()) if key.bounds else ""
    parts = []
    for kind in key.kinds:
        if isinstance(kind, tuple):
            parts += list(kind)
        elif kind is None:
            parts.append("null")
        elif kind == PAIR:
            parts.append("a pair [height, width] of them" if int in key.kinds else "a pair [height, width] of "
                                                                                   f"integers{bounds}")
        else:
            parts.append(f"{_a_kind(kind)}{bounds}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _a_kind(kind) -> str:
    return {int: "an integer", float: "a number", bool: "a boolean"}.get(kind, str(kind))


def _layer_model(cls, base):
    """The config's model of one layer type (a subclass of `base`), built from the keys its engine class declares."""
    tag = Literal[cls.type]
    fields = {"type": (tag, cls.type) if cls.type == DEFAULT_TYPE else (tag, ...)}
    fields.update({key.name: _layer_field(key) for key in cls.keys})
    return create_model(f"{cls.__name__}Layer", __base__=base, __doc__=(cls.__doc__ or "").split("\n")[0], **fields)


def build(base) -> tuple[dict, object]:
    """One model per layer type of the engine's registry, in its order, each a subclass of `base`
    (schema.Strict), and their union chosen by `type`: the keys, defaults, bounds and meanings are
    the layer classes'."""
    models = {name: _layer_model(cls, base) for name, cls in LAYER_TYPES.items()}
    union = Annotated[Union[tuple(Annotated[model, Tag(name)] for name, model in models.items())],  # noqa: UP007
                      Discriminator(_layer_type)]
    return models, union


def _layer_type(value) -> str:
    """A layer without `type` is dense."""
    return value.get("type", DEFAULT_TYPE) if isinstance(value, dict) else getattr(value, "type", DEFAULT_TYPE)
