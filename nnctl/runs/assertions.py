"""CI gates: `accuracy>=0.97`, `loss<0.1` checked against a command's numbers."""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

OPERATORS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
             "<": operator.lt}
_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")


@dataclass(frozen=True)
class Assertion:
    """`metric op threshold`, as the user wrote it in `text`."""

    text: str
    metric: str
    op: str
    threshold: float


def parse(text: str) -> Assertion:
    """`accuracy>=0.97` -> Assertion; ValueError with the expected form otherwise."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not METRIC OP NUMBER, such as 'accuracy>=0.97' or 'loss<0.1' "
                         f"(OP is one of {' '.join(OPERATORS)})")
    metric, op, number = match.groups()
    try:
        threshold = float(number)
    except ValueError:
        raise ValueError(f"{text!r}: {number!r} is not a number") from None
    if not math.isfinite(threshold):  # 1e999: a gate against infinity always holds or never does
        raise ValueError(f"{text!r}: {number} is not a finite number")
    return Assertion(text.strip(), metric, op, threshold)


def numeric_values(result: dict) -> dict:
    """The numbers of a result an assertion can name: its top-level numbers (None where undefined)."""
    return {k: v for k, v in result.items()
            if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))}


def check(assertions: list[Assertion], values: dict) -> list[dict]:
    """Each assertion with the value found and whether it holds; KeyError names an unknown metric."""
    out = []
    for a in assertions:
        if a.metric not in values:
            raise KeyError(f"{a.text}: there is no metric {a.metric!r}; available: {', '.join(sorted(values))}")
        value = values[a.metric]
        passed = value is not None and not math.isnan(value) and bool(OPERATORS[a.op](value, a.threshold))
        out.append({"assertion": a.text, "metric": a.metric, "value": value, "passed": passed})
    return out
