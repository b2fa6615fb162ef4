"""nnctl predict: feature rows in, the predicted class and the class probabilities out, in input order."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import delimiter_option


@click.command()
@click.argument("arguments", nargs=-1, required=True, type=click.Path(allow_dash=True), metavar="CHECKPOINT INPUT...")
@click.option("--header/--no-header", default=None,
              help="Whether the CSV's first row is a header (default: it is when none of its cells is a number).")
@click.option("--invert", type=click.Choice(["auto", "yes", "no"]), default=None,
              help="Image files for a one-channel model: invert them (yes), never (no), or when their ground is "
                   "not the training images' (auto, the default: dark ink on white paper for MNIST).")
@delimiter_option("The CSV's field separator, e.g. ';' or tab (default: the training file's, for a model trained "
                  "on a CSV; else told from the input's first lines).")
@click.option("--json", "as_json", is_flag=True, help="Write JSON lines, one object per input row, instead of CSV.")
def predict(arguments, header, invert, delimiter, as_json):
    """Predict the class of every row of INPUT with CHECKPOINT (or a run folder's checkpoint; runs/latest:
    the newest run's).

    INPUT is a CSV file (with or without a header row), a .npy or .npz file, or - for CSV on
    stdin; for a model trained on images, also image files (PNG, JPEG, BMP: one or more, or
    folders of them), converted to the training images' size, channels and units
    (docs/images.md#predicting-image-files). The checkpoint's stored preprocessing is applied.
    Writes CSV to stdout: the class, then one probability column per class (or the value, for
    regression), in input order; for image files, their path first.

    A model trained on a CSV with a header matches a CSV's columns by name (the target column
    and other extra columns are left out), reads each column by its type (a category never seen
    in training: a warning, and no category), and fills missing cells in as training did. Rows far
    outside the training data's range (already scaled, or other units) are predicted with a
    warning on stderr.
    """
    from .. import api
    from ..data import inputs
    from ..printable import printable
    from ..runs.lookup import checkpoint_path
    from .common import one_path

    checkpoints, given = _split(arguments)
    # a run folder: its checkpoint.json
    ckpt = api.load_checkpoint(checkpoint_path(one_path(checkpoints, "checkpoint")))
    x, notes, names = _rows(ckpt, given, header, invert, delimiter)
    recorded = ckpt.preprocessing.get("inputs") or {}  # null (not recorded): by position, unchecked
    for kind, note in notes + [("range", w) for w in inputs.warnings(x, recorded)]:
        click.echo(f"{'note' if kind in ('missing', 'image') else 'warning'}: {printable(note)}", err=True)
    result = api.predictions(ckpt, x)
    click.echo("\n".join(_json_lines(result, names) if as_json else _csv_lines(result, names)))


def _rows(ckpt, given: list[str], header, invert, delimiter) -> tuple:
    """(x, notes (kind, text), the image files' names or None) of the INPUTs `given`, read as the
    model's training data was: image files, an array (of images in any layout), or a CSV's columns
    by type (a model of a typed CSV), by name (of a CSV with a header) or by position."""
    from .. import data
    from ..data import features, image_files
    from ..printable import printable

    image = data.image_format(ckpt.config.data, ckpt.preprocessing)
    if any(image_files.is_image_input(source) for source in given):
        if image is None:
            raise click.UsageError(f"image files need a model trained on images; this one was trained on "
                                   f"{printable(ckpt.config.data.name)}'s rows of {ckpt.n_inputs} features")
        paths = image_files.expand(given)
        x, notes = image_files.read(paths, image, invert or "auto")
        return x, [("image", note) for note in notes], [str(path) for path in paths]
    if invert is not None:
        raise click.UsageError("--invert applies to image files")
    source, dtype = given[0], ckpt.config.training.dtype
    if image is not None and Path(source).suffix.lower() in (".npy", ".npz"):  # images in any layout, or rows
        return features.read(source, ckpt.n_inputs, image=image, dtype=dtype), [], None
    recorded = ckpt.preprocessing.get("inputs") or {}
    table = ckpt.preprocessing.get("table")  # a CSV's typed columns (since checkpoint format 4)
    text = _stdin(table["encoding"] if table else "utf-8") if source == "-" else None
    if header is None and getattr(ckpt.config.data, "header", True) is False:
        header = False  # trained on a file without a header: rows by position, whatever their first cells
    common = {"header": header, "text": text, "dtype": dtype}
    if table is not None:
        x, notes = features.read_table(source, table, target=table["target"], delimiter=delimiter, **common)
    elif recorded.get("names"):
        x, notes = features.read_named(source, recorded["names"], target=getattr(ckpt.config.data, "target", None),
                                       image=image, delimiter=delimiter or getattr(ckpt.config.data, "delimiter", None)
                                       or ",", **common)
    else:
        x, notes = features.read(source, ckpt.n_inputs, image=image, delimiter=delimiter, **common), []
    return x, notes, None


def _split(arguments: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """(the CHECKPOINT arguments, the INPUTs): the inputs are the last argument, or the image files
    and folders at the end (several checkpoints, a glob's, are refused by one_path)."""
    from ..data import image_files

    if len(arguments) < 2:
        raise click.UsageError("Missing argument 'INPUT': a CSV, .npy or .npz file, - for stdin, or image files")
    first = len(arguments) - 1
    while first > 1 and image_files.is_image_input(arguments[first - 1]):
        first -= 1
    checkpoints, given = arguments[:first], list(arguments[first:])
    misplaced = [a for a in checkpoints[1:] if a == "-" or Path(a).suffix.lower() in (".csv", ".npy", ".npz")]
    if misplaced or (len(given) > 1 and not all(image_files.is_image_input(a) for a in given)):
        raise click.UsageError("one INPUT at a time: a CSV, .npy or .npz file, or - for stdin; several inputs "
                               "are image files or folders of them")
    return checkpoints, given


def _stdin(encoding: str) -> str:
    """The CSV on stdin, at most files.MAX_DATA_BYTES of it (an endless stream is refused), in the
    training file's `encoding`."""
    from .. import files
    from ..data import csvtext
    from ..errors import DataError

    raw = files.read_stream(sys.stdin.buffer, files.MAX_DATA_BYTES, DataError, "<stdin>")
    return csvtext.decode(raw, "<stdin>", encoding)


def _csv_lines(result: dict, files: list[str] | None = None):
    """The CSV of the predictions; with `files` (image files), a first column naming each."""
    import csv
    import io

    from ..printable import printable

    def row(cells) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(cells)
        return buffer.getvalue()

    lines = _csv_rows(result, row, printable)
    if files is None:
        yield from lines
        return
    yield "file," + next(lines)
    for name, line in zip(files, lines):
        yield row([printable(name)]) + "," + line


def _csv_rows(result: dict, row, printable):
    if result["task"] == "regression":
        values = result["values"]
        names = ["value"] if values.shape[1] == 1 else [f"value_{i}" for i in range(values.shape[1])]
        yield row(names)
        for v in values.tolist():
            yield ",".join(f"{x:.7g}" for x in v)
        return
    labels = [printable(c) for c in result["classes"]]  # labels come from files and checkpoints
    yield row(["class"] + [f"p_{c}" for c in labels])
    quoted = [row([c]) for c in labels]  # a label with a comma stays one cell
    for k, p in zip(result["predicted"].tolist(), result["probabilities"].tolist()):
        yield quoted[k] + "," + ",".join(f"{x:.6g}" for x in p)


def _json_lines(result: dict, files: list[str] | None = None):
    """One JSON object per prediction; with `files` (image files), each names its file first."""
    from ..files import strict_json

    named = (lambda i: {"file": files[i]}) if files is not None else (lambda i: {})
    if result["task"] == "regression":
        for i, v in enumerate(result["values"].tolist()):
            yield strict_json({**named(i), "value": v[0] if len(v) == 1 else v})
        return
    classes = result["classes"]
    keys = [str(c) for c in classes]
    for i, (k, p) in enumerate(zip(result["predicted"].tolist(), result["probabilities"].tolist())):
        yield strict_json({**named(i), "class": classes[k], "probabilities": dict(zip(keys, (round(x, 7) for x in p)))})
