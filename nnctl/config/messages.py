"""One readable line from a pydantic error: file:line, dotted key, what was expected, closest word."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel

from .aliases import not_a_key, suggest
from .schema import Config
from .yaml_lines import _dotted, _where, line_of


def _yaml_type(value) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _user_path(loc: tuple, data: Any, tagged: bool = False) -> tuple:
    """Drop the union tags pydantic puts into error locations, keeping the user's own keys.
    `tagged`: the error is a model's own (value_error), so a last part that is not a key of the
    mapping is the union member's tag (`optimizer.sgd`), not a missing or unknown key."""
    path, node = [], data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node or isinstance(node,
                                                                 list) and isinstance(part,
                                                                                      int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and i == len(loc) - 1 and not tagged:
            path.append(part)  # a missing or unknown key
        # otherwise: a tag such as 'function-after[...]' or a union member name
    return tuple(path)


def _closest(word: Any, choices) -> str:
    """`; did you mean 'x'?` for the choice `word` most likely means (an alias first, then spelling), or ''."""
    match = suggest(word, choices)
    return f"; did you mean '{match}'?" if match else ""


def _allowed_keys(path: tuple, data: Any, root=None) -> list[str]:
    """Keys the schema (`root`, default Config) allows at the mapping that holds `path`."""
    model: Any = root or Config
    node = data
    for part in path[:-1]:
        node = node[part] if isinstance(node, (dict, list)) else None
        if isinstance(part, int):
            model = _pick_member(model, node)  # a list's item type, for this item
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        model = _pick_member(field.annotation, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _pick_member(annotation, node):
    """The BaseModel a value is validated against (the right member of a tagged union)."""
    import typing

    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list:
        return args[0]  # resolved item by item
    if typing.get_origin(annotation) is Annotated:
        return _pick_member(args[0], node)
    if args:
        for member in args:
            member = _pick_member(member, node) if typing.get_origin(member) is Annotated else member
            if isinstance(member, type) and issubclass(member, BaseModel):
                key = next((k for k in ("name", "type") if k in member.model_fields), None)
                field = member.model_fields.get(key) if key else None
                args = typing.get_args(field.annotation) if field is not None else ()
                tag = args[0] if args else None
                given = node.get(key, field.default) if isinstance(node, dict) and field is not None else None
                if tag is None or given == tag:
                    return member
        return None
    return annotation


def _node_at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part] if isinstance(data, (dict, list)) else None
    return data


MAX_ERRORS = 20  # errors a message describes, one a line (each with its closest word); the rest are counted


def describe_all(errors: list[dict], data: Any, source: str, lines: dict, root=None, prefix: tuple = ()) -> str:
    """The first MAX_ERRORS errors of a validation, one line each, in the order of the file's lines,
    then how many more there are: its work is linear in the number of errors, and the closest words
    (the costly part) are looked for only in the errors shown.

    A required key that is missing next to an unknown key that is its likely misspelling
    (`optimiser:` for `optimizer:`) is reported once, as that unknown key at its own line.
    """
    placed = sorted(((_position(_where_of(error, data, source, lines, prefix) + ": ", source), i, error)
                     for i, error in enumerate(errors)), key=lambda item: item[:2])
    ordered = [error for _, _, error in placed]
    meant = set()
    for error in [e for e in ordered if e["type"] == "extra_forbidden"][:MAX_ERRORS]:
        path = _user_path(error["loc"], data)
        meant.add(path[:-1] + (suggest(path[-1], _allowed_keys(path, data, root)),))
    kept = [e for e in ordered if not (e["type"] == "missing" and _user_path(e["loc"], data) in meant)]
    found = dict.fromkeys(_describe(error, data, source, lines, root, prefix) for error in kept[:MAX_ERRORS])
    more = len(kept) - MAX_ERRORS
    return "\n".join(list(found) + ([f"… and {more:,} more error{'s' if more > 1 else ''}"] if more > 0 else []))


def _position(message: str, source: str) -> tuple:
    """Where a message points, for putting them in order: the file's own lines first, by number,
    then those of files merged over it (--config) and of --set."""
    found = re.match(r"[^\n]*?:([0-9]+): ", message)
    return (not message.startswith(f"{source}:"), int(found.group(1)) if found else 0)


def _where_of(error: dict, data: Any, source: str, lines: dict, prefix: tuple = ()) -> str:
    """`file:line` (or the --set) an error points at: its key's, or for a tag that chooses no kind
    (`name:`, `type:`), that key's."""
    inner = _user_path(error["loc"], data, error["type"] == "value_error")
    path = prefix + inner
    line = line_of(lines, path)
    if error["type"] == "union_tag_invalid":
        line = lines.get(tuple(path) + (_tag_key(_node_at(data, inner)),), line)
    return _where(source, line)


def _tag_key(node: Any) -> str:
    """The key that chooses a mapping's kind: `type` for a layer, `name` for the rest."""
    return "type" if isinstance(node, dict) and "type" in node and "name" not in node else "name"


def _describe(error: dict, data: Any, source: str, lines: dict, root=None, prefix: tuple = ()) -> str:
    """One readable line from pydantic's first error.

    `root` is the model `data` was validated against (default Config); `prefix` is where `data`
    sits in the file, for the line numbers and the dotted key.
    """
    inner = _user_path(error["loc"], data, error["type"] == "value_error")
    path = prefix + inner
    where = _where_of(error, data, source, lines, prefix)
    key = _dotted(path) or "top level"
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        what = "is required but missing"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(inner, data, root)
        why = not_a_key(path[-1], "model.layers[]") if path[:2] == ("model", "layers") and len(path) == 4 else None
        what = f"unknown key{_closest(path[-1], allowed)}" + (f" {why}" if why else "") + \
            (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        what = f"expected one of {', '.join(choices)}, got {value!r}{_closest(value, choices)}"
        if isinstance(value, bool):
            what += _BOOLEAN_HINT
    elif kind == "union_tag_invalid":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        key = _dotted(path + (_tag_key(_node_at(data, inner)),))
        given = _written_at(data, path + ("name",), tag)
        what = f"expected one of {', '.join(choices)}, got {given!r}{_closest(tag, choices)}"
        if isinstance(given, bool):
            what += _BOOLEAN_HINT
    elif kind == "union_tag_not_found":
        key = _dotted(path + ("name",))
        what = "is required but missing (it chooses which kind this is)"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        what = f"expected a mapping of keys to values, got {_a(_yaml_type(value))}"
    elif kind == "list_type":
        what = f"expected a list, got {_a(_yaml_type(value))}"
    elif kind == "value_error":
        what = str(ctx.get("error", error["msg"]))
        if isinstance(value, bool):
            what += _BOOLEAN_HINT
    else:
        what = f"{error['msg'][0].lower()}{error['msg'][1:]}, got {value!r}" if not isinstance(value,
                                                                                               (dict,
                                                                                                list)) else error["msg"]
        if isinstance(value, bool):
            what += _BOOLEAN_HINT
    return f"{where}: {key}: {what}"


_BOOLEAN_HINT = " (YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote it)"


def _written_at(data: Any, path: tuple, default: Any) -> Any:
    """The value the user wrote at `path` (pydantic reports a union tag as a string)."""
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return default
    return data
