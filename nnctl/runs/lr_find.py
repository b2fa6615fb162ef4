"""`nnctl lr-find`: the learning-rate range test on a config's data and initial weights.

config -> data -> model (built exactly as training builds it) -> engine.lr_find -> lr_find.png.
Nothing of the config's run folder is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import config as config_module, data as data_module
from ..config import memory
from ..engine import lr_find, optimizers
from ..engine.losses import LOSSES
from ..engine.model import build
from ..engine.train import epoch_rng
from .training import augmentation, check_fits, input_shape

N_STEPS = 200


def batches(x, y, batch_size: int, seed: int, shuffle: bool = True, transform=None):
    """(x, y) batches forever, epoch after epoch, shuffled (and augmented: `transform`) as training makes them."""
    epoch = 0
    while True:
        epoch += 1
        order = epoch_rng(seed, epoch).permutation(len(x)) if shuffle else np.arange(len(x))
        for i in range(0, len(x), batch_size):
            rows = order[i:i + batch_size]
            yield (x[rows] if transform is None else transform(x[rows], epoch, i // batch_size)), y[rows]


def run(cfg, n_steps: int = N_STEPS, start_lr: float = 1e-7, end_lr: float = 10.0) -> dict:
    """The range test for `cfg` (a loaded Config): the curve, the suggested rate and the rate at the
    minimum of the smoothed loss, with the config's own rate for comparison."""
    memory.require(cfg)
    dataset = data_module.load(cfg.data, cfg.seed, cfg.training.dtype)
    check_fits(cfg, dataset)
    model = build(config_module.plain(cfg.model.layers), input_shape(cfg, dataset), np.random.default_rng(cfg.seed),
                  cfg.training.dtype)
    optimizer = optimizers.build(config_module.plain(cfg.optimizer))
    found = lr_find.lr_range_test(model, LOSSES[cfg.loss], optimizer,
                                  batches(dataset.x_train, dataset.y_train, cfg.training.batch_size, cfg.seed,
                                          cfg.training.shuffle, augmentation(cfg, dataset)),
                                  start_lr=start_lr, end_lr=end_lr, n_steps=n_steps, clip_norm=cfg.training.clip_norm)
    return {"config_lr": cfg.optimizer.lr, "steps": len(found["lrs"]), **found}


def draw(found: dict, path) -> str:
    """lr_find.png: the raw and smoothed loss against the rate (log scale), the suggestion marked."""
    from matplotlib.figure import Figure

    from .plots import _save

    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.plot(found["lrs"], found["losses"], color="#bbbbbb", linewidth=0.8, label="loss")
    ax.plot(found["lrs"], found["smoothed"], color="#1f77b4", label="smoothed loss")
    if found["suggested"] is not None:
        ax.axvline(found["suggested"], color="#d62728", linestyle="--",
                   label=f"suggested (steepest descent) {found['suggested']:.2g}")
    if found["minimum"] is not None:
        ax.axvline(found["minimum"], color="#7f7f7f", linestyle=":", label=f"minimum {found['minimum']:.2g}")
    ax.set_xscale("log")
    if found["smoothed"]:
        low, first = min(found["smoothed"]), found["smoothed"][0]
        ax.set_ylim(max(0.0, low - 0.1 * (first - low + 1e-12)), max(first, low) * 1.5 + 1e-12)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test")
    ax.legend()
    fig.tight_layout()
    _save(fig, Path(path))
    return str(path)
