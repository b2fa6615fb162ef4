"""Commands that look at a network before anything trains: summary, check, schema, gradcheck."""

from __future__ import annotations

import math
import re

import click

from ..errors import CheckFailed
from ..printable import printable
from .common import config_option, emit_json, json_option, one_path, paint, set_option, table


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(), metavar="SOURCE")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@config_option
def summary(sources, as_json, layers):
    """Print the architecture of a config, checkpoint (.json) or run folder (runs/latest: the newest
    run) as a Keras-style table."""
    from ..runs.summary import render, summary as summarize

    info = summarize(one_path(sources, "checkpoint"), layers)
    if as_json:
        emit_json(info)
        return
    click.echo(render(info))


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@config_option
@json_option
def check(config, overrides, layers, as_json):
    """Validate CONFIG as train would (output layer, loss and data set included) and print it resolved.

    Nothing is trained and no data set is loaded. Exit 0 when valid, 3 when not.
    """
    from .. import api
    from ..config.memory import size as memory_size
    from ..errors import ConfigError

    try:
        result = api.check(config, overrides, layers)
    except ConfigError as e:
        if as_json:  # a machine reads it: every error as data, then exit 3 as always
            emit_json({"config": config, "valid": False, "errors": config_errors(e)})
        raise
    if as_json:
        emit_json({k: v for k, v in result.items() if k != "resolved_yaml"})
        return
    click.echo(result["resolved_yaml"], nl=False)
    data = result["data"]
    features = "features known once loaded" if data["n_features"] is None else f"{data['n_features']} features"
    classes = "regression" if data["task"] == "regression" else (
        "classes known once loaded" if data["n_classes"] is None else f"{data['n_classes']} classes")
    size = "" if result["total_params"] is None else f", {result['total_params']:,} parameters"
    need = result["memory"]
    at_least = "at least " if need["lower_bound"] else ""
    needs = f"; training needs {at_least}about {memory_size(need['bytes'])} of memory"
    if need["available"] is not None:
        needs += f" ({memory_size(need['available'])} available)"
    shown = "<stdin>" if config == "-" else printable(config)
    click.echo(f"{paint('ok', 'green')}: {shown} is valid: {data['name']} ({features}, "
               f"{classes}){size}{needs}", err=True)


# `file:line: key: message` (file and line, or the key, may be missing: a --set, a YAML syntax error)
ERROR_LINE = re.compile(r"^(?:(?P<file>.+?):(?P<line>\d+): )?(?:(?P<key>[A-Za-z_][\w.\[\]]*): )?(?P<message>.*)$")


def config_errors(error) -> list[dict]:
    """A ConfigError's errors, each as {file, line, key, message} (None where the error has none):
    from the error's own list when it carries one, else from its lines."""
    found = getattr(error, "errors", None)
    if found:
        return [{k: e.get(k) for k in ("file", "line", "key", "message")} if isinstance(e, dict) else
                {"file": None, "line": None, "key": None, "message": str(e)} for e in found]
    out = []
    for text in str(error).splitlines():
        if not text.strip():
            continue
        if text.startswith((" ", "\t")) and out:  # a continuation: the quoted line of a YAML error, a hint
            out[-1]["message"] += "\n" + text
            continue
        m = ERROR_LINE.match(text)
        out.append({"file": m["file"], "line": int(m["line"]) if m["line"] else None, "key": m["key"],
                    "message": m["message"]})
    return out


@click.command()
@click.option("--sweep", is_flag=True, help="The schema of a sweep spec instead of a config's.")
def schema(sweep):
    """Print the JSON Schema of a config file (for yaml-language-server and other editors).

    It accepts what nnctl accepts: the Keras and PyTorch names of words and keys, in any case,
    and a top-level $schema key (which nnctl ignores)."""
    if sweep:
        from ..sweep.spec import json_schema

        emit_json(json_schema())
        return
    from .. import api

    emit_json(api.schema())


class PositiveFinite(click.FloatRange):
    """A number > 0 that is finite: FloatRange lets nan through (every comparison with nan is false)."""

    name = "positive finite float"

    def __init__(self):
        super().__init__(min=0, min_open=True)

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number: give one above 0, such as 1e-4", param, ctx)
        return number


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@config_option
@click.option("--samples", type=click.IntRange(min=0), default=100, show_default=True,
              help="Entries checked per parameter tensor, drawn at random (0: every entry).")
@click.option("--tolerance", type=PositiveFinite(), default=None,
              help="Largest relative error allowed  [default: 1e-4].")
@click.option("--batch-size", type=click.IntRange(min=1, max=10_000), default=8, show_default=True,
              help="Rows of the synthetic batch (at most 10,000: every checked entry runs the batch twice).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of weights, batch and sample  [default: the config's].")
@json_option
def gradcheck(config, overrides, layers, samples, tolerance, batch_size, seed, as_json):
    """Check backprop against finite differences for the network CONFIG describes, in float64.

    Prints the largest relative error per parameter tensor; exits 7 when one is above the
    tolerance. The batch is synthetic, so no data set is loaded.
    """
    from .. import api

    result = api.gradcheck(config, overrides, layers, samples=samples or None, tolerance=tolerance,
                           batch_size=batch_size, seed=seed)
    if as_json:
        emit_json(result)
    else:
        rows = [(name, f"{r['checked']}/{r['size']}", f"{r['max_relative_error']:.2e}",
                 "ok" if r["max_relative_error"] <= result["tolerance"] else "FAIL")
                for name, r in result["parameters"].items()]
        for line in table(("parameter", "checked", "max rel error", ""), rows, right=(1, 2), widths=(0, 13),
                          colours={3: lambda ok: "green" if ok == "ok" else "red"}):
            click.echo(line)
        click.echo(f"batch of {result['batch_size']} in float64, eps {result['eps']:g}, tolerance "
                   f"{result['tolerance']:g}",
                   err=True)
    if not result["passed"]:
        bad = [n for n, r in result["parameters"].items() if r["max_relative_error"] > result["tolerance"]]
        raise CheckFailed(f"gradient check failed: relative error {result['max_relative_error']:.2e} is above the "
                          f"tolerance {result['tolerance']:g} in {', '.join(bad)}")
