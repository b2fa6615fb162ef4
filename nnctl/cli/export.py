"""nnctl export: a checkpoint as an ONNX model or a NumPy-only folder, checked against nnctl."""

from __future__ import annotations

import sys

import click

from .common import emit_json, one_path


@click.command()
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(exists=False), metavar="CHECKPOINT")
@click.option("--format", "fmt", type=click.Choice(["onnx", "numpy"]), required=True,
              help="onnx: one .onnx file (needs nnctl[onnx]); numpy: a folder with model.npz and predict.py.")
@click.option("-o", "--output", required=True, type=click.Path(allow_dash=True),
              help="The .onnx file, or the folder, to write; - writes the ONNX model to stdout.")
@click.option("--legacy-outputs", is_flag=True,
              help="ONNX: nnctl 0.1's outputs (probabilities, then label as the class's index; regression: "
                   "prediction) instead of skl2onnx's (label as the class itself, then probabilities; variable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def export(checkpoints, fmt, output, legacy_outputs, as_json):
    """Export CHECKPOINT (or a run folder's checkpoint; runs/latest: the newest run's) for use outside nnctl.

    The export is run on the checkpoint's test split (synthetic rows in the training range when
    that data is not available) and compared with nnctl's own predictions: exit 7, and nothing
    written, when a probability differs by more than 1e-5 (float64 models: 1e-9) or a label differs.
    """
    from ..export import export as export_checkpoint
    from ..printable import printable

    if legacy_outputs and fmt != "onnx":
        raise click.UsageError("--legacy-outputs is for --format onnx")
    to_stdout = output == "-"
    if to_stdout:
        if fmt != "onnx":
            raise click.UsageError("-o - writes one file to stdout: the onnx format; a NumPy export is a folder")
        if as_json:
            raise click.UsageError("-o - and --json would both write to stdout: choose one")
        stdout = sys.stdout.buffer
        if stdout.isatty():
            raise click.UsageError("-o -: stdout is a terminal, not a place for a binary ONNX model; redirect it "
                                   "(> model.onnx) or pipe it")
        output = stdout
    result = export_checkpoint(one_path(checkpoints, "checkpoint"), fmt, output, legacy_outputs=legacy_outputs)
    if as_json:
        emit_json(result)
        return
    opset = f", opset {result['opset']}" if result["opset"] else ""
    outputs = f", outputs {', '.join(result['outputs'])}" if result["outputs"] else ""
    where = "stdout" if to_stdout else result["path"]
    click.echo(printable(f"wrote {where} ({result['format']}{opset}{outputs})"), err=to_stdout)
    click.echo(f"checked on {result['rows']} rows ({result['rows_from']}): largest difference "
               f"{result['max_difference']:.3g} (bound {result['bound']:g})", err=to_stdout)
