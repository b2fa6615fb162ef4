"""`nnctl export`: a checkpoint as an ONNX model or a NumPy-only folder, proved equal to nnctl.

Every export is written under a temporary name, run, and compared with nnctl's own predictions
(check.py); only an export within the bounds is renamed into place, so a failed one leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from ..errors import CheckFailed, WriteError
from ..files import temporary_prefix
from ..printable import printable
from ..runs import checkpoint as checkpoint_module, lookup
from . import check, numpy_folder, onnx as onnx_format, onnx_run
from .steps import steps, task

FORMATS = ("onnx", "numpy")


def checkpoint_path(source) -> Path:
    """CHECKPOINT, or a run folder's checkpoint.json."""
    return lookup.checkpoint_path(source)


def export(source, fmt: str, output, *, legacy_outputs: bool = False) -> dict:
    """Export the checkpoint `source` (or a run folder's) to `output` in `fmt` (onnx or numpy) and
    check it; returns path, format, opset, max_difference, bound, rows, rows_from, checkpoint.

    `output` is a path, or for onnx a binary stream (stdout) that receives the model once it
    passed. `legacy_outputs`: the ONNX outputs of nnctl 0.1 (see onnx.py). CheckpointError (exit 4)
    for a checkpoint nnctl would not load, ConfigError (exit 3) for a model holding a layer the
    formats cannot write yet, MissingDependency (exit 5) without the onnx package, CheckFailed
    (exit 7) when the export differs from nnctl beyond the bound, WriteError (exit 1) for an output
    it may not replace.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        onnx_format.require_onnx()  # before anything is read: the missing package is the first thing to say
    path = checkpoint_path(source)
    ckpt = checkpoint_module.load(path)
    steps(ckpt)  # a layer no format writes yet: ConfigError (exit 3) before anything is written
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    stream = output if hasattr(output, "write") else None
    if stream is not None and fmt != "onnx":
        raise ValueError("only the onnx format, one file, can be written to a stream")
    if stream is None:
        output = Path(output)
        try:
            _check_output(output, fmt)
        except OSError as e:  # a name longer than the file system takes
            raise WriteError(f"{output}: cannot be written: {e.strerror or e}") from None
        result = _write_checked(ckpt, sha256, fmt, output, legacy_outputs)
    else:  # checked as a file first: the stream receives only a model that passed
        with tempfile.TemporaryDirectory(prefix="nnctl-export-") as scratch:
            checked = Path(scratch) / "model.onnx"
            result = _write_checked(ckpt, sha256, fmt, checked, legacy_outputs)
            stream.write(checked.read_bytes())
            stream.flush()
    return {"path": "-" if stream is not None else str(output), "format": fmt,
            "opset": onnx_format.OPSET if fmt == "onnx" else None, "outputs": _outputs(ckpt, fmt, legacy_outputs),
            "checkpoint": str(path), "checkpoint_sha256": sha256, **result}


def _write_checked(ckpt, sha256: str, fmt: str, output: Path, legacy: bool) -> dict:
    """Write the export under a temporary name beside `output`, check it, and rename it into place."""
    temporary = output.with_name(temporary_prefix(output.name, 12) + f"tmp-{uuid.uuid4().hex[:8]}")
    try:
        if fmt == "onnx":
            temporary.write_bytes(onnx_format.build(ckpt, sha256, legacy).SerializeToString())
            got = lambda x: onnx_run.predictions(onnx_run.run(temporary, onnx_run.feeds(ckpt, x)), ckpt, legacy)
        else:
            temporary.mkdir()
            numpy_folder.write(ckpt, temporary, sha256)
            got = lambda x: numpy_folder.run(temporary, x)
        x, rows_from = check.rows(ckpt)
        result = check.compare(ckpt, check.reference(ckpt, x), got(x))
        if not result["passed"]:
            raise CheckFailed(f"the export differs from nnctl's predictions on {check.count(x)} rows ({rows_from}): "
                              "largest "
                              f"difference {result['max_difference']:.3g} (bound {result['bound']:g}), "
                              f"{result['labels_differ']} labels differ; nothing was written")
        _put_in_place(temporary, output, fmt)
    except OSError as e:
        raise WriteError(f"{printable(output)}: cannot write the export: {e.strerror or e}") from None
    finally:
        _remove(temporary)
    return {"max_difference": result["max_difference"], "bound": result["bound"], "rows": check.count(x),
            "rows_from": rows_from}


def _outputs(ckpt, fmt: str, legacy: bool) -> list[str] | None:
    """The ONNX model's output names, in order."""
    if fmt != "onnx":
        return None
    if task(ckpt) == "regression":
        return ["prediction"] if legacy else ["variable"]
    return ["probabilities", "label"] if legacy else ["label", "probabilities"]


def _check_output(output: Path, fmt: str) -> None:
    """A file may be replaced; a folder only when it is empty or an earlier NumPy export, unchanged."""
    if fmt == "onnx" and output.is_dir():
        raise WriteError(f"{printable(output)}: is a folder; -o names the .onnx file to write")
    if fmt == "numpy" and (output.exists() or output.is_symlink()):
        why = numpy_folder.not_ours(output) if output.is_dir() and not output.is_symlink() else "it is not a folder"
        if why is not None:
            raise WriteError(f"{printable(output)}: exists, and {why}; nothing was changed: choose a new folder, or "
                             f"empty this one yourself")
    if not output.parent.is_dir():
        raise WriteError(f"{printable(output.parent)}: no such folder")


def _put_in_place(temporary: Path, output: Path, fmt: str) -> None:
    if fmt == "numpy" and output.exists():
        old = output.with_name(temporary_prefix(output.name, 12) + f"old-{uuid.uuid4().hex[:8]}")
        os.replace(output, old)
        why = numpy_folder.not_ours(old)  # again, now that no one can add to it under its name
        if why is not None:
            os.replace(old, output)
            raise WriteError(f"{printable(output)}: changed during the export ({why}); nothing was changed")
        os.replace(temporary, output)
        numpy_folder.remove(old)
        return
    os.replace(temporary, output)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
