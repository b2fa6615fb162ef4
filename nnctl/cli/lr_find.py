"""`nnctl lr-find CONFIG`: the learning-rate range test."""

from __future__ import annotations

import click

from .common import config_option, emit_json, json_option, set_option


@click.command("lr-find")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="lr_find.png", show_default=True, type=click.Path(dir_okay=False),
              help="Where to draw the loss against the learning rate.")
@click.option("--steps", default=200, show_default=True, type=click.IntRange(20, 100_000),
              help="Batches to train while the rate grows from 1e-7 to 10.")
@json_option
@set_option
@config_option
def lr_find(config, output, steps, as_json, overrides, layers):
    """Train CONFIG's network from its initial weights while raising the learning rate from 1e-7 to 10
    (the range test); print the rate where the loss falls fastest and the rate at its minimum.

    Nothing of the config's run folder is written; only the plot (-o).
    """
    from ..config import load
    from ..runs import lr_find as finder

    found = finder.run(load(config, overrides, layers), n_steps=steps)
    found["plot"] = finder.draw(found, output)
    if as_json:
        emit_json(found)
        return
    suggested = "-" if found["suggested"] is None else f"{found['suggested']:.3g}"
    minimum = "-" if found["minimum"] is None else f"{found['minimum']:.3g}"
    click.echo(f"suggested lr:  {suggested}  (steepest descent of the smoothed loss)")
    click.echo(f"minimum at:    {minimum}  (rates beyond it make the loss climb)")
    click.echo(f"config's lr:   {found['config_lr']:g}")
    exploded = "  (stopped: the loss exploded)" if found["stopped"] == "diverged" else ""
    click.echo(f"steps:         {found['steps']} of {steps}{exploded}")
    click.echo(f"plot:          {found['plot']}")
