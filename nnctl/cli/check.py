"""Commands that check before anything runs: check, schema, gradcheck."""

from __future__ import annotations

import math

import click

from .common import emit_json, json_option, paint, set_option
from ..errors import CheckFailed


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@json_option
def check(config, overrides, as_json):
    """Validate CONFIG as train would (output layer, loss and data set included) and print it resolved.

    Nothing is trained and no data set is loaded. Exit 0 when valid, 3 when not.
    """
    from .. import api
    from ..config.memory import size as memory_size

    result = api.check(config, overrides)
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
    click.echo(f"{paint('ok', 'green')}: {config} is valid: {data['name']} ({features}, {classes}){size}{needs}", err=True)


@click.command()
def schema():
    """Print the JSON Schema of a config file (for yaml-language-server and other editors)."""
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
@click.option("--samples", type=click.IntRange(min=0), default=100, show_default=True,
              help="Entries checked per parameter tensor, drawn at random (0: every entry).")
@click.option("--tolerance", type=PositiveFinite(), default=None,
              help="Largest relative error allowed  [default: 1e-4].")
@click.option("--batch-size", type=click.IntRange(min=1, max=10_000), default=8, show_default=True,
              help="Rows of the synthetic batch (at most 10,000: every checked entry runs the batch twice).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of weights, batch and sample  [default: the config's].")
@json_option
def gradcheck(config, overrides, samples, tolerance, batch_size, seed, as_json):
    """Check backprop against finite differences for the network CONFIG describes, in float64.

    Prints the largest relative error per parameter tensor; exits 7 when one is above the
    tolerance. The batch is synthetic, so no data set is loaded.
    """
    from .. import api

    result = api.gradcheck(config, overrides, samples=samples or None, tolerance=tolerance, batch_size=batch_size, seed=seed)
    if as_json:
        emit_json(result)
    else:
        rows = [(name, f"{r['checked']}/{r['size']}", f"{r['max_relative_error']:.2e}",
                 r["max_relative_error"] <= result["tolerance"]) for name, r in result["parameters"].items()]
        width = max(len("parameter"), *(len(r[0]) for r in rows))
        click.echo(f"{'parameter':<{width}}  {'checked':>13}  {'max rel error':>13}")
        for name, checked, error, ok in rows:
            click.echo(f"{name:<{width}}  {checked:>13}  {error:>13}  {paint('ok', 'green') if ok else paint('FAIL', 'red')}")
        click.echo(f"batch of {result['batch_size']} in float64, eps {result['eps']:g}, tolerance {result['tolerance']:g}",
                   err=True)
    if not result["passed"]:
        bad = [n for n, r in result["parameters"].items() if r["max_relative_error"] > result["tolerance"]]
        raise CheckFailed(f"gradient check failed: relative error {result['max_relative_error']:.2e} is above the "
                          f"tolerance {result['tolerance']:g} in {', '.join(bad)}")
