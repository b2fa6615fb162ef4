"""nnctl data list / fetch: what data sets there are, and filling the cache ahead of an offline run."""

from __future__ import annotations

import difflib

import click

from .common import emit_json, json_option, paint, table


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
    from ..data import catalog
    from ..data import SPECS

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
        click.echo(f"{paint(name, 'green')} from {result['source']}; cached in {where} ({_size(result['cache_bytes'])})")
