"""A checkpoint as a folder NumPy alone can run: model.npz (arrays, no pickle) and predict.py.

predict.py (this package's predict.py, copied as it is) computes every step as nnctl does, from
model.npz's `spec` (JSON: dtype, scaling, the steps in order, classes, task) and its arrays named
as in the checkpoint's state dict (`layers.0.W`) or `scaling.mean` / `scaling.std` / `scaling.scale`.
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import uuid
from pathlib import Path

import numpy as np

from .. import __version__
from .steps import steps, task

FILES = ("model.npz", "predict.py")
TEMPLATE = Path(__file__).with_name("predict.py")


def spec(ckpt, checkpoint_sha256: str) -> dict:
    """model.npz's `spec`: everything predict.py needs besides the arrays."""
    network = [{"kind": s.kind, "name": s.name, **({"epsilon": s.epsilon} if s.kind == "batchnorm" else {})}
               for s in steps(ckpt)]
    target = ckpt.preprocessing.get("target", {})
    return {"format": "nnctl-numpy-model", "version": 1, "nnctl_version": __version__,
            "checkpoint_sha256": checkpoint_sha256, "dtype": ckpt.config.training.dtype, "n_inputs": ckpt.n_inputs,
            "task": task(ckpt), "classes": ckpt.classes if task(ckpt) == "classification" else None,
            "scaling": ckpt.preprocessing.get("scaling", "none"), "steps": network,
            "target_mean": target.get("mean"), "target_std": target.get("std"),
            "config": ckpt.config.model_dump(mode="json")}


def write(ckpt, folder: Path, checkpoint_sha256: str) -> None:
    """Write model.npz and predict.py into `folder` (which exists and is empty)."""
    arrays = {}
    for step in steps(ckpt):
        arrays.update({f"{step.name}.{k}": v for k, v in step.arrays.items()})
    for key in ("mean", "std", "scale"):
        if key in ckpt.preprocessing:
            arrays[f"scaling.{key}"] = np.asarray(ckpt.preprocessing[key], np.float64)
    arrays["spec"] = np.array(json.dumps(spec(ckpt, checkpoint_sha256)))  # a unicode array: no pickle
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (folder / "model.npz").write_bytes(buffer.getvalue())
    shutil.copyfile(TEMPLATE, folder / "predict.py")


def run(folder: Path, x: np.ndarray) -> dict:
    """The folder's predict.py imported (under a name of its own) and run on rows x:
    {"probabilities", "label"} or {"prediction"}, label as class names."""
    source = Path(folder) / "predict.py"
    module_spec = importlib.util.spec_from_file_location(f"nnctl_exported_{uuid.uuid4().hex}", source)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if module.load(Path(folder) / "model.npz")[0]["task"] == "regression":
        return {"prediction": module.predict(x)}
    return {"probabilities": module.predict_proba(x), "label": module.predict(x)}
