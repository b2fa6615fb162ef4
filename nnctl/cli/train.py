"""nnctl train: a run from a config, or the rest of one with --resume; one line per epoch on stderr."""

from __future__ import annotations

import math
import os
import sys
import time

import click

from .common import emit_json as _emit_json
from .common import fmt as _fmt
from .common import scores as _scores
from .common import config_option, set_option
from ..printable import printable


def _seconds(t: float) -> str:
    """A duration as 0.42s, 12.3s, 3m05s or 2h07m."""
    if t < 10:
        return f"{t:.2f}s"
    if t < 60:
        return f"{t:.1f}s"
    t = int(round(t))
    return f"{t // 60}m{t % 60:02d}s" if t < 3600 else f"{t // 3600}h{t % 3600 // 60:02d}m"


class Progress:
    """The training screen, on stderr (Keras' fit is the model), as a training callback: it has the
    hooks of engine.callbacks.Callback without importing it (NumPy), so that `nnctl --help` stays
    light. A header before the first epoch
    (run folder, data set and split sizes, parameters, optimizer, epochs, batch size); while stderr
    is a terminal, a live line redrawn in place through each epoch (steps done, running loss and
    accuracy or mae, steps per second, ETA), then one row per epoch in aligned columns. Off a
    terminal: the header, then one plain line per epoch. `quiet`: nothing."""

    BAR = 20  # the live bar's width
    REDRAW = 0.1  # seconds between redraws of the live line

    def __init__(self, quiet: bool = False, epochs: int | None = None):
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self.info: dict = {"epochs": epochs or 0, "batch_size": 1, "task": "classification", "target_scale": 1.0}
        self.drawn = False  # a live line is on the screen
        self.began = self.epoch_started = self.last_draw = time.perf_counter()
        self.epoch_seconds: list[float] = []
        self.steps = 0
        self.head_shown = False

    @property
    def epochs(self) -> int:
        return self.info["epochs"]

    def on_train_begin(self, info):
        self.info, self.began = info, time.perf_counter()
        if self.quiet:
            return
        sizes = info["sizes"]
        kind = "regression" if info["task"] == "regression" else f"{info['n_classes']} classes"
        start = info["start"]
        lines = [f"run folder:  {printable(info['run_dir'])}",
                 f"data:        {printable(info['data'])}, {info['n_features']} features, {kind}: "
                 f"{sizes['train']:,} train / {sizes['val']:,} val / {sizes['test']:,} test rows",
                 f"model:       {info['params']:,} parameters ({info['dtype']})",
                 f"training:    {info['optimizer']}, lr {info['lr']:g}; {info['epochs']} epochs, batch size "
                 f"{info['batch_size']} ({math.ceil(sizes['train'] / info['batch_size']):,} steps an epoch); "
                 f"checkpoint.json keeps the {info['checkpoint']} epoch"]
        if info.get("table"):  # a CSV: how its columns were read
            from ..data.prepare import header_lines

            lines += [printable(line) for line in header_lines(info["table"])]
        if start["epoch"] or start["rows_done"]:
            within = f" ({start['rows_done']:,} of {sizes['train']:,} rows done)" if start["rows_done"] else ""
            lines.append(f"resuming:    at epoch {start['epoch'] + 1}{within}")
        self._echo("\n".join(lines))

    def on_epoch_begin(self, epoch):
        self.epoch_started = self.last_draw = time.perf_counter()
        self.steps = 0

    def on_batch_end(self, epoch, rows_done, n_rows, position=None):
        self.steps += 1
        if not self.live or rows_done >= n_rows:  # the epoch's row replaces its last live line at once
            return
        now = time.perf_counter()
        if self.drawn and now - self.last_draw < self.REDRAW:
            return
        self.last_draw = now
        size = self.info["batch_size"]
        total, done = math.ceil(n_rows / size), math.ceil(rows_done / size)
        rate = self.steps / max(now - self.epoch_started, 1e-9)
        eta = (total - done) / rate
        filled = self.BAR * done // total
        bar = "=" * max(filled - 1, 0) + (">" if filled else "") + "." * (self.BAR - filled)
        line = f"epoch {epoch}/{self.epochs}  {done:>{len(str(total))}}/{total} [{bar}]  ETA {_seconds(eta)}"
        if self.epoch_seconds:  # the whole run's, from the epochs so far
            left = (self.epochs - epoch) * sum(self.epoch_seconds) / len(self.epoch_seconds) + eta
            line += f" (run {_seconds(left)})"
        line += f"  {rate:,.0f} steps/s"
        if position is not None and position.rows_done:
            line += f"  loss {_fmt(position.loss_sum / position.rows_done)}"
            if self.info["task"] == "regression":
                line += f"  mae {_fmt(position.score_sum / position.rows_done * self.info['target_scale'])}"
            else:
                line += f"  acc {_fmt(position.score_sum / position.rows_done)}"
        sys.stderr.write("\r\033[K" + line)
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        """Erase the live line, so that what comes next starts a clean line."""
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.drawn = False

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.close()  # an error or a signal mid-epoch: no half line before the message

    def on_epoch_end(self, record):
        self.close()
        self.epoch_seconds.append(record["seconds"])
        if not self.quiet:
            self._echo(self.row(record) if self.live else self.line(record))
        return False

    def line(self, r: dict) -> str:
        """The plain line of an epoch, off a terminal."""
        if "train_accuracy" in r:
            scores = (f"loss {_fmt(r['train_loss'])}  acc {_fmt(r['train_accuracy'])}  "
                      f"val_loss {_fmt(r['val_loss'])}  val_acc {_fmt(r['val_accuracy'])}")
        else:  # regression
            scores = (f"loss {_fmt(r['train_loss'])}  mae {_fmt(r['train_mae'])}  val_loss {_fmt(r['val_loss'])}  "
                      f"val_mae {_fmt(r['val_mae'])}  val_rmse {_fmt(r['val_rmse'])}  val_r2 {_fmt(r['val_r2'])}")
        return f"epoch {r['epoch']}/{self.epochs}  {scores}  lr {r['lr']:g}  {r['seconds']:.2f}s"

    def row(self, r: dict) -> str:
        """An epoch's row of the aligned table on a terminal, under its column heads the first time."""
        keys = (("loss", "train_loss"), ("acc", "train_accuracy"), ("val_loss", "val_loss"), ("val_acc", "val_accuracy")) \
            if "train_accuracy" in r else (("loss", "train_loss"), ("mae", "train_mae"), ("val_loss", "val_loss"),
                                          ("val_mae", "val_mae"), ("val_rmse", "val_rmse"), ("val_r2", "val_r2"))
        width = len(f"{self.epochs}/{self.epochs}")
        cells = [f"{r['epoch']}/{self.epochs}".rjust(max(width, 5))] + [_fmt(r[k]).rjust(max(len(h), 8)) for h, k in keys]
        cells += [f"{r['lr']:g}".rjust(8), _seconds(r["seconds"]).rjust(7)]
        out = "  ".join(cells)
        if not self.head_shown:
            self.head_shown = True
            head = ["epoch".rjust(max(width, 5))] + [h.rjust(max(len(h), 8)) for h, _ in keys] + ["lr".rjust(8), "time".rjust(7)]
            out = "  ".join(head) + "\n" + out
        return out

    def _echo(self, text: str) -> None:
        click.echo(text, err=True)

    def state_dict(self) -> dict:
        return {}  # nothing a resumed run needs

    def load_state_dict(self, state: dict) -> None:
        pass


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--run-dir", type=click.Path(file_okay=False), help="Write the run here instead of a new folder under run.output_dir.")
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
              help="Log the run to MLflow at URI (default MLFLOW_TRACKING_URI, else sqlite:///mlruns.db here): "
                   "sets run.tracking.mlflow; needs nnctl[mlflow].")
@click.option("--tensorboard", is_flag=True, help="Write TensorBoard event files into RUN_DIR/tensorboard/: sets "
                                                  "run.tracking.tensorboard; needs nnctl[tensorboard].")
@set_option
@config_option
def train(config, run_dir, resume_dir, as_json, quiet, no_plots, data_file, target, mlflow_uri, tensorboard, overrides, layers):
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
        restored = f"restored the weights of epoch {early['best_epoch']}" if early["restored_best"] else "kept the last weights"
        lines.append(f"early stop:  {stopped}; best {early['monitor']} {early['best']:.4f} at epoch {early['best_epoch']}; {restored}")
    if result["plots"]:
        lines.append(f"plots:       {', '.join(os.path.basename(p) for p in result['plots'])}")
    test = result["test"]
    lines.append(f"done in {_seconds(seconds)}: test {_scores(test)} (n={test['n']}); best epoch {result['best_epoch']} "
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
        click.echo(f"             try: {printable(f['advice'])} (all findings: nnctl doctor {printable(run_dir)})", err=True)
