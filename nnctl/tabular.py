"""A user's own table: a CSV or .npz file, or any OpenML data set, as numeric features and raw targets.

`targets` turns raw targets into what a model learns: class indices 0..k-1 for classification
(labels in sorted order, numerically when they are all whole numbers; the labels become the
data set's `classes`, stored in every checkpoint) or floats for regression. Every error names
the file and, where it applies, the line and the column.
"""

from __future__ import annotations

import csv
import difflib
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import npyfile
from .errors import DataError
from .files import read_limited


def _open_text(path: Path):
    raw = read_limited(path, sys.maxsize, DataError, "a data", "")
    try:
        return raw.decode("utf-8-sig")  # -sig: a spreadsheet's byte-order mark is not part of the header
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text file (byte {e.start})") from None


def _column(path, names: list[str], wanted, header: bool, role: str) -> int:
    """The index of the column `wanted` (a header name, or a 0-based index)."""
    if isinstance(wanted, int):
        if not -len(names) <= wanted < len(names):
            raise DataError(f"{path}: {role} column {wanted} does not exist: the file has {len(names)} columns")
        return wanted % len(names)
    if wanted in names:
        return names.index(wanted)
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    if not header:
        hint += " (header: false, so columns are named by their 0-based index)"
    raise DataError(f"{path}: no {role} column '{wanted}'{hint} (columns: {', '.join(names)})")


def read_csv(path, target=None, features=None, header: bool = True, delimiter: str = ","):
    """x: (n, n_features) float64 and the raw target strings of a CSV file, with the columns' names."""
    path = Path(path).expanduser()
    rows = [(number, row) for number, row in enumerate(csv.reader(_open_text(path).splitlines(), delimiter=delimiter), 1)
            if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    if header:
        names = [cell.strip() for cell in rows[0][1]]
        rows = rows[1:]
    else:
        names = [str(i) for i in range(len(rows[0][1]))]
    for number, row in rows:
        if len(row) != len(names):
            raise DataError(f"{path}:{number}: {len(row)} fields, but the {'header' if header else 'first row'} has {len(names)}")
    t = _column(path, names, len(names) - 1 if target is None else target, header, "target")
    columns = [c for c in range(len(names)) if c != t] if features is None else \
        [_column(path, names, f, header, "feature") for f in features]
    if t in columns:
        raise DataError(f"{path}: the target column '{names[t]}' is also listed as a feature")
    if not columns:
        raise DataError(f"{path}: no feature columns besides the target '{names[t]}'")
    x = np.empty((len(rows), len(columns)))
    for i, (number, row) in enumerate(rows):
        for j, c in enumerate(columns):
            try:
                x[i, j] = float(row[c])
            except ValueError:
                what = "is empty" if not row[c].strip() else f"holds {row[c].strip()!r}, not a number"
                raise DataError(f"{path}:{number}: feature column '{names[c]}' {what} "
                                f"(features must be numeric; only the target may hold labels)") from None
    if not np.isfinite(x).all():
        raise DataError(f"{path}: a feature column holds nan or inf")
    y = [row[t].strip() for _, row in rows]
    return x, y, [names[c] for c in columns], names[t]


def read_npz(path, x_key: str = "x", y_key: str = "y"):
    """x: (n, n_features) float64 and the raw targets stored under two keys of a .npz file."""
    path = Path(path).expanduser()
    npyfile.check(path)  # before np.load allocates what a header claims
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = list(f.keys())
            for key in (x_key, y_key):
                if key not in keys:
                    raise DataError(f"{path}: no array '{key}' (arrays: {', '.join(keys) or 'none'})")
            x, y = f[x_key], f[y_key]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a file") from None
    except ValueError as e:  # object arrays would need pickle, which is never allowed
        raise DataError(f"{path}: cannot be read without pickle: {e}") from None
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise DataError(f"{path}: '{x_key}' must be a 2-D array of numbers, got {x.dtype} {x.shape}")
    if x.shape[1] == 0:
        raise DataError(f"{path}: '{x_key}' has {len(x)} rows of 0 columns: no features to learn from")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{path}: '{y_key}' must be 1-D with one target per row of '{x_key}' ({len(x)}), got shape {y.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise DataError(f"{path}: '{x_key}' holds nan or inf")
    return x, y


def fetch_openml(dataset, version, target, cache: Path):
    """Features and raw targets of an OpenML data set (by name or id), downloaded once into `cache`."""
    from sklearn.datasets import fetch_openml as fetch

    by = {"data_id": dataset} if isinstance(dataset, int) else {"name": dataset, "version": version or "active"}
    label = f"OpenML data set {dataset!r}"
    try:
        with warnings.catch_warnings():
            # retries and "several active versions" warn; the error below, or the choice made, says enough
            warnings.simplefilter("ignore")
            bunch = fetch(**by, target_column=target or "default-target", as_frame=False, parser="liac-arff",
                          data_home=str(cache), n_retries=3, delay=1.0)
    except Exception as e:  # offline, unknown name or id, no such column: all mean the data is not available
        raise DataError(f"{label} is not available ({type(e).__name__}: {e})") from None
    data = bunch.data.toarray() if hasattr(bunch.data, "toarray") else bunch.data
    try:
        x = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{label} has features that are not numbers; nnctl takes numeric features only") from None
    if not np.isfinite(x).all():
        raise DataError(f"{label} has missing values in its features")
    y = np.asarray(bunch.target)
    if y.ndim != 1:
        raise DataError(f"{label} has {y.shape[1]} target columns; name one with data.target")
    return x, y, f"openml:{bunch.details.get('name', dataset)} (id {bunch.details.get('id', '?')})"


def targets(raw, task: str, where: str):
    """(y, classes): class indices and their labels for classification, floats and [] for regression."""
    raw = np.asarray(raw)
    if task == "regression":
        try:
            y = raw.astype(np.float64)
        except ValueError:
            bad = next(v for v in raw if not _is_number(v))
            raise DataError(f"{where}: the target holds {str(bad)!r}, not a number, and the task is regression") from None
        if not np.isfinite(y).all():
            raise DataError(f"{where}: the target holds nan or inf")
        return y, []
    labels = sorted(set(raw.tolist()), key=_label_order)
    if len(labels) < 2:
        raise DataError(f"{where}: the target has {len(labels)} distinct value(s); classification needs at least 2")
    if len(labels) > 10_000:
        raise DataError(f"{where}: the target has {len(labels)} distinct values; is this a regression task (data.task)?")
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[v] for v in raw.tolist()], dtype=np.int64), [_json_label(v) for v in labels]


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _label_order(value):
    """Whole numbers in numeric order (2 before 10), then text in text order."""
    text = str(value)
    try:
        number = float(text)
        if number.is_integer():
            return (0, number, "")
    except ValueError:
        pass
    return (1, 0.0, text)


def _json_label(value):
    """A label as it reads: whole numbers as ints, the rest as text."""
    text = str(value)
    try:
        number = float(text)
        if number.is_integer():
            return int(number)
    except ValueError:
        pass
    return text
