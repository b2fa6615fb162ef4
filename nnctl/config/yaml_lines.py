"""YAML read safely, with the line of every key, and its traps refused (duplicates, aliases, tabs)."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import yaml

from ..errors import ConfigError
from ..files import read_limited, read_stream
from .schema import MAX_CONFIG_BYTES

# YAML 1.1 reads `1e-3` as a string; users mean the number.
_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$")


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-3` as a float, and refuses anchors and aliases as it meets them."""

    source = "<config>"

    def compose_node(self, parent, index):
        # An anchor alone (`seed: &s 0`) does no harm, but the README promises that both are
        # refused: a config that needs them is a config written for another tool.
        event = self.peek_event()
        if event.anchor is not None:
            sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
            raise ConfigError(f"{self.source}:{event.start_mark.line + 1}: YAML anchors and aliases "
                              f"({sign}{event.anchor}) are not supported in configs: write the value out")
        return super().compose_node(parent, index)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _walk(node, path: tuple, lines: dict, source: str):
    """Record the line of every key and reject duplicate keys and aliases."""
    lines.setdefault(path, node.start_mark.line + 1)  # a key's own line, not its value's first line
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise ConfigError(f"{source}:{key.start_mark.line + 1}: {_dotted(path) or 'top level'}: "
                                  "keys must be plain words")
            if key.value in seen:
                raise ConfigError(
                    f"{source}:{key.start_mark.line + 1}: {_dotted(path + (key.value,))}: duplicate key "
                    f"(first given on line {seen[key.value]})")
            seen[key.value] = key.start_mark.line + 1
            lines[path + (key.value,)] = key.start_mark.line + 1
            _walk(value, path + (key.value,), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, source)


def _where(source: str, line) -> str:
    """`file:line`; a --set override (a string in `lines`) names itself instead of a line."""
    if isinstance(line, str):
        return line
    return f"{source}:{line}" if line else source


def line_of(lines: dict, path: tuple, default=None):
    """Where the key at `path` is written: its line, or the nearest enclosing key's (the document's
    own, at the top), or `default`. A key a --set made names the --set instead (see _where)."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return default


def _dotted(path) -> str:
    out = ""
    for part in path:
        if isinstance(part, str) and not part.isprintable():  # a key with a newline stays on its message's line
            part = part.encode("unicode_escape").decode("ascii")
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


STDIN, STDIN_SOURCE = "-", "<stdin>"  # `-` for a path reads the file from stdin; messages call it <stdin>


def source_name(path: str | Path) -> str:
    """How messages name the file at `path`: its path, or <stdin> for `-`."""
    return STDIN_SOURCE if str(path) == STDIN else str(path)


def read_yaml(path: str | Path, what: str = "a config", follow: bool = True) -> tuple[Any, dict]:
    """A YAML file's data and the line of every key: the one way nnctl reads a YAML file (configs,
    sweep specs, their base configs); `-` reads stdin. ConfigError if it is too big, not UTF-8
    text, or not safe YAML (or a symbolic link, without `follow`)."""
    source = source_name(path)
    if source == STDIN_SOURCE:
        raw = _stdin()
    else:
        raw = read_limited(path, MAX_CONFIG_BYTES, ConfigError, what,
                           f"the file is {{size:,}} bytes; {what} is at most {{limit:,}}", follow=follow)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{source}: not a text file (byte {e.start} is not UTF-8)") from None
    if "\x00" in text:
        raise ConfigError(f"{source}: not a text file (it contains NUL bytes)")
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str) -> tuple[Any, dict]:
    """Parse YAML text safely; return the data and a map from key path to line number."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("\t"):
            raise ConfigError(f"{source}:{number}: a tab indents this line; YAML needs spaces" + _show(number, line))
    try:
        loader = _Loader(text)
        loader.source = source
        try:
            node = loader.get_single_node()
            lines: dict = {}
            if node is not None:
                _check_no_aliases(node, source)
                _walk(node, (), lines, source)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except RecursionError:  # PyYAML composes nested lists and mappings recursively
        raise ConfigError(f"{source}: nested too deeply to be a config") from None
    except yaml.MarkedYAMLError as e:
        raise ConfigError(explain(e, text, source)) from None
    except yaml.reader.ReaderError as e:  # a control character: YAML allows only printable text
        line = text.count("\n", 0, e.position) + 1
        raise ConfigError(f"{source}:{line}: not a text file (character {e.character!r} is not allowed in "
                          "YAML)") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML: {' '.join(str(e).split())}") from None
    return data, lines


def _check_no_aliases(root, source: str):
    """Refuse aliases: a config has no need for them, and they make alias bombs possible."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise ConfigError(f"{source}:{node.start_mark.line + 1}: YAML aliases (*name) are not supported in configs")
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def explain(error: yaml.MarkedYAMLError, text: str, source: str) -> str:
    """A YAML parser error as one sentence at the line to fix, followed by that line.

    PyYAML reports where it gave up (`expected <block end>, but found '?'`); the common mistakes
    (indentation, a missing colon, an unclosed bracket or quote, a tab) are named instead.
    """
    rows = text.splitlines()
    problem, context = error.problem or "", error.context or ""
    mark = error.problem_mark or error.context_mark
    number = mark.line + 1 if mark else None
    opened = error.context_mark.line + 1 if error.context_mark else number

    def row(n):
        return rows[n - 1] if n is not None and 0 < n <= len(rows) else ""

    def above(n):  # the nearest line above n that holds something
        for m in range(n - 1, 0, -1):
            if row(m).strip() and not row(m).lstrip().startswith("#"):
                return m
        return None

    def indent(n):
        return len(row(n)) - len(row(n).lstrip(" "))

    what = None
    if "cannot start any token" in problem and r"\t" in problem:
        what = "a tab on this line; YAML needs spaces, to indent and after a colon"
    elif "while scanning a quoted scalar" in context:
        number = opened
        what = "the quote opened on this line is never closed"
    elif "while parsing a flow" in context or ("found '<stream end>'" in problem
                                               and row(number).rstrip().endswith(("[", "{"))):
        number = opened
        bracket = "{}" if "mapping" in context or row(number).rstrip().endswith("{") else "[]"
        what = f"the {bracket[0]} opened on this line is never closed: close it with {bracket[-1]}"
    elif "could not find expected ':'" in problem:
        number = opened
        what = "this line has no colon after its key: write `key: value` (or `key:` above what it holds)"
    elif problem == "mapping values are not allowed here" and number is not None:
        first = row(number).find(": ")
        previous = above(number)
        if 0 <= first < mark.column:
            what = "a value that holds ': ' must be quoted (\"a: b\")"
        elif previous is not None and ":" not in row(previous) and not row(previous).lstrip().startswith("- "):
            number = previous
            what = "this line has no colon after its key: write `key: value`"
        else:
            what = ("this line is indented more than the key above it: line it up with that key, or, to nest "
                    "it, leave the key above without a value")
    elif problem.startswith("expected <block end>") and number is not None:
        previous = above(number)
        if "'-'" in problem:
            what = ("a list item (- ) where a key is expected: the key above it already has a value, or the item is "
                    "indented wrongly")
        elif previous is not None and indent(number) > indent(previous):
            what = "this line is indented more than the line above it: line it up with the keys it belongs with"
        else:
            what = ("this line's indentation matches no key above it: indent it as the keys of the "
                    "mapping it belongs to (the same number of spaces)")
    if what is None:
        where = f"{source}:{number}" if number else source
        return f"{where}: not valid YAML: {problem or context}" + _show(number, row(number))
    return f"{source}:{number}: {what}" + _show(number, row(number))


def _show(number, line: str) -> str:
    """The line an error is about, under the message, as compilers show it."""
    return f"\n  {number} | {line}" if number and line.strip() else ""


_read_from: list = []  # [the stdin stream read, its bytes]: a stream is read once, and may be asked for twice


def _stdin() -> bytes:
    """The bytes on stdin (at most MAX_CONFIG_BYTES), read once per stream."""
    stream = sys.stdin.buffer
    if not _read_from or _read_from[0] is not stream:
        _read_from[:] = [stream, read_stream(stream, MAX_CONFIG_BYTES, ConfigError, STDIN_SOURCE)]
    return _read_from[1]


def plain_data(value: Any, source: str = "<dict>", path: tuple = ()) -> Any:
    """Python values as a YAML file would hold them, so that a config given as Python data is
    validated exactly as a file: tuples as lists, NumPy's scalars as Python's, paths as text; a
    mapping's keys must be text (ConfigError otherwise). Anything else is left for validation to
    refuse by its key."""
    if isinstance(value, Mapping):
        bad = next((key for key in value if not isinstance(key, str)), None)
        if bad is not None:
            raise ConfigError(f"{source}: {_dotted(path) or 'top level'}: keys must be text, got {bad!r}")
        return {key: plain_data(item, source, path + (key,)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(item, source, path + (i,)) for i, item in enumerate(value)]
    if isinstance(value, PurePath):
        return str(value)
    item = getattr(value, "item", None)  # a NumPy scalar (np.int64 is no int, and strict validation wants one)
    if item is not None and type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return item()
    return value
