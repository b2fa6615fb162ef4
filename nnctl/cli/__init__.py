"""The command line: parses, calls nnctl.api, prints. The one place errors become exit codes.

Heavy modules (NumPy, scikit-learn, pydantic) are imported inside the commands, so that
`nnctl --help` starts fast.
"""

from __future__ import annotations

import os
import signal
import sys

import click

from .. import __version__
from .common import emit_json as _emit_json
from .common import fmt as _fmt
from .common import paint, set_option
from ..errors import CheckFailed, Interrupted, NnctlError
from ..printable import printable

EXIT_CODES = {0: "ok", 1: "internal or write error", 2: "usage error", 3: "bad config", 4: "bad or unreadable checkpoint",
              5: "data unavailable", 6: "training diverged", 7: "a check failed (eval --assert, gradcheck)",
              130: "interrupted (SIGINT, Ctrl-C)", 143: "terminated (SIGTERM)"}


class Group(click.Group):
    """Turns nnctl's errors into one line on stderr and the documented exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnctlError as e:
            # a message may quote a path or a name from a file: no control character reaches the terminal
            click.echo(f"{'' if isinstance(e, Interrupted) else 'error: '}{printable(e, newlines=True)}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt as e:  # Ctrl-C outside training, or a second signal (see nnctl.runs.interrupts)
            number = getattr(e, "signal", None)
            if number is None:
                click.echo("interrupted", err=True)
                ctx.exit(130)
            click.echo(f"stopped at once by a second signal ({signal.Signals(number).name}); the files are whole, "
                       "and --resume continues from the last save", err=True)
            ctx.exit(128 + number)
        except BrokenPipeError:  # `nnctl predict ... | head`: the reader left; say nothing more
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):  # no real stdout (tests)
                pass
            ctx.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:  # a bug in nnctl: say so in one line, unless asked for the traceback
            if os.environ.get("NNCTL_DEBUG"):
                raise
            click.echo(f"internal error: {type(e).__name__}: {printable(e, newlines=True)} "
                       f"(set NNCTL_DEBUG=1 for the traceback)", err=True)
            ctx.exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnctl")
def main():
    """Train small neural networks written from scratch in NumPy, driven by YAML files.

    Exit codes: 0 ok, 1 internal or write error, 2 usage, 3 bad config, 4 bad checkpoint,
    5 data unavailable, 6 training diverged, 7 a check failed, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
    """


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


@main.command()
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


def _scores(result: dict) -> str:
    """loss and accuracy, or for regression loss, mae, rmse and r2."""
    keys = ("loss", "accuracy") if "accuracy" in result else ("loss", "mae", "rmse", "r2")
    return "  ".join(f"{k} {_fmt(result[k])}" for k in keys)


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
        checked = assertions.check(gates, assertions.numeric_values(result))
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


@main.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True,
              help="Which split of the checkpoint's data set to score.")
@click.option("--data", "data_path", type=click.Path(),
              help="Score on this labelled file (or MNIST folder), read with the checkpoint's data settings "
                   "(target column, split fractions, seed); needed when the checkpoint names a file outside its run folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--assert", "gates", multiple=True, metavar="METRIC OP NUMBER", callback=_parse_assertions,
              help="Exit 7 unless this holds, e.g. 'accuracy>=0.97' or 'loss<0.1' (OP: >= <= > < == !=). Repeatable.")
def eval_(checkpoint, split, data_path, as_json, gates):
    """Score CHECKPOINT on a split of its data set: loss, accuracy, per-class scores, confusion matrix."""
    from .. import api
    from ..runs.checkpoint_data import DataPathNotUsed

    try:
        result = api.evaluate_checkpoint(checkpoint, split, data=data_path)
    except DataPathNotUsed as e:
        raise click.BadParameter(str(e), param_hint="'--data'") from None
    checked = _check_assertions(gates, result)
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
        click.echo(f"{c:>{width}}  {per['precision'][i]:9.4f}  {per['recall'][i]:6.4f}  {per['f1'][i]:6.4f}  {per['support'][i]:7d}")
    cells = max(5, *(len(c) for c in classes), *(len(str(v)) for row in result["confusion_matrix"] for v in row))
    click.echo("\nconfusion matrix (rows: true class, columns: predicted class)")
    click.echo(" " * width + "".join(f" {c:>{cells}}" for c in classes))
    for c, row in zip(classes, result["confusion_matrix"]):
        click.echo(f"{c:>{width}}" + "".join(f" {v:>{cells}}" for v in row))
    _fail_assertions(checked)


@main.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def summary(source, as_json):
    """Print the architecture of a config or checkpoint (.json) as a Keras-style table."""
    from ..runs.summary import summary as summarize

    info = summarize(source)
    if as_json:
        _emit_json(info)
        return
    click.echo(render_summary(info))


def render_summary(info: dict) -> str:
    """The table Keras users know: Layer (type) | Output Shape | Param #, then the totals."""
    head = ("Layer (type)", "Output Shape", "Activation", "Param #")
    rows = [(f"{r['name']} ({r['type']})", f"(None, {r['output_shape'][1]})", r["activation"], f"{r['params']:,}")
            for r in info["layers"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in enumerate(head)]

    def line(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    def cells(values, bar):
        parts = [f" {v:<{w - 2}} " if i < 3 else f" {v:>{w - 2}} " for i, (v, w) in enumerate(zip(values, widths))]
        return bar + bar.join(parts) + bar

    itemsize = info["bytes"] // max(info["total_params"], 1)

    def size(n_params):
        n = n_params * itemsize
        return f"{n:.2f} B" if n < 1024 else f"{n / 1024:.2f} KB" if n < 1024**2 else f"{n / 1024**2:.2f} MB"

    out = [f'Model: "{info["name"]}"  (input: (None, {info["input_shape"][1]}), {info["dtype"]})',
           line("┏", "┳", "┓", "━"), cells(head, "┃"), line("┡", "╇", "┩", "━")]
    out += [cells(r, "│") for r in rows]
    out.append(line("└", "┴", "┘", "─"))
    for label, key in (("Total", "total_params"), ("Trainable", "trainable_params"), ("Non-trainable", "non_trainable_params")):
        out.append(f" {label} params: {info[key]:,} ({size(info[key])})")
    return "\n".join(out)



from . import doctor as _doctor, lr_find as _lr_find  # noqa: E402
from . import check as _check, sweep as _sweep, predict as _predict, data as _data, runs as _runs  # noqa: E402  (the other modules' commands)

for _command in (_check.check, _check.gradcheck, _check.schema, _sweep.sweep, _predict.predict, _data.data, _runs.plot, _runs.runs):
    main.add_command(_command)

main.add_command(_lr_find.lr_find)
main.add_command(_doctor.doctor)

if __name__ == "__main__":
    main()
