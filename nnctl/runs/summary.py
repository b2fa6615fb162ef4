"""The architecture of a config or checkpoint, as `nnctl summary` prints it.

A module of its own so that the command imports the config and the model's arithmetic only,
not the training, checkpoint and report code (start-up time is one of the performance targets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import config as config_module
from .. import data as data_module
from ..engine.model import summary_rows
from ..errors import ConfigError


def summary(source, layers=()) -> dict:
    """The architecture of a config (`-`: on stdin) or checkpoint file (or a run folder's checkpoint), without loading
    any data set (except a user's file or an OpenML set, whose width only the data can tell);
    `layers`: config files merged over a config (--config)."""
    stdin = str(source) == config_module.STDIN  # a config on stdin
    source = Path(source)
    if not stdin and (source.is_dir() or not source.exists() and source.suffix not in (".yaml", ".yml")):
        from .lookup import checkpoint_path

        source = checkpoint_path(source)  # a run folder's checkpoint.json; CheckpointError (exit 4) when missing
    if source.suffix == ".json" and layers:
        raise ConfigError(f"{source}: --config merges files over a config, not over a checkpoint")
    if source.suffix == ".json":
        from . import checkpoint

        ckpt = checkpoint.load(source)
        cfg, shape = ckpt.config, ckpt.input_shape
    else:
        cfg = config_module.load(source, layers=layers, peek=True)  # the layers' shapes against the data's
        shape = config_module.shapes.check(cfg, data_module.peek(cfg.data))  # a .npz's or .npy's: its header's
        if shape is None:  # a CSV's width: known once loaded
            dataset = data_module.load(cfg.data, cfg.seed, cfg.training.dtype)
            shape = config_module.shapes.check(cfg, dataset.spec(), f"the config (data from {dataset.source})")
    rows = summary_rows(config_module.plain(cfg.model.layers), shape)
    total = sum(r["params"] for r in rows)
    trainable = sum(r["params"] - r.get("non_trainable_params", 0) for r in rows if r["trainable"])
    return {"name": cfg.run.name, "input_shape": [None, *shape], "layers": rows, "total_params": total,
            "trainable_params": trainable, "non_trainable_params": total - trainable,
            "bytes": total * np.dtype(cfg.training.dtype).itemsize, "dtype": cfg.training.dtype}
