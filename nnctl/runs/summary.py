"""The architecture of a config or checkpoint, and the table `nnctl summary` and the model API print.

A module of its own so that the command imports the config and the model's arithmetic only,
not the training, checkpoint and report code (start-up time is one of the performance targets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import config as config_module, data as data_module
from ..engine.model import summary_rows
from ..errors import ConfigError


def summary(source, layers=()) -> dict:
    """The architecture of a config (`-`: on stdin; or a dict holding one) or checkpoint file (or
    a run folder's checkpoint), without loading any data set (except a user's file or an OpenML
    set, whose width only the data can tell); `layers`: config files merged over a config (--config)."""
    if isinstance(source, dict):
        return config_summary(config_module.load(source, layers=layers))
    stdin = str(source) == config_module.STDIN  # a config on stdin
    source = Path(source)
    if not stdin and (source.is_dir() or not source.exists() and source.suffix not in (".yaml", ".yml")):
        from .lookup import checkpoint_path

        source = checkpoint_path(source)  # a run folder's checkpoint.json; CheckpointError (exit 4) when missing
    if source.suffix == ".json" and layers:
        raise ConfigError(f"{source}: --config merges files over a config, not over a checkpoint")
    if source.suffix != ".json":
        return config_summary(config_module.load(source, layers=layers))  # the layers' shapes against the data's
    from . import checkpoint

    ckpt = checkpoint.load(source)
    return architecture(ckpt.config, ckpt.input_shape)


def config_summary(cfg) -> dict:
    """summary() of a loaded config: its data set's shape (loaded only when only the data can tell it)."""
    shape = config_module.shapes.check(cfg, data_module.spec(cfg.data))
    if shape is None:  # a file's width: known once loaded
        dataset = data_module.load(cfg.data, cfg.seed, cfg.training.dtype)
        shape = config_module.shapes.check(cfg, dataset.spec(), f"the config (data from {dataset.source})")
    return architecture(cfg, shape)


def architecture(cfg, shape: tuple) -> dict:
    """summary()'s answer for the model of `cfg` taking inputs of `shape` (without the batch)."""
    rows = summary_rows(config_module.plain(cfg.model.layers), shape)
    total = sum(r["params"] for r in rows)
    trainable = sum(r["params"] - r.get("non_trainable_params", 0) for r in rows if r["trainable"])
    return {"name": cfg.run.name, "input_shape": [None, *shape], "layers": rows, "total_params": total,
            "trainable_params": trainable, "non_trainable_params": total - trainable,
            "bytes": total * np.dtype(cfg.training.dtype).itemsize, "dtype": cfg.training.dtype}


def render(info: dict) -> str:
    """The table Keras users know: Layer (type) | Output Shape | Param #, then the totals. A shape
    not known yet (a model API model before its input shape is) shows as `?`."""
    head = ("Layer (type)", "Output Shape", "Activation", "Param #")
    rows = [(f"{r['name']} ({r['type']})", _shape(r["output_shape"]), r["activation"],
             "?" if r["params"] is None else f"{r['params']:,}") for r in info["layers"]]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) + 2 for i, h in enumerate(head)]

    def line(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    def cells(values, bar):
        parts = [f" {v:<{w - 2}} " if i < 3 else f" {v:>{w - 2}} " for i, (v, w) in enumerate(zip(values, widths))]
        return bar + bar.join(parts) + bar

    itemsize = np.dtype(info["dtype"]).itemsize

    def size(n_params):
        n = n_params * itemsize
        return f"{n:.2f} B" if n < 1024 else f"{n / 1024:.2f} KB" if n < 1024**2 else f"{n / 1024**2:.2f} MB"

    out = [f'Model: "{info["name"]}"  (input: {_shape(info["input_shape"])}, {info["dtype"]})',
           line("┏", "┳", "┓", "━"), cells(head, "┃"), line("┡", "╇", "┩", "━")]
    out += [cells(r, "│") for r in rows]
    out.append(line("└", "┴", "┘", "─"))
    for label, key in (("Total", "total_params"), ("Trainable", "trainable_params"),
                       ("Non-trainable", "non_trainable_params")):
        out.append(f" {label} params: " + ("? (the input shape is not known yet)" if info[key] is None else
                                           f"{info[key]:,} ({size(info[key])})"))
    return "\n".join(out)


def _shape(shape) -> str:
    """[None, 28, 28, 16] as Keras prints it: (None, 28, 28, 16); an unknown shape as ?."""
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
