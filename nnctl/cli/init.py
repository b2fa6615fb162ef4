"""nnctl init: a commented starter config for a built-in data set or a CSV / .npz file."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .common import set_option


@click.command()
@click.option("--data", "data", required=True, metavar="NAME|FILE",
              help="A built-in data set (`nnctl data list`) or a CSV / .npz file.")
@click.option("--target", help="The CSV's target column: its header name, or a 0-based index without a header "
                               "(default: the last column).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (default: <data's stem>.yaml).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option("--print", "to_stdout", is_flag=True, help="Write the config to stdout instead of a file.")
@set_option
def init(data, target, output, force, to_stdout, overrides):
    """Write a starter config for DATA, every choice commented: it passes `nnctl check` and trains.

    A file's target decides the task: text, or at most 20 distinct whole numbers, is a
    classification (softmax and cross_entropy; one sigmoid unit and binary_cross_entropy for two
    classes); other numbers are a regression (one linear unit and mse). A CSV's columns are typed
    (numeric, categorical, binary, or left out) and written in data.columns; --set data.* keys
    (data.delimiter, data.columns.NAME, ...) apply before the file is read.
    """
    from .. import api
    from ..config import starter
    from ..files import atomic_write

    if to_stdout:
        if output is not None:
            raise click.UsageError("--print writes to stdout: it cannot be combined with -o")
        text, profile = api.starter_text(data, target, overrides=overrides)
        click.echo(text, nl=False)
        _tell(profile)
        return
    if output is not None and os.path.exists(output) and not force:  # False for a name too long to exist
        raise click.UsageError(f"{output} exists: pass --force to overwrite it, or -o to write elsewhere")
    text, profile = api.starter_text(data, target, Path(output).parent if output is not None else Path("."), overrides)
    path = Path(output or starter.default_name(profile))
    if os.path.exists(path) and not force:  # False for a name too long to exist: atomic_write says so
        raise click.UsageError(f"{path} exists: pass --force to overwrite it, or -o to write elsewhere")
    atomic_write(path, text)
    what = f"{profile.task}, {profile.n_features} features" + (
        f", {profile.n_classes} classes" if profile.task == "classification" else "")
    click.echo(f"wrote {path} ({what})", err=True)
    _tell(profile)
    click.echo(f"next:  nnctl check {path}   then   nnctl train {path}", err=True)


def _tell(profile) -> None:
    """What was told of a CSV's columns, on stderr: the types and inputs, then what is filled in."""
    from ..data import prepare
    from ..printable import printable

    if profile.report is not None:
        for line in prepare.header_lines(profile.report):
            click.echo(printable(line), err=True)
