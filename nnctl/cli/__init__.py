"""The command line: parses, calls nnctl.api, prints. The one place errors become exit codes.

This module is the `nnctl` group and its error handling; the commands live in one module per
group (train, evaluate, inspect, predict, runs, data, sweep, track) and are registered below, by
add_command, so that a module keeps its name on the package (nnctl.cli.predict is the module).
Heavy modules (NumPy, scikit-learn, pydantic) are imported inside the commands, so that
`nnctl --help` starts fast.
"""

from __future__ import annotations

import os
import signal
import sys

import click

from .. import __version__
from ..errors import EXIT_CODES, Interrupted, NnctlError  # noqa: F401  (EXIT_CODES: the one table)
from ..printable import printable
from . import (
    data as _data,
    doctor as _doctor,
    evaluate as _evaluate,
    export as _export,
    init as _init,
    inspect as _inspect,
    lr_find as _lr_find,
    predict as _predict,
    runs as _runs,
    sweep as _sweep,
    track as _track,
    train as _train,
)


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


for _command in (_train.train, _evaluate.eval_, _inspect.summary, _inspect.check, _inspect.gradcheck, _inspect.schema,
                 _sweep.sweep, _predict.predict, _export.export, _data.data, _runs.plot, _runs.runs, _doctor.doctor,
                 _lr_find.lr_find, _init.init, _track.track):
    main.add_command(_command)

if __name__ == "__main__":
    main()
