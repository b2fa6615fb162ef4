"""--set key=value overrides: dotted keys with list indices, values read as YAML."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel

from ..errors import ConfigError
from .messages import _a, _yaml_type
from .schema import Config
from .yaml_lines import _dotted, parse_yaml


_KEY_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[0-9]+\])*)")


def parse_key(key: str, label: str) -> tuple:
    """`model.layers[0].units` -> ("model", "layers", 0, "units")."""
    path: list = []
    for part in key.split("."):
        match = _KEY_PART.fullmatch(part)
        if match is None:
            raise ConfigError(f"{label}: {key!r} is not a dotted key such as optimizer.lr or model.layers[0].units")
        path.append(match.group(1))
        path.extend(int(i) for i in re.findall(r"[0-9]+", match.group(2)))
    return tuple(path)


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
        path = parse_key(key.strip(), label)
        try:
            value, _ = parse_yaml(text, label)
        except ConfigError as e:
            raise ConfigError(f"{label}: the value is not valid YAML ({str(e).split('YAML', 1)[-1].lstrip(': ')})") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}:{lines.get((), 1)}: the config must be a mapping of keys to values, "
                              f"not a {_yaml_type(data)}")
        node = data
        for depth, part in enumerate(path[:-1]):
            node = _child(node, part, path[depth + 1], path[:depth + 1], label)
        _assign(node, path, value, label)
        for known in [k for k in lines if k[:len(path)] == path]:
            del lines[known]
        for depth in range(1, len(path) + 1):  # keys the override created name it too
            lines.setdefault(path[:depth], label)
        lines[path] = label
    return data


def _child(node, part, next_part, path: tuple, label: str):
    """The mapping or list at `path` (creating a missing mapping), to step into."""
    if isinstance(node, dict) and isinstance(part, str):
        if node.get(part) is None and isinstance(next_part, str):
            node[part] = {}
        child = node.get(part)
    elif isinstance(node, list) and isinstance(part, int):
        if part >= len(node):
            raise ConfigError(f"{label}: {_dotted(path[:-1])} has {len(node)} items, so there is no [{part}]")
        child = node[part]
    else:
        raise ConfigError(f"{label}: {_dotted(path[:-1]) or 'the top level'} is {_a(_yaml_type(node))}, "
                          f"so {_dotted(path)} cannot be set")
    wanted = list if isinstance(next_part, int) else dict
    if not isinstance(child, wanted):
        raise ConfigError(f"{label}: {_dotted(path)} is {_a(_yaml_type(child))}, not {_a(_yaml_type(wanted()))}")
    return child


def _assign(node, path: tuple, value, label: str) -> None:
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
        raise ConfigError(f"{label}: {_dotted(path[:-1])} has {len(node)} items, so there is no [{last}] "
                          f"(an index one past the end appends)")
    else:
        raise ConfigError(f"{label}: {_dotted(path[:-1]) or 'the top level'} is {_a(_yaml_type(node))}, "
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
