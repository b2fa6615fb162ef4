"""`nnctl export`: a checkpoint as an ONNX model or a NumPy-only folder, proved equal to nnctl.

Every export is written under a temporary name, run, and compared with nnctl's own predictions
(check.py); only an export within the bounds is renamed into place, so a failed one leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from ..errors import CheckFailed, WriteError
from ..files import temporary_prefix
from ..runs import checkpoint as checkpoint_module, lookup
from . import check, numpy_folder
from . import onnx as onnx_format

FORMATS = ("onnx", "numpy")


def checkpoint_path(source) -> Path:
    """CHECKPOINT, or a run folder's checkpoint.json."""
    return lookup.checkpoint_path(source)


def export(source, fmt: str, output) -> dict:
    """Export the checkpoint `source` (or a run folder's) to `output` in `fmt` (onnx or numpy) and
    check it; returns path, format, opset, max_difference, bound, rows, rows_from, checkpoint.

    CheckpointError (exit 4) for a checkpoint nnctl would not load, MissingDependency (exit 5)
    without the onnx package, CheckFailed (exit 7) when the export differs from nnctl beyond the bound.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        onnx_format.require_onnx()  # before anything is read: the missing package is the first thing to say
    path = checkpoint_path(source)
    ckpt = checkpoint_module.load(path)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    output = Path(output)
    try:
        _check_output(output, fmt)
    except OSError as e:  # a name longer than the file system takes
        raise WriteError(f"{output}: cannot be written: {e.strerror or e}") from None
    temporary = output.with_name(temporary_prefix(output.name, 12) + f"tmp-{uuid.uuid4().hex[:8]}")
    try:
        if fmt == "onnx":
            temporary.write_bytes(onnx_format.build(ckpt, sha256).SerializeToString())
            runner = onnx_format.run
        else:
            temporary.mkdir()
            numpy_folder.write(ckpt, temporary, sha256)
            runner = numpy_folder.run
        x, rows_from = check.rows(ckpt)
        result = check.compare(ckpt, check.reference(ckpt, x), runner(temporary, x))
        if not result["passed"]:
            raise CheckFailed(f"the export differs from nnctl's predictions on {len(x)} rows ({rows_from}): largest "
                              f"difference {result['max_difference']:.3g} (bound {result['bound']:g}), "
                              f"{result['labels_differ']} labels differ; nothing was written")
        _put_in_place(temporary, output, fmt)
    except OSError as e:
        raise WriteError(f"{output}: cannot write the export: {e.strerror or e}") from None
    finally:
        _remove(temporary)
    return {"path": str(output), "format": fmt, "opset": onnx_format.OPSET if fmt == "onnx" else None,
            "checkpoint": str(path), "checkpoint_sha256": sha256, "max_difference": result["max_difference"],
            "bound": result["bound"], "rows": int(len(x)), "rows_from": rows_from}


def _check_output(output: Path, fmt: str) -> None:
    """A file may be replaced; a folder only when it is an earlier NumPy export (or empty)."""
    if fmt == "onnx" and output.is_dir():
        raise WriteError(f"{output}: is a folder; -o names the .onnx file to write")
    if fmt == "numpy" and output.exists():
        if not output.is_dir() or not set(os.listdir(output)) <= set(numpy_folder.FILES):
            raise WriteError(f"{output}: exists and is not an earlier NumPy export (model.npz, predict.py): "
                             f"choose a new folder")
    if not output.parent.is_dir():
        raise WriteError(f"{output.parent}: no such folder")


def _put_in_place(temporary: Path, output: Path, fmt: str) -> None:
    if fmt == "numpy" and output.exists():
        old = output.with_name(temporary_prefix(output.name, 12) + f"old-{uuid.uuid4().hex[:8]}")
        os.replace(output, old)
        try:
            os.replace(temporary, output)
        finally:
            _remove(old)
        return
    os.replace(temporary, output)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
