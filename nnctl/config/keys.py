"""Dotted config keys (`model.layers[0].units`): parsed and set by one rule for --set and for sweeps."""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any

from pydantic import BaseModel

from ..errors import ConfigError
from .messages import _a, _yaml_type
from .schema import Config
from .yaml_lines import _dotted, parse_yaml

_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
KEY_PATTERN = rf"{_WORD}(?:\.{_WORD}|\[[0-9]+\])*"  # a dotted key, also in the sweep spec's JSON Schema
_KEY = re.compile(KEY_PATTERN)


def parse_key(key: str) -> tuple:
    """`model.layers[0].units` -> ("model", "layers", 0, "units"); ValueError if malformed."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a dotted key such as optimizer.lr or model.layers[0].units")
    return tuple(int(index) if index else word for word, index in re.findall(rf"({_WORD})|\[([0-9]+)\]", key))


def set_key(data: dict, path: tuple, value) -> None:
    """Set a copy of `value` at `path` in nested config data; ValueError (naming the key) if it cannot be.

    The one rule of --set and sweeps: a missing mapping on the way is created; a list index must
    exist, except the last one, which may be one past the end (append).
    """
    node = data
    for depth, part in enumerate(path[:-1]):
        node = _child(node, part, path[depth + 1], path[:depth + 1])
    _assign(node, path, copy.deepcopy(value))


def apply_overrides(data: Any, overrides, lines: dict, source: str = "<config>") -> Any:
    """Parsed config data with each `key=value` of `overrides` set, the value read as YAML.

    Afterwards `lines` maps each overridden key to its `--set key=value`, so a validation error
    about that key names the --set rather than a line of the file.
    """
    for item in overrides:
        label = f"--set {item}"
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{label}: expected key=value, such as optimizer.lr=0.01")
        try:
            path = parse_key(key.strip())
        except ValueError as e:
            raise ConfigError(f"{label}: {e}") from None
        try:
            value, _ = parse_yaml(text, label)
        except ConfigError as e:
            reason = re.sub(rf"^{re.escape(label)}(:[0-9]+)?: (not valid YAML: )?", "", str(e).splitlines()[0])
            raise ConfigError(f"{label}: the value is not valid YAML ({reason})") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}:{lines.get((), 1)}: the config must be a mapping of keys to values, "
                              f"not a {_yaml_type(data)}")
        try:
            set_key(data, path, value)
        except ValueError as e:
            raise ConfigError(f"{label}: {e}") from None
        for known in [k for k in lines if k[:len(path)] == path]:
            del lines[known]
        for depth in range(1, len(path) + 1):  # keys the override created name it too
            lines.setdefault(path[:depth], label)
        lines[path] = label
    return data


def _child(node, part, next_part, path: tuple):
    """The mapping or list at `path` (creating a missing mapping), to step into."""
    if isinstance(node, dict) and isinstance(part, str):
        if node.get(part) is None and isinstance(next_part, str):
            node[part] = {}
        child = node.get(part)
    elif isinstance(node, list) and isinstance(part, int):
        if part >= len(node):
            raise ValueError(f"{_dotted(path[:-1])} has {len(node)} items, so there is no [{part}]")
        child = node[part]
    else:
        raise ValueError(f"{_dotted(path[:-1]) or 'the top level'} is {_a(_yaml_type(node))}, "
                         f"so {_dotted(path)} cannot be set")
    wanted = list if isinstance(next_part, int) else dict
    if child is None:  # a missing list is not created: which items would it hold?
        raise ValueError(f"{_dotted(path)} is not a list, so there is no [{next_part}]")
    if not isinstance(child, wanted):
        raise ValueError(f"{_dotted(path)} is {_a(_yaml_type(child))}, not {_a(_yaml_type(wanted()))}")
    return child


def _assign(node, path: tuple, value) -> None:
    """Set the last key of `path` in `node`; a list index may also be one past the end (append)."""
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last <= len(node):
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int):
        raise ValueError(f"{_dotted(path[:-1])} has {len(node)} items, so there is no [{last}] "
                         f"(an index one past the end appends)")
    else:
        raise ValueError(f"{_dotted(path[:-1]) or 'the top level'} is {_a(_yaml_type(node))}, "
                         f"so {_dotted(path)} cannot be set")


def dotted_keys(model=None, prefix: str = "") -> list[str]:
    """Every key a config can set, dotted (`optimizer.lr`, `model.layers[0].units`), for shell completion."""
    import typing

    keys: list[str] = []
    for name, field in (model or Config).model_fields.items():
        key = f"{prefix}{name}"
        keys.append(key)
        annotation, suffix = field.annotation, ""
        if typing.get_origin(annotation) is list:
            annotation, suffix = typing.get_args(annotation)[0], "[0]"
        while typing.get_origin(annotation) is Annotated:
            annotation = typing.get_args(annotation)[0]
        members = typing.get_args(annotation) or (annotation,)
        for member in members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                keys += [k for k in dotted_keys(member, f"{key}{suffix}.") if k not in keys]
    return keys
