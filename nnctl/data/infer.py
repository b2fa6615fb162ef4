"""What a data set is, told from the data itself: the task, the classes, the input width and the
rows, for `nnctl init` and `nnctl train --data` (which write a starter config from it).

A built-in data set is described by the catalog, without loading it. A user's CSV or .npz file is
read (through the capped readers of nnctl.data.tabular) and its target decides the task:

    classification  when the target holds text, or only whole numbers with at most
                    MAX_CLASSES (20) distinct values (0/1, 1..5 stars, digit labels)
    regression      otherwise (fractions, or many distinct whole numbers such as prices)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..printable import quoted
from . import csvtext, image_arrays, tabular
from .catalog import CATALOG, SPECS
from .image_arrays import ImageFormat

MAX_CLASSES = 20  # whole-number targets with more distinct values than this are taken as a regression


@dataclass(frozen=True)
class Profile:
    """A data set as a starter config needs it."""

    name: str  # the catalog's name: a built-in set, or csv / npz
    task: str  # classification or regression
    n_features: int
    n_classes: int  # 0 for regression
    rows: int | None
    path: Path | None = None  # the file, for csv and npz
    target: str | int | None = None  # the CSV's target column (its name, or its index without a header)
    header: bool = True
    classes: tuple = ()  # the labels, as the file holds them
    why: str = ""  # how the task was told, for the config's comment
    image: ImageFormat | None = None  # images: their shape and white level (a starter CNN, its scaling)


def describe(data: str, target: str | None = None) -> Profile:
    """The profile of `data`: a built-in data set's name, or the path of a CSV or .npz file;
    `target` names a CSV's target column (default the last)."""
    path = Path(data).expanduser()
    if path.suffix.lower() in (".csv", ".txt", ".tsv", ".npz") or path.exists():
        if not path.is_file():
            raise DataError(f"{data}: no such file")
        return _npz(path) if path.suffix.lower() == ".npz" else _csv(path, target)
    if data in SPECS:
        if target is not None:
            raise DataError(f"{data} is a built-in data set: its target is known, so --target applies to files only")
        spec, rows = SPECS[data], CATALOG[data].rows
        rows = CATALOG[data].defaults[rows] if isinstance(rows, str) else rows
        return Profile(data, spec.task, spec.n_features, spec.n_classes, rows, why="the catalog's",
                       image=CATALOG[data].image)
    close = difflib.get_close_matches(data, list(SPECS), n=1)
    hint = f"; did you mean {quoted(close[0])}?" if close else f" (built in: {', '.join(SPECS)})"
    raise DataError(f"{data}: neither a file nor a built-in data set{hint}")


def _csv(path: Path, target: str | None) -> Profile:
    text = csvtext.read(path)
    header = tabular.is_header(csvtext.header(text, source=str(path)).names)  # as predict decides
    wanted = target if header or target is None else _index(target, path)
    x, raw, _, name = tabular.parse_csv(text, path, wanted, None, header)
    task, labels, why = _task(raw)
    column = name if header else int(name)
    return Profile("csv", task, x.shape[1], len(labels), len(x), path, column, header, tuple(labels), why)


def _index(target: str, path: Path) -> int:
    try:
        return int(target)
    except ValueError:
        raise DataError(f"{path}: the file has no header row, so --target is a 0-based column index, "
                        f"not {quoted(target)}") from None


def _npz(path: Path) -> Profile:
    x, raw = tabular.read_npz(path)
    x, held = image_arrays.as_images(x, None, None, str(path))  # an array of images: told by its layout
    task, labels, why = _task([str(v) for v in raw.tolist()])
    image = image_arrays.fit(x, held, x.dtype) if held is not None else None
    return Profile("npz", task, x.shape[1], len(labels), len(x), path, classes=tuple(labels), why=why, image=image)


def _task(raw: list) -> tuple[str, list, str]:
    """(task, class labels, the reason) from a target's raw values (the rule atop this module)."""
    distinct = set(raw)
    numbers = [v for v in distinct if tabular.is_number(v)]
    if len(numbers) < len(distinct):
        _, labels = tabular.targets(raw, "classification", "the target")
        return "classification", labels, "the target holds text"
    whole = all(float(v).is_integer() for v in numbers)
    if whole and len(distinct) <= MAX_CLASSES:
        _, labels = tabular.targets(raw, "classification", "the target")
        return "classification", labels, f"the target holds {len(distinct)} distinct whole numbers"
    why = (f"the target holds {len(distinct)} distinct whole numbers (more than {MAX_CLASSES})" if whole
           else "the target holds numbers that are not whole")
    return "regression", [], why


