"""The record a checkpoint keeps of a CSV's columns (preprocessing["table"]), checked before use:
a checkpoint is a file anyone can edit, so every key and value is held to what `fit` writes.

    {"delimiter", "decimal", "encoding", "missing_values", "target", "columns": [one per column]}

each column with the keys of its type (COLUMN_KEYS; nnctl.data.encoding says what they mean).
"""

from __future__ import annotations

import codecs

import numpy as np

from ..errors import DataError
from . import columns as column_types
from .encoding import feature_names

RECORD_KEYS = frozenset({"delimiter", "decimal", "encoding", "missing_values", "target", "columns"})
COLUMN_KEYS = {"numeric": {"name", "type", "impute", "fill", "indicator"}, "binary": {"name", "type", "values", "fill"},
               "categorical": {"name", "type", "categories", "other", "missing"}, "ignore": {"name", "type"}}


def check(record, n_inputs: int, names: list | None) -> None:
    """A checkpoint's preprocessing["table"] (absent before nnctl typed columns) is well formed and
    gives `n_inputs` inputs, named `names` (inputs.names) when those are recorded: DataError otherwise."""
    if record is None:
        return
    if not isinstance(record, dict) or set(record) != RECORD_KEYS:
        raise DataError(f"table: expected an object with keys {', '.join(sorted(RECORD_KEYS))}")
    if not (isinstance(record["delimiter"], str) and len(record["delimiter"]) == 1 and record["decimal"] in (".", ",")
            and isinstance(record["missing_values"], list) and all(isinstance(v, str) for v in record["missing_values"])
            and isinstance(record["target"], str)):
        raise DataError("table: delimiter must be one character, decimal '.' or ',', missing_values a list of texts, "
                        "target the target column's name")
    try:
        codecs.lookup(record["encoding"])
    except (LookupError, TypeError):
        raise DataError(f"table.encoding: {record['encoding']!r} is not a text encoding") from None
    columns = record["columns"]
    if not isinstance(columns, list) or not all(isinstance(r, dict) and r.get("type") in COLUMN_KEYS and
                                                set(r) == COLUMN_KEYS[r["type"]] and isinstance(r["name"], str)
                                                and _valid(r) for r in columns):
        raise DataError("table.columns: expected one object per column with the keys of its type "
                        "(COLUMN_KEYS) and valid values")
    if len({r["name"] for r in columns}) != len(columns):
        raise DataError("table.columns: two columns have the same name")
    inputs = feature_names(columns)
    if len(inputs) != n_inputs or (names is not None and names != inputs):
        raise DataError(f"table.columns: give {len(inputs)} inputs, the model takes {n_inputs}"
                        + (" (or their names differ from inputs.names)" if len(inputs) == n_inputs else ""))


def _valid(r: dict) -> bool:
    """The values of one column's record have their types (keys were checked)."""
    def finite(v):
        return type(v) in (int, float) and np.isfinite(v)

    if r["type"] == "numeric":
        return r["impute"] in column_types.IMPUTE and finite(r["fill"]) and type(r["indicator"]) is bool
    if r["type"] == "binary":
        values = r["values"]
        return (isinstance(values, list) and len(values) == 2 and all(isinstance(v, str) for v in values)
                and finite(r["fill"]) and 0 <= r["fill"] <= 1)
    if r["type"] == "categorical":
        cats = r["categories"]
        return (isinstance(cats, list) and all(isinstance(c, str) for c in cats) and len(set(cats)) == len(cats)
                and type(r["other"]) is bool and type(r["missing"]) is bool)
    return True
