"""What a data set is, told from the data itself: the task, the classes, the input width and the
rows, for `nnctl init` and `nnctl train --data` (which write a starter config from it).

A built-in data set is described by the catalog, without loading it. A user's CSV or .npz file is
read (through the capped readers of nnctl.data.tabular; a CSV with the data settings given by
--set, and its columns typed as training types them) and its target decides the task:

    classification  when the target holds text, or only whole numbers with at most
                    MAX_CLASSES (20) distinct values (0/1, 1..5 stars, digit labels)
    regression      otherwise (fractions, or many distinct whole numbers such as prices)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..printable import quoted
from . import columns, csvtext, encoding, prepare, tabular
from .catalog import CATALOG, SPECS

MAX_CLASSES = 20  # whole-number targets with more distinct values than this are taken as a regression


@dataclass(frozen=True)
class Profile:
    """A data set as a starter config needs it."""

    name: str  # the catalog's name: a built-in set, or csv / npz
    task: str  # classification or regression
    n_features: int
    n_classes: int  # 0 for regression
    rows: int | None
    path: Path | None = None  # the file, for csv and npz
    target: str | int | None = None  # the CSV's target column (its name, or its index without a header)
    header: bool = True
    classes: tuple = ()  # the labels, as the file holds them
    why: str = ""  # how the task was told, for the config's comment
    delimiter: str = ","  # a CSV's, as given or sniffed
    settings: dict = field(default_factory=dict)  # the data keys given before the file was read (--set)
    columns: tuple = ()  # a CSV's feature columns: nnctl.data.columns.Column, declared or inferred
    report: dict | None = None  # what training would read of a CSV (nnctl.data.prepare.Prepared.report)


def describe(data: str, target: str | None = None, settings: dict | None = None) -> Profile:
    """The profile of `data`: a built-in data set's name, or the path of a CSV or .npz file;
    `target` names a CSV's target column (default the last); `settings` the CSV's data keys
    given already (delimiter, header, columns, ...: a CsvData's fields, checked)."""
    path = Path(data).expanduser()
    if _is_file_name(path):
        if not path.is_file():
            raise DataError(f"{data}: no such file")
        return _npz(path) if path.suffix.lower() == ".npz" else _csv(path, target, dict(settings or {}))
    if data in SPECS:
        if target is not None:
            raise DataError(f"{data} is a built-in data set: its target is known, so --target applies to files only")
        spec, rows = SPECS[data], CATALOG[data].rows
        rows = CATALOG[data].defaults[rows] if isinstance(rows, str) else rows
        return Profile(data, spec.task, spec.n_features, spec.n_classes, rows, why="the catalog's")
    close = difflib.get_close_matches(data, list(SPECS), n=1)
    hint = f"; did you mean {quoted(close[0])}?" if close else f" (built in: {', '.join(SPECS)})"
    raise DataError(f"{data}: neither a file nor a built-in data set{hint}")


def _is_file_name(path: Path) -> bool:
    """Whether `data` names a file (a CSV or .npz suffix, or anything that exists) rather than a data set."""
    return path.suffix.lower() in (".csv", ".txt", ".tsv", ".npz") or path.exists()


def is_csv(path: Path) -> bool:
    """Whether `describe` reads `path` as a CSV file."""
    return _is_file_name(path) and path.suffix.lower() != ".npz"


def _csv(path: Path, target: str | None, settings: dict) -> Profile:
    table, prepared, record, (x, found) = _read_csv(path, target, settings)
    if settings.get("task"):
        task, why = settings["task"], "data.task says so"
        labels = tabular.targets(prepared.table.y, task, str(path))[1]
    else:
        task, labels, why = _task(prepared.table.y, f"{path}: target column {quoted(table.target)}")
    column = table.target if table.header else int(table.target)
    return Profile("csv", task, x.shape[1], len(labels), len(x), path, column, table.header, tuple(labels), why,
                   table.delimiter, settings, tuple(prepared.columns), prepared.report(record, found))


def _read_csv(path: Path, target, settings: dict):
    """(the Table, Prepared, its record fitted on every row, (x, what encoding found)) of a CSV read
    as training reads it, with the data `settings` given; a header told as predict tells it."""
    raw = csvtext.read_bytes(path)
    text = csvtext.decode(raw, str(path), settings.get("encoding", "utf-8"))
    delimiter = settings.get("delimiter") or csvtext.sniff(text, str(path))
    header = settings.get("header")
    if header is None:
        header = tabular.is_header(csvtext.header(text, delimiter, str(path)).names)
    target = settings.get("target", target)
    wanted = target if header or target is None or isinstance(target, int) else _index(target, path)
    table = tabular.parse_csv(text, path, wanted, settings.get("features"), header, delimiter)
    read = {"delimiter": delimiter, "decimal": settings.get("decimal", "."),
            "encoding": settings.get("encoding", "utf-8"),
            "missing_values": list(settings.get("missing_values", columns.MISSING)), "columns": settings.get("columns")}
    prepared = prepare.Prepared.of(table, read)
    record = prepared.fit(np.arange(len(prepared.table)))  # every row: what training fits on its share
    x, _, found = prepared.encode(record)
    return table, prepared, record, (x, found)


def inspect(data: str, target: str | None = None, settings: dict | None = None) -> dict:
    """What `nnctl data inspect` shows of a CSV: how it is read, each feature column's type (and
    why), missing cells, distinct values and the inputs it makes, and the target's balance."""
    path = Path(data).expanduser()
    settings = dict(settings or {})
    table, prepared, record, _ = _read_csv(path, target, settings)
    widths = {r["name"]: len(encoding.feature_names([r])) for r in record["columns"]}
    missing = columns.markers(settings.get("missing_values", columns.MISSING))
    described = columns.profile(table.names, table.cells, list(prepared.columns), missing)
    for entry, r in zip(described, record["columns"]):
        entry["inputs"] = widths[r["name"]]
        entry["read_as"] = _what_is_done(r, entry)
    where = f"{path}: target column {quoted(table.target)}"
    task, _labels, why = (settings["task"], [],
                          "data.task says so") if settings.get("task") else _task(prepared.table.y, where)
    out = {"file": str(path), "rows": len(table), "delimiter": table.delimiter, "header": table.header,
           "columns": described, "inputs": sum(widths.values()), "dropped_rows": prepared.dropped,
           "target": {"name": table.target, "task": task, "why": why}}
    if task == "classification":
        y, classes = tabular.targets(prepared.table.y, task, str(path))
        out["target"]["classes"] = {str(c): int(n) for c, n in zip(classes, np.bincount(y, minlength=len(classes)))}
    else:
        y = tabular.targets(prepared.table.y, task, str(path))[0]
        out["target"].update(min=float(y.min()), max=float(y.max()), mean=float(y.mean()), std=float(y.std()))
    return out


def _what_is_done(r: dict, entry: dict) -> str:
    """A column's encoding in a few words, for inspect's table."""
    if r["type"] == "ignore":
        return "left out"
    if r["type"] == "numeric":
        how = "median" if r["impute"] == "drop_rows" else r["impute"]
        return "the number" + (f"; missing: {how} {r['fill']:g}" + (" + indicator" if r["indicator"] else "")
                               if entry["missing"] else "")
    if r["type"] == "binary":
        return f"1 if {r['values'][1]!r}, else 0"
    extra = [e for e in ("other", "missing") if r[e]]
    return f"one-hot, {len(r['categories'])} categories" + (f" + {', '.join(extra)}" if extra else "")


def _index(target: str, path: Path) -> int:
    try:
        return int(target)
    except ValueError:
        raise DataError(f"{path}: the file has no header row, so --target is a 0-based column index, "
                        f"not {quoted(target)}") from None


def _npz(path: Path) -> Profile:
    x, raw = tabular.read_npz(path)
    task, labels, why = _task([str(v) for v in raw.tolist()], f"{path}: 'y'")
    return Profile("npz", task, x.shape[1], len(labels), len(x), path, classes=tuple(labels), why=why)


def _task(raw: list, where: str = "the target") -> tuple[str, list, str]:
    """(task, class labels, the reason) from a target's raw values (the rule atop this module)."""
    distinct = set(raw)
    numbers = [v for v in distinct if tabular.is_number(v)]
    if len(numbers) < len(distinct):
        _, labels = tabular.targets(raw, "classification", where)
        return "classification", labels, "the target holds text"
    whole = all(float(v).is_integer() for v in numbers)
    if whole and len(distinct) <= MAX_CLASSES:
        _, labels = tabular.targets(raw, "classification", where)
        return "classification", labels, f"the target holds {len(distinct)} distinct whole numbers"
    why = (f"the target holds {len(distinct)} distinct whole numbers (more than {MAX_CLASSES})" if whole
           else "the target holds numbers that are not whole")
    return "regression", [], why


