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
from ..printable import printable

LR = 1e-3
LARGE = 10_000  # rows from which batches of 128 and fewer epochs pay off


def hidden_units(n_features: int) -> tuple[int, int]:
    """The widths of the two hidden layers for `n_features` inputs."""
    first = 32
    while first < 2 * n_features and first < 256:
        first *= 2
    return first, first // 2


def _output(p: Profile) -> tuple[dict, str, str]:
    """(the output layer, the loss, the comment that explains them)."""
    if p.task == "regression":
        return ({"units": 1}, "mse",
                "regression: one linear output unit (no activation) and the mean squared error")
    if p.n_classes == 2:
        return ({"units": 1, "activation": "sigmoid"}, "binary_cross_entropy",
                "two classes: one sigmoid unit, the probability of the second class, and binary_cross_entropy")
    return ({"units": p.n_classes, "activation": "softmax"}, "cross_entropy",
            f"{p.n_classes} classes: one softmax unit per class (probabilities summing to 1) and cross_entropy")


def _data(p: Profile, config_dir: Path | None, notes: dict) -> dict:
    """The data section, its comments put in `notes` (see _emit)."""
    held_out = ("test_fraction", 0.2, "held out for the final score")
    watched = ("val_fraction", 0.1, "watched during training, for early stopping")
    if p.path is None:
        rows = f", {p.rows:,} rows" if p.rows else ""
        entries = [("name", p.name, (f"a built-in data set ({p.n_features} features{rows}): "
                                    "`nnctl data list` shows the others"))]
        if p.name in IMAGE_SETS:
            notes[("data", "val_fraction")] = (["the test split is the published one (the last 10,000 images)"], "")
            entries.append(watched)
        else:
            entries += [held_out, watched]
    else:
        classes = f": {p.n_classes} classes" if p.task == "classification" else ""
        entries = [("name", p.name, ""), ("path", _path(p.path, config_dir), "")]
        if p.name == "csv":
            entries += [("target", p.target, "the column to predict; every other column is a feature"),
                        ("header", p.header,
                         "the first row " + ("names the columns" if p.header else "is already data")),
                        ("delimiter", p.delimiter,
                         "as given" if "delimiter" in p.settings else "told from the file's first lines")]
            entries += [(key, _plain(p.settings[key]), "as given") for key in GIVEN if key in p.settings]
            entries += _columns(p, notes)
        entries += [("task", p.task, f"{p.why}{classes} (see `nnctl init --help`)"), held_out, watched]
    for key, _, comment in entries:
        above, _ = notes.get(("data", key), ([], ""))
        notes[("data", key)] = (above, comment)
    return {key: value for key, value, _ in entries}


GIVEN = ("decimal", "encoding", "missing_values", "features")  # written when given (--set), else left to their defaults
LISTED = 30  # feature columns from which only the ones that are not numeric are listed


def _columns(p: Profile, notes: dict) -> list[tuple]:
    """The data.columns entry: each feature column's type (with its settings when given), and why."""
    declared = p.settings.get("columns") or {}
    shown = [c for c in p.columns if len(p.columns) <= LISTED or c.type != "numeric" or c.name in declared]
    if not shown:
        return []
    for c in shown:
        notes[("data", "columns", c.name)] = ([], c.why)
    rest = len(p.columns) - len(shown)
    comment = "each feature column's type: numeric, categorical, binary or ignore (docs/tables.md)"
    if rest:
        comment += f"; the {rest} columns not listed are numeric"
    return [("columns", {c.name: _plain(declared.get(c.name, c.type)) for c in shown}, comment)]


def _plain(value):
    """A setting given by --set, as the YAML emitter writes it (a column's settings: the keys given)."""
    if hasattr(value, "model_dump"):
        return {"type": value.type, **value.model_dump(exclude_defaults=True)}
    return value


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


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe emitter, writing a string that holds a line break or a control character
    double-quoted, with escapes, so that every value stays on its own line."""


def _represent_str(dumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if value.isprintable() else '"')


_Dumper.add_representer(str, _represent_str)


def _flow(value) -> str:
    """A key or value as one line of YAML, written by the emitter (quoted and escaped where it must
    be; a text a terminal would show otherwise than it reads, with escapes for all but ASCII)."""
    shown_as_is = not isinstance(value, str) or printable(value) == value
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, sort_keys=False, width=float("inf"),
                     allow_unicode=shown_as_is)
    return text.removesuffix("\n...\n").strip()


def _comment(text: str) -> str:
    """`# text` on one line: whatever text came from a file is escaped, so a comment ends where its line does."""
    return "# " + printable(text)


def _emit(node: dict, notes: dict, path: tuple = ()) -> list[str]:
    """The mapping `node` as block YAML, every key and value written by the emitter; `notes` maps a
    key's path (a list item's: with its index) to (the comment lines above it, the comment after it)."""
    lines, indent = [], "  " * len(path)

    def entry(at: tuple, prefix: str, text: str) -> None:
        above, after = notes.get(at, ([], ""))
        lines.extend(f"{prefix}{_comment(c)}" for c in above)
        lines.append(f"{prefix}{text}" + (f"  {_comment(after)}" if after else ""))

    for key, value in node.items():
        at = path + (key,)
        if isinstance(value, dict):
            entry(at, indent, f"{_flow(key)}:")
            lines += _emit(value, notes, at)
        elif isinstance(value, list):
            entry(at, indent, f"{_flow(key)}:")
            for i, item in enumerate(value):
                entry(at + (i,), indent + "  ", f"- {_flow(item)}")
        else:
            entry(at, indent, f"{_flow(key)}: {_flow(value)}")
    return lines


def config(p: Profile, config_dir: Path | None = None, seed: int = 0) -> tuple[dict, dict]:
    """(the starter config for the data set `p` as data, its comments: see _emit)."""
    first, second = hidden_units(p.n_features)
    output, loss, why = _output(p)
    large = (p.rows or 0) * 0.7 >= LARGE  # the training split, with the default fractions
    batch, epochs, patience = (128, 20, 5) if large else (32, 100, 10)
    notes = {
        ("seed",): ([], "the one seed of the run: the same seed gives the same splits, weights and results"),
        ("model", "layers", 0): ([(f"two hidden layers: {first} units (twice the {p.n_features} inputs, rounded up "
                                  "to a power of two, kept within 32..256),"), "then half as many",
                                  "relu is the usual hidden activation: fast, and it does not saturate"], ""),
        ("model", "layers", 2): ([why], ""),
        ("optimizer", "name"): ([], "adapts each weight's step size: a good first choice"),
        ("optimizer", "lr"): ([], "Adam's usual learning rate; `nnctl lr-find FILE` suggests one for this data"),
        ("training", "epochs"): ([], "at most; early stopping below usually ends sooner"),
        ("training", "batch_size"): ([], "rows per step: " + ("larger for a large data set, fewer steps per epoch"
                                                               if large else "small batches learn fast on a small data "
                                                                             "set")),
        ("training", "early_stopping", "monitor"): ([], "the validation loss: stop when it no longer improves"),
        ("training", "early_stopping", "patience"): ([], "epochs without improvement before stopping"),
        ("training", "early_stopping", "restore_best"): ([], "end with the best epoch's weights"),
    }
    data = _data(p, config_dir, notes)
    layers = [{"units": first, "activation": "relu"}, {"units": second, "activation": "relu"}, output]
    return {
        "seed": seed,
        "data": data,
        "model": {"layers": layers},
        "loss": loss,
        "optimizer": {"name": "adam", "lr": LR},
        "training": {"epochs": epochs, "batch_size": batch,
                     "early_stopping": {"monitor": "val_loss", "patience": patience, "restore_best": True}},
    }, notes


def text(p: Profile, *, config_dir: Path | None = None, seed: int = 0, overrides=()) -> str:
    """The commented starter config for the data set `p`, as YAML. `config_dir`: the folder the
    config is written to (None: not written, so data paths are absolute); `overrides`: `key=value`
    settings (--set, checked already) written into it, each commented so."""
    from .keys import parse_key, set_key
    from .yaml_lines import parse_yaml

    what = p.path.name if p.path is not None else p.name
    head = [f"A starter config for {what}, written by `nnctl init`: every choice below is a common default,",
            "explained where it is made. Check it with `nnctl check FILE`, train it with `nnctl train FILE`;",
            "every key and its default: docs/config.md."]
    data, notes = config(p, config_dir, seed)
    for item in overrides:
        key, _, value = item.partition("=")
        path = parse_key(key.strip())
        set_key(data, path, parse_yaml(value, f"--set {item}")[0])
        notes[path] = (notes.get(path, ([], ""))[0], f"--set {item}")
    return "\n".join([_comment(line) for line in head] + _emit(data, notes)) + "\n"


def default_name(p: Profile) -> str:
    """The file `nnctl init` writes by default: the data's stem, .yaml."""
    return (p.path.stem if p.path is not None else p.name) + ".yaml"
