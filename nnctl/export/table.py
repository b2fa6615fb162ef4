"""A model trained on a CSV, as both export formats take it: its raw columns by name, each read by
its type (preprocessing["table"], nnctl.data.encoding), and the raw cells the check feeds them.

An export of such a model reads the CSV's columns, not the network's inputs: text categories,
missing cells and all. `columns` lists what it reads (the columns training left out, and the
target, are not among them); `cells` gives the check the test split's cells as nnctl reads
them (stripped text), or synthetic ones covering every category, a missing cell and a value never
seen, when the data file cannot be opened; `encoded` is nnctl's own encoding of such cells, the
reference both exports are compared with.
"""

from __future__ import annotations

import numpy as np

from .. import data as data_module
from ..data import columns as column_types, encoding
from ..data.prepare import encode_columns
from ..data.tabular import Table
from ..errors import DataError
from ..runs import checkpoint_data

UNSEEN = "<never seen in training>"  # the synthetic rows' value of no category


def record(ckpt) -> dict | None:
    """The checkpoint's table record (format 4, a CSV), or None."""
    return ckpt.preprocessing.get("table")


def columns(ckpt) -> list[dict]:
    """The records of the columns an export reads, in training order."""
    return [r for r in record(ckpt)["columns"] if r["type"] != "ignore"]


def by_column(ckpt) -> bool:
    """Whether the ONNX model takes one input per column: when a column holds text (categorical or
    binary); a table of numbers alone keeps the one `features` input, its columns in order."""
    return record(ckpt) is not None and any(r["type"] != "numeric" for r in columns(ckpt))


def cells(ckpt) -> tuple[dict, str]:
    """({column: its cells as nnctl read them, missing ones as written}, where they come from): the
    test split's rows when the data can be read as `nnctl eval` reads it, else synthetic ones."""
    try:
        data = checkpoint_data.data_config(ckpt)
        content = checkpoint_data.recorded_content(ckpt)
        test = _test_rows(ckpt, data, content)
        if test is not None:
            return test, "test split"
    except DataError:
        pass
    return synthetic(ckpt), "synthetic rows covering every category, a missing cell and a value never seen"


def _test_rows(ckpt, data, content) -> dict | None:
    """The cells of the test split: the rows the checkpoint's data split puts there."""
    from ..data import sources

    prepared, y, _, _, _ = sources.csv(data, ckpt.config.seed, ckpt.preprocessing, content)
    _, _, test = data_module._split(y, data, ckpt.config.seed, data_module.spec(data).task == "regression")
    if not len(test):
        return None
    table = prepared.table
    names = [r["name"] for r in columns(ckpt)]
    return {name: [table.cells[table.names.index(name)][i] for i in test] for name in names}


def synthetic(ckpt, n: int = 64) -> dict:
    """n rows of cells: numbers drawn in the training range, each category, missing and unseen values."""
    rng = np.random.default_rng(0)
    names = (ckpt.preprocessing.get("inputs") or {}).get("names") or []
    low = dict(zip(names, (ckpt.preprocessing.get("inputs") or {}).get("min", [])))
    high = dict(zip(names, (ckpt.preprocessing.get("inputs") or {}).get("max", [])))
    out = {}
    for r in columns(ckpt):
        if r["type"] == "numeric":
            values = rng.uniform(low.get(r["name"], -1.0), high.get(r["name"], 1.0), n)
            out[r["name"]] = [repr(float(v)) if i % 9 else "" for i, v in enumerate(values)]
        else:
            known = r["values"] if r["type"] == "binary" else r["categories"]
            pool = [*known, "", UNSEEN]
            out[r["name"]] = [pool[i % len(pool)] for i in rng.permutation(n)]
    return out


def encoded(ckpt, given: dict) -> np.ndarray:
    """nnctl's inputs for raw cells `given` ({column: cells}): what nnctl predict computes."""
    return encode_columns(record(ckpt), given, "<export check>")[0]


def numbers(ckpt, given: dict, name: str, dtype) -> np.ndarray:
    """A numeric column's cells as the ONNX model takes them: (n, 1) floats, NaN where missing."""
    r = record(ckpt)
    values = encoding.parse(_one(name, given[name]), ["numeric"], column_types.markers(r["missing_values"]),
                            r["decimal"])[0]
    return values.astype(dtype).reshape(-1, 1)


def _one(name: str, cells: list) -> Table:
    return Table("<export check>", [name], [[str(c).strip() for c in cells]], list(range(len(cells))))
