"""A checkpoint as a folder NumPy alone can run, and a Python package of its own:

    model.npz           the arrays (no pickle) and `spec` (JSON: dtype, scaling, the steps in order,
                        classes, task, the feature columns' names; for a model of a CSV, how each
                        column is read: its type, fill, categories, the missing markers)
    predict.py          this package's predict.py, copied as it is: the command and the Python API
    __init__.py         `import <folder>` gives predict.py's API, so two exports never clash by name
    nnctl-export.json   the marker: the files this export wrote and their SHA-256, so that a later
                        export replaces the folder only when it holds nothing else

Arrays are named as in the checkpoint's state dict (`layers.0.W`), and `scaling.mean` /
`scaling.std` / `scaling.scale`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import types
import uuid
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from ..printable import quoted
from . import metadata
from .steps import steps, task

MARKER = "nnctl-export.json"
FILES = ("model.npz", "predict.py", "__init__.py")
CACHE = "__pycache__"  # written by Python when the package is imported: compiled copies, never the user's
TEMPLATE = Path(__file__).with_name("predict.py")
PACKAGE = ('"""An nnctl NumPy export, importable as a package by its folder\'s name (see predict.py)."""\n\n'
           'from .predict import *  # noqa: F401,F403\n')


GEOMETRY = ("shape", "pool_size", "strides", "dilation", "pads")  # an image step's attributes predict.py reads


def _spec_step(step) -> dict:
    """One step of the spec: its kind and name, a batchnorm's epsilon, an image step's geometry."""
    return {"kind": step.kind, "name": step.name, **({"epsilon": step.epsilon} if step.kind == "batchnorm" else {}),
            **{k: step.attributes[k] for k in GEOMETRY if k in step.attributes}}


def spec(ckpt, checkpoint_sha256: str) -> dict:
    """model.npz's `spec`: everything predict.py needs besides the arrays; its version the oldest
    predict.py that reads it (3: a CSV's columns, 4: image steps)."""
    target = ckpt.preprocessing.get("target", {})
    network = [_spec_step(step) for step in steps(ckpt)]
    out = {"format": "nnctl-numpy-model", "version": 2, "nnctl_version": __version__,
           "checkpoint_sha256": checkpoint_sha256, "dtype": ckpt.config.training.dtype, "n_inputs": ckpt.n_inputs,
           "input_shape": list(ckpt.input_shape),
           "feature_names": metadata.feature_names(ckpt), "target": metadata.target_name(ckpt),
           "target_last": metadata.target_is_last(ckpt),
           "delimiter": getattr(ckpt.config.data, "delimiter", None) or ",",
           "task": task(ckpt), "classes": ckpt.classes if task(ckpt) == "classification" else None,
           "scaling": ckpt.preprocessing.get("scaling", "none"), "steps": network,
           "target_mean": target.get("mean"), "target_std": target.get("std"),
           "config": metadata.portable_config(ckpt.config)}
    table = ckpt.preprocessing.get("table")
    if table is not None:  # a model of a CSV: its columns read by type, as nnctl reads them (version 3)
        out.update(version=3, target=table["target"], target_last=False, delimiter=table["delimiter"],
                   decimal=table["decimal"], encoding=table["encoding"], missing_values=table["missing_values"],
                   columns=[r for r in table["columns"] if r["type"] != "ignore"], ignored=metadata.ignored(ckpt))
    if any(step["kind"] == "images" for step in network):  # a model of images: its image steps (version 4)
        out.update(version=4)
    return out


def write(ckpt, folder: Path, checkpoint_sha256: str) -> None:
    """Write the export's files into `folder` (which exists and is empty), the marker last."""
    arrays = {}
    for step in steps(ckpt):
        arrays.update({f"{step.name}.{k}": v for k, v in step.arrays.items()})
    for key in ("mean", "std", "scale"):
        if key in ckpt.preprocessing:
            arrays[f"scaling.{key}"] = np.asarray(ckpt.preprocessing[key], np.float64)
    arrays["spec"] = np.array(json.dumps(spec(ckpt, checkpoint_sha256)))  # a unicode array: no pickle
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    contents = {"model.npz": buffer.getvalue(), "predict.py": TEMPLATE.read_bytes(), "__init__.py": PACKAGE.encode()}
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    marker = {"format": "nnctl-numpy-export", "version": 1, "nnctl_version": __version__,
              "checkpoint_sha256": checkpoint_sha256,
              "files": {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}}
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def run(folder: Path, x: np.ndarray) -> dict:
    """The folder's predict.py imported (under a name of its own) and run on rows x:
    {"probabilities", "label"} (the class values) or {"prediction"}."""
    source = Path(folder) / "predict.py"
    module = types.ModuleType(f"nnctl_exported_{uuid.uuid4().hex}")
    module.__file__ = str(source)
    # compiled here rather than imported: an import would leave a __pycache__ folder in the export
    exec(compile(source.read_bytes(), str(source), "exec"), module.__dict__)  # noqa: S102 - the file nnctl just wrote
    model = module.load(folder)
    with warnings.catch_warnings():  # the check's rows hold values never seen on purpose: no warnings
        warnings.simplefilter("ignore", module.UnseenValueWarning)
        if model.task == "regression":
            return {"prediction": model.predict(x)}
        return {"probabilities": model.predict_proba(x), "label": model.predict(x)}


def not_ours(folder: Path) -> str | None:
    """Why the existing folder is not one an export may replace (None when it may: it is empty,
    or holds only what an earlier export wrote, unchanged, and Python's compiled copies)."""
    entries = sorted(os.listdir(folder))
    if not entries:
        return None
    if MARKER not in entries:
        return f"it holds {_some(entries)} and no {MARKER}: nnctl export did not write it"
    try:
        written = json.loads((folder / MARKER).read_text(encoding="utf-8"))["files"]
        if not isinstance(written, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        return f"its {MARKER} is not the marker nnctl export writes"
    others = [e for e in entries if e not in (*FILES, MARKER, CACHE)]
    if others:
        return f"it also holds {_some(others)}, which nnctl export did not write"
    for name in entries:
        mode = os.lstat(folder / name).st_mode
        if name == CACHE:
            if not stat.S_ISDIR(mode) or not all(f.endswith(".pyc") for f in os.listdir(folder / name)):
                return f"its {CACHE} holds more than Python's compiled files"
        elif not stat.S_ISREG(mode):
            return f"{quoted(name)} is not a regular file"
        elif name != MARKER and hashlib.sha256((folder / name).read_bytes()).hexdigest() != written.get(name):
            return f"{quoted(name)} was changed after nnctl export wrote it"
    return None


def remove(folder: Path) -> None:
    """Delete an earlier export that not_ours() accepted: its files by name, then the folder (which
    stays, with what it holds, if anything else appeared meanwhile)."""
    for name in (*FILES, MARKER):
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            pass
    shutil.rmtree(folder / CACHE, ignore_errors=True)
    try:
        folder.rmdir()
    except OSError:
        pass


def _some(names: list) -> str:
    shown = ", ".join(quoted(n) for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")
