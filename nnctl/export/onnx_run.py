"""Running an exported ONNX model, as `nnctl export` checks it: its inputs from raw rows (feeds),
onnxruntime (or onnx's reference evaluator) a slice of rows at a time (run), and its outputs as
check.compare takes them (predictions).

The rows go through the model ROWS_PER_RUN at a time, as nnctl's own predict takes a test split in
batches: a float64 image model's graph builds each convolution's patches (kh * kw times its input)
at once, so MNIST's 10,000 test images in one run would need gigabytes (onnx_images.py).
"""

from __future__ import annotations

import numpy as np

from . import metadata, table
from .onnx import require_onnx
from .steps import task

ROWS_PER_RUN = 256


def predictions(outputs: dict, ckpt, legacy: bool = False) -> dict:
    """An ONNX model's outputs as check.compare takes them: {"probabilities", "label" (the class
    values)} or {"prediction"}."""
    if task(ckpt) == "regression":
        return {"prediction": outputs["prediction" if legacy else "variable"]}
    label = outputs["label"]
    if legacy:
        label = np.asarray(metadata.class_values(ckpt.classes)[0], dtype=object)[label]
    return {"probabilities": outputs["probabilities"], "label": label}


def feeds(ckpt, x) -> dict:
    """The graph's inputs for raw rows: an array as `features`, or a model of a CSV's cells
    ({column: cells}, nnctl.export.table) as its columns take them."""
    if not isinstance(x, dict):
        return {"features": x}
    dtype = ckpt.config.training.dtype
    records = table.columns(ckpt)
    if not table.by_column(ckpt):
        return {"features": np.hstack([table.numbers(ckpt, x, r["name"], dtype) for r in records])}
    return {r["name"]: table.numbers(ckpt, x, r["name"], dtype) if r["type"] == "numeric" else
            np.array([str(c).strip() for c in x[r["name"]]], dtype=object).reshape(-1, 1) for r in records}


def run(path, given: dict) -> dict:
    """The outputs of the ONNX file `path` for its inputs `given` (feeds(), every input with the
    same rows), by onnxruntime when installed, else by onnx's reference evaluator, ROWS_PER_RUN
    rows at a time: {output name: array}."""
    try:
        import onnxruntime
    except ImportError:
        onnx = require_onnx()
        from onnx.reference import ReferenceEvaluator

        session = ReferenceEvaluator(onnx.load(str(path)))
        names = [o.name for o in session.proto_.graph.output]
    else:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
    n = len(next(iter(given.values())))
    parts = [session.run(None, {k: v[start:start + ROWS_PER_RUN] for k, v in given.items()})
             for start in range(0, max(n, 1), ROWS_PER_RUN)]
    return {name: np.concatenate([part[i] for part in parts]) for i, name in enumerate(names)}
