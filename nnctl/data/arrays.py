"""Arrays given in memory (the model API's fit(x, y)) as a data set, split and scaled exactly as
`data.load` splits and scales an .npz file holding them: a model trained on the arrays and a
config naming such a file train to the same bits.

`IN_MEMORY` is the data.path a config records for rows that were given in memory (the model
API's, the scikit-learn estimators'): no file holds them, and what would read one says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from . import Dataset, _split, inputs
from .scaling import (
    apply_preprocessing,
    check_fitted,
    check_scaled,
    fit_preprocessing,
    fit_target_scaling,
    scale_target,
)
from .tabular import _first_unusable, _json_label, _unusable, targets

IN_MEMORY = "fit(X, y).npz"
SOURCE = "fit(x, y)"  # how messages name arrays given in memory


def in_memory(data_cfg) -> bool:
    """Whether a data config (or a data section, a dict) names the rows a model was given in memory
    (IN_MEMORY), not a file."""
    path = data_cfg.get("path") if isinstance(data_cfg, dict) else getattr(data_cfg, "path", None)
    return isinstance(path, str) and Path(path).name == IN_MEMORY


def features(x, name: str = "x") -> tuple[np.ndarray, tuple | None]:
    """x as rows of float64 (n, features), as an .npz file's x is read, and the image shape
    (height, width, channels) of x given as images, (n, H, W) or (n, H, W, C); None for rows."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{name} must hold numbers, got an array of {x.dtype}")
    if not 2 <= x.ndim <= 4:
        raise DataError(f"{name} must be rows of features (n, features) or images (n, height, width[, channels]), "
                        f"got an array of shape {x.shape}")
    if x.size == 0:
        raise DataError(f"{name} has shape {x.shape}: no values to learn from")
    image = None if x.ndim == 2 else tuple(int(d) for d in x.shape[1:]) + ((1,) if x.ndim == 3 else ())
    rows = x.reshape(len(x), -1).astype(np.float64)
    bad = _first_unusable(rows)
    if bad is not None:
        i, j = bad
        raise DataError(f"{name}: row {i + 1}, value {j + 1} {_unusable(rows[i, j])}")
    return rows, image


def labels(y, task: str, n_rows: int, name: str = "y") -> np.ndarray:
    """y as the raw targets of an .npz file: one per row, (n,); a one-hot (n, classes) matrix (Keras'
    categorical targets) as the class of each row. DataError for a classifier's label that is no
    whole number nor text (a float such as 0.5)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and task == "classification":
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise DataError(f"{name} has shape {y.shape}: a classifier takes one label per row, or one-hot rows "
                            f"(a single 1 in each); these rows are not one-hot")
        y = np.argmax(y, axis=1)
    if y.ndim != 1:
        raise DataError(f"{name} must hold one target per row, (n,), got an array of shape {y.shape}")
    if len(y) != n_rows:
        raise DataError(f"x has {n_rows} rows and {name} has {len(y)} targets: give one target per row")
    if y.dtype == object:
        y = y.astype(str)
    if task == "classification" and y.dtype.kind == "f":
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            raise DataError(f"{name} holds {y[~whole][0].item()!r}, not a class label: a classifier's labels are whole "
                            f"numbers or text; for a regression, compile with loss='mse' (or mae, huber)")
    return y


def load(data_cfg, seed: int, dtype: str, x, y, validation=None, image_shape: tuple | None = None) -> Dataset:
    """The arrays (x, y) as data.load gives an .npz file holding them with the settings of
    `data_cfg` (an npz data config: task, scaling, target_scaling, test_fraction, val_fraction),
    and `seed`. `validation`: (x, y) of validation rows given apart (Keras' validation_data;
    data_cfg.val_fraction is then 0), scaled by what the training rows fitted. `image_shape`: how
    each row is an image when x holds rows (x's own shape, when it holds images)."""
    task, regression = data_cfg.task, data_cfg.task == "regression"
    rows, shape = features(x)
    raw, classes = targets(labels(y, task, len(rows)), task, f"{SOURCE}: y")
    train, val, test = _split(raw, data_cfg, seed, regression)  # data.load's: the test rows, then the validation rows
    parts = {"train": (rows, train), "val": (rows, val), "test": (rows, test)}
    val_y = raw[val]
    if validation is not None:
        x_val, y_val = validation
        val_rows, _ = features(x_val, "validation_data's x")
        if val_rows.shape[1] != rows.shape[1]:
            raise DataError(f"validation_data's x has {val_rows.shape[1]} values a row, and x {rows.shape[1]}")
        parts["val"] = (val_rows, np.arange(len(val_rows)))
        val_y = _validation_targets(y_val, task, classes, len(val_rows))
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond the dtype are named by the checks below
        preprocessing = fit_preprocessing(rows[train], data_cfg.scaling)
        check_fitted(rows[train], preprocessing, SOURCE)
        preprocessing["inputs"] = inputs.fit(rows[train], None)
        if regression:
            preprocessing["target"] = fit_target_scaling(raw[train], data_cfg.target_scaling)
        xs = {name: apply_preprocessing(part[index], preprocessing, dtype) for name, (part, index) in parts.items()}
    for name, (part, index) in parts.items():
        check_scaled(part, index, xs[name], SOURCE, dtype)
    ys = {"train": raw[train], "val": val_y, "test": raw[test]}
    ys = {name: scale_target(t, preprocessing, dtype) if regression else t.astype(np.int64) for name, t in ys.items()}
    return Dataset("npz", task, classes, xs["train"], ys["train"], xs["val"], ys["val"], xs["test"], ys["test"],
                   preprocessing, shape or image_shape, SOURCE)


def _validation_targets(y, task: str, classes: list, n_rows: int) -> np.ndarray:
    """validation_data's targets: values for a regression, else the indices of y's classes."""
    y = labels(y, task, n_rows, "validation_data's y")
    if task == "regression":
        return targets(y, task, f"{SOURCE}: validation_data's y")[0]
    return indices(y, classes, "validation_data's y")


def indices(y: np.ndarray, classes: list, name: str) -> np.ndarray:
    """The labels y (from `labels`) as indices of a model's `classes` (DataError for a class it has not)."""
    index = {label: i for i, label in enumerate(classes)}
    found = [_json_label(value) for value in y.tolist()]  # each label as targets() names the classes
    unknown = next((label for label in found if label not in index), None)
    if unknown is not None:
        raise DataError(f"{name} holds the class {unknown!r}, which the model does not know: it learnt only the "
                        "classes it was trained on "
                        f"({', '.join(map(repr, classes[:10]))}{', …' if len(classes) > 10 else ''})")
    return np.array([index[label] for label in found], dtype=np.int64)
