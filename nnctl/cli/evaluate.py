"""nnctl eval: a checkpoint's scores on a split of its data set, and the --assert gates of CI."""

from __future__ import annotations

import click

from ..errors import CheckFailed
from ..printable import printable
from .common import emit_json as _emit_json, fmt as _fmt, one_path, paint, scores as _scores


def _parse_assertions(ctx, param, values):
    from ..runs import assertions

    try:
        return [assertions.parse(v) for v in values]
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _check_assertions(gates, result: dict) -> list[dict]:
    """Each --assert with the value found; an unknown metric is a usage error (exit 2)."""
    from ..runs import assertions

    try:
        checked = assertions.check(gates, assertions.numeric_values({k: v for k, v in result.items() if k != "epoch"}))
    except KeyError as e:
        raise click.BadParameter(e.args[0], param_hint="'--assert'") from None
    if checked:
        result["assertions"] = checked
    return checked


def _fail_assertions(checked: list[dict]) -> None:
    failed = [c for c in checked if not c["passed"]]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(checked)} assertions failed: "
                          + "; ".join(f"{c['assertion']} ({c['metric']} = {_fmt(c['value'], 6)})" for c in failed))


@click.command("eval")
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(), metavar="CHECKPOINT")
@click.option("--which", type=click.Choice(["best", "last"]), default="best", show_default=True,
              help="With a run folder: its checkpoint.json (best: what training.checkpoint kept) or its last.json (the "
                   "last epoch).")
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="test", show_default=True,
              help="Which split of the checkpoint's data set to score; all: every row (e.g. of a new file).")
@click.option("--data", "data_path", type=click.Path(),
              help="Score on this labelled file (or MNIST folder), read with the checkpoint's data settings "
                   "(target column, split fractions, seed); needed when the checkpoint names a file outside its run "
                   "folder. "
                   "For a built-in data set: a CSV (target last) or .npz file of its features.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing: the exit code says whether every --assert held.")
@click.option("--assert", "gates", multiple=True, metavar="METRIC OP NUMBER", callback=_parse_assertions,
              help="Exit 7 unless this holds, e.g. 'accuracy>=0.97' or 'loss<0.1' (OP: >= <= > < == !=). Repeatable.")
def eval_(checkpoints, which, split, data_path, as_json, quiet, gates):
    """Score CHECKPOINT (or a run folder's checkpoint; runs/latest: the newest run's) on a split of its
    data set: loss, accuracy, per-class scores, confusion matrix."""
    from .. import api
    from ..runs.checkpoint_data import DataPathNotUsed
    from ..runs.lookup import checkpoint_path

    checkpoint = one_path(checkpoints, "checkpoint", quiet)
    try:
        path = checkpoint_path(checkpoint, which)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--which'") from None
    try:
        result = api.evaluate_checkpoint(path, split, data=data_path)
    except DataPathNotUsed as e:
        raise click.BadParameter(str(e), param_hint="'--data'") from None
    checked = _check_assertions(gates, result)
    if not quiet:
        for note in result.get("notes", []):
            click.echo(f"{'note' if note['kind'] == 'missing' else 'warning'}: {printable(note['text'])}", err=True)
    if as_json or quiet:
        if as_json:
            _emit_json(result)
        _fail_assertions(checked)
        return
    click.echo(f"split {result['split']}  n {result['n']}  {_scores(result)}")
    for c in checked:
        click.echo(f"{paint('PASS', 'green') if c['passed'] else paint('FAIL', 'red')}  {c['assertion']}  "
                   f"({c['metric']} = {_fmt(c['value'], 6)})")
    if result["n"] == 0 or result["task"] == "regression":
        _fail_assertions(checked)
        return
    extra = f"macro F1 {_fmt(result['macro_f1'])}"
    if "roc_auc" in result:
        extra += f"  ROC AUC {_fmt(result['roc_auc'])}"
    click.echo(extra)
    classes = [printable(c) for c in result["classes"]]  # labels come from files and checkpoints
    width = max(8, *(len(c) for c in classes))
    per = result["per_class"]
    click.echo(f"\n{'class':>{width}}  precision  recall      f1  support")
    for i, c in enumerate(classes):
        click.echo(f"{c:>{width}}  {per['precision'][i]:9.4f}  {per['recall'][i]:6.4f}  {per['f1'][i]:6.4f}  "
                   f"{per['support'][i]:7d}")
    cells = max(5, *(len(c) for c in classes), *(len(str(v)) for row in result["confusion_matrix"] for v in row))
    click.echo("\nconfusion matrix (rows: true class, columns: predicted class)")
    click.echo(" " * width + "".join(f" {c:>{cells}}" for c in classes))
    for c, row in zip(classes, result["confusion_matrix"]):
        click.echo(f"{c:>{width}}" + "".join(f" {v:>{cells}}" for v in row))
    _fail_assertions(checked)
