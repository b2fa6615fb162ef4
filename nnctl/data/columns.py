"""A table's feature columns and their types: told from the cells, or declared by `data.columns`.

    numeric      every cell that is not missing reads as a number (a decimal comma with
                 `data.decimal: ","`)
    binary       text of exactly two values and no missing cell (yes/no): one 0/1 input
    categorical  any other text: one 0/1 input per category (nnctl.data.encoding)
    ignore       left out: a text column whose every value is different (an identifier), a
                 numeric one named like an identifier or counting the rows; or declared so

A cell is missing when, stripped and lower-cased, it is one of `data.missing_values` (MISSING by
default: empty, NA, N/A, NaN, null, None, ?, #N/A, <NA>). `plan` gives every feature column its
type, what the config declares first; `profile` counts what `nnctl data inspect` shows.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..printable import quoted

TYPES = ("numeric", "categorical", "binary", "ignore")
IMPUTE = ("median", "mean", "zero", "drop_rows")  # a numeric column's missing cells
MISSING = ("", "na", "n/a", "nan", "null", "none", "?", "#n/a", "<na>")  # compared stripped and lower-cased
MANY_CATEGORIES = 50  # a categorical column with more gets a note suggesting max_categories
SHOWN_VALUES = 4  # values a note quotes
# A column of whole numbers, each different, whose name says it identifies the row (customer_id,
# customerId, ID, uuid, index) or that pandas wrote for its index (an empty name, 'Unnamed: 0').
ID_NAME = re.compile(r"(^|[^a-z])(id|uuid|guid|key|index)$|^id[^a-z]|^$|^unnamed: ?\d+$")
CAMEL_ID = re.compile(r"[a-z](Id|ID)$")


@dataclass(frozen=True)
class Column:
    """One feature column as it will be read: its type and options, and why it has that type."""

    name: str
    type: str
    impute: str = "median"
    indicator: bool | None = None  # None: a missing indicator when a training cell was missing
    max_categories: int | None = None
    why: str = "declared in data.columns"
    # the cells as floats, when telling the type read every one as a number: kept so that they are
    # not parsed twice (a large file of numbers is most of its reading time)
    numbers: list | None = field(default=None, compare=False, repr=False)


def markers(missing_values) -> frozenset:
    """The cells that mean 'missing', as they are compared: stripped, lower-cased."""
    return frozenset(value.strip().lower() for value in missing_values)


def number(cell: str, decimal: str = ".") -> float | None:
    """A stripped cell as a float, or None when it does not read as one ('1,5' with decimal ',')."""
    if decimal != ".":
        cell = cell.replace(decimal, ".")
    try:
        return float(cell)
    except ValueError:
        return None


def infer(name: str, cells: list[str], missing: frozenset, decimal: str = ".") -> tuple[str, str]:
    """(type, why) of a feature column from its cells (the rule atop this module)."""
    return _inferred(name, cells, missing, decimal, _all_numbers(cells, decimal))


def _inferred(name: str, cells: list[str], missing: frozenset, decimal: str, values) -> tuple[str, str]:
    """infer, given the cells as floats when every one is a number (else None)."""
    if values is None:
        cells = [c.strip() for c in cells]
    present = cells if values is not None else [c for c in cells if c.lower() not in missing]
    if not present:
        return "numeric", "every cell is missing"  # refused when read, naming the column
    gaps = f"; {len(cells) - len(present)} missing" if len(present) < len(cells) else ""
    rows = f"each of the {len(present):,} rows" + (" that have one" if gaps else "")
    if values is None:
        read = [number(c, decimal) for c in present]
        values = read if all(v is not None and v == v for v in read) else None  # a 'nan' is missing
    if values is not None:
        values = np.asarray(values)
        if len(cells) > 2 and (_names_an_id(name) or _counts_rows(values)) and \
                (values == np.round(values)).all() and len(np.unique(values)) == len(cells):
            return "ignore", f"a different whole number in {rows}: an identifier"
        return "numeric", "numbers" + gaps
    counts = Counter(present)
    if len(counts) == len(present) > 2:
        return "ignore", f"a different text in {rows}: an identifier"
    if len(counts) == 2 and not gaps:
        return "binary", f"two values: {_values(sorted(counts))}"
    return "categorical", f"{len(counts)} values: {_values(sorted(counts, key=lambda v: (-counts[v], v)))}{gaps}"


def _all_numbers(cells: list[str], decimal: str) -> np.ndarray | None:
    """The cells as float64 when every one is a number, none missing (one pass in C), else None."""
    try:
        values = np.fromiter(map(float, cells if decimal == "." else (c.replace(decimal, ".") for c in cells)),
                             np.float64, count=len(cells))
    except ValueError:
        return None
    return values if not np.isnan(values).any() else None


def _decimal_commas(cells: list[str], missing: frozenset) -> bool:
    """Whether the cells are numbers once a decimal comma is read as a point (and one has a comma)."""
    present = [c for c in cells if c.strip().lower() not in missing]
    return any("," in c for c in present) and all(number(c, ",") is not None for c in present)


def _names_an_id(name: str) -> bool:
    return bool(ID_NAME.search(name.lower()) or CAMEL_ID.search(name))


def _counts_rows(values: np.ndarray) -> bool:
    """Whether the values count the rows, one up each row (0, 1, 2, ... or 1, 2, 3, ...)."""
    return values[0] in (0.0, 1.0) and bool((np.diff(values) == 1).all())


def _values(values: list[str]) -> str:
    shown = ", ".join(quoted(v, 20) for v in values[:SHOWN_VALUES])
    return shown + (f" and {len(values) - SHOWN_VALUES} more" if len(values) > SHOWN_VALUES else "")


def plan(names: list[str], cells: list[list[str]], declared: dict | None, missing: frozenset, decimal: str,
         source: str) -> list[Column]:
    """Each feature column (`names`, their `cells` column by column) with its type:
    `declared` (data.columns: name -> type word or settings) wins, the rest is inferred."""
    declared = dict(declared or {})
    unknown = [name for name in declared if name not in names]
    if unknown:
        close = difflib.get_close_matches(unknown[0], names, n=1, cutoff=0.6)
        hint = f"; did you mean {quoted(close[0])}?" if close else ""
        raise DataError(f"{source}: data.columns names {quoted(unknown[0])}, which is not a feature column of the "
                        f"file{hint}")
    out = []
    for name, column in zip(names, cells):
        given = declared.get(name)
        if given is None:
            numbers = _all_numbers(column, decimal)
            kind, why = _inferred(name, column, missing, decimal, numbers)
            if kind != "numeric" and decimal == "." and _decimal_commas(column, missing):
                example = next(c.strip() for c in column if "," in c)
                raise DataError(f"{source}: feature column {quoted(name)} holds numbers with a decimal comma, such as "
                                f"{quoted(example, 20)}: say so with data.decimal: ',' (or declare the column "
                                f"categorical in data.columns)")
            out.append(Column(name, kind, why=why, numbers=numbers if kind == "numeric" else None))
        elif isinstance(given, str):
            out.append(Column(name, given))
        else:
            settings = given if isinstance(given, dict) else given.model_dump()
            out.append(Column(name, **{k: v for k, v in settings.items() if v is not None or k == "indicator"}))
    return out


def profile(names: list[str], cells: list[list[str]], columns: list[Column], missing: frozenset) -> list[dict]:
    """What `nnctl data inspect` shows of each feature column: type and why, missing cells,
    distinct values and the most frequent ones."""
    out = []
    for name, column, plan_of in zip(names, cells, columns):
        present = [c.strip() for c in column if c.strip().lower() not in missing]
        counts = Counter(present)
        entry = {"name": name, "type": plan_of.type, "why": plan_of.why, "missing": len(column) - len(present),
                 "distinct": len(counts)}
        if plan_of.type in ("categorical", "binary"):
            entry["top"] = [[value, n] for value, n in counts.most_common(5)]
        out.append(entry)
    return out
