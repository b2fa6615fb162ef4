"""Commands about run folders: runs (the table) and plot (redraw the pictures)."""

from __future__ import annotations

import os

import click

from ..printable import printable
from .common import emit_json, fmt, json_option, one_path, table

STATUS_COLOURS = {"finished": "green", "running": "cyan", "interrupted": "yellow", "diverged": "red", "failed": "red",
                  "unreadable": "red"}


@click.command()
@click.argument("folder", default="runs", type=click.Path(file_okay=False))
@json_option
def runs(folder, as_json):
    """A table of the runs in FOLDER (default: runs), newest first.

    Columns: run, start time (UTC), status (finished, running, interrupted, diverged, failed),
    epochs done (and the best), run time, the best epoch's validation loss and score, and the
    test scores: accuracy for classification, mae and r2 for regression.
    """
    from ..runs.lookup import list_runs

    found = list_runs(folder)
    if as_json:
        emit_json({"folder": folder, "runs": found})
        return
    if not found:
        click.echo(f"no runs in {printable(folder)}", err=True)
        return
    head = ("run", "started", "status", "epochs", "time", "best val_loss", "best val", "test")
    rows = []
    for r in found:
        best, test = r["best"] or {}, r["test"] or {}
        started = (r["started"] or "-").replace("T", " ")[:16]
        epochs = "-" if r["epochs"] is None else str(r["epochs"])
        if r["best_epoch"] is not None:
            epochs += f" (best {r['best_epoch']})"
        rows.append((printable(r["name"]), started, printable(r["status"] or "-"), epochs,
                     duration(r["duration_seconds"]),
                     fmt(best.get("val_loss")), task_scores(best, "val_"), task_scores(test)))
    for line in table(head, rows, right=(4, 5, 6, 7), colours={2: lambda status: STATUS_COLOURS.get(status, "white")}):
        click.echo(line)


def task_scores(scores: dict, prefix: str = "") -> str:
    """The task's brief scores (engine.metric_names.SCORES): `acc 0.9100` for classification,
    `mae 43.1000  r2 0.4512` for regression; '-' for none."""
    from ..engine import metric_names

    task = metric_names.task_of({k: v for k, v in scores.items() if k.startswith(prefix) and v is not None})
    if task is None:
        return "-"
    return "  ".join(f"{s.head} {fmt(scores.get(prefix + s.name))}" for s in metric_names.SCORES[task] if s.brief)


def duration(seconds: int | None) -> str:
    """A run time as 42s, 3m05s or 2h07m; '-' for none."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False), metavar="RUN_DIR")
@click.option("--data", "data_path", type=click.Path(),
              help="Draw the test split of this file (or MNIST folder), read with the run's data settings; "
                   "needed when the checkpoint names a file outside its run folder.")
@json_option
def plot(run_dirs, data_path, as_json):
    """(Re)draw the PNG plots of RUN_DIR (runs/latest: the newest run) from its metrics and checkpoint.

    Learning curves with the best epoch marked, the per-layer gradient norms (gradient_flow.png)
    and the test split's confusion matrix; the decision boundary for 2-D data sets; misclassified test images for image
    data sets.
    """
    from .. import api
    from ..runs.checkpoint_data import DataPathNotUsed

    run_dir = one_path(run_dirs, "run folder")
    try:
        drawn = api.plot_run(run_dir, data=data_path)
    except DataPathNotUsed as e:
        raise click.BadParameter(str(e), param_hint="'--data'") from None
    if as_json:
        emit_json({"run_dir": run_dir, "plots": drawn})
        return
    for path in drawn:
        click.echo(printable(path))
    click.echo(printable(f"{len(drawn)} plots in {run_dir}: {', '.join(os.path.basename(p) for p in drawn)}"), err=True)
