"""A starter config for a data set, every choice commented, for `nnctl init` and `nnctl train --data`.

The choices, from what nnctl.data.infer tells of the data:

    output and loss  more than two classes: one softmax unit per class and cross_entropy;
                     two classes: one sigmoid unit and binary_cross_entropy;
                     regression: one linear unit and mse (the target is standardised)
    network          two hidden relu layers: the first twice the inputs, rounded up to a power of
                     two within 32..256, the second half of it
    optimizer        Adam at lr 1e-3, which rarely needs tuning to give a first good model
    training         batch 32 under 10,000 training rows, else 128; 100 epochs under 10,000 rows,
                     else 20; early stopping on val_loss, keeping the best epoch's weights
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..data.images import IMAGE_SETS
from ..data.infer import Profile

LR = 1e-3
LARGE = 10_000  # rows from which batches of 128 and fewer epochs pay off


def hidden_units(n_features: int) -> tuple[int, int]:
    """The widths of the two hidden layers for `n_features` inputs."""
    first = 32
    while first < 2 * n_features and first < 256:
        first *= 2
    return first, first // 2


def _output(p: Profile) -> tuple[str, str, str]:
    """(the output layer, the loss, the comment that explains them)."""
    if p.task == "regression":
        return ("{units: 1}", "mse",
                "regression: one linear output unit (no activation) and the mean squared error")
    if p.n_classes == 2:
        return ("{units: 1, activation: sigmoid}", "binary_cross_entropy",
                "two classes: one sigmoid unit, the probability of the second class, and binary_cross_entropy")
    return (f"{{units: {p.n_classes}, activation: softmax}}", "cross_entropy",
            f"{p.n_classes} classes: one softmax unit per class (probabilities summing to 1) and cross_entropy")


def _data_lines(p: Profile, config_dir: Path | None) -> list[str]:
    if p.path is None:
        lines = ["data:", f"  name: {p.name}  # a built-in data set ({p.n_features} features"
                 f"{f', {p.rows:,} rows' if p.rows else ''}): `nnctl data list` shows the others"]
        if p.name in IMAGE_SETS:
            lines.append("  # the test split is the published one (the last 10,000 images)")
        else:
            lines.append("  test_fraction: 0.2  # held out for the final score")
        return lines + ["  val_fraction: 0.1  # watched during training, for early stopping"]
    lines = ["data:", f"  name: {p.name}", f"  path: {_dump(_path(p.path, config_dir))}"]
    if p.name == "csv":
        lines += [f"  target: {_dump(p.target)}  # the column to predict; every other column is a feature",
                  f"  header: {'true' if p.header else 'false'}  # the first row "
                  + ("names the columns" if p.header else "is already data")]
    lines += [f"  task: {p.task}  # {p.why}" + (
        f": {p.n_classes} classes" if p.task == "classification" else "") + " (see `nnctl init --help`)",
              "  test_fraction: 0.2  # held out for the final score",
              "  val_fraction: 0.1  # watched during training, for early stopping"]
    return lines


def _path(path: Path, config_dir: Path | None) -> str:
    """The data file as the config names it: relative when the config is written in the current
    folder (where a relative path is read from either way), else absolute."""
    path = path.resolve()
    if config_dir is not None and config_dir.resolve() == Path.cwd().resolve():
        try:
            return str(path.relative_to(Path.cwd().resolve()))
        except ValueError:
            pass
    return str(path)


def _dump(value) -> str:
    """A scalar as YAML writes it (quoted when it must be)."""
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()


def text(p: Profile, *, config_dir: Path | None = None, seed: int = 0) -> str:
    """The commented starter config for the data set `p`, as YAML. `config_dir`: the folder the
    config is written to (None: not written, so data paths are absolute)."""
    first, second = hidden_units(p.n_features)
    output, loss, why = _output(p)
    rows = p.rows or 0
    large = rows * 0.7 >= LARGE  # the training split, with the default fractions
    batch, epochs, patience = (128, 20, 5) if large else (32, 100, 10)
    what = p.path.name if p.path is not None else p.name
    lines = [
        f"# A starter config for {what}, written by `nnctl init`: every choice below is a common default,",
        "# explained where it is made. Check it with `nnctl check FILE`, train it with `nnctl train FILE`;",
        "# every key and its default: docs/config.md.",
        "seed: 0  # the one seed of the run: the same seed gives the same splits, weights and results",
        *_data_lines(p, config_dir),
        "model:",
        "  layers:",
        f"    # two hidden layers: {first} units (twice the {p.n_features} inputs, rounded up to a power of two, "
        "kept within 32..256),",
        "    # then half as many",
        "    # relu is the usual hidden activation: fast, and it does not saturate",
        f"    - {{units: {first}, activation: relu}}",
        f"    - {{units: {second}, activation: relu}}",
        f"    # {why}",
        f"    - {output}",
        f"loss: {loss}",
        "optimizer:",
        "  name: adam  # adapts each weight's step size: a good first choice",
        f"  lr: {LR:g}  # Adam's usual learning rate; `nnctl lr-find FILE` suggests one for this data",
        "training:",
        f"  epochs: {epochs}  # at most; early stopping below usually ends sooner",
        f"  batch_size: {batch}  # rows per step: " + ("larger for a large data set, fewer steps per epoch" if large
                                                       else "small batches learn fast on a small data set"),
        "  early_stopping:",
        "    monitor: val_loss  # the validation loss: stop when it no longer improves",
        f"    patience: {patience}  # epochs without improvement before stopping",
        "    restore_best: true  # end with the best epoch's weights",
    ]
    return "\n".join(lines) + "\n"


def default_name(p: Profile) -> str:
    """The file `nnctl init` writes by default: the data's stem, .yaml."""
    return (p.path.stem if p.path is not None else p.name) + ".yaml"
