"""`nnctl track RUN_DIR`: put a finished or stopped run folder into MLflow afterwards."""

from __future__ import annotations

import click

from ..printable import printable
from .common import emit_json, json_option


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--mlflow", "uri", metavar="URI",
              help="The MLflow tracking store (default: the one the run logged to, else its config's, else "
                   "MLFLOW_TRACKING_URI, else MLflow's default sqlite:///mlflow.db here).")
@json_option
def track(run_dir, uri, as_json):
    """Log RUN_DIR to MLflow, adding only what its MLflow run lacks: run it again at will.

    The params, every epoch's metrics (step = the epoch), the summary metrics, the files, the
    model of a finished run and its status. RUN_DIR is only read. Exit 4 when it is not a run
    folder, 5 when the store cannot be used or MLflow is not installed.
    """
    from .. import api

    result = api.track(run_dir, uri)
    if as_json:
        emit_json(result)
        return
    made = "a new MLflow run" if result["created"] else "MLflow run"
    status = result["mlflow_status"] or "RUNNING (its process still trains)"
    click.echo(printable(f"{result['run_dir']}: {made} {result['run_id']} in experiment {result['experiment']} "
                         f"at {result['uri']}: {result['points_added']} metric points added "
                         f"({result['points_present']} were there); {result['epochs']} epochs; status {status}"))
