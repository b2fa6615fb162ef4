"""A table's typed columns as the numbers a network takes: imputation, missing indicators, one-hot.

    numeric      the number; a missing cell filled (`impute`: the training median, mean or 0; or
                 its row dropped, `drop_rows`), plus a 0/1 `name:missing` input when any training
                 cell was missing (`indicator`)
    binary       one 0/1 input, `name=<second value>`; a missing or unknown value: its training share
    categorical  one 0/1 input per training category, `name=<value>` in sorted order;
                 `max_categories` keeps the most frequent and sums the rest into `name:other`;
                 `name:missing` when a training cell was missing; a value training never saw:
                 all zeros (or `name:other`), and counted, so that predict warns
    ignore       nothing

`fit` learns each column's record on the training rows (the checkpoint keeps the records,
preprocessing["table"]["columns"], as it keeps the scaling); `encode` applies records to any rows.
The 0/1 inputs are not scaled: `leave_codes_unscaled` sets their standard scaling to mean 0, std 1.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import DataError
from ..printable import quoted
from . import columns as column_types

MAX_FEATURE = 1e38  # as nnctl.data.tabular: beyond it the standard scaling overflows


def parse(table, types: list[str], missing: frozenset, decimal: str, read=None) -> list:
    """Each feature column of `table` read by its type: numeric, float64 with NaN where missing;
    text, a list of str with None where missing. A cell a numeric column cannot hold is refused.
    `read`: per column, its cells as floats already (columns.Column.numbers), or None."""
    out = []
    for name, cells, kind, numbers in zip(table.names, table.cells, types, read or [None] * len(types)):
        if kind == "numeric":
            out.append(_numbers(table, name, cells, missing, decimal, numbers))
        else:
            stripped = (c.strip() for c in cells)
            out.append([None if c.lower() in missing else c for c in stripped])
    return out


def _numbers(table, name: str, cells: list[str], missing: frozenset, decimal: str, numbers=None) -> np.ndarray:
    try:  # every cell a number: one pass in C (float() itself, so the same bits as the loop below)
        values = numbers if numbers is not None else \
            np.array(list(map(float, cells if decimal == "." else (c.replace(decimal, ".") for c in cells))))
        if len(values) and np.abs(values).max() <= MAX_FEATURE:  # no NaN, no inf, nothing too large
            return values
    except ValueError:
        pass
    values = np.empty(len(cells))
    for i, cell in enumerate(cells):
        cell = cell.strip()
        value = column_types.number(cell, decimal)
        if value is None or value != value:
            if cell.lower() not in missing:
                hint = " (data.decimal: ',' reads a decimal comma)" if "," in cell and decimal == "." else ""
                raise DataError(f"{table.source}:{table.lines[i]}: feature column {quoted(name)} holds "
                                f"{quoted(cell, 20)}, not a number, and the column is numeric{hint}: make it "
                                f"categorical, or leave it out (data.columns: {{{quoted(name)}: ignore}})")
            value = np.nan
        elif not abs(value) <= MAX_FEATURE:
            what = f"{value}, not a finite number" if not np.isfinite(value) else \
                f"{value:g}, beyond ±{MAX_FEATURE:g}: too large to scale (divide the column by a power of ten)"
            raise DataError(f"{table.source}:{table.lines[i]}: feature column {quoted(name)} holds {what}")
        values[i] = value
    return values


def drop_rows(table, columns: list, parsed: list) -> np.ndarray:
    """The rows to keep: those with a value in every column whose `impute` is drop_rows."""
    keep = np.ones(len(table), bool)
    for column, values in zip(columns, parsed):
        if column.type == "numeric" and column.impute == "drop_rows":
            keep &= ~np.isnan(values)
    return np.flatnonzero(keep)


def fit(table, columns: list, parsed: list, rows: np.ndarray) -> list[dict]:
    """Each column's record, learnt on the training `rows`."""
    records = []
    for column, values in zip(columns, parsed):
        if column.type == "ignore":
            records.append({"name": column.name, "type": "ignore"})
            continue
        train = values[rows] if isinstance(values, np.ndarray) else [values[i] for i in rows]
        present = (~np.isnan(train)).sum() if isinstance(train, np.ndarray) else sum(v is not None for v in train)
        if not present:
            where = "cell" if len(train) == len(table) else "cell of the training rows"
            raise DataError(f"{table.source}: feature column {quoted(column.name)}: every {where} is missing, so "
                            f"there is nothing to learn from it: leave it out (data.columns: "
                            f"{{{quoted(column.name)}: ignore}})")
        records.append(FIT[column.type](table, column, values, train))
    names = feature_names(records)
    if len(set(names)) != len(names):
        twice = next(n for n, k in Counter(names).items() if k > 1)
        raise DataError(f"{table.source}: two inputs would be named {quoted(twice)} (a column's name and another's "
                        f"category or indicator): rename the column")
    return records


def _fit_numeric(table, column, values: np.ndarray, train: np.ndarray) -> dict:
    present = train[~np.isnan(train)]
    fill = {"median": np.median, "mean": np.mean, "zero": lambda v: 0.0, "drop_rows": np.median}[column.impute](present)
    indicator = column.indicator if column.indicator is not None else \
        bool(len(present) < len(train)) and column.impute != "drop_rows"
    return {"name": column.name, "type": "numeric", "impute": column.impute, "fill": float(fill),
            "indicator": indicator}


def _fit_binary(table, column, values: list, train: list) -> dict:
    seen = sorted({v for v in values if v is not None})
    if len(seen) > 2 or None in train:
        what = (f"{len(seen)} values ({', '.join(quoted(v, 20) for v in seen[:3])}…)" if len(seen) > 2
                else "missing cells")
        raise DataError(f"{table.source}: feature column {quoted(column.name)} is binary but holds {what}: make it "
                        f"categorical (data.columns: {{{quoted(column.name)}: categorical}})")
    seen = seen if len(seen) == 2 else seen * 2  # one value only: the column is constant
    share = sum(v == seen[1] for v in train) / len(train)
    return {"name": column.name, "type": "binary", "values": seen, "fill": float(share)}


def _fit_categorical(table, column, values: list, train: list) -> dict:
    counts = Counter(v for v in train if v is not None)
    everywhere = Counter(v for v in values if v is not None)
    if column.max_categories is None and len(everywhere) == sum(everywhere.values()) > 2:
        raise DataError(f"{table.source}: feature column {quoted(column.name)} is categorical, but each of its "
                        f"{len(everywhere)} values occurs once: as many categories as rows, so one-hot inputs "
                        f"would only name the rows. Leave it out (data.columns: {{{quoted(column.name)}: ignore}}) "
                        f"or keep its most frequent values (max_categories)")
    kept = sorted(counts, key=lambda v: (-counts[v], v))
    other = column.max_categories is not None and len(kept) > column.max_categories
    if other:
        kept = kept[:column.max_categories - 1]
    return {"name": column.name, "type": "categorical", "categories": sorted(kept), "other": other,
            "missing": None in train}


FIT = {"numeric": _fit_numeric, "binary": _fit_binary, "categorical": _fit_categorical}


def feature_names(records: list[dict]) -> list[str]:
    """The inputs' names, in order: `name`, `name:missing`, `name=value`, `name:other`."""
    names = []
    for r in records:
        if r["type"] == "numeric":
            names += [r["name"]] + ([f"{r['name']}:missing"] if r["indicator"] else [])
        elif r["type"] == "binary":
            names.append(f"{r['name']}={r['values'][1]}")
        elif r["type"] == "categorical":
            names += [f"{r['name']}={c}" for c in r["categories"]]
            names += [f"{r['name']}:{extra}" for extra in ("other", "missing") if r[extra]]
    return names


def codes(records: list[dict]) -> np.ndarray:
    """Which inputs are 0/1 codes (indicators, one-hot, binary) rather than a column's numbers."""
    return np.array([not (r["type"] == "numeric" and not name.endswith(":missing"))
                     for r in records for name in feature_names([r])], bool)


def leave_codes_unscaled(preprocessing: dict, records: list[dict]) -> None:
    """A fitted standard scaling that leaves the 0/1 inputs as they are (mean 0, std 1)."""
    if preprocessing.get("scaling") != "standard":
        return
    mask = codes(records)
    for key, value in (("mean", 0.0), ("std", 1.0)):
        preprocessing[key] = [value if code else v for v, code in zip(preprocessing[key], mask)]


def encode(records: list[dict], parsed: dict, n_rows: int) -> tuple[np.ndarray, list[dict]]:
    """(x: (n_rows, inputs) float64, what was filled in or not recognised: one entry per column
    that had any, {"column", "missing", "unknown", "example"}); `parsed`: each column's values by name."""
    blocks, found = [], []
    for r in records:
        if r["type"] == "ignore":
            continue
        block, counts = ENCODE[r["type"]](r, parsed[r["name"]])
        blocks.append(block.reshape(n_rows, -1))
        if counts["missing"] or counts["unknown"]:
            found.append({"column": r["name"], **counts})
    x = np.hstack(blocks) if blocks else np.empty((n_rows, 0))
    return x, found


def _encode_numeric(r: dict, values: np.ndarray):
    missing = np.isnan(values)
    filled = np.where(missing, r["fill"], values)
    block = np.column_stack([filled, missing]) if r["indicator"] else filled
    return block, {"missing": int(missing.sum()), "unknown": 0, "example": None}


def _encode_binary(r: dict, values: list):
    low, high = r["values"]
    out = np.array([1.0 if v == high else 0.0 if v == low else r["fill"] for v in values])
    missing = sum(v is None for v in values)
    unknown = [v for v in values if v is not None and v not in (low, high)]
    return out, {"missing": missing, "unknown": len(unknown), "example": unknown[0] if unknown else None}


def _encode_categorical(r: dict, values: list):
    index = {c: i for i, c in enumerate(r["categories"])}
    width = len(index) + r["other"] + r["missing"]
    other, missing_at = (len(index) if r["other"] else -1), (width - 1 if r["missing"] else -1)
    block = np.zeros((len(values), width))
    missing, unknown = 0, []
    for i, v in enumerate(values):
        if v is None:
            missing += 1
            at = missing_at
        else:
            at = index.get(v, other)
            if v not in index and not r["other"]:
                unknown.append(v)
        if at >= 0:
            block[i, at] = 1.0
    return block, {"missing": missing, "unknown": len(unknown), "example": unknown[0] if unknown else None}


ENCODE = {"numeric": _encode_numeric, "binary": _encode_binary, "categorical": _encode_categorical}


def filled(r: dict) -> str:
    """What a missing cell of the column `r` becomes, in words."""
    if r["type"] == "numeric":
        how = "median" if r["impute"] == "drop_rows" else r["impute"]
        indicator = f" (and {quoted(r['name'] + ':missing', 40)} 1)" if r["indicator"] else ""
        return f"the training {how} {r['fill']:g}{indicator}"
    if r["type"] == "binary":
        return f"{r['fill']:.3g}, the training share of {quoted(r['values'][1], 20)}"
    return "the category 'missing'" if r["missing"] else "no category (all zeros)"


def unknown(r: dict) -> str:
    """What a value the column `r` never saw in training becomes, in words."""
    if r["type"] == "binary":
        return filled(r)
    return f"{quoted(r['name'] + ':other', 40)}" if r.get("other") else "no category (all zeros)"


def notes(found: list[dict], records: list[dict], source: str) -> list[tuple[str, str]]:
    """encode's counts as (kind, sentence), for predict's and eval's messages: what was filled in
    ("missing"), and the values the model never saw ("unknown"), with one example."""
    by_name = {r["name"]: r for r in records}
    out = []
    for f in found:
        r = by_name[f["column"]]
        if f["unknown"]:
            out.append(("unknown", (f"{source}: column {quoted(f['column'], 30)}: {f['unknown']} "
                                   f"value{'s' if f['unknown'] > 1 else ''} the model never saw in training, such as "
                                   f"{quoted(f['example'], 20)}: read as {unknown(r)}")))
        if f["missing"]:
            out.append(("missing", (f"{source}: column {quoted(f['column'], 30)}: {f['missing']} missing "
                                   f"value{'s' if f['missing'] > 1 else ''}, read as {filled(r)}")))
    return out

