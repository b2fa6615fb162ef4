"""Exactness: an export's outputs against nnctl's own, on the checkpoint's test split.

The rows are raw features. The test split is rebuilt as `nnctl eval` rebuilds it (a data file
the checkpoint alone names is opened only inside its run folder, nnctl.runs.checkpoint_data);
when it cannot be, synthetic rows in the training range stand in (the fitted mean +- 2 standard
deviations, pixels 0-255). Probabilities may differ by BOUNDS[dtype] (summation order inside a
matrix product), labels not at all. Regression values are compared in the units the network computes in (the
target's standard deviation), relative to the value where it is larger than 1: a float32 network
whose outputs reach 10 carries ten times the rounding of one whose outputs stay below 1.
"""

from __future__ import annotations

import numpy as np

from .. import data as data_module
from ..engine.metrics import predicted_classes
from ..errors import DataError
from ..runs import checkpoint_data
from . import table
from .metadata import class_values
from .steps import task

BOUNDS = {"float32": 1e-5, "float64": 1e-9}
SYNTHETIC_ROWS = 256


def rows(ckpt) -> tuple[np.ndarray | dict, str]:
    """Raw feature rows to compare on, in the checkpoint's dtype, and where they come from; for a
    model of a CSV, the cells of its columns ({column: cells}, nnctl.export.table)."""
    dtype = ckpt.config.training.dtype
    if table.record(ckpt) is not None:
        return table.cells(ckpt)
    try:
        cfg = checkpoint_data.data_config(ckpt)
        raw = {"scaling": "none",
               **({"target": ckpt.preprocessing["target"]} if "target" in ckpt.preprocessing else {})}
        dataset = data_module.load(cfg, ckpt.config.seed, "float64", preprocessing=raw)
        x = dataset.x_test
        if x.shape[1] == ckpt.n_inputs and len(x):
            return x.astype(dtype), "test split"
    except DataError:
        pass
    return synthetic(ckpt.preprocessing, ckpt.n_inputs, dtype), "synthetic rows in the training range"


def count(x) -> int:
    """The rows of what rows() gave."""
    return len(next(iter(x.values()), [])) if isinstance(x, dict) else len(x)


def synthetic(preprocessing: dict, n_inputs: int, dtype: str, n: int = SYNTHETIC_ROWS) -> np.ndarray:
    """n rows drawn uniformly from the training range the fitted scaling describes."""
    rng = np.random.default_rng(0)
    scaling = preprocessing.get("scaling")
    if scaling == "pixels":
        return rng.integers(0, 256, (n, n_inputs)).astype(dtype)
    if scaling == "standard":
        mean, std = np.asarray(preprocessing["mean"]), np.asarray(preprocessing["std"])
        return (mean + std * rng.uniform(-2, 2, (n, n_inputs))).astype(dtype)
    return rng.standard_normal((n, n_inputs)).astype(dtype)


def reference(ckpt, x) -> dict:
    """nnctl's own outputs for raw rows x (or a CSV model's cells), as nnctl.api.predictions computes
    them: {"probabilities", "label"} (class indices), or {"prediction"} in the target's units."""
    if isinstance(x, dict):
        x = table.encoded(ckpt, x)
    out = ckpt.model.predict(data_module.apply_preprocessing(x, ckpt.preprocessing, ckpt.config.training.dtype))
    if task(ckpt) == "regression":
        return {"prediction": data_module.unscale_target(out, ckpt.preprocessing)}
    return {"probabilities": np.hstack([1 - out, out]) if out.shape[1] == 1 else out, "label": predicted_classes(out)}


def compare(ckpt, expected: dict, got: dict) -> dict:
    """max_difference, bound, labels_differ (rows), passed: the export's outputs `got` ({"probabilities",
    "label"}, the label as class values, or {"prediction"}) against `expected` (reference())."""
    bound = BOUNDS[ckpt.config.training.dtype]
    if "prediction" in expected:
        want = expected["prediction"].reshape(len(expected["prediction"]), -1)
        have = np.asarray(got["prediction"], np.float64).reshape(want.shape)
        target = ckpt.preprocessing["target"]
        z = np.abs(want - target["mean"]) / target["std"]  # the network's own output, in its units
        difference = float(np.max(np.abs(have - want) / (target["std"] * np.maximum(z, 1.0)), initial=0.0))
        return {"max_difference": difference, "bound": bound, "labels_differ": 0, "passed": difference <= bound}
    have = np.asarray(got["probabilities"], np.float64)
    difference = float(np.max(np.abs(have - expected["probabilities"]), initial=0.0)) if have.shape == \
        expected["probabilities"].shape else float("inf")
    index = {c: i for i, c in enumerate(class_values(ckpt.classes)[0])}  # the class values back to indices
    labels = np.array([index.get(c, -1) for c in np.asarray(got["label"]).tolist()])
    differ = (int(np.sum(labels != expected["label"])) if labels.shape == expected["label"].shape
              else len(expected["label"]))
    return {"max_difference": difference, "bound": bound, "labels_differ": differ,
            "passed": difference <= bound and differ == 0}
