"""Strings that came from files or checkpoints (class labels, column names, paths), made safe to
print: a terminal must never receive their control characters, and a message quotes at most a
short excerpt of a file's content."""

from __future__ import annotations

import re

# C0 controls but newline, DEL, C1 controls, and the Unicode bidi overrides and isolates (which
# reorder what a terminal shows): each is shown as its Python escape, e.g. \x1b or \u202e.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_AND_NEWLINE = re.compile(_CONTROL.pattern[:-1] + "\n]")
EXCERPT = 40  # characters of a file's content a message may quote (a column name, a label, a cell)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text, newlines: bool = False) -> str:
    """`text` with its control characters escaped; newlines kept only when `newlines` is true
    (an error message of several lines), since a label or a name never has one."""
    return (_CONTROL if newlines else _CONTROL_AND_NEWLINE).sub(_escape, str(text))


def excerpt(text, limit: int = EXCERPT) -> str:
    """A short, escaped excerpt of `text` for a message: at most `limit` characters, then '…'."""
    text = str(text)
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return printable(cut)


def quoted(text, limit: int = EXCERPT) -> str:
    """excerpt(text) between single quotes, as messages quote a name or a cell."""
    return f"'{excerpt(text, limit)}'"
