"""nnctl train: a run from a config, or the rest of one with --resume; one line per epoch on stderr."""

from __future__ import annotations

import os
import time

import click

from ..printable import printable
from ..runs.progress import Progress, seconds as _seconds
from .common import config_option, emit_json as _emit_json, scores as _scores, set_option


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--run-dir", type=click.Path(file_okay=False),
              help="Write the run here instead of a new folder under run.output_dir.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="Continue the run in this folder from its last.json; CONFIG, if given, must match the run's config.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (progress stays on stderr).")
@click.option("--quiet", "-q", is_flag=True, help="No per-epoch lines on stderr.")
@click.option("--no-plots", is_flag=True, help="Do not draw the run's PNG plots.")
@click.option("--data", "data_file", metavar="FILE|NAME",
              help="Train the default network on this CSV / .npz file (or built-in data set) without a CONFIG: "
                   "the config `nnctl init --data` would write.")
@click.option("--target", help="With --data: the CSV's target column, by header name (or 0-based index without "
                               "a header); default the last column.")
@click.option("--mlflow", "mlflow_uri", is_flag=False, flag_value="", default=None, metavar="[URI]",
              help="Log the run to MLflow at URI (default MLflow's: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db "
                   "here): "
                   "sets run.tracking.mlflow; needs nnctl[mlflow].")
@click.option("--tensorboard", is_flag=True, help="Write TensorBoard event files into RUN_DIR/tensorboard/: sets "
                                                  "run.tracking.tensorboard; needs nnctl[tensorboard].")
@set_option
@config_option
def train(config, run_dir, resume_dir, as_json, quiet, no_plots, data_file, target, mlflow_uri, tensorboard,
          overrides, layers):
    """Train the network CONFIG describes and write a run folder, or continue one with --resume.

    SIGINT (Ctrl-C) or SIGTERM stops after the current batch, saves last.json and exits 130 or
    143; a second signal stops at once.
    """
    from pathlib import Path

    from .. import api
    from ..runs.interrupts import deferred

    if data_file is not None and (config is not None or resume_dir is not None):
        raise click.UsageError("--data trains the default network without a CONFIG: give one or the other "
                               "(and --data cannot continue a run)")
    if target is not None and data_file is None:
        raise click.UsageError("--target names the target column of --data FILE")
    if config is None and resume_dir is None and data_file is None:
        raise click.UsageError("give a CONFIG to train, --data FILE to train the default network on a file, "
                               "or --resume RUN_DIR to continue a run")
    if resume_dir is not None and run_dir is not None:
        raise click.UsageError("--resume continues a run in its own folder; it cannot be combined with --run-dir")
    if layers and config is None:
        raise click.UsageError("--config changes a CONFIG: give one (with --resume it must match the run's)")
    if overrides and config is None and data_file is None:
        raise click.UsageError("--set changes a CONFIG: give one (with --resume it must match the run's)")
    tracking = _tracking_overrides(mlflow_uri, tensorboard)
    if tracking and config is None and data_file is None:
        raise click.UsageError("--mlflow and --tensorboard change a CONFIG: a resumed run logs where its config says")
    overrides = (*overrides, *tracking)  # as --set: the resolved config records them
    if data_file is not None:
        cfg = api.starter_config(data_file, target, overrides)
    else:
        cfg = api.load_config(config, overrides, layers) if config is not None else None
    shown = cfg  # the config whose epoch count the progress lines show
    if resume_dir is not None:
        from .common import one_path

        resume_dir = one_path((resume_dir,), "run folder")  # runs/latest: the newest run
    if shown is None and Path(resume_dir, "config.yaml").is_file():
        from ..config import load

        shown = load(Path(resume_dir, "config.yaml"), relative_to=Path.cwd(), follow=False)  # a run folder's: no link
    progress = Progress(quiet, shown.training.epochs if shown is not None else 0)
    with deferred() as stop, progress:
        if resume_dir is not None:
            result = api.resume(resume_dir, cfg, callbacks=[progress], stop=stop, plots=not no_plots)
        else:
            result = api.train(cfg, run_dir=run_dir, callbacks=[progress], stop=stop, plots=not no_plots)
    if as_json:
        _emit_json(result)
        return
    for line in closing(result, time.perf_counter() - progress.began):
        click.echo(line, err=True)
    if not quiet:
        top_finding(result["run_dir"])


def _tracking_overrides(mlflow_uri: str | None, tensorboard: bool) -> list[str]:
    """--mlflow [URI] and --tensorboard as the --set overrides they stand for."""
    import json

    sets = []
    if mlflow_uri == "":
        sets.append("run.tracking.mlflow={}")
    elif mlflow_uri is not None:
        sets.append(f"run.tracking.mlflow.uri={json.dumps(mlflow_uri)}")
    if tensorboard:
        sets.append("run.tracking.tensorboard=true")
    return sets


def closing(result: dict, seconds: float) -> list[str]:
    """What train prints once the run is over (on stderr): early stopping, the plots, then the closing
    line: the test scores, the best epoch, the run time and the checkpoint's path."""
    lines = []
    early = result.get("early_stopping")
    if early is not None:
        stopped = (f"stopped at epoch {early['stopped_epoch']}" if early["stopped_epoch"] is not None
                   else "ran every epoch")
        restored = (f"restored the weights of epoch {early['best_epoch']}" if early["restored_best"]
                    else "kept the last weights")
        lines.append(f"early stop:  {stopped}; best {early['monitor']} {early['best']:.4f} at epoch "
                     f"{early['best_epoch']}; {restored}")
    if result["plots"]:
        lines.append(f"plots:       {', '.join(os.path.basename(p) for p in result['plots'])}")
    test = result["test"]
    scored = f"test {_scores(test)} (n={test['n']})" if test["n"] else "no test split (data.test_fraction: 0)"
    lines.append(f"done in {_seconds(seconds)}: {scored}; best epoch {result['best_epoch']} "
                 f"of {result['epochs']}; {printable(result['checkpoint'])} holds epoch {result['checkpoint_epoch']}")
    return lines


def top_finding(run_dir: str) -> None:
    """The doctor's most important finding on stderr when it is a warning: a run that went wrong
    says so where its summary is read (`nnctl doctor RUN_DIR` gives all of them)."""
    from ..errors import NnctlError
    from ..printable import printable
    from ..runs import doctor

    try:
        findings = doctor.diagnose(doctor.read(run_dir))
    except NnctlError:  # advice only: a folder the doctor cannot read costs the run nothing
        return
    if findings and findings[0]["severity"] == "warning":
        f = findings[0]
        click.echo(f"doctor:      {f['code']}: {printable(f['evidence'])}", err=True)
        click.echo(f"             try: {printable(f['advice'])} (all findings: nnctl doctor "
                   f"{printable(run_dir)})", err=True)
