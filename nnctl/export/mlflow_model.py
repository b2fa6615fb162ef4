"""A checkpoint as an MLflow model: the NumPy export (checked against nnctl, as `nnctl export`
checks it) under MLflow's python_function flavour (mlflow_pyfunc.py), with a signature naming the
features and an input example, so that `mlflow.pyfunc.load_model`, `mlflow models serve` and the
Model Registry take it as any other MLflow model. The MLflow run side (which run, which
LoggedModel) is nnctl.runs.mlflow_tracker's.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..runs import checkpoint as checkpoint_module
from . import check, export as exported, metadata
from .steps import task

CODE = Path(__file__).with_name("mlflow_pyfunc.py")
EXAMPLE_ROWS = 3


def feature_names(ckpt) -> list[str]:
    """The training data's column names (a model of a CSV: the columns it reads), or x0, x1, ...
    when it had none."""
    names = metadata.feature_names(ckpt)
    n = len(table_columns(ckpt)) if ckpt.preprocessing.get("table") else ckpt.n_inputs
    return [str(n) for n in names] if names else [f"x{i}" for i in range(n)]


def table_columns(ckpt) -> list[dict]:
    """A model of a CSV's columns (nnctl.export.table), [] for any other model."""
    table = ckpt.preprocessing.get("table")
    return [r for r in table["columns"] if r["type"] != "ignore"] if table else []


def example(ckpt, names: list[str]):
    """(raw example rows as check.reference takes them, the same as the DataFrame MLflow keeps): for
    a model of a CSV its columns' cells, numbers filled in and each text column's values in turn."""
    import pandas as pd

    records = table_columns(ckpt)
    if not records:
        rows = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float64", EXAMPLE_ROWS)
        return rows, pd.DataFrame(rows, columns=names)
    cells, frame = {}, {}
    for name, r in zip(names, records):
        if r["type"] == "numeric":
            frame[name] = [r["fill"]] * EXAMPLE_ROWS
            cells[r["name"]] = [repr(v) for v in frame[name]]
        else:
            values = r["values"] if r["type"] == "binary" else r["categories"] or [""]
            cells[r["name"]] = frame[name] = [values[i % len(values)] for i in range(EXAMPLE_ROWS)]
    return cells, pd.DataFrame(frame)


def signature(ckpt, names: list[str], rows):
    """Inputs: one column per feature, by name (double; a text column of a CSV's, string);
    outputs: what mlflow_pyfunc.predict returns (`rows`: raw example rows, whose prediction tells
    a regression's number of outputs)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    kinds = [("double" if r["type"] == "numeric" else "string") for r in table_columns(ckpt)] or ["double"] * len(names)
    inputs = Schema([ColSpec(kind, name) for kind, name in zip(kinds, names)])
    if task(ckpt) == "regression":
        given = rows if isinstance(rows, dict) else rows.astype(ckpt.config.training.dtype)
        n_out = check.reference(ckpt, given)["prediction"].reshape(check.count(rows), -1).shape[1]
        outputs = [ColSpec("double", "prediction")] if n_out == 1 else \
            [ColSpec("double", f"prediction_{i}") for i in range(n_out)]
    else:
        label = "string" if any(isinstance(c, str) for c in ckpt.classes) else \
            "long" if all(isinstance(c, int) for c in ckpt.classes) else "double"
        outputs = [ColSpec(label, "label")] + [ColSpec("double", f"probability_{c}") for c in ckpt.classes]
    return ModelSignature(inputs=inputs, outputs=Schema(outputs))


def write(checkpoint, folder, meta=None) -> None:
    """The MLflow model folder of `checkpoint` at `folder` (which must not exist); `meta`: the
    mlflow.models.Model to complete (its run and LoggedModel ids), or None for a new one.
    CheckFailed (exit 7) when the export differs from nnctl's predictions."""
    with warnings.catch_warnings():  # MLflow's own modules warn as they are imported
        warnings.simplefilter("ignore")
        import mlflow
        import mlflow.pyfunc
        import pandas as pd

    ckpt = checkpoint_module.load(checkpoint)
    names = feature_names(ckpt)
    rows, frame = example(ckpt, names)
    with tempfile.TemporaryDirectory(prefix="nnctl-export-") as tmp:
        numpy_model = Path(tmp) / "numpy_model"
        exported(checkpoint, "numpy", numpy_model)
        mlflow.pyfunc.save_model(
            path=str(folder), python_model=str(CODE), artifacts={"numpy_model": str(numpy_model)},
            model_config={"features": names, "task": task(ckpt), "table": bool(table_columns(ckpt))},
            signature=signature(ckpt, names, rows), input_example=frame, mlflow_model=meta,
            pip_requirements=[f"mlflow=={mlflow.__version__}", f"numpy=={np.__version__}", f"pandas=={pd.__version__}"])
