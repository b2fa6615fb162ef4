"""nnctl data list / fetch: what data sets there are, and filling the cache ahead of an offline run."""

from __future__ import annotations

import difflib
import json

import click

from .common import delimiter_option, emit_json, json_option, paint, set_option, table


@click.group()
def data():
    """Data sets: list them, fetch one into the cache."""


def _size(n: int) -> str:
    return "-" if not n else f"{n / 1024**2:.1f} MB" if n >= 1024**2 else f"{n / 1024:.1f} KB"


@data.command("list")
@json_option
def list_(as_json):
    """The built-in and cached data sets, with their sizes and where each comes from."""
    from ..data import catalog

    entries = catalog.describe()
    if as_json:
        from ..data import cache_dir

        emit_json({"cache_dir": str(cache_dir()), "datasets": entries, "other_cache": catalog.other_cache()})
        return
    head = ("name", "rows", "features", "classes", "status", "cache size", "from")
    rows = [(e["name"], f"{e['rows']:,}" if isinstance(e["rows"], int) else str(e["rows"] or "-"), str(e["features"]),
             str(e["classes"]), e["status"], _size(e["cache_bytes"]), e["origin"]) for e in entries]
    colours = {"cached": "green", "local": "green", "built in": "cyan", "not fetched": "yellow"}
    for line in table(head, rows, colours={4: lambda status: colours.get(status, "white")}):
        click.echo(line)
    for extra in catalog.other_cache():
        click.echo(f"the cache also holds {extra['path']} ({_size(extra['bytes'])})")


def _dataset_names(ctx, param, incomplete):
    from ..data import SPECS

    return [name for name in SPECS if name.startswith(incomplete)]


@data.command()
@click.argument("name", shell_complete=_dataset_names)
@click.option("--quiet", "-q", is_flag=True, help="No progress line on stderr.")
@json_option
def fetch(name, quiet, as_json):
    """Load data set NAME into the cache (e.g. mnist), so a later run needs no network or data folder."""
    from ..data import SPECS, catalog

    if name not in SPECS:
        close = difflib.get_close_matches(name, list(SPECS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise click.BadParameter(f"unknown data set {name!r} (known: {', '.join(SPECS)}){hint}", param_hint="'NAME'")
    if not quiet and name in catalog.FETCHERS:
        click.echo(f"fetching {name} ...", err=True)
    result = catalog.fetch(name)
    if as_json:
        emit_json(result)
    elif not result["fetched"]:
        click.echo(result["reason"])
    else:
        where = ", ".join(result["cache"]) or f"nothing: the cache folder {result['cache_dir']} is not writable"
        click.echo(f"{paint(name, 'green')} from {result['source']}; cached in {where} "
                   f"({_size(result['cache_bytes'])})")


@data.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--target",
              help="The target column: its header name, or a 0-based index without a header (default: the last).")
@delimiter_option("The field separator, e.g. ';' or tab (default: told from the file's first lines).")
@set_option
@json_option
def inspect(file, target, delimiter, overrides, as_json):
    """What nnctl reads in the CSV FILE before anything trains: each column's type (numeric,
    categorical, binary, or left out) and why, its missing cells and distinct values, the inputs
    it makes, and the target's classes and their counts. --set data.* keys (data.columns.NAME,
    data.decimal, ...) apply as they would to `nnctl train --data FILE`."""
    from .. import api
    from ..printable import printable

    if delimiter is not None:
        overrides = (*overrides, f"data.delimiter={json.dumps(delimiter)}")  # a JSON string is YAML
    report = api.inspect_data(file, target, overrides)
    if as_json:
        emit_json(report)
        return
    head = ("column", "type", "missing", "distinct", "inputs", "read as", "why")
    rows = [(printable(c["name"]), c["type"], f"{c['missing']:,}", f"{c['distinct']:,}", str(c["inputs"]),
             printable(c["read_as"]), printable(c["why"])) for c in report["columns"]]
    shown = "tab" if report["delimiter"] == "\t" else repr(report["delimiter"])
    click.echo(f"{printable(report['file'])}: {report['rows']:,} rows, delimiter {shown}, "
               f"{'a header row' if report['header'] else 'no header'}; {report['inputs']:,} inputs for the network")
    colours = {"numeric": "white", "categorical": "cyan", "binary": "cyan", "ignore": "yellow"}
    for line in table(head, rows, colours={1: lambda kind: colours.get(kind, "white")}):
        click.echo(line)
    for name, n in report["dropped_rows"].items():
        click.echo(f"{n:,} rows missing {printable(name)!r} are left out (impute: drop_rows)")
    t = report["target"]
    line = f"target {printable(t['name'])!r}: {t['task']} ({printable(t['why'])})"
    if "classes" in t:
        total = sum(t["classes"].values())
        line += ": " + ", ".join(f"{printable(c)} {n:,} ({n / total:.0%})" for c, n in t["classes"].items())
    else:
        line += f": {t['min']:g} to {t['max']:g}, mean {t['mean']:g}, std {t['std']:g}"
    click.echo(line)
