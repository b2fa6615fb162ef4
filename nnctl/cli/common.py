"""What every command module of the CLI shares: JSON output, number formatting, colour, --set, --config."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..runs.progress import fmt


def emit_json(obj) -> None:
    """One JSON object on stdout."""
    from ..files import strict_json

    click.echo(strict_json(obj, indent=2, default=json_default))  # NaN is null: strict JSON, which every parser reads


def json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def scores(result: dict) -> str:
    """loss and accuracy, or for regression loss, mae, rmse and r2 (engine.metric_names.SCORES)."""
    from ..engine import metric_names

    task = metric_names.task_of(result)
    names = [s.name for s in metric_names.SCORES[task]] if task else ["loss"]
    return "  ".join(f"{name} {fmt(result[name])}" for name in names)


def paint(text: str, fg: str) -> str:
    """`text` in colour, unless NO_COLOR is set (click.echo also drops colour when not on a terminal)."""
    return text if os.environ.get("NO_COLOR") else click.style(text, fg=fg)


def table(head, rows, *, right=(), colours=None, widths=()) -> list[str]:
    """An aligned text table as lines, the head first: columns two spaces apart, each as wide as its widest cell
    (at least `widths[i]`), the columns in `right` right-aligned (their head too); `colours` maps a column to a
    function of the cell that names its colour, painted inside the padding (see paint)."""
    colours = colours or {}
    widths = [max(len(h), *(len(r[i]) for r in rows), *widths[i:i + 1]) for i, h in enumerate(head)]

    def line(cells, painted: bool) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths)):
            pad = " " * (width - len(cell))
            shown = paint(cell, colours[i](cell)) if painted and i in colours else cell
            out.append(pad + shown if i in right else shown + pad)
        return "  ".join(out).rstrip()

    return [line(head, False)] + [line(row, True) for row in rows]


def one_path(paths: tuple[str, ...], what: str, quiet: bool = False) -> str:
    """The one CHECKPOINT or RUN_DIR of a command, from an argument that takes any number so that a
    glob matching several (`runs/moons-*/checkpoint.json` once moons was trained twice) is refused
    with the newest of them (exit 2) rather than mistaken for the command's other arguments. A
    `runs/latest` spelling is resolved, and the run it names said on stderr (unless `quiet`)."""
    from ..printable import printable
    from ..runs import lookup

    if len(paths) > 1:
        newest = lookup.newest(paths)
        spelled = lookup.latest_spelling(newest)
        also = f", also named {printable(spelled)}" if spelled else ""
        raise click.UsageError(f"{len(paths)} {what}s matched: pass one (the newest is {printable(newest)}{also})")
    resolved = str(lookup.resolve(paths[0]))
    if Path(resolved) != Path(paths[0]) and not quiet:
        click.echo(f"{printable(paths[0])}: {printable(resolved)}", err=True)
    return resolved


def set_option(command):
    """The repeatable `--set key=value` of every command that reads a config."""
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", shell_complete=_complete_key,
                        help="Override a config key (dotted, e.g. optimizer.lr=0.01 or model.layers[0].units=64; "
                             "the value is read as YAML). Repeatable.")(command)


def config_option(command):
    """The repeatable `--config FILE` of every command that reads a config: files merged over CONFIG."""
    return click.option("--config", "layers", multiple=True, metavar="FILE", type=click.Path(dir_okay=False),
                        help="Merge this config file over CONFIG: mappings key by key, anything else (a list, a "
                             "number) replaced; later files win, --set after all. Repeatable.")(command)


def json_option(command):
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")(command)


def _complete_key(ctx, param, incomplete: str):
    """Shell completion of --set: every dotted key of the config schema, as `key=`."""
    from ..config import dotted_keys

    return [f"{key}=" for key in dotted_keys() if key.startswith(incomplete)]


def delimiter_option(help_text: str):
    """--delimiter CHAR: one character; `tab` and `\\t` mean a tab."""
    def check(ctx, param, value):
        if value is None:
            return None
        value = "\t" if value in ("tab", "\\t") else value
        if len(value) != 1:
            raise click.BadParameter(f"expected one character, such as ';' or tab, got {value!r}")
        return value

    return click.option("--delimiter", metavar="CHAR", callback=check, help=help_text)
