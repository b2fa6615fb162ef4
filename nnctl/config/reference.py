"""The config reference (docs/config.md), rendered from the schema: every key, its type, default and meaning.

The pydantic models are the one table of the config's keys; this module only walks them, so the
reference cannot drift from what `nnctl check` accepts. Regenerate after changing the schema:

    python -m nnctl.config.reference > docs/config.md

(tests/test_readme.py fails while docs/config.md differs from what `render()` gives.)
"""

from __future__ import annotations

import types
import typing
from typing import Literal, Union

import annotated_types
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from nnctl.config import schema

_BOUNDS = {"Ge": "≥", "Gt": ">", "Le": "≤", "Lt": "<"}


def _strip(annotation):
    """The annotation without Annotated[...] wrappers."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _metadata(annotation) -> tuple:
    """The metadata (bounds, lengths) of an Annotated[...] annotation, outermost last."""
    found = ()
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        found = (*_field_metadata(args[1:]), *found)
        annotation = args[0]
    return found


def _field_metadata(items) -> list:
    """Annotated's extra items as bounds: a pydantic Field's own metadata, or the items themselves."""
    out = []
    for item in items:
        out += list(getattr(item, "metadata", [item]))
    return out


def _variants(annotation) -> list[type[BaseModel]]:
    """The models of a (possibly optional, possibly list of a) union of models, in declaration order."""
    annotation = _strip(annotation)
    if typing.get_origin(annotation) is list:
        return _variants(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is dict:  # a mapping of names to settings: the settings' models
        return _variants(typing.get_args(annotation)[1])
    if typing.get_origin(annotation) in (Union, types.UnionType):
        found = []
        for arg in typing.get_args(annotation):
            found += _variants(arg)
        return found
    return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _optional(annotation):
    """X of X | None."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (Union, types.UnionType) else ()
    kept = [a for a in args if a is not type(None)]
    return kept[0] if len(kept) == 1 else annotation


def _tag(model: type[BaseModel]) -> str:
    """The word that selects a model of a union: its `name` or `type` literal."""
    for key in ("name", "type"):
        field = model.model_fields.get(key)
        if field is not None and typing.get_origin(field.annotation) is Literal:
            return typing.get_args(field.annotation)[0]
    return model.__name__


def _type(annotation, metadata=()) -> str:
    """A field's type in words: choices, ranges, optional."""
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return ", ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if _variants(annotation) and len(_variants(annotation)) == len(args):
            words = "mapping"
        else:
            words = " or ".join(_type(arg, (*metadata, *_metadata(arg))) for arg in args)
        return words + (" or null" if type(None) in typing.get_args(annotation) else "")
    if origin is list:
        item = typing.get_args(annotation)[0]
        lengths = {type(m).__name__: getattr(m, "min_length", getattr(m, "max_length", None)) for m in metadata}
        if lengths.get("MinLen") == lengths.get("MaxLen") == 2:  # a layer's [height, width]
            return f"pair of {_type(item, _metadata(item)).replace('integer', 'integers', 1)}"
        return f"list of {_type(item, _metadata(item))}"
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"mapping of {_type(key)} to {_type(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    words = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(annotation, str(annotation))
    bounds = []
    for item in metadata:
        for name, sign in _BOUNDS.items():
            if isinstance(item, getattr(annotated_types, name)):
                bound = getattr(item, name.lower())
                bounds.append(f"{sign} {bound:,}" if isinstance(bound,
                                                                int) and abs(bound) >= 10_000 else f"{sign} {bound}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            bounds.append(f"matching `{pattern}`")
    if annotation in (int, float) and bounds:
        return f"{words} {', '.join(bounds)}"
    return words + (f" {', '.join(bounds)}" if bounds else "")


def _default(field) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined:
        value = field.default_factory()
    if value is None:
        return "none"
    if isinstance(value, BaseModel):
        return "defaults" if not value.model_fields_set else "`" + ", ".join(
            f"{k}: {v}" for k, v in value.model_dump().items()) + "`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _table(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        meaning = (field.description or ("below" if _variants(field.annotation) else "")).replace("|", "\\|")
        lines.append(f"| `{name}` | {_type(field.annotation, field.metadata)} | {_default(field)} | {meaning} |")
    return lines


def _section(title: str, model: type[BaseModel], level: int, out: list[str]) -> None:
    """A table of MODEL's own keys, then one sub-section per key that holds models."""
    out += ["", "#" * level + f" `{title}`" if title else "#" * level + " Top level", "", *_table(model)]
    for name, field in model.model_fields.items():
        variants = _variants(field.annotation)
        if not variants:
            continue
        path = f"{title}.{name}" if title else name
        if typing.get_origin(_strip(field.annotation)) is list:
            path += "[]"
        if len(variants) == 1:
            _section(path, variants[0], level + 1, out)
            continue
        key = "name" if "name" in variants[0].model_fields else "type"
        out += ["", "#" * (level + 1) + f" `{path}`", "",
                f"`{key}` chooses one of: " + ", ".join(f"`{_tag(v)}`" for v in variants) + "; its other keys depend "
                                                                                            "on it."]
        for variant in variants:
            out += ["", "#" * (level + 2) + f" `{path}` with `{key}: {_tag(variant)}`", ""]
            own = [n for n in variant.model_fields if n != key]
            out += _table(variant, skip=(key,)) if own else ["No other keys."]
            for sub, subfield in variant.model_fields.items():
                if _variants(subfield.annotation):
                    each = ".NAME" if typing.get_origin(_strip(_optional(subfield.annotation))) is dict else ""
                    _section(f"{path}.{sub}{each}", _variants(subfield.annotation)[0], level + 3, out)


def _aliases() -> list[str]:
    """The names from Keras and PyTorch that a config may use instead (config/aliases.py)."""
    from nnctl.config import aliases

    out = ["", "## Other names", "",
           "A word (a loss, an activation, a layer type, an optimizer, a schedule, an initializer, a data set) is",
           "matched ignoring case, `_`, `-` and spaces: `ReLU`, `Adam`, `SGD`, `Dense`, `BatchNorm`,",
           "`binary_crossentropy` are `relu`, `adam`, `sgd`, `dense`, `batchnorm`, `binary_cross_entropy`. These",
           "names from Keras and PyTorch are accepted too, by nnctl and by `nnctl schema`'s JSON Schema; the",
           "resolved config writes nnctl's word.", "",
           "| key | other names |", "| --- | --- |"]
    for table in aliases.WORDS:
        if table.aliases:
            out.append(f"| `{table.key}` | " + ", ".join(f"`{a}` → `{n}`" for a, n in table.aliases.items()) + " |")
    for section, keys in aliases.KEYS.items():
        out.append(f"| keys of `{section}` | " + ", ".join(f"`{a}` → `{n}`" for a, n in keys.items()) + " |")
    for kind, keys in aliases.LAYER_KEYS.items():
        if keys:
            out.append(f"| keys of `model.layers[]` with `type: {kind}` | "
                       + ", ".join(f"`{a}` → `{n}`" for a, n in keys.items()) + " |")
    out += ["", ("A layer `type` that names an activation (`ReLU`, `Tanh`, `LeakyReLU`, `GELU`: Keras' and PyTorch's "
                "activation layers) is `{type: activation, activation: <its name>}`.")]
    return out


def render() -> str:
    """docs/config.md: the reference of every config key, generated from the schema."""
    out = ["<!-- Generated by `python -m nnctl.config.reference > docs/config.md`: do not edit by hand. -->",
           "", "# Config reference", "",
           "Every key a config file may hold, with its type, default and meaning, as `nnctl check` and",
           "`nnctl schema` know them. Unknown keys are errors, except a top-level `$schema` (for editors),",
           "which nnctl ignores. What the keys do together (the data sets, the",
           "losses' and optimizers' formulas, the schedules, `--set`, the YAML rules) is in",
           "[config-guide.md](config-guide.md).", ""]
    layers = _variants(schema.ModelConfig.model_fields["layers"].annotation)
    dense = next(v for v in layers if "initializer" in v.model_fields)
    out += ["| registry | names |", "| --- | --- |",
            "| activations | " + _type(dense.model_fields["activation"].annotation) + " |",
            "| initializers | " + _type(dense.model_fields["initializer"].annotation).removesuffix(" or null") + " |",
            "| losses | " + _type(schema.Config.model_fields["loss"].annotation) + " |"]
    for title, annotation in (("data sets", schema.Config.model_fields["data"].annotation),
                              ("layer types", schema.ModelConfig.model_fields["layers"].annotation),
                              ("optimizers", schema.Config.model_fields["optimizer"].annotation),
                              ("schedules", schema.TrainingConfig.model_fields["schedule"].annotation)):
        out.append(f"| {title} | " + ", ".join(f"`{_tag(v)}`" for v in _variants(annotation)) + " |")
    out += _aliases()
    _section("", schema.Config, 2, out)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
