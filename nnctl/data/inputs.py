"""What the training inputs looked like, kept in the checkpoint (preprocessing["inputs"]): the feature
columns' names, when the data had them (a CSV's header), and each feature's min and max on the
training split. `predict` matches a CSV's columns by these names, and warns when its rows lie far
outside these ranges (rows scaled already, or another file's columns).

Checkpoints written before this was recorded have no "inputs": nothing is matched or checked.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError
from ..printable import excerpt

FAR = 0.01  # warn when more than this share of the values lies beyond the range by more than its width
SHRUNK = 0.1  # warn when the rows' whole spread is less than this share of the training data's
MIN_VALUES = 50  # values a shrunk spread is judged on (one row of two features says nothing)


def fit(x_train: np.ndarray, names: list[str] | None) -> dict:
    """The description of the training rows x_train: (n, n_features) stored in the checkpoint, held
    to the rule a checkpoint is read by (`check`): no run writes what eval, predict and resume refuse."""
    described = {"names": None if names is None else list(names),
                 "min": x_train.min(axis=0).astype(np.float64).tolist() if len(x_train) else [],
                 "max": x_train.max(axis=0).astype(np.float64).tolist() if len(x_train) else []}
    check(described, x_train.shape[1])
    return described


def check(inputs, n_inputs: int) -> None:
    """A checkpoint's "inputs" (absent in older ones) is well formed: DataError otherwise."""
    if inputs is None:
        return
    if not isinstance(inputs, dict) or set(inputs) != {"names", "min", "max"}:
        raise DataError("inputs: expected an object with keys names, min, max")
    names, low, high = inputs["names"], inputs["min"], inputs["max"]
    if names is not None and (not isinstance(names, list) or len(names) != n_inputs
                              or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names)):
        raise DataError(f"inputs.names: expected null or {n_inputs} distinct column names")
    for key, values in (("min", low), ("max", high)):
        if not isinstance(values, list) or len(values) not in (0, n_inputs) or not all(
                type(v) in (int, float) and math.isfinite(v) for v in values):
            raise DataError(f"inputs.{key}: expected {n_inputs} finite numbers")


def warnings(x: np.ndarray, inputs: dict | None) -> list[str]:
    """What looks wrong about the raw rows x: (n, n_features) against the training ranges, as sentences."""
    if not inputs or not inputs["min"] or x.size == 0:
        return []
    low, high = np.asarray(inputs["min"]), np.asarray(inputs["max"])
    x = np.asarray(x)
    train_low, train_high = float(low.min()), float(high.max())
    seen_low, seen_high = float(x.min()), float(x.max())
    if x.size >= MIN_VALUES and train_high > train_low and seen_high - seen_low < SHRUNK * (train_high - train_low):
        return [(f"all input values lie in {seen_low:g}..{seen_high:g}, but the training data ranged "
                f"{train_low:g}..{train_high:g}: did you scale them already? nnctl applies the checkpoint's "
                f"scaling itself, so give raw values")]
    width = np.maximum(high - low, np.maximum(np.abs(high), np.abs(low)) * 1e-6)  # a constant feature: any real change
    far = (x < low - width) | (x > high + width)
    if far.mean() <= FAR:
        return []
    column = int(np.argmax(far.sum(axis=0)))
    names = inputs["names"]
    label = f"column {excerpt(names[column])}" if names else f"column {column + 1}"
    return [(f"{far.mean():.0%} of the input values lie far outside the training range (beyond it by more than its "
            f"width), most in {label}: {x[:, column].min():g}..{x[:, column].max():g} here, "
            f"{low[column]:g}..{high[column]:g} in training: are these the same features, in the same units?")]
