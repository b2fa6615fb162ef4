"""The data set a checkpoint is scored or drawn on (eval, plot, doctor, export), rebuilt from its config.

A checkpoint is untrusted input: its sha256 proves only that the file is whole, and anyone can
edit one and compute the hash again. So a path its `config.data` names is opened only when it
lies inside the checkpoint's own run folder (the folder holding the checkpoint and a run.json),
or when the checkpoint recorded the SHA-256 and size of the file it was trained on (`data_file`)
and the file still holds exactly those bytes: it is opened as a regular file (never a device or
a FIFO), read no further than the recorded size, and nothing of it is parsed or printed unless
its SHA-256 matches; the bytes hashed are the bytes parsed. A checkpoint can thus make nnctl read
only a file whose whole content its author already knew. Any other file must be named by the user
(`--data FILE`), who then knows what is read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .. import data as data_module, files
from ..data import arrays, csvtext
from ..data.tabular import is_header
from ..errors import DataError
from ..printable import excerpt, quoted

PATH_SETS = ("csv", "npz", "mnist", "fashion_mnist")  # the data sets read from a file or folder


class DataPathNotUsed(ValueError):
    """--data was given for a data set that is not read from a file (a usage error)."""


def run_folder(checkpoint_path) -> Path | None:
    """The run folder a checkpoint belongs to: its folder, when that holds a run.json; else None."""
    folder = Path(os.path.realpath(Path(checkpoint_path).parent))
    return folder if (folder / "run.json").is_file() else None


def is_inside(path, folder: Path | None) -> bool:
    """Whether `path` (as it would be opened, from the current folder, symbolic links followed)
    is `folder` or lies below it."""
    if folder is None:
        return False
    return Path(os.path.realpath(Path(path).expanduser())).is_relative_to(folder)


def data_config(ckpt, data_path=None):
    """The checkpoint's data config, with `data_path` (the user's --data) as its path when given
    (for a built-in data set, a CSV or .npz file of its features read with its settings; a CSV's
    columns matched by the names recorded at training); DataError if the checkpoint alone names a
    file outside its run folder and recorded no SHA-256 of it (see `recorded_content`)."""
    data = ckpt.config.data
    if data_path is not None:
        if data.name not in PATH_SETS:
            return _file_config(ckpt, data_path)
        update = {"path": str(data_path)}
        names = _column_names(ckpt.preprocessing)
        if data.name == "csv" and data.features is None and names:  # the new file's columns by name, in any order
            update["features"] = list(names)
        return data.model_copy(update=update)
    path = getattr(data, "path", None)
    if arrays.in_memory(data):
        raise DataError(f"{ckpt.path}: the model was trained on arrays given in memory (the model API's fit(x, y), "
                        f"a scikit-learn estimator), which no file holds: pass --data FILE (an .npz file of arrays "
                        f"x and y, or a CSV) to score it on FILE")
    if path is None or is_inside(path,
                                 run_folder(ckpt.path)) or (ckpt.data_file and data.name in data_module.FILE_SETS):
        return data
    raise DataError(f"{ckpt.path}: the checkpoint names a data file outside its run folder "
                    f"(data.path {quoted(path, 100)}), and nnctl does not open a file that only a checkpoint "
                    f"names: pass --data FILE to score on FILE with the checkpoint's data settings")


def _column_names(preprocessing: dict) -> list | None:
    """The columns a model trained on a CSV reads: its typed columns' (those not left out), else
    the feature names recorded before nnctl typed columns."""
    table = preprocessing.get("table")
    if table is not None:
        return [r["name"] for r in table["columns"] if r["type"] != "ignore"]
    return (preprocessing.get("inputs") or {}).get("names")


def recorded_content(ckpt) -> bytes | None:
    """The bytes of the data file the checkpoint's config names, when it lies outside the run folder
    and the checkpoint recorded its SHA-256 and size: read capped at that size from a regular file,
    and returned only when they hash to the recorded SHA-256; DataError (the file changed, moved or
    is gone: pass --data) otherwise. None when the rule does not apply (a built-in set, a file
    inside the run folder)."""
    cfg, record = ckpt.config.data, ckpt.data_file
    path = getattr(cfg, "path", None)
    if record is None or cfg.name not in data_module.FILE_SETS or path is None or is_inside(path,
                                                                                            run_folder(ckpt.path)):
        return None
    fix = "pass --data FILE to score on FILE with the checkpoint's data settings"
    try:
        with files.open_regular(path, DataError, "a data") as handle:
            size = os.fstat(handle.fileno()).st_size
            raw = handle.read(record["size"] + 1) if size == record["size"] else None
    except DataError as e:
        raise DataError(f"{ckpt.path}: the run's data file cannot be opened ({e}): it moved or is gone; "
                        f"{fix}") from None
    except OSError as e:
        raise DataError(f"{ckpt.path}: the run's data file {quoted(path, 100)} cannot be read ({e.strerror}); "
                        f"{fix}") from None
    if raw is None or len(raw) != record["size"] or hashlib.sha256(raw).hexdigest() != record["sha256"]:
        raise DataError(f"{ckpt.path}: the data file {quoted(path, 100)} changed since training (its content no "
                        f"longer matches the SHA-256 the checkpoint recorded); {fix}")
    return raw


def _file_config(ckpt, data_path):
    """A CSV or .npz file of a built-in data set's features (target last, or the .npz's x and y),
    read as the checkpoint's data would be: its task, seed, split fractions and scaling."""
    from ..config import CsvData, NpzData

    data, task = ckpt.config.data, data_module.spec(ckpt.config.data).task
    if Path(data_path).is_dir():
        raise DataPathNotUsed(f"the checkpoint's data set is {data.name}: --data takes a CSV or .npz file of its "
                              f"features, not a folder")
    fractions = {k: getattr(data, k) for k in ("test_fraction", "val_fraction") if hasattr(data, k)}
    common = {"path": str(data_path), "task": task, "scaling": data.scaling, **fractions}
    if str(data_path).lower().endswith(".npz"):
        return NpzData(name="npz", **common)
    return CsvData(name="csv", header=_has_header(data_path), **common)


def _has_header(path) -> bool:
    """A CSV's first row is a header when none of its cells is a number (as predict decides)."""
    try:
        return is_header(csvtext.read_header(path).names)
    except DataError:
        return True  # the reader says what is wrong with the file


def load(ckpt, data_path=None) -> data_module.Dataset:
    """The checkpoint's data set (from `data_path` when given), split by its seed and scaled by
    its stored preprocessing, with the class indices of the checkpoint's classes."""
    cfg = ckpt.config
    data = data_config(ckpt, data_path)
    dataset = data_module.load(data, cfg.seed, cfg.training.dtype, preprocessing=ckpt.preprocessing,
                               content=recorded_content(ckpt) if data_path is None else None)
    if dataset.x_train.shape[1] != ckpt.n_inputs:
        raise DataError(f"{data_path or 'the data set'} has {dataset.x_train.shape[1]} features; "
                        f"the checkpoint expects {ckpt.n_inputs}")
    # a file's labels are the file's, in its own sorted order; a built-in set's are nnctl's
    if data.name in ("csv", "npz") and dataset.task == "classification" and dataset.classes != ckpt.classes:
        _to_checkpoint_classes(dataset, ckpt.classes, data_path or getattr(data, "path", data.name))
    return dataset


def _to_checkpoint_classes(dataset, classes: list, source) -> None:
    """Renumber the targets of a file holding the checkpoint's classes, or some of them, in the
    checkpoint's order (a file without one class sorts the others differently)."""
    index = {label: i for i, label in enumerate(classes)}
    if not any(label in index for label in dataset.classes) and all(
            type(label) is int and 0 <= label < len(classes) for label in dataset.classes):
        index = {i: i for i in range(len(classes))}  # class indices, e.g. scikit-learn's targets for named classes
    unknown = [label for label in dataset.classes if label not in index]
    if unknown:
        shown = ", ".join(excerpt(c, 20) for c in classes[:10]) + (", …" if len(classes) > 10 else "")
        raise DataError(f"{source}: the target holds the class {quoted(unknown[0], 20)}, which the checkpoint "
                        f"does not know (its classes: {shown})")
    mapping = np.array([index[label] for label in dataset.classes], dtype=np.int64)
    for split in data_module.SPLITS:
        y = getattr(dataset, f"y_{split}")
        setattr(dataset, f"y_{split}", mapping[y])
    dataset.classes = list(classes)
