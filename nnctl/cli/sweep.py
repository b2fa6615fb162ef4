"""`nnctl sweep`: parses, calls nnctl.sweep.runner, prints the leaderboard. Registered on nnctl.cli.main."""

from __future__ import annotations

import click

from .common import table


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run this many trials at once, each in its own process with one BLAS thread.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Run the trials on this Dask distributed scheduler's workers (needs nnctl[dask]).")
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as one JSON object on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No line per finished trial on stderr.")
@click.pass_context
def sweep(ctx, spec, jobs, scheduler, as_json, quiet):
    """Run the grid or random search SPEC describes; print the leaderboard, best trial first."""
    from ..printable import printable
    from ..sweep import runner as sweep_module, spec as sweep_spec
    from .common import emit_json as _emit_json

    if scheduler and jobs > 1:
        raise click.UsageError("--jobs is for this machine; with --scheduler the cluster's workers run the trials")
    loaded = sweep_spec.load(spec)
    metric = loaded.spec.metric

    def progress(row, done, total):
        if quiet:
            return
        what = f"{metric} {_fmt(row[metric])}" if row["status"] == "finished" else row["error"]
        again = " (finished before)" if row["reused"] else " (continued from its last.json)" if row["resumed"] else ""
        click.echo(printable(f"trial {done}/{total} {row['trial']} {row['status']}{again}: {what}  [{_params(row)}]"),
                   err=True)

    board = sweep_module.run(loaded, jobs=jobs, scheduler=scheduler, on_result=progress)
    if as_json:
        _emit_json(board)
    else:
        click.echo(printable(render(board), newlines=True))
    code = sweep_module.exit_code(board)
    if code:
        first = next(r for r in board["leaderboard"] if r["exit_code"])
        click.echo(printable(f"error: no trial finished; the first failure: {first['error']}", newlines=True), err=True)
        ctx.exit(code)


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _params(row) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in row["params"].items())


def _value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def render(board: dict) -> str:
    """The leaderboard as an aligned text table, then where it is written."""
    from ..engine import metric_names

    shown = [k for k in board["metrics"] if k != "test_loss"]
    head = ["rank", "trial", "status", *board["parameters"], *map(metric_names.head, shown),
            "epochs", "seconds"]
    rows = [[_fmt(r["rank"]), r["trial"] or "-", r["status"], *(_value(r["params"][k]) for k in board["parameters"]),
             *(_fmt(r[k]) for k in shown), _fmt(r["epochs"]), _fmt(r["seconds"])] for r in board["leaderboard"]]
    lines = table(head, rows)
    failed = [r for r in board["leaderboard"] if r["error"]]
    lines += [f"{r['trial'] or 'invalid'}: {r['error']}" for r in failed]
    lines.append(f"{board['finished']} of {board['trials']} trials finished ({board['ran']} run now, "
                 f"{board['reused']} finished before); ranked by {board['metric']} ({board['mode']}). "
                 f"Leaderboard: {board['sweep_dir']}/leaderboard.csv")
    return "\n".join(lines)
