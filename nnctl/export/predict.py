"""Predictions of a model exported by `nnctl export --format numpy`. It needs NumPy and nothing else.

    python predict.py input.csv            # the predicted class (regression: value) of every row, in input order
    python predict.py --proba input.csv    # CSV: class, then p_<class> per class, as `nnctl predict` writes it
    python predict.py - < input.csv        # CSV on stdin

A CSV with a header has its columns matched by name with the model's feature columns, in any
order; the target column is left out (the last one, when the config left data.target to its default,
as training did); a missing or unknown column is an error that names it. A model trained on a CSV
reads each column as training read it: text categories (one never seen in training: no category,
and a warning naming the column and the value), missing cells (filled in as training learnt), the
training file's delimiter and decimal mark.
Rows without a header (and any rows of a model trained without column names) are read by
position. Exit codes as nnctl's: 0 done, 2 usage, 5 an input it cannot use (one line on stderr).

In Python, import the export folder as a package (its parent folder on sys.path): two exports
side by side are two packages, whatever their files are called.

    import churn_model                          # the folder churn_model/ that nnctl export wrote
    churn_model.predict(rows)                   # the class of each row (regression: its value)
    churn_model.predict_proba(rows)             # (n, classes) probabilities, in the order of classes()
    model = churn_model.load("elsewhere/model") # any export folder: a Model with the same methods

`rows` is a 2-D array of raw features in the order of feature_names() (the model's fitted scaling
is applied here), or named columns, matched by name: a dict of column -> values, a list of such
dicts (one per row), or a pandas DataFrame. A model trained on a CSV takes its cells as they are:
text, numbers, and None, NaN or a missing marker ('', NA, ...) where a value is missing. An image
model (`model.input_shape` (H, W, C)) takes each image as a row of its H*W*C values channels last
(images.reshape(n, -1) of (n, H, W, C) arrays), or the images themselves, (n, H, W, C) or, for one
channel, (n, H, W). model.npz, next to this file, holds the weights and the scaling (read without
pickle); its `spec` entry (JSON) lists the network's steps in order.
Every number is computed as nnctl computes it, in the model's dtype.
"""

import argparse
import csv
import io
import json
import math
import re
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = ["InputError", "Model", "UnseenValueWarning", "classes", "feature_names", "load", "predict", "predict_proba"]

HERE = Path(__file__).resolve().parent
# model.npz's spec: this file reads versions 1 to VERSION (3: a CSV's columns, 4: image steps)
FORMAT, VERSION = "nnctl-numpy-model", 4
BATCH_ROWS = 8192  # the network runs on this many rows at a time, as nnctl's Sequential.predict does

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
GELU_C = math.sqrt(2 / math.pi)  # Python floats: a NumPy float64 constant would turn float32 arrays into float64


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # exp of a negative argument only: no overflow
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, LEAKY_SLOPE * x),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
    "linear": lambda x: x,
    "elu": lambda x: np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(GELU_C * (x + 0.044715 * x**3))),  # the tanh form
    "softplus": lambda x: np.logaddexp(0, x),
    "silu": lambda x: x * _sigmoid(x),
}


def _dense(x, arrays, step):
    x = x @ arrays[step["name"] + ".W"]
    x += arrays[step["name"] + ".b"]
    return x


def _batchnorm(x, arrays, step):
    name = step["name"]
    inv_std = 1 / np.sqrt(arrays[name + ".running_var"] + step["epsilon"])
    return (x - arrays[name + ".running_mean"]) * inv_std * arrays[name + ".gamma"] + arrays[name + ".beta"]


# ---------------------------------------------------------------- images
# An image model's row holds its image's H*W*C values channels last: pixel by pixel, row by row, each
# pixel's channels together (numpy's images.reshape(n, -1) of (n, H, W, C) arrays). Its steps view
# the rows as images (n, H, W, C) and compute as nnctl does: a convolution as im2col, each window's
# values (kh, kw, C) a row of patches times W (kh, kw, C, F); `pads` are [top, left, bottom, right].

PATCH_VALUES = 1 << 22  # a convolution's patches are made this many values at a time (16 MB in float32)


def _padded(x, pads, fill=0.0):
    """Images x inside a border of `fill`, pads [top, left, bottom, right] wide (x itself without one)."""
    top, left, bottom, right = pads
    if not any(pads):
        return x
    n, h, w, c = x.shape
    out = np.full((n, h + top + bottom, w + left + right, c), fill, x.dtype)
    out[:, top:top + h, left:left + w] = x
    return out


def _windows(xp, size, strides, dilation=(1, 1)):
    """Every window's values in padded images xp, a view (n, height, width, C, kh, kw)."""
    (kh, kw), (sh, sw), (dh, dw) = size, strides, dilation
    view = np.lib.stride_tricks.sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    return view[:, ::sh, ::sw, :, ::dh, ::dw]


def _conv2d(x, arrays, step):
    W, b = arrays[step["name"] + ".W"], arrays[step["name"] + ".b"]
    W2 = W.reshape(-1, W.shape[3])  # (kh * kw * C, F)
    windows = _windows(_padded(x, step["pads"]), W.shape[:2], step["strides"], step["dilation"])
    n, height, width = windows.shape[:3]
    out = np.empty((n, height, width, W.shape[3]), x.dtype)
    rows = max(1, PATCH_VALUES // (height * width * len(W2)))
    for start in range(0, n, rows):
        part = windows[start:start + rows]
        z = out[start:start + rows].reshape(-1, W.shape[3])
        np.matmul(part.transpose(0, 1, 2, 4, 5, 3).reshape(len(z), -1), W2, out=z)
        z += b
    return out


def _maxpool2d(x, arrays, step):
    return _windows(_padded(x, step["pads"], -np.inf), step["pool_size"], step["strides"]).max(axis=(4, 5))


def _avgpool2d(x, arrays, step):
    """Each window's mean over the image's own values: the padding counts for nothing."""
    size, strides, pads = step["pool_size"], step["strides"], step["pads"]
    count = _windows(_padded(np.ones((1, *x.shape[1:3], 1), x.dtype), pads), size, strides).sum(axis=(4, 5))
    return _windows(_padded(x, pads), size, strides).sum(axis=(4, 5)) / count


# One entry per kind of step in the spec: how it computes its output from x.
STEPS = {"dense": _dense, "batchnorm": _batchnorm, "activation": lambda x, arrays, step: ACTIVATIONS[step["name"]](x),
         "images": lambda x, arrays, step: x.reshape(len(x), *step["shape"]),
         "conv2d": _conv2d, "maxpool2d": _maxpool2d, "avgpool2d": _avgpool2d,
         "global_avgpool2d": lambda x, arrays, step: x.reshape(len(x), -1, x.shape[3]).mean(axis=1),
         "flatten": lambda x, arrays, step: x.reshape(len(x), -1)}

# C0 controls but none kept, DEL, C1 controls, and the bidi overrides and isolates (which reorder what
# a terminal shows): a class name or a cell is printed with each escaped, as nnctl prints them
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """`text` with its control characters escaped (\\n, \\x1b, \\u202e): safe to print on a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        str(text))


class InputError(ValueError):
    """Rows or columns this model cannot take, said in one sentence."""


class UnseenValueWarning(UserWarning):
    """A text column held a value the model never saw in training (read as no category)."""


class Model:
    """An exported model: Model(folder) reads folder/model.npz."""

    def __init__(self, folder=HERE):
        path = Path(folder) / "model.npz"
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        spec = json.loads(str(arrays.pop("spec")))
        if spec.get("format") != FORMAT or not 1 <= spec.get("version", 0) <= VERSION:
            raise ValueError(f"{path}: not a model this predict.py reads ({spec.get('format')} version "
                             f"{spec.get('version')}); use the predict.py exported with it")
        self.spec, self.arrays = spec, arrays
        self.task, self.classes, self.n_features = spec["task"], spec["classes"], spec["n_inputs"]
        self.feature_names = spec.get("feature_names")  # None: the training data had no column names
        # a row's shape: (n_features,), or an image model's (H, W, C), its values in a row channels last
        self.input_shape = tuple(spec.get("input_shape") or [self.n_features])
        self.target = spec.get("target")
        self.table = spec.get("columns")  # a model of a CSV: how each column is read (version 3)
        self.ignored = set(spec.get("ignored") or [])  # columns of the training file the model leaves out
        if self.table is not None:
            self.n_features = len(self.table)
            self.missing = {m.strip().lower() for m in spec["missing_values"]}

    def predict(self, rows):
        """The predicted class of each row (integers, or text), or for regression its value in the
        target's own units ((n,) for one output, (n, outputs) for several)."""
        out = self.outputs(rows)
        if self.task == "regression":
            values = np.asarray(out, dtype=np.float64) * self.spec["target_std"] + self.spec["target_mean"]
            return values[:, 0] if values.shape[1] == 1 else values
        index = (out[:, 0] > 0.5).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)
        return np.asarray(self.classes)[index]

    def predict_proba(self, rows):
        """Class probabilities (n, classes), columns in the order of `classes`; one sigmoid unit gives both."""
        if self.task == "regression":
            raise InputError("a regression model has no class probabilities: use predict")
        out = self.outputs(rows)
        return np.hstack([1 - out, out]) if out.shape[1] == 1 else out

    def outputs(self, rows):
        """The network's outputs for raw rows, before any class decision."""
        dtype = self.spec["dtype"]
        x = self.rows(rows)
        x = np.array(self.encode(x) if self.table is not None else x, dtype=dtype, order="C", copy=True)
        scaling, arrays = self.spec["scaling"], self.arrays
        if scaling == "standard":
            x -= arrays["scaling.mean"].astype(dtype)
            x /= arrays["scaling.std"].astype(dtype)
        elif scaling == "pixels":
            x /= arrays["scaling.scale"].astype(dtype)
        return self.network(x)

    def network(self, x):
        """The steps on scaled rows x, BATCH_ROWS rows at a time as nnctl's predict takes them (so an
        image model's layer outputs for many rows are never all held at once)."""
        batches = [x[start:start + BATCH_ROWS] for start in range(0, len(x), BATCH_ROWS)] or [x]
        for i, batch in enumerate(batches):
            for step in self.spec["steps"]:
                batch = STEPS[step["kind"]](batch, self.arrays, step)
            batches[i] = batch
        return batches[0] if len(batches) == 1 else np.concatenate(batches)

    def rows(self, rows) -> np.ndarray:
        """`rows` as (n, n_features) float64 in the model's column order: an array as it is (an image
        model's images (n, H, W, C) flattened), named columns (a dict, records, a DataFrame) matched by
        name. InputError for anything else."""
        if isinstance(rows, (list, tuple)) and rows and all(hasattr(r, "keys") for r in rows):
            rows = _records_as_columns(rows)
        if hasattr(rows, "keys") and hasattr(rows, "__getitem__"):
            given = {str(k): k for k in rows.keys()}  # noqa: SIM118 (a pandas Series iterates its values, not its keys)
            names = self.columns(list(given))
            kind = object if self.table is not None else None
            cells = [np.atleast_1d(np.asarray(rows[given[name]], dtype=kind)) for name in names]
            if any(c.ndim != 1 for c in cells) or len({len(c) for c in cells}) > 1:
                raise InputError("every column must hold one value per row, and all as many rows")
            stacked = np.stack(cells, axis=1) if cells else np.empty((0, 0))
            return stacked if self.table is not None else _numbers(stacked, names)
        try:
            array = np.asarray(rows, dtype=object if self.table is not None else None)
        except ValueError:
            raise InputError("rows of different lengths: every row needs one value per feature") from None
        if array.ndim > 2 and array.shape[1:] in self.image_shapes():
            array = array.reshape(len(array), -1)  # images, each as its row of values channels last
        if array.ndim != 2 or array.shape[1] != self.n_features:
            images = " or ".join(f"(n, {', '.join(map(str, s))})" for s in self.image_shapes())
            raise InputError(f"expected rows of {self.n_features} features, a 2-D array (n, {self.n_features})"
                             + (f", or images {images}" if images else "") + f"; got shape {array.shape}"
                             + (" (for one row, pass [row])" if array.ndim == 1 else ""))
        return array if self.table is not None else _numbers(array, self.feature_names)

    def encode(self, cells, first_row: int = 1) -> np.ndarray:
        """A CSV model's cells (n, columns), in the order of feature_names(), as the network's inputs:
        each column read by its type as nnctl reads it (see the `columns` of model.npz's spec)."""
        blocks = []
        for c, r in enumerate(self.table):
            column = [self._cell(v) for v in cells[:, c].tolist()]
            blocks.append(ENCODERS[r["type"]](self, r, column, first_row))
        return np.hstack(blocks) if blocks else np.empty((len(cells), 0))

    def _cell(self, value):
        """A cell as nnctl reads it: None when missing (None, NaN, a missing marker), else stripped text
        (a number as it prints: read back as the same number)."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        text = (repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)).strip()
        return None if text.lower() in self.missing else text

    def number(self, r, text, row: int) -> float:
        """A numeric column's cell as a float (the training file's decimal mark read)."""
        decimal = self.spec.get("decimal", ".")
        try:
            value = float(text.replace(decimal, ".") if decimal != "." else text)
        except ValueError:
            raise InputError(f"row {row}, column {r['name']!r}: {printable(text[:40])!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"row {row}, column {r['name']!r}: {printable(text[:40])!r} is not a finite number")
        return value

    def image_shapes(self) -> list:
        """The shapes of one image this model also takes in place of a row: (H, W, C), channels last,
        and (H, W) for one channel; none for a model of rows."""
        if len(self.input_shape) != 3:
            return []
        return [self.input_shape] + ([self.input_shape[:2]] if self.input_shape[2] == 1 else [])

    def columns(self, given: list) -> list:
        """The given column names to read, in the model's order; InputError naming the missing or
        unknown ones. A model trained without names takes the columns as they come."""
        names = self.feature_names
        if names is None:
            if len(given) != self.n_features:
                raise InputError(f"expected {self.n_features} columns, got {len(given)}")
            return given
        repeated = sorted({g for g in given if given.count(g) > 1})
        missing = [n for n in names if n not in given]
        unknown = [g for g in given if g not in names and g != self.target and g not in self.ignored]
        if repeated or missing or unknown:
            problems = [f"the column {_names(repeated)} is given more than once"] if repeated else []
            problems += [f"missing {_names(missing)}"] if missing else []
            problems += [f"unknown {_names(unknown)}"] if unknown else []
            raise InputError(f"{'; '.join(problems)}: the model was trained on the columns {_names(names)}, matched "
                             f"by name in any order")
        return list(names)


def _numeric(model, r, column, first_row):
    values = np.array([np.nan if v is None else model.number(r, v, first_row + i) for i, v in enumerate(column)])
    missing = np.isnan(values)
    filled = np.where(missing, r["fill"], values)
    return np.column_stack([filled, missing]) if r["indicator"] else filled[:, None]


def _binary(model, r, column, first_row):
    low, high = r["values"]
    _warn_unseen(r, [v for v in column if v is not None and v not in (low, high)], f"{r['fill']:.3g}, the training "
                 f"share of {high!r}")
    return np.array([[1.0 if v == high else 0.0 if v == low else r["fill"]] for v in column])


def _categorical(model, r, column, first_row):
    index = {c: i for i, c in enumerate(r["categories"])}
    width = len(index) + r["other"] + r["missing"]
    block = np.zeros((len(column), width))
    for i, v in enumerate(column):
        at = (width - 1 if r["missing"] else -1) if v is None else index.get(v, len(index) if r["other"] else -1)
        if at >= 0:
            block[i, at] = 1.0
    if not r["other"]:
        _warn_unseen(r, [v for v in column if v is not None and v not in index], "no category (all zeros)")
    return block


def _warn_unseen(r, unseen: list, read_as: str) -> None:
    if unseen:
        warnings.warn(f"column {printable(repr(r['name']))}: {len(unseen)} value{'s' if len(unseen) > 1 else ''} the "
                      f"model never saw in training, such as {printable(repr(unseen[0][:40]))}: read as {read_as}",
                      UnseenValueWarning, stacklevel=4)


# One entry per type of column (a model of a CSV): its cells (None where missing) as the network's inputs.
ENCODERS = {"numeric": _numeric, "binary": _binary, "categorical": _categorical}


def _names(names: list) -> str:
    shown = ", ".join(repr(n) for n in names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _records_as_columns(records) -> dict:
    keys = list(dict.fromkeys(k for record in records for k in record.keys()))  # noqa: SIM118
    for number, record in enumerate(records, 1):
        absent = [k for k in keys if k not in record]
        if absent:
            raise InputError(f"record {number} has no {_names(absent)}")
    return {k: [record[k] for record in records] for k in keys}


def _numbers(array, names, first_row: int = 1) -> np.ndarray:
    """The cells as float64; InputError naming the first cell that is not a finite number."""
    try:
        values = np.asarray(array, dtype=np.float64)
        if np.isfinite(values).all():
            return values
    except (ValueError, TypeError):
        pass
    for r, row in enumerate(np.asarray(array, dtype=object).tolist()):
        for c, cell in enumerate(row):
            try:
                ok = math.isfinite(float(cell))
            except (ValueError, TypeError):
                ok = False
            if not ok:
                column = repr(names[c]) if names else str(c + 1)
                raise InputError(f"row {r + first_row}, column {column}: {str(cell)[:40]!r} is not a finite number")
    raise InputError("the rows are not numbers")


# ---------------------------------------------------------------- the command line


def is_header(cells: list) -> bool:
    """A first row is a header when none of its cells is a number."""
    def number(cell):
        try:
            float(cell)
            return True
        except ValueError:
            return False
    return bool(cells) and not any(number(c) for c in cells)


def read_csv(text: str, model: Model, header=None, delimiter=None) -> np.ndarray:
    """The rows of CSV `text` as the model's features: columns by name when there is a header and the
    model knows its columns' names, else by position. Rows count from 1, the header included. A
    model of a CSV gets the cells themselves, as text (read_cells)."""
    delimiter = delimiter or model.spec.get("delimiter", ",")
    if model.table is not None:
        return read_cells(text, model, header, delimiter)
    first_end = text.find("\n")
    first = text if first_end < 0 else text[:first_end]
    cells = first_cells = [c.strip() for c in next(csv.reader([first], delimiter=delimiter), [])]
    if header is None:
        header = is_header(cells)
    body, start = (text[first_end + 1:] if first_end >= 0 else "", 2) if header else (text, 1)
    if header and model.feature_names is not None:
        if model.target is None and model.spec.get("target_last") and cells and cells[-1] not in model.feature_names:
            # trained with the default target, the last column: a file laid out as the training file has it there
            print(f"note: leaving out the last column {printable(repr(cells[-1]))}, the target's place in training",
                  file=sys.stderr)
            cells = cells[:-1]
        names = model.columns(cells)
        wanted = [cells.index(n) for n in names]
    else:
        names, wanted = model.feature_names, list(range(model.n_features))
    width = len(first_cells) if header and model.feature_names is not None else model.n_features
    if not body.strip():
        raise InputError("no rows to predict")
    every = wanted == list(range(width))  # else loadtxt does not count the cells it skips: counted here
    try:  # NumPy's C reader first; only when it refuses is the text walked in Python, to name the bad cell
        values = np.loadtxt(io.StringIO(body), delimiter=delimiter, usecols=None if every else wanted, ndmin=2,
                            dtype=np.float64, comments=None)
        if len(values) and np.isfinite(values).all() and (every or _widths_agree(body, delimiter, width)):
            return values
    except ValueError:
        pass
    return _walk(body, delimiter, wanted, width, names, start)


def read_cells(text: str, model: Model, header, delimiter: str) -> np.ndarray:
    """A model of a CSV: the cells of its columns (n, columns), stripped text, matched by name when
    the first row is a header (it names every column the model reads, or holds no number), else
    by position; the numbers are checked here, so that an error names the file's row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, start = [], 1
    for row in reader:
        if row and "".join(row).strip():
            rows.append((start, row))
        start = reader.line_num + 1
    names = model.feature_names
    first = [c.strip() for c in rows[0][1]] if rows else []
    if header is None:
        header = (names is not None and set(names) <= set(first)) or is_header(first)
    if names is None:  # trained on a file without a header: by position (a header row skipped)
        names, rows = [r["name"] for r in model.table], rows[1:] if header else rows
        positions, width = list(range(len(names))), len(names)
    elif header and rows:
        model.columns(first)  # InputError for a missing, unknown or repeated column
        positions, width, rows = [first.index(n) for n in names], len(first), rows[1:]
    else:
        positions, width = list(range(len(names))), len(names)
    if not rows:
        raise InputError("no rows to predict")
    cells = []
    for number, row in rows:
        if len(row) != width:
            raise InputError(f"row {number}: {len(row)} values, expected {width}"
                             + (f" (read with the delimiter {delimiter!r}: pass --delimiter?)" if len(row) == 1
                                else ""))
        cells.append([row[p].strip() for p in positions])
    array = np.array(cells, dtype=object).reshape(len(cells), len(names))
    for c, r in enumerate(model.table):
        if r["type"] == "numeric":
            for (number, _), value in zip(rows, array[:, c].tolist()):
                cell = model._cell(value)
                if cell is not None:
                    model.number(r, cell, number)
    return array


def decode(raw: bytes, model: Model) -> str:
    """A CSV's bytes as text: UTF-16 when a byte-order mark says so, else the training file's encoding
    (UTF-8 with or without a byte-order mark by default)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    encoding = model.spec.get("encoding", "utf-8")
    return raw.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)


def _widths_agree(body: str, delimiter: str, width: int) -> bool:
    """Whether every row has `width` cells, by counting delimiters (a quoted one sends the rows to _walk)."""
    return all(line.count(delimiter) == width - 1 for line in body.splitlines() if line.strip())


def _walk(body: str, delimiter: str, wanted: list, width: int, names, start: int) -> np.ndarray:
    """The rows read cell by cell (when NumPy's reader refused them): InputError at the first bad one."""
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(body), delimiter=delimiter), start):
        if not row or not "".join(row).strip():
            continue
        if len(row) != width:
            raise InputError(f"row {number}: {len(row)} values, expected {width}")
        rows.append([row[i].strip() for i in wanted])
        _numbers([rows[-1]], names, first_row=number)
    if not rows:
        raise InputError("no rows to predict")
    return np.asarray(rows, dtype=np.float64)


def csv_line(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([printable(c) for c in cells])
    return buffer.getvalue()


def lines(model: Model, x: np.ndarray, proba: bool):
    """What the command prints for rows x: one class (or value) per row; with `proba`, CSV."""
    if model.task == "regression":
        for value in model.predict(x).tolist():
            yield ",".join(repr(v) for v in value) if isinstance(value, list) else repr(value)
        return
    labels = model.predict(x).tolist()
    if not proba:
        yield from (printable(label) for label in labels)
        return
    yield csv_line(["class"] + [f"p_{c}" for c in model.classes])
    for label, p in zip(labels, model.predict_proba(x).tolist()):
        yield csv_line([label]) + "," + ",".join(f"{v:.6g}" for v in p)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="predict.py", description="Predict the rows of a CSV file with this "
                                     "exported nnctl model: one class (or value) per row, in input order.")
    parser.add_argument("input", help="a CSV file, or - for CSV on stdin")
    parser.add_argument("--proba", action="store_true", help="print CSV: the class, then its probability per class")
    parser.add_argument("--header", dest="header", action="store_true", default=None, help="the first row is a header")
    parser.add_argument("--no-header", dest="header", action="store_false", help="the first row is data")
    parser.add_argument("--delimiter", help="the field separator, e.g. ';' or tab (default: the training file's)")
    args = parser.parse_args(argv)
    delimiter = "\t" if args.delimiter in ("tab", "\\t") else args.delimiter
    if delimiter is not None and len(delimiter) != 1:
        parser.error(f"--delimiter: expected one character, such as ';' or tab, got {delimiter!r}")
    name = "<stdin>" if args.input == "-" else args.input
    try:
        model = Model(HERE)
        if args.proba and model.task == "regression":
            parser.error("--proba: a regression model has no class probabilities")
        raw = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
        x = read_csv(decode(raw, model), model, args.header, delimiter)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", UnseenValueWarning)
            sys.stdout.write("".join(line + "\n" for line in lines(model, x, args.proba)))
        for warning in seen:
            print(f"warning: {printable(name)}: {warning.message}", file=sys.stderr)
    except InputError as e:
        print(f"error: {printable(name)}: {printable(e)}", file=sys.stderr)
        return 5
    except UnicodeDecodeError as e:
        print(f"error: {printable(name)}: not a text CSV file (byte {e.start} is not {e.encoding})", file=sys.stderr)
        return 5
    except OSError as e:
        print(f"error: {printable(e.filename or name)}: {printable(e.strerror or e)}", file=sys.stderr)
        return 5
    return 0


# ---------------------------------------------------------------- this folder's own model


_own = None


def _model() -> Model:
    global _own
    if _own is None:
        _own = Model(HERE)
    return _own


def load(folder=HERE) -> Model:
    """The model of an export folder (default: this one)."""
    return Model(folder)


def predict(rows):
    """The predicted class (regression: value) of each of `rows`, by this folder's model."""
    return _model().predict(rows)


def predict_proba(rows):
    """Class probabilities (n, classes) of `rows`, by this folder's model."""
    return _model().predict_proba(rows)


def classes():
    """The class values, in the order of predict_proba's columns (None for regression)."""
    return _model().classes


def feature_names():
    """The feature columns' names in the model's input order (None: trained without names)."""
    return _model().feature_names


if __name__ == "__main__":
    sys.exit(main())
