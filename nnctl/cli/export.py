"""nnctl export: a checkpoint as an ONNX model or a NumPy-only folder, checked against nnctl."""

from __future__ import annotations

import click

from .common import emit_json, one_path


@click.command()
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(exists=False), metavar="CHECKPOINT")
@click.option("--format", "fmt", type=click.Choice(["onnx", "numpy"]), required=True,
              help="onnx: one .onnx file (needs nnctl[onnx]); numpy: a folder with model.npz and predict.py.")
@click.option("-o", "--output", required=True, type=click.Path(), help="The .onnx file, or the folder, to write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def export(checkpoints, fmt, output, as_json):
    """Export CHECKPOINT (or a run folder's checkpoint; runs/latest: the newest run's) for use outside nnctl.

    The export is run on the checkpoint's test split (synthetic rows in the training range when
    that data is not available) and compared with nnctl's own predictions: exit 7, and nothing
    written, when a probability differs by more than 1e-5 (float64 models: 1e-9) or a label differs.
    """
    from ..export import export as export_checkpoint

    result = export_checkpoint(one_path(checkpoints, "checkpoint"), fmt, output)
    if as_json:
        emit_json(result)
        return
    opset = f", opset {result['opset']}" if result["opset"] else ""
    click.echo(f"wrote {result['path']} ({result['format']}{opset})")
    click.echo(f"checked on {result['rows']} rows ({result['rows_from']}): largest difference "
               f"{result['max_difference']:.3g} (bound {result['bound']:g})")
