"""nnctl predict: feature rows in, the predicted class and the class probabilities out, in input order."""

from __future__ import annotations

import sys

import click

from .common import delimiter_option


@click.command()
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(), metavar="CHECKPOINT")
@click.argument("input", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--header/--no-header", default=None,
              help="Whether the CSV's first row is a header (default: it is when none of its cells is a number).")
@delimiter_option("The CSV's field separator, e.g. ';' or tab (default: the training file's, for a model trained "
                  "on a CSV; else told from the input's first lines).")
@click.option("--json", "as_json", is_flag=True, help="Write JSON lines, one object per input row, instead of CSV.")
def predict(checkpoints, input, header, delimiter, as_json):
    """Predict the class of every row of INPUT with CHECKPOINT (or a run folder's checkpoint; runs/latest:
    the newest run's).

    INPUT is a CSV file (with or without a header row), a .npy or .npz file, or - for CSV on
    stdin. The checkpoint's stored preprocessing is applied. Writes CSV to stdout: the class,
    then one probability column per class (or the value, for regression), in input order.

    A model trained on a CSV with a header matches a CSV's columns by name (the target column
    and other extra columns are left out), reads each column by its type (a category never seen
    in training: a warning, and no category), and fills missing cells in as training did. Rows far
    outside the training data's range (already scaled, or other units) are predicted with a
    warning on stderr.
    """
    from .. import api, data
    from ..data import features, inputs
    from ..printable import printable
    from ..runs.lookup import checkpoint_path
    from .common import one_path

    # a run folder: its checkpoint.json
    ckpt = api.load_checkpoint(checkpoint_path(one_path(checkpoints, "checkpoint")))
    spec = data.spec(ckpt.config.data)
    recorded = ckpt.preprocessing.get("inputs") or {}  # older checkpoints: by position, unchecked
    table = ckpt.preprocessing.get("table")  # a CSV's typed columns (since checkpoint format 4)
    text = _stdin(table["encoding"] if table else "utf-8") if input == "-" else None
    image_shape = spec.image_shape if spec else None
    target = getattr(ckpt.config.data, "target", None)
    if header is None and getattr(ckpt.config.data, "header", True) is False:
        header = False  # trained on a file without a header: rows by position, whatever their first cells
    common = {"header": header, "text": text, "dtype": ckpt.config.training.dtype}
    if table is not None:
        x, notes = features.read_table(input, table, target=table["target"], delimiter=delimiter, **common)
    elif recorded.get("names"):
        x, notes = features.read_named(input, recorded["names"], target=target, image_shape=image_shape,
                                       delimiter=delimiter or getattr(ckpt.config.data, "delimiter",
                                                                      None) or ",", **common)
    else:
        x, notes = features.read(input, ckpt.n_inputs, image_shape=image_shape, delimiter=delimiter, **common), []
    for kind, note in notes + [("range", w) for w in inputs.warnings(x, recorded)]:
        click.echo(f"{'note' if kind == 'missing' else 'warning'}: {printable(note)}", err=True)
    result = api.predictions(ckpt, x)
    click.echo("\n".join(_json_lines(result) if as_json else _csv_lines(result)))


def _stdin(encoding: str) -> str:
    """The CSV on stdin, at most files.MAX_DATA_BYTES of it (an endless stream is refused), in the
    training file's `encoding`."""
    from .. import files
    from ..data import csvtext
    from ..errors import DataError

    raw = files.read_stream(sys.stdin.buffer, files.MAX_DATA_BYTES, DataError, "<stdin>")
    return csvtext.decode(raw, "<stdin>", encoding)


def _csv_lines(result: dict):
    import csv
    import io

    from ..printable import printable

    def row(cells) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(cells)
        return buffer.getvalue()

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


def _json_lines(result: dict):
    from ..files import strict_json

    if result["task"] == "regression":
        for v in result["values"].tolist():
            yield strict_json({"value": v[0] if len(v) == 1 else v})
        return
    classes = result["classes"]
    keys = [str(c) for c in classes]
    for k, p in zip(result["predicted"].tolist(), result["probabilities"].tolist()):
        yield strict_json({"class": classes[k], "probabilities": dict(zip(keys, (round(x, 7) for x in p)))})
