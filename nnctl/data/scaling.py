"""Scaling fitted on the training rows and applied to any rows: the features' (standard, pixels,
none) and a regression target's. The fitted description is JSON, kept in the checkpoint."""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def fit_preprocessing(x: np.ndarray, scaling: str) -> dict:
    """The JSON-able description of `scaling` fitted on the training rows x."""
    if scaling == "standard":
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        std[std == 0] = 1.0  # a constant feature is only centred, not divided by zero
        return {"scaling": "standard", "mean": mean.tolist(), "std": std.tolist()}
    if scaling == "pixels":
        return {"scaling": "pixels", "scale": 255.0}
    if scaling == "none":
        return {"scaling": "none"}
    raise DataError(f"unknown scaling {scaling!r}; expected standard, pixels or none")


def fit_target_scaling(y: np.ndarray, scaling: str) -> dict:
    """How a regression target is standardised for learning, fitted on the training rows."""
    if scaling == "none":
        return {"scaling": "none", "mean": 0.0, "std": 1.0}
    std = float(np.std(y))
    return {"scaling": "standard", "mean": float(np.mean(y)), "std": std if std > 0 else 1.0}


def scale_target(y: np.ndarray, preprocessing: dict, dtype: str) -> np.ndarray:
    """Regression targets in the units the model learns."""
    target = preprocessing["target"]
    return ((np.asarray(y, dtype=np.float64) - target["mean"]) / target["std"]).astype(dtype)


def unscale_target(values: np.ndarray, preprocessing: dict) -> np.ndarray:
    """Model outputs back in the target's own units."""
    target = preprocessing.get("target", {"mean": 0.0, "std": 1.0})
    return np.asarray(values, dtype=np.float64) * target["std"] + target["mean"]


def apply_preprocessing(x: np.ndarray, preprocessing: dict, dtype: str) -> np.ndarray:
    """Raw feature rows x: (n, n_features) -> the scaled, C-contiguous `dtype` array a model was trained on."""
    # Cast first and compute in `dtype`: load() and predict then give bit-identical rows,
    # and MNIST never needs a float64 copy.
    try:
        out = np.array(x, dtype=dtype, order="C", copy=True)
    except (TypeError, ValueError) as e:
        raise DataError(f"the feature rows are not numbers: {e}") from None
    scaling = preprocessing.get("scaling")
    if scaling == "none":
        return out
    if scaling not in ("standard", "pixels"):
        raise DataError(f"unknown scaling {scaling!r}; expected standard, pixels or none")
    try:
        standard = scaling == "standard"
        with np.errstate(over="ignore"):  # a value too large for dtype becomes inf, refused below
            mean = np.asarray(preprocessing["mean"] if standard else 0.0, dtype)
            divisor = np.asarray(preprocessing["std"] if standard else preprocessing["scale"], dtype)
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"the {scaling} scaling is malformed: {type(e).__name__}: {e}") from None
    if standard and (out.ndim != 2 or mean.shape != (out.shape[1],) or divisor.shape != mean.shape):
        raise DataError(f"the standard scaling has {mean.size} features; the rows have shape {out.shape}")
    # Checked because a checkpoint is a file anyone can edit.
    if not (np.isfinite(mean).all() and np.isfinite(divisor).all() and (divisor > 0).all()):
        raise DataError(f"the {scaling} scaling holds a value that is not finite, or a divisor <= 0")
    if standard:
        out -= mean
    out /= divisor
    return out



def _too_large(x: np.ndarray, column: int, source: str, what: str) -> DataError:
    largest = float(np.max(np.abs(x[:, column].astype(np.float64))))
    return DataError(f"{source}: feature column {column + 1} holds values up to {largest:g} in size, too large {what} "
                     f"(divide the column by a power of ten)")


def check_fitted(x: np.ndarray, preprocessing: dict, source: str) -> None:
    """A standard scaling whose mean or std overflowed: refused naming the column."""
    if preprocessing.get("scaling") != "standard":
        return
    finite = np.isfinite(preprocessing["mean"]) & np.isfinite(preprocessing["std"])
    if not finite.all():
        raise _too_large(x, int(np.argmin(finite)), source, "for the standard scaling")


def check_scaled(x: np.ndarray, rows: np.ndarray, scaled: np.ndarray, source: str, dtype: str) -> None:
    """Rows `rows` of x, scaled, that overflowed `dtype` (raw values are finite, so an inf is an
    overflow). Bytes and shorts (images) cannot overflow: not checked, MNIST is 55 million values."""
    if (x.dtype.kind in "biu" and x.dtype.itemsize <= 2) or np.isfinite(scaled).all():
        return
    column = int(np.argmin(np.isfinite(scaled).all(axis=0)))
    raise _too_large(x[rows], column, source, f"to scale in {dtype}")

