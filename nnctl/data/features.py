"""Feature rows for `predict`: CSV (with or without a header), .npy or .npz, checked cell by cell.

Rows and columns in messages count from 1 as in a spreadsheet: the header, when there is one,
is row 1. Reading is NumPy's C parser; only when it fails is the text walked again, in Python,
to name the first bad cell. A model trained on a CSV since nnctl typed columns reads its rows
with `read_table`: columns by name, each cell by its column's type, encoded as in training.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import numpy as np

from .. import files
from ..errors import DataError
from ..printable import excerpt, quoted
from . import csvtext, npyfile
from .tabular import Table, is_header


def read_table(source: str, record: dict, *, target: str | None = None, header: bool | None = None,
               delimiter: str | None = None, text: str | None = None, dtype="float64") -> tuple[np.ndarray, list]:
    """(x, notes) of the CSV `source` (or `text`, e.g. stdin) for a model whose checkpoint holds
    the table `record` (preprocessing["table"]): a header's columns matched by name in any order
    (the `target` and columns the model left out are skipped, any other is named in a note);
    without a header, the model's columns in training order. Each column is read by its type and
    encoded as in training; notes (kind "unknown" or "missing", text) say what was filled in and
    which values training never saw. `delimiter`: default the training file's."""
    from . import encoding
    from .prepare import Prepared

    name = source if source != "-" else "<stdin>"
    if text is None:
        text = csvtext.read(source, encoding=record["encoding"])
    delimiter = delimiter or record["delimiter"]
    used = [r["name"] for r in record["columns"] if r["type"] != "ignore"]
    first = csvtext.header(text, delimiter, name)
    if header is None:
        header = set(used) <= set(first.names) or is_header(first.names)
    notes = []
    if header:
        positions, notes = _by_name(first.names, used, record, target, name)
    elif first.names and len(first.names) != len(used):
        raise DataError(f"{name}: row 1 has {_values(len(first.names))}; without a header the model reads "
                        f"{len(used)} columns in training order ({', '.join(excerpt(n, 20) for n in used[:10])}"
                        f"{', …' if len(used) > 10 else ''}): give the file a header to match columns by name")
    else:
        positions = list(range(len(used)))
    width = len(first.names) if header else len(used)
    numbers = _numbers_at_once(text, record, first.lines if header else 0, positions, width, delimiter)
    if numbers is not None:  # a table of numbers, every cell given
        x, found = encoding.encode(record["columns"], dict(zip(used, numbers.T)), len(numbers))
        return x.astype(dtype), notes + encoding.notes(found, record["columns"], name)
    rows = list(csvtext.records(text, delimiter, name))[1 if header else 0:]
    if not rows:
        raise DataError(f"{name}: empty input: no rows of features")
    for number, cells in rows:
        if len(cells) != width:
            raise DataError(f"{name}: row {number}: {_values(len(cells))}, but the "
                            f"{'header' if header else 'first row'} "
                            f"has {width}"
                            + (f" (read with the delimiter {delimiter!r}: pass --delimiter?)" if len(cells) == 1
                               else ""))
    table = Table(name, used, [[cells[p].strip() for _, cells in rows] for p in positions], [n for n, _ in rows])
    settings = {k: record[k] for k in ("delimiter", "decimal", "encoding", "missing_values")}
    prepared = Prepared.of(table, settings, record, drop=False)
    x, _, found = prepared.encode(record)
    return x.astype(dtype), notes + encoding.notes(found, record["columns"], name)


def _numbers_at_once(text: str, record: dict, skip: int, positions: list[int], width: int,
                     delimiter: str) -> np.ndarray | None:
    """The columns at `positions` read by NumPy's C parser when the model reads numbers alone and
    every row is `width` plain cells of finite numbers (no quotes, no missing cell); else None, and
    the rows are read cell by cell (which names the first bad one)."""
    if record["decimal"] != "." or any(r["type"] not in ("numeric", "ignore") for r in record["columns"]) \
            or '"' in text:
        return None
    lines = [line for line in text.splitlines()[skip:] if line.strip()]
    if not lines or any(line.count(delimiter) != width - 1 for line in lines):
        return None
    try:
        x = np.loadtxt(lines, delimiter=delimiter, usecols=positions, dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    return x if len(x) == len(lines) and np.isfinite(x).all() else None


def _by_name(cells: list[str], used: list[str], record: dict, target, name: str) -> tuple[list[int], list]:
    """The header positions of the columns `used`, in order, and a note of the columns left unread."""
    index: dict[str, int] = {}
    for column, cell in enumerate(cells):
        index.setdefault(cell, column)
    missing = [n for n in used if n not in index]
    if missing:
        shown = ", ".join(quoted(n, 30) for n in missing[:10]) + (", …" if len(missing) > 10 else "")
        raise DataError(f"{name}: missing the column{'s' if len(missing) > 1 else ''} {shown}, which the model was "
                        f"trained on (the header names {', '.join(excerpt(c, 30) for c in cells[:10])}"
                        f"{', …' if len(cells) > 10 else ''}); columns are matched by name")
    wanted = set(used)
    twice = sorted({c for column, c in enumerate(cells) if index[c] != column and c in wanted})
    if twice:
        raise DataError(f"{name}: the header names the column {quoted(twice[0], 30)} more than once")
    known = wanted | {r["name"] for r in record["columns"]} | ({target} if target is not None else set())
    extra = [c for c in cells if c not in known]
    notes = [("extra", (f"{name}: ignoring the column{'s' if len(extra) > 1 else ''} "
                       f"{', '.join(quoted(c, 30) for c in extra[:10])}{', …' if len(extra) > 10 else ''}, "
                       f"which the model was not trained on"))] if extra else []
    return [index[n] for n in used], notes


def read(source: str, n_features: int, *, header: bool | None = None, image_shape: tuple | None = None,
         text: str | None = None, dtype="float64", delimiter: str | None = ",") -> np.ndarray:
    """The (n, n_features) `dtype` rows of `source`: a .npy/.npz/CSV path, or `text` (CSV, e.g.
    stdin); `delimiter` None: sniffed."""
    if text is None:
        path = Path(source)
        if path.suffix.lower() in (".npy", ".npz"):
            return _read_array(path, n_features, image_shape).astype(dtype, copy=False)
        text = csvtext.read(path)
    name = source if source != "-" else "<stdin>"
    return read_csv(text, n_features, name=name, header=header, dtype=dtype,
                    delimiter=delimiter or csvtext.sniff(text, name))


def read_named(source: str, names: list[str], *, target: str | None = None, header: bool | None = None,
               image_shape: tuple | None = None, text: str | None = None,
               dtype="float64", delimiter: str = ",") -> tuple[np.ndarray, list]:
    """Like `read`, for a model trained on a CSV whose columns had `names`: a CSV with a header
    has its columns matched by name, in any order; the `target` column, if present, and any other
    column are left out, the others named in the returned notes. A missing column is a DataError.
    Returns (rows, notes)."""
    n_features = len(names)
    if text is None and Path(source).suffix.lower() in (".npy", ".npz"):
        return read(source, n_features, image_shape=image_shape, dtype=dtype), []
    if text is None:
        text = csvtext.read(source)
    name = source if source != "-" else "<stdin>"
    first = csvtext.header(text, delimiter, name)
    cells = first.names
    if header is None:
        header = is_header(cells)
    if not header or cells == list(names):
        return read_csv(text, n_features, name=name, header=header, dtype=dtype, delimiter=delimiter), []
    index = {}  # each name's first column: a header of thousands of columns is matched in one pass
    for column, cell in enumerate(cells):
        index.setdefault(cell, column)
    missing = [n for n in names if n not in index]
    if missing:
        shown = ", ".join(quoted(n, 30) for n in missing[:10]) + (", …" if len(missing) > 10 else "")
        raise DataError(f"{name}: missing the column{'s' if len(missing) > 1 else ''} {shown}, which the model was "
                        f"trained on (the header names {', '.join(excerpt(c, 30) for c in cells[:10])}"
                        f"{', …' if len(cells) > 10 else ''}); columns are matched by name")
    wanted_names = set(names)
    duplicated = sorted({c for column, c in enumerate(cells) if index[c] != column and c in wanted_names})
    if duplicated:
        raise DataError(f"{name}: the header names the column {quoted(duplicated[0], 30)} more than once")
    extra = [c for c in cells if c not in wanted_names and c != target]
    notes = [("extra", (f"{name}: ignoring the column{'s' if len(extra) > 1 else ''} "
                       f"{', '.join(quoted(c, 30) for c in extra[:10])}{', …' if len(extra) > 10 else ''}, "
                       f"which the model was not trained on"))] if extra else []
    wanted = [index[n] for n in names]
    return _read_columns(text, first, wanted, name, dtype, delimiter), notes


def _read_columns(text: str, first: csvtext.Header, wanted: list[int], name: str, dtype, delimiter: str) -> np.ndarray:
    """The columns `wanted` (0-based, in this order) of CSV text with the header `first`."""
    rows = csvtext.records(text, delimiter, name)
    next(rows, None)  # the header
    if next(rows, None) is None:
        raise DataError(f"{name}: empty input: no rows of features")
    cells = first.names
    try:
        x = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=first.lines, dtype=dtype, ndmin=2,
                       comments=None,
                       quotechar='"', usecols=wanted)
        if np.isfinite(x).all():
            return x
    except ValueError:
        pass
    largest = float(np.finfo(dtype).max)
    rows = csvtext.records(text, delimiter, name)
    next(rows, None)
    for number, row in rows:
        if len(row) != len(cells):
            raise DataError(f"{name}: row {number}: {_values(len(row))}, but the header has {len(cells)}")
        for column in wanted:
            cell = row[column].strip()
            where = f"row {number}, column {column + 1} ({excerpt(cells[column], 30)})"
            try:
                value = float(cell)
            except ValueError:
                raise DataError(f"{name}: {where}: {quoted(cell, 20)} is not a number") from None
            if not math.isfinite(value) or abs(value) > largest:
                raise DataError(f"{name}: {where}: {excerpt(cell, 20)} is not a finite number of the model's floats")
    raise DataError(f"{name}: cannot be read as rows of numbers separated by {_separator(delimiter)}")


def _separator(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}.get(delimiter, repr(delimiter))


def read_csv(text: str, n_features: int, name: str = "<csv>", header: bool | None = None, dtype="float64",
             delimiter: str = ",") -> np.ndarray:
    """CSV text -> (n, n_features) `dtype`. `header` None: the first row is a header when none of its cells is a number.

    Each cell is parsed as a double and then cast, so float32 gives the same numbers as
    float64 followed by the model's cast, only faster.
    """
    first = csvtext.header(text, delimiter, name)
    if header is None:
        header = is_header(first.names)
    rows = csvtext.records(text, delimiter, name)
    if header:
        next(rows, None)
    if next(rows, None) is None:
        raise DataError(f"{name}: empty input: no rows of features")
    try:
        x = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=first.lines if header else 0,
                       dtype=dtype, ndmin=2,
                       comments=None, quotechar='"')
    except ValueError:
        x = None
    if x is None or x.shape[1] != n_features or not np.isfinite(x).all():
        problem = _first_problem(text, n_features, header, float(np.finfo(dtype).max), name, delimiter)
        if problem.startswith("row 1,") and problem.endswith("is not a number") and not header:
            problem += " (if row 1 is a header, pass --header)"
        raise DataError(f"{name}: {problem}")
    return x


def _first_problem(text: str, n_features: int, header: bool, largest: float, name: str, delimiter: str) -> str:
    """Where the first bad cell is: 'row 4, column 2: 'abc' is not a number' and the like."""
    rows = csvtext.records(text, delimiter, name)
    if header:
        next(rows, None)
    for number, cells in rows:
        for column, cell in enumerate(cells[:n_features], 1):
            try:
                value = float(cell)
            except ValueError:
                return f"row {number}, column {column}: {quoted(cell.strip(), 20)} is not a number"
            if not math.isfinite(value):
                return f"row {number}, column {column}: {excerpt(cell.strip(), 20)} is not a finite number"
            if abs(value) > largest:
                return f"row {number}, column {column}: {excerpt(cell.strip(), 20)} is too large for the model's floats"
        if len(cells) < n_features:
            hint = f" (read with the delimiter {delimiter!r}: pass --delimiter?)" if len(cells) == 1 else ""
            return (f"row {number}, column {len(cells) + 1}: missing; the row has {_values(len(cells))} "
                    f"and the model takes {n_features}{hint}")
        if len(cells) > n_features:
            return (f"row {number}, column {n_features + 1}: one value too many; the row has {_values(len(cells))} "
                    f"and the model takes {n_features}")
    return f"cannot be read as rows of numbers separated by {_separator(delimiter)}"


def _read_array(path: Path, n_features: int, image_shape: tuple | None) -> np.ndarray:
    """A .npy array, or the array `x` (or the only array) of a .npz file, as (n, n_features) float64."""
    try:
        with files.open_capped(path, files.MAX_DATA_BYTES, DataError, f"a {path.suffix}", files.DATA_TOO_BIG) as handle:
            npyfile.check(handle, path)  # before np.load allocates what a header claims
            loaded = np.load(handle, allow_pickle=False)
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    keys = list(loaded.keys())
                    if "x" not in keys and len(keys) != 1:
                        shown = ", ".join(excerpt(k) for k in keys[:10]) + (", …" if len(keys) > 10 else "")
                        raise DataError(f"{path}: holds the arrays {shown or '(none)'}; "
                                        f"name the features 'x' or keep one array")
                    x = loaded["x" if "x" in keys else keys[0]]
            else:
                x = loaded
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a NumPy {path.suffix} file of numbers ({excerpt(e, 160)})") from None
    shapes = _image_shapes(image_shape)
    if x.ndim > 2 and x.shape[1:] in shapes:
        x = x.reshape(len(x), -1)  # images as (n, 28, 28) or (n, 28, 28, 1)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise DataError(f"{path}: an array of shape {x.shape}; the model takes (rows, {n_features})"
                        + "".join(f" or (rows, {', '.join(map(str, shape))})" for shape in shapes))
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise DataError(f"{path}: holds {x.dtype} values, not real numbers")
    if len(x) == 0:
        raise DataError(f"{path}: empty input: no rows of features")
    x = x.astype(np.float64)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        row, column = bad[0]
        raise DataError(f"{path}: row {row + 1}, column {column + 1}: {x[row, column]} is not a finite number")
    return x


def _image_shapes(image_shape: tuple | None) -> list[tuple]:
    """The shapes an array's image may have: (H, W, C), and (H, W) for one channel."""
    if image_shape is None:
        return []
    shape = tuple(image_shape)
    return [shape[:2], shape] if len(shape) == 3 and shape[2] == 1 else [shape]


def _values(n: int) -> str:
    return f"{n} value" if n == 1 else f"{n} values"
