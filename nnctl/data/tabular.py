"""A user's own table: a CSV or .npz file, or any OpenML data set, as numeric features and raw targets.

`targets` turns raw targets into what a model learns: class indices 0..k-1 for classification
(labels in sorted order, numerically when they are all whole numbers; the labels become the
data set's `classes`, stored in every checkpoint) or floats for regression. Every error names
the file and, where it applies, the line and the column.
"""

from __future__ import annotations

import difflib
import io
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import files
from ..errors import DataError
from ..printable import excerpt, quoted
from . import csvtext, npyfile

# Feature values beyond this are refused: float32's largest is 3.4e38, and the standard scaling
# squares deviations (in float64), so anything larger overflows to inf somewhere on the way.
MAX_FEATURE = 1e38
SHOWN_COLUMNS = 10  # column names a message lists before '…'
SHOWN_ROWS = 5  # row numbers a message lists before 'and N more'


def _column(path, names: list[str], positions: dict, wanted, header: bool, role: str) -> int:
    """The index of the column `wanted` (a header name, or a 0-based index); `positions`: each name's columns."""
    if isinstance(wanted, int):
        if not -len(names) <= wanted < len(names):
            raise DataError(f"{path}: {role} column {wanted} does not exist: the file has {len(names)} columns")
        return wanted % len(names)
    if wanted in positions:
        return positions[wanted][0]
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.5)
    hint = f"; did you mean {quoted(close[0])}?" if close else ""
    if not header:
        hint += " (header: false, so columns are named by their 0-based index)"
    raise DataError(f"{path}: no {role} column {quoted(wanted)}{hint} (columns: {_names(names)})")


@dataclass
class Table:
    """A CSV's rows as text: the feature columns' names and cells (column by column, as read: the
    spaces around a cell are not part of it, and are stripped wherever it is read as text), the
    line each row starts on, and the target's name and stripped cells (None when there is none)."""

    source: str
    names: list[str]
    cells: list[list[str]]
    lines: list[int]
    target: str | None = None
    y: list[str] | None = None
    delimiter: str = ","
    header: bool = True

    def __len__(self) -> int:
        return len(self.lines)

    def rows(self, kept) -> Table:
        """The table of the rows `kept` (indices, in order)."""
        pick = [int(i) for i in kept]
        return Table(self.source, self.names, [[column[i] for i in pick] for column in self.cells],
                     [self.lines[i] for i in pick], self.target, None if self.y is None else [self.y[i] for i in pick],
                     self.delimiter, self.header)


def read_csv(path, target=None, features=None, header: bool = True, delimiter: str | None = None,
             encoding: str = "utf-8", content: bytes | None = None) -> Table:
    """The Table of a CSV file (`content`: its bytes, read already); delimiter None: sniffed."""
    path = Path(path).expanduser()
    raw = csvtext.read_bytes(path) if content is None else content
    text = csvtext.decode(raw, str(path), encoding)
    return parse_csv(text, path, target, features, header, delimiter or csvtext.sniff(text, str(path)))


def parse_csv(text: str, path, target=None, features=None, header: bool = True, delimiter: str = ",") -> Table:
    """read_csv of the CSV `text` (read from `path`, which messages name)."""
    rows = list(csvtext.records(text, delimiter, str(path)))
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    if header:
        names = csvtext.names(rows[0][1])
        rows = rows[1:]
    else:
        names = [str(i) for i in range(len(rows[0][1]))]
    for number, row in rows:
        if len(row) != len(names):
            raise DataError(f"{path}:{number}: {len(row)} fields, but the {'header' if header else 'first row'} has "
                            f"{len(names)}" + (_delimiter_hint(delimiter) if len(names) == 1 or len(row) == 1 else ""))
    positions: dict[str, list[int]] = {}  # one pass: a header may have thousands of columns
    for i, name in enumerate(names):
        positions.setdefault(name, []).append(i)
    t = _column(path, names, positions, len(names) - 1 if target is None else target, header, "target")
    columns = [c for c in range(len(names)) if c != t] if features is None else \
        [_column(path, names, positions, f, header, "feature") for f in features]
    if t in columns:
        raise DataError(f"{path}: the target column {quoted(names[t])} is also listed as a feature")
    if not columns:
        raise DataError(f"{path}: no feature columns besides the target {quoted(names[t])}"
                        + _delimiter_hint(delimiter))
    _check_distinct(path, names, positions, [t, *columns])
    by_column = list(zip(*(row for _, row in rows))) if rows else [()] * len(names)  # one pass, in C
    y = [cell.strip() for cell in by_column[t]]
    empty = [number for (number, _), label in zip(rows, y) if not label]
    if empty:  # an empty cell would become a class "" (or fail as a number)
        raise DataError(f"{path}: the target column {quoted(names[t])} is empty in {_row_numbers(empty)} "
                        f"(counting the header as row 1): fill in or remove those rows")
    cells = [list(by_column[c]) for c in columns]  # as read: stripped where read as text (float() ignores spaces)
    return Table(str(path), [names[c] for c in columns], cells, [number for number, _ in rows], names[t], y, delimiter,
                 header)


def _delimiter_hint(delimiter: str) -> str:
    shown = "tab" if delimiter == "\t" else repr(delimiter)
    return f" (read with the delimiter {shown}: is it another? set data.delimiter)"


def _check_distinct(path, names: list[str], positions: dict, used: list[int]) -> None:
    """Each column read (the target and the features) has a name no other column of the header has:
    a checkpoint keeps the features' names, and predict and eval match a file's columns by them."""
    for c in used:
        same = positions[names[c]]
        if len(same) > 1:
            what = f"leaves the columns {_positions(same)} unnamed" if not names[c] else \
                f"names the columns {_positions(same)} alike, {quoted(names[c])}"
            raise DataError(f"{path}: the header {what} (counting from 1): give each column its own name, "
                            f"since a trained model matches a file's columns by name")


def _positions(columns: list[int]) -> str:
    """0-based column indices as '1 and 3', '1, 2 and 5' (counting from 1)."""
    shown = [str(c + 1) for c in columns]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _names(names: list[str]) -> str:
    """A file's column names for a message: the first few, each a short escaped excerpt."""
    shown = ", ".join(excerpt(n) for n in names[:SHOWN_COLUMNS])
    return shown + (f", … ({len(names)} columns)" if len(names) > SHOWN_COLUMNS else "")


def _row_numbers(numbers: list[int]) -> str:
    """'row 3', 'rows 3, 7 and 9', 'rows 3, 7, 9, 12, 15 and 20 more'."""
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    shown = ", ".join(str(n) for n in numbers[:SHOWN_ROWS])
    rest = len(numbers) - SHOWN_ROWS
    if rest > 0:
        return f"rows {shown} and {rest} more"
    head, _, last = shown.rpartition(", ")
    return f"rows {head} and {last}"


def _first_unusable(x: np.ndarray) -> tuple[int, int] | None:
    """The (row, column) of the first value that is NaN, infinite or beyond ±MAX_FEATURE, or None."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(x) <= MAX_FEATURE)  # NaN compares false, so it is caught too
    if not bad.any():
        return None
    i, j = np.argwhere(bad)[0]
    return int(i), int(j)


def _unusable(value: float) -> str:
    if not np.isfinite(value):
        return f"holds {value}, not a finite number"
    return (f"holds {value:g}, beyond ±{MAX_FEATURE:g}: too large to scale "
            f"(divide the column by a power of ten)")


def read_npz(path, x_key: str = "x", y_key: str = "y", content: bytes | None = None):
    """x: (n, n_features) float64 and the raw targets stored under two keys of a .npz file
    (`content`: its bytes, read already)."""
    path = Path(path).expanduser()
    try:
        with (files.open_capped(path, files.MAX_DATA_BYTES, DataError, "a .npz", files.DATA_TOO_BIG)
              if content is None else io.BytesIO(content)) as handle:
            npyfile.check(handle, path)  # before np.load allocates what a header claims
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise DataError(f"{path}: a single NumPy array, not a .npz file of named arrays")
            with loaded as f:
                keys = list(f.keys())
                for key in (x_key, y_key):
                    if key not in keys:
                        raise DataError(f"{path}: no array {quoted(key)} (arrays: {_names(keys) or 'none'})")
                x, y = f[x_key], f[y_key]
    except ValueError as e:  # object arrays would need pickle, which is never allowed
        raise DataError(f"{path}: cannot be read without pickle: {excerpt(e, 160)}") from None
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable .npz file ({excerpt(e, 160)})") from None
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise DataError(f"{path}: '{x_key}' must be a 2-D array of numbers, got {x.dtype} {x.shape}")
    if x.shape[1] == 0:
        raise DataError(f"{path}: '{x_key}' has {len(x)} rows of 0 columns: no features to learn from")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{path}: '{y_key}' must be 1-D with one target per row of '{x_key}' ({len(x)}), got shape "
                        f"{y.shape}")
    x = x.astype(np.float64)
    bad = _first_unusable(x)
    if bad is not None:
        i, j = bad
        raise DataError(f"{path}: {quoted(x_key)} row {i + 1}, column {j + 1} {_unusable(x[i, j])}")
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
    # offline, unknown name or id, no such column: all mean the data is not available
    except Exception as e:  # noqa: BLE001
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
            bad = next(v for v in raw if not is_number(v))
            raise DataError(f"{where}: the target holds {quoted(bad, 20)}, not a number, and the task is "
                            "regression") from None
        if not np.isfinite(y).all():
            raise DataError(f"{where}: the target holds nan or inf")
        return y, []
    labels = sorted(set(raw.tolist()), key=_label_order)
    if len(labels) < 2:
        raise DataError(f"{where}: the target has {len(labels)} distinct value(s); classification needs at least 2")
    if len(labels) > 10_000:
        raise DataError(f"{where}: the target has {len(labels)} distinct values; is this a regression task "
                        "(data.task)?")
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[v] for v in raw.tolist()], dtype=np.int64), [_json_label(v) for v in labels]


def is_number(value) -> bool:
    """Whether a cell reads as a number (what float() accepts)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def is_header(cells) -> bool:
    """A CSV's first row is a header when none of its cells is a number: the one rule of predict,
    eval --data and init."""
    return bool(cells) and not any(is_number(c) for c in cells)


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
