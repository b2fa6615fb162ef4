"""`nnctl doctor RUN_DIR`: what went wrong in a run, with the evidence and one change to try."""

from __future__ import annotations

import click

from ..printable import printable
from .common import emit_json, json_option, one_path, paint


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False), metavar="RUN_DIR")
@click.option("--no-data", is_flag=True,
              help="Read only the run folder's files; do not score the checkpoint on its data.")
@click.option("--data", "data_path", type=click.Path(),
              help="Score the checkpoint on this file (as `nnctl eval --data`) when the run's data is a file outside "
                   "its folder.")
@json_option
def doctor(run_dirs, no_data, data_path, as_json):
    """Read RUN_DIR (runs/latest: the newest run) and print findings, most important first, each with
    its evidence and advice.

    Exit 0 whatever is found (it is advice); 4 when RUN_DIR is not a readable run folder.
    """
    from ..runs import doctor as doctor_module

    run_dir = one_path(run_dirs, "run folder")
    findings = doctor_module.diagnose(doctor_module.read(run_dir, data=not no_data, data_path=data_path))
    if as_json:
        emit_json({"run_dir": run_dir, "findings": findings})
        return
    if not findings:
        click.echo("no findings: nothing in this run looks wrong")
        return
    for f in findings:
        label = paint("warning", "yellow") if f["severity"] == "warning" else paint("info", "cyan")
        click.echo(f"{label}  {f['code']}: {printable(f['evidence'])}")
        click.echo(f"    try: {printable(f['advice'])}")
