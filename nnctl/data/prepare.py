"""A CSV table made ready for a network: its columns typed (nnctl.data.columns), the rows a
`drop_rows` column lacks dropped, then fitted on the training rows and encoded (nnctl.data.encoding).

    prepared = Prepared.of(table, settings)            # training: types declared or inferred
    prepared = Prepared.of(table, settings, record)    # eval: the checkpoint's types and statistics
    record = prepared.fit(train_rows)                  # preprocessing["table"]
    x, found = prepared.encode(record)

A checkpoint written before nnctl typed columns has no record: its columns are numeric, and a
missing cell is refused as it was then (`legacy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import DataError
from ..printable import quoted
from . import columns as column_types, encoding

SHOWN = 6  # columns a header line names before '…'


@dataclass
class Prepared:
    """A Table with its columns' plan (types and options), each column parsed by its type, and
    the rows `drop_rows` left out counted by column."""

    table: object  # nnctl.data.tabular.Table, the rows kept
    columns: list  # columns.Column per feature column
    parsed: list  # per column: float64 with NaN, or str with None; None for an ignored column
    settings: dict  # how the file was read: delimiter, decimal, encoding, missing_values
    dropped: dict = field(default_factory=dict)  # column -> rows left out for a missing cell
    legacy: bool = False

    @classmethod
    def of(cls, table, settings: dict, record: dict | None = None, legacy_names: list | None = None,
           drop: bool = True) -> Prepared:
        """The prepared `table`: typed by the config (`settings["columns"]`, the rest inferred), by
        a checkpoint's `record`, or numeric throughout for a checkpoint with `legacy_names` only.
        `drop` False (predict: one output per row): a drop_rows column's missing cell is filled in."""
        missing = column_types.markers(settings["missing_values"])
        if record is not None:
            table, columns = _aligned(table, record["columns"])
        elif legacy_names is not None:
            columns = [column_types.Column(name, "numeric") for name in table.names]
        else:
            columns = column_types.plan(table.names, table.cells, settings.get("columns"), missing,
                                        settings["decimal"], table.source)
        kinds = [c.type for c in columns]
        parsed = [None if kind == "ignore" else
                  encoding.parse(_one(table, i), [kind], missing, settings["decimal"], [columns[i].numbers])[0]
                  for i, kind in enumerate(kinds)]
        if legacy_names is not None:
            _refuse_missing(table, parsed)
        kept = encoding.drop_rows(table, columns, parsed) if drop else np.arange(len(table))
        dropped = {}
        if len(kept) < len(table):
            for column, values in zip(columns, parsed):
                if column.type == "numeric" and column.impute == "drop_rows" and np.isnan(values).any():
                    dropped[column.name] = int(np.isnan(values).sum())
            table = table.rows(kept)
            parsed = [None if p is None else p[kept] if isinstance(p, np.ndarray) else [p[i] for i in kept]
                      for p in parsed]
        return cls(table, columns, parsed, dict(settings), dropped, legacy_names is not None)

    def fit(self, rows: np.ndarray) -> dict:
        """The record a checkpoint keeps: how the file was read, and each column fitted on `rows`."""
        kept = {k: self.settings[k] for k in ("delimiter", "decimal", "encoding", "missing_values")}
        return {**kept, "target": self.table.target,
                "columns": encoding.fit(self.table, self.columns, self.parsed, rows)}

    def encode(self, record: dict | None) -> tuple[np.ndarray, list[str], list[dict]]:
        """(x, the inputs' names, what was filled in or not recognised) of every row kept."""
        if self.legacy:
            x = np.column_stack(self.parsed) if self.parsed else np.empty((len(self.table), 0))
            return x, list(self.table.names), []
        parsed = {c.name: values for c, values in zip(self.columns, self.parsed)}
        x, found = encoding.encode(record["columns"], parsed, len(self.table))
        return x, encoding.feature_names(record["columns"]), found

    def report(self, record: dict, found: list[dict]) -> dict:
        """What was read, for the training header and run.json: the columns by type (a categorical
        one's inputs), the inputs, the cells filled in, the rows dropped, the values of val and test
        rows training never saw."""
        by_name = {r["name"]: r for r in record["columns"]}
        width = {r["name"]: len(encoding.feature_names([r])) for r in record["columns"]}
        of = {kind: [c.name for c in self.columns if c.type == kind] for kind in column_types.TYPES}
        return {"delimiter": record["delimiter"], "decimal": record["decimal"],
                "inputs": len(encoding.feature_names(record["columns"])), "numeric": len(of["numeric"]),
                "categorical": {name: width[name] for name in of["categorical"]}, "binary": of["binary"],
                "ignored": {c.name: c.why for c in self.columns if c.type == "ignore"},
                "missing": {f["column"]: {"cells": f["missing"], "read_as": encoding.filled(by_name[f["column"]])}
                            for f in found if f["missing"]},
                "dropped_rows": dict(self.dropped),
                "unknown": {f["column"]: {"values": f["unknown"], "example": f["example"],
                                          "read_as": encoding.unknown(by_name[f["column"]])}
                            for f in found if f["unknown"]}}


def encode_columns(record: dict, given, source: str = "<columns>") -> tuple[np.ndarray, list]:
    """A checkpoint's table `record` applied to named columns `given` ({column: cells}, or anything
    with keys and columns, such as a pandas DataFrame): (the network's raw inputs, notes as
    encoding.notes gives them). Each cell is read as a CSV cell is (text, stripped; None, NaN and
    the missing markers are missing); a column the model reads that is absent is a DataError."""
    from .tabular import Table

    names = [r["name"] for r in record["columns"] if r["type"] != "ignore"]
    absent = [name for name in names if name not in given]
    if absent:
        raise DataError(f"{source}: no column {quoted(absent[0])}, which the model was trained on")
    cells = [[_text(v) for v in list(given[name])] for name in names]
    n = len(cells[0]) if cells else 0
    if any(len(c) != n for c in cells):
        raise DataError(f"{source}: the columns hold different numbers of rows")
    table = Table(source, names, cells, list(range(1, n + 1)))
    settings = {k: record[k] for k in ("delimiter", "decimal", "encoding", "missing_values")}
    x, _, found = Prepared.of(table, settings, record, drop=False).encode(record)
    return x, encoding.notes(found, record["columns"], source)


def _text(value) -> str:
    """A cell given as a value, as a CSV would hold it: text stripped; '' for None or NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return (repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)).strip()


def _one(table, i: int):
    """The table of feature column i alone (what encoding.parse reads)."""
    return replace(table, names=[table.names[i]], cells=[table.cells[i]])


def _aligned(table, records: list[dict]):
    """The table's columns in the order of a checkpoint's records, with the records' types; an
    ignored column need not be there. A column the model reads that the table lacks is refused."""
    index = {name: i for i, name in enumerate(table.names)}
    absent = [r["name"] for r in records if r["type"] != "ignore" and r["name"] not in index]
    if absent:
        raise DataError(f"{table.source}: no column {quoted(absent[0])}, which the model was trained on")
    used = [r for r in records if r["name"] in index]
    names = [r["name"] for r in used]
    cells = [table.cells[index[name]] for name in names]
    columns = [column_types.Column(r["name"], r["type"], r.get("impute", "median"),
                                   why="the checkpoint's") for r in used]
    return replace(table, names=names, cells=cells), columns


def _refuse_missing(table, parsed: list) -> None:
    for name, values in zip(table.names, parsed):
        empty = np.flatnonzero(np.isnan(values))
        if len(empty):
            raise DataError(f"{table.source}:{table.lines[empty[0]]}: feature column {quoted(name)} is missing a "
                            "value, "
                            f"and the checkpoint is from before nnctl filled missing values in: retrain it")


def header_lines(report: dict) -> list[str]:
    """The training header's lines about a table: its columns by type and the inputs they make,
    the columns left out and why, the cells filled in and the rows dropped, the values never seen."""
    kinds = [f"{report['numeric']} numeric"] if report["numeric"] else []
    if report["categorical"]:
        kinds.append(f"{len(report['categorical'])} categorical ("
                     + _names([f"{quoted(n, 30)} {k}" for n, k in report["categorical"].items()], quote=False) + ")")
    if report["binary"]:
        kinds.append(f"{len(report['binary'])} binary ({_names(report['binary'])})")
    lines = [f"columns:     {report['inputs']:,} inputs from " + ", ".join(kinds)]
    for name, why in list(report["ignored"].items())[:SHOWN]:
        lines.append(f"left out:    {quoted(name, 30)}: {why}")
    if len(report["ignored"]) > SHOWN:
        lines.append(f"left out:    … and {len(report['ignored']) - SHOWN} more")
    for name, m in list(report["missing"].items())[:SHOWN]:
        lines.append(f"missing:     {quoted(name, 30)}: {m['cells']:,} cell{'s' if m['cells'] > 1 else ''} read as "
                     f"{m['read_as']}")
    if len(report["missing"]) > SHOWN:
        lines.append(f"missing:     … and {len(report['missing']) - SHOWN} more columns")
    for name, n in report["dropped_rows"].items():
        lines.append(f"dropped:     {n:,} rows missing {quoted(name, 30)} (impute: drop_rows)")
    for name, u in report["unknown"].items():
        lines.append(f"unseen:      {quoted(name, 30)}: {u['values']:,} val/test values training never saw, "
                     f"such as {quoted(u['example'], 20)}, read as {u['read_as']}")
    return lines


def _names(items: list[str], quote: bool = True) -> str:
    shown = [quoted(i, 30) if quote else i for i in items[:SHOWN]]
    return ", ".join(shown) + (f", … ({len(items)})" if len(items) > SHOWN else "")
