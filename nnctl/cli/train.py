"""nnctl train: a run from a config, or the rest of one with --resume; one line per epoch on stderr."""

from __future__ import annotations

import os
import sys

import click

from .common import emit_json as _emit_json
from .common import fmt as _fmt
from .common import scores as _scores
from .common import set_option


class Progress:
    """One line per epoch on stderr; click's live progress bar while stderr is a terminal."""

    def __init__(self, epochs: int, quiet: bool):
        self.epochs, self.quiet = epochs, quiet
        self.live = not quiet and sys.stderr.isatty()
        self.bar, self.done = None, 0

    def batch(self, epoch: int, done: int, total: int) -> None:
        if not self.live:
            return
        if self.bar is None:
            # redrawn at most 100 times an epoch, whatever the number of batches
            self.bar = click.progressbar(length=total, label=f"epoch {epoch}/{self.epochs}", file=sys.stderr, width=30,
                                         show_pos=True, update_min_steps=max(1, total // 100))
            self.bar.render_progress()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        """Erase the bar, so the epoch's line replaces it, and show the cursor click's bar hid."""
        if self.bar is not None:
            sys.stderr.write("\r\033[K" + ("\033[?25h" if os.name != "nt" else ""))
            sys.stderr.flush()
            self.bar, self.done = None, 0

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.close()  # an error or a signal mid-epoch: no half bar before the message, and a cursor

    def epoch(self, r: dict) -> None:
        self.close()
        if self.quiet:
            return
        if "train_accuracy" in r:
            scores = (f"loss {_fmt(r['train_loss'])}  acc {_fmt(r['train_accuracy'])}  "
                      f"val_loss {_fmt(r['val_loss'])}  val_acc {_fmt(r['val_accuracy'])}")
        else:  # regression
            scores = (f"loss {_fmt(r['train_loss'])}  mae {_fmt(r['train_mae'])}  val_loss {_fmt(r['val_loss'])}  "
                      f"val_mae {_fmt(r['val_mae'])}  val_rmse {_fmt(r['val_rmse'])}  val_r2 {_fmt(r['val_r2'])}")
        line = f"epoch {r['epoch']}/{self.epochs}  {scores}  lr {r['lr']:g}  {r['seconds']:.2f}s"
        click.echo(line, err=True)


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--run-dir", type=click.Path(file_okay=False), help="Write the run here instead of a new folder under run.output_dir.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="Continue the run in this folder from its last.json; CONFIG, if given, must match the run's config.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (progress stays on stderr).")
@click.option("--quiet", "-q", is_flag=True, help="No per-epoch lines on stderr.")
@click.option("--no-plots", is_flag=True, help="Do not draw the run's PNG plots.")
@set_option
def train(config, run_dir, resume_dir, as_json, quiet, no_plots, overrides):
    """Train the network CONFIG describes and write a run folder, or continue one with --resume.

    SIGINT (Ctrl-C) or SIGTERM stops after the current batch, saves last.json and exits 130 or
    143; a second signal stops at once.
    """
    from pathlib import Path

    from .. import api
    from ..runs.interrupts import deferred

    if config is None and resume_dir is None:
        raise click.UsageError("give a CONFIG to train, or --resume RUN_DIR to continue a run")
    if resume_dir is not None and run_dir is not None:
        raise click.UsageError("--resume continues a run in its own folder; it cannot be combined with --run-dir")
    if overrides and config is None:
        raise click.UsageError("--set changes a CONFIG: give one (with --resume it must match the run's)")
    cfg = api.load_config(config, overrides) if config is not None else None
    shown = cfg  # the config whose epoch count the progress lines show
    if shown is None and Path(resume_dir, "config.yaml").is_file():
        shown = api.load_config(Path(resume_dir, "config.yaml"))
    progress = Progress(shown.training.epochs if shown is not None else 0, quiet)
    with deferred() as stop, progress:
        if resume_dir is not None:
            result = api.resume(resume_dir, cfg, on_epoch=progress.epoch, on_batch=progress.batch, stop=stop,
                                plots=not no_plots)
        else:
            result = api.train(cfg, run_dir=run_dir, on_epoch=progress.epoch, on_batch=progress.batch, stop=stop,
                                plots=not no_plots)
    if as_json:
        _emit_json(result)
        return
    test = result["test"]
    click.echo(f"run folder:  {result['run_dir']}")
    click.echo(f"checkpoint:  {result['checkpoint']} (epoch {result['checkpoint_epoch']} of {result['epochs']})")
    early = result.get("early_stopping")
    if early is not None:
        stopped = (f"stopped at epoch {early['stopped_epoch']}" if early["stopped_epoch"] is not None
                   else "ran every epoch")
        restored = f"restored the weights of epoch {early['best_epoch']}" if early["restored_best"] else "kept the last weights"
        click.echo(f"early stop:  {stopped}; best {early['monitor']} {early['best']:.4f} at epoch {early['best_epoch']}; {restored}")
    click.echo(f"test:        {_scores(test)}  (n={test['n']})")
    if result["plots"]:
        click.echo(f"plots:       {', '.join(os.path.basename(p) for p in result['plots'])}")
    if not quiet:
        top_finding(result["run_dir"])


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
        click.echo(f"             try: {printable(f['advice'])} (all findings: nnctl doctor {printable(run_dir)})", err=True)
