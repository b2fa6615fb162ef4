"""The config: a YAML file -> a validated, resolved, immutable Config (pydantic models).

    yaml_lines  reading a YAML file safely, with the line of every key (read_yaml, line_of)
    keys        dotted keys (`model.layers[0].units`): --set overrides, and the sweeps' parameters
    schema      the models: every key, its type, default and limits
    json_schema the models as JSON Schema for editors, widened to the aliases nnctl accepts
    messages    pydantic's errors as one readable line
    memory      what training a config will need, against what the machine has
    shapes      the shape the model takes from the data, and every layer's fit

This module joins them: load (file -> Config), from_dict (data -> Config), resolve (the defaults
that depend on other keys), check_meaning (what the schema alone cannot say: the output layer
against the loss and the data set, the layers' shapes against the data's), dump (Config -> YAML).
Every config error is a ConfigError whose message names the file, the line (or the --set), the
dotted key, what was expected and, for a misspelt word, the closest valid one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..engine import metric_names
from ..engine.layers import default_initializer
from ..errors import ConfigError
from . import shapes
from .aliases import canonical
from .json_schema import SCHEMA_KEY
from .keys import apply_overrides, dotted_keys, parse_key  # noqa: F401
from .messages import _a, _allowed_keys, _closest, _describe, _position, _yaml_type, describe_all  # noqa: F401
from .schema import *  # the models are part of this module's API
from .schema import Config, ModelConfig
from .yaml_lines import STDIN, STDIN_SOURCE, _dotted, _where, line_of, parse_yaml, plain_data, read_yaml, source_name  # noqa: F401

# ---------------------------------------------------------------- loading and validation


def load(path, overrides=(), layers=(), relative_to: str | Path | None = None, follow: bool = True) -> Config:
    """Read, parse and validate a YAML config file, after the files of `layers` merged over it in
    order (--config) and the `key=value` overrides (--set). `-` for the file or a layer reads stdin.
    `path` may also be the config itself, a dict (DICT_SOURCE in messages, which name the dotted
    key where a file's name its line), validated exactly as a file is.

    A relative data.path is relative to the folder of the file that gives it (`relative_to`
    instead, when given: a run folder's config.yaml written before paths were anchored; the
    current folder for stdin and a dict), and one given by --set to the current folder; the
    resolved config holds it absolute. A config from stdin or a dict without run.name is named
    after its data. Without `follow`, a symbolic link is refused (a run folder's config.yaml).
    """
    if isinstance(path, Mapping):
        return _load_dict(path, overrides, layers, relative_to)
    if [str(p) for p in (path, *layers)].count(STDIN) > 1:
        raise ConfigError(f"{STDIN_SOURCE}: - (stdin) is named more than once among CONFIG and --config; "
                          "stdin holds one file")
    path = Path(path)
    source, stdin = source_name(path), str(path) == STDIN
    data, lines = read_yaml(path, follow=follow)
    data = anchor_path(canonical(data, lines, source), relative_to if relative_to is not None else path.parent)
    for layer in layers:
        more, more_lines = read_yaml(layer)
        more = anchor_path(canonical(more, more_lines, source_name(layer)), Path(layer).parent)
        data = merge(data, more, lines, more_lines, source_name(layer))
    data = anchor_path(apply_overrides(data, overrides, lines, source), Path.cwd())
    cfg = from_dict(data, source, lines, stem=None if stdin else path.stem)
    if stdin and not (isinstance(data.get("run"), dict) and data["run"].get("name") is not None):
        name = folder_name(_data_word(cfg.data), "run")
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": name})})
    cfg._overrides = tuple(overrides)
    cfg._layers = tuple(source_name(layer) for layer in layers)
    return cfg


DICT_SOURCE = "<dict>"  # how messages name a config given as a dict


def _load_dict(given: Mapping, overrides, layers, relative_to) -> Config:
    """load() of a config given as a dict: its values as YAML would give them (plain_data), then as a file's."""
    data, lines = plain_data(given, DICT_SOURCE), {}
    data = anchor_path(canonical(data, lines, DICT_SOURCE), relative_to if relative_to is not None else Path.cwd())
    for layer in layers:
        more, more_lines = read_yaml(layer)
        more = anchor_path(canonical(more, more_lines, source_name(layer)), Path(layer).parent)
        data = merge(data, more, lines, more_lines, source_name(layer))
    data = anchor_path(apply_overrides(data, overrides, lines, DICT_SOURCE), Path.cwd())
    cfg = from_dict(data, DICT_SOURCE, lines)
    if not (isinstance(data.get("run"), dict) and data["run"].get("name") is not None):
        name = folder_name(_data_word(cfg.data), "run")
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": name})})
    cfg._overrides = tuple(overrides)
    cfg._layers = tuple(source_name(layer) for layer in layers)
    return cfg


def _data_word(data) -> str:
    """What a run is named after when its config has no file name: its data file's stem, or its data set."""
    path = getattr(data, "path", None)
    return Path(path).stem if data.name in ("csv", "npz") and path else data.name


def merge(data: Any, more: Any, lines: dict, more_lines: dict, source: str) -> Any:
    """`more` (the parsed file `source`) merged over `data`: mappings key by key, anything else
    (a list, a number) replaced whole. `lines` then names `source` and its line for every key it
    gave, so an error about one of them points into that file."""
    if more is None:
        return data
    if not isinstance(more, dict):
        raise ConfigError(f"{source}:{more_lines.get((), 1)}: a config merged with --config must be a mapping "
                          f"of keys to values, not {_a(_yaml_type(more))}")
    if not isinstance(data, dict):
        return data  # from_dict says what is wrong with the first file

    replaced = set()  # the paths whose whole value `more` gives

    def into(node: dict, over: dict, path: tuple) -> None:
        for key, value in over.items():
            at = path + (key,)
            if isinstance(node.get(key), dict) and isinstance(value, dict):
                into(node[key], value, at)
                continue
            node[key] = value
            replaced.add(at)

    def under_replaced(key: tuple) -> bool:
        return any(key[:depth] in replaced for depth in range(1, len(key) + 1))

    into(data, more, ())
    # once over the lines of both files, not once per key: a layer of 20,000 keys took minutes
    kept = {k: n for k, n in lines.items() if not under_replaced(k)}
    lines.clear()
    lines.update(kept)
    lines.update({k: f"{source}:{n}" for k, n in more_lines.items() if under_replaced(k)})
    return data


def anchor_path(data: Any, folder: str | Path) -> Any:
    """Parsed config data whose relative data.path is made absolute from `folder` (not the name of
    arrays given in memory, data.arrays.IN_MEMORY, which is no file)."""
    import os

    from ..data import arrays

    section = data.get("data") if isinstance(data, dict) else None
    if isinstance(section, dict) and isinstance(section.get("path"), str) and section["path"] \
            and not arrays.in_memory(section):
        given = os.path.expanduser(section["path"])
        section["path"] = os.path.normpath(os.path.join(os.path.abspath(folder), given))
    return data


def from_dict(data: Any, source: str = "<config>", lines: dict | None = None, stem: str | None = None) -> Config:
    """Validate already-parsed data, check its meaning and resolve it; `lines` maps key paths to
    line numbers for messages, and `stem` (the file's) names the run when run.name is not given."""
    lines = lines or {}
    if data is None:
        raise ConfigError(f"{source}: the config is empty; it needs at least data, model, loss and optimizer")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:{lines.get((), 1)}: the config must be a mapping of keys to values, not "
                          f"{_a(_yaml_type(data))}")
    data = canonical({k: v for k, v in data.items() if k != SCHEMA_KEY}, lines, source)  # $schema: for editors
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe_all(e.errors(), data, source, lines)) from None
    if cfg.run.name is None and stem:
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": folder_name(stem, "run")})})
    check_meaning(cfg, source, lines)
    return resolve(cfg)


def folder_name(stem: str, default: str) -> str:
    """A file's stem made a valid run or sweep name (the pattern of run.name) that is safe as a
    folder's name: any other character (a separator, a space, a control character) becomes _, and
    so does '..'; no leading '.' or '-' (a hidden folder, or one a shell command takes for an
    option); at most 64 characters, `default` when nothing is left."""
    name = re.sub(r"\.{2,}", "_", re.sub(r"[^A-Za-z0-9_.-]", "_", stem)).lstrip(".-")
    return name[:64] or default


def resolve(cfg: Config) -> Config:
    """Fill in the defaults that depend on other keys, so the written config says everything."""
    from ..data import spec as data_spec

    spec = data_spec(cfg.data)
    data = cfg.data
    if data.scaling is None:
        data = data.model_copy(update={"scaling": spec.default_scaling})
    layers = [  # a layer with weights (dense, conv2d) gets its activation's initializer
        layer if getattr(layer, "initializer", "") is not None
        else layer.model_copy(update={"initializer": default_initializer(layer.activation)})
        for layer in cfg.model.layers
    ]
    run = cfg.run if cfg.run.name is not None else cfg.run.model_copy(update={"name": "run"})
    training = cfg.training
    if training.schedule.name == "cosine" and training.schedule.epochs is None:
        schedule = training.schedule.model_copy(update={"epochs": training.epochs})
        training = training.model_copy(update={"schedule": schedule})
    return cfg.model_copy(update={"data": data, "model": ModelConfig(layers=layers), "run": run, "training": training})


def plain(section):
    """A config section as the engine takes it: its YAML keys as a dict of plain values (a list of
    layers: a list of dicts; None stays None)."""
    if section is None:
        return None
    if isinstance(section, (list, tuple)):
        return [plain(item) for item in section]
    return section.model_dump()


def check_meaning(cfg: Config, source: str = "<config>", lines: dict | None = None, spec=None) -> None:
    """The output layer must fit the loss and the data set. `spec` (a data.DatasetSpec) defaults to
    what is known before loading; once a file is loaded, its classes are checked the same way."""
    from ..data import arrays, spec as data_spec

    lines = lines or {}
    spec = spec or data_spec(cfg.data)
    label = getattr(cfg.data, "path", None) if cfg.data.name in ("csv", "npz") else \
        getattr(cfg.data, "dataset", cfg.data.name)  # how messages name the data
    if arrays.in_memory(cfg.data):
        label = arrays.SOURCE  # the model API's arrays: no file
    index = len(cfg.model.layers) - 1
    last = cfg.model.layers[index]
    key = ("model", "layers", index)

    def fail(what: str, field: str, layer: tuple = key):
        where = _where(source, line_of(lines, layer + (field,)))
        raise ConfigError(f"{where}: {_dotted(layer + (field,))}: {what}")

    def output():  # the first misfit of the output layer: the others follow from it
        if last.type != "dense":
            hint = (f": give the dense layer before it activation: {last.activation}" if last.type == "activation"
                    else "")
            fail(f"the output layer must be dense, got {last.type}{hint}", "type")
        n = spec.n_classes
        if spec.task == "regression":
            if cfg.loss not in ("mse", "mae", "huber"):
                where = _where(source, lines.get(("loss",)))
                raise ConfigError(f"{where}: loss: {label} is a regression task: use mse, mae or huber, not {cfg.loss}")
            if last.units != 1:
                fail(f"{label} is a regression task with one target, so the output layer needs 1 unit, "
                     f"got {last.units}", "units")
            if last.activation != "linear":
                fail("a regression output layer is linear (the target is standardised), got activation "
                     f"'{last.activation}'", "activation")
        elif n is None:
            pass  # a user's file or an OpenML set: its classes are checked once it is loaded
        elif cfg.loss == "cross_entropy":
            if last.activation != "softmax":
                fail(f"cross_entropy needs a softmax output layer, got activation '{last.activation}'", "activation")
            if last.units != n:
                fail(f"{label} has {n} classes, so the softmax output layer needs {n} units, got {last.units}", "units")
        elif cfg.loss == "binary_cross_entropy":
            if n != 2:
                fail(f"binary_cross_entropy is for two classes; {label} has {n}: use cross_entropy with {n} softmax "
                     "units", "units")
            if last.activation != "sigmoid":
                fail(f"binary_cross_entropy needs a sigmoid output layer, got activation '{last.activation}'",
                     "activation")
            if last.units != 1:
                fail(f"binary_cross_entropy needs 1 output unit, got {last.units}", "units")
        else:  # mse, mae, huber against one-hot targets
            allowed = {n, 1} if n == 2 else {n}
            if last.units not in allowed:
                fail(f"{cfg.loss} on {label} compares with one-hot targets: {n} units"
                     + (" (or 1 for the 0/1 label)" if n == 2 else "") + f", got {last.units}", "units")

    def hidden():
        for i, layer in enumerate(cfg.model.layers[:-1]):
            if getattr(layer, "activation", None) == "softmax":
                fail("softmax belongs on the output layer only", "activation", ("model", "layers", i))

    problems = []  # every group's first error, all reported at once
    for check in (output, hidden, lambda: shapes.check(cfg, spec, source, lines, label),
                  lambda: _check_batchnorm_epsilon(cfg, source, lines),
                  lambda: _check_training(cfg, spec, source, lines)):
        try:
            check()
        except ConfigError as e:
            problems.append(str(e))
    if problems:
        raise ConfigError("\n".join(sorted(problems, key=lambda message: _position(message, source))))


def _check_batchnorm_epsilon(cfg: Config, source: str, lines: dict) -> None:
    """A batchnorm epsilon must be a normal number of the network's dtype: below the smallest one it
    is rounded to a subnormal or to 0 (1e-300 is 0 in float32), and a constant feature then divides
    by zero."""
    import numpy as np  # here: `nnctl check` and the schema stay light

    dtype = cfg.training.dtype
    tiny = float(np.finfo(dtype).tiny)
    for i, layer in enumerate(cfg.model.layers):
        if layer.type == "batchnorm" and layer.epsilon < tiny:
            key = ("model", "layers", i, "epsilon")
            raise ConfigError(f"{_where(source, line_of(lines, key))}: {_dotted(key)}: {layer.epsilon:g} is below "
                              f"{dtype}'s smallest normal "
                              f"number {tiny:.3g} ({float(np.array(layer.epsilon, dtype)):g} in {dtype}), so it cannot "
                              "keep "
                              f"1 / sqrt(variance + epsilon) finite; use the default 1e-3, or 1e-5 as PyTorch does")


def _check_training(cfg: Config, spec, source: str, lines: dict) -> None:
    """A monitored metric must exist for this task and split; a warm-up must fit the schedule."""
    training = cfg.training

    def fail(key: tuple, what: str):
        raise ConfigError(f"{_where(source, line_of(lines, key))}: {_dotted(key)}: {what}")

    watched = [(("training", "early_stopping", "monitor"), training.early_stopping)]
    if training.schedule.name == "reduce_on_plateau":
        watched.append((("training", "schedule", "monitor"), training.schedule))
    for key, section in watched:
        if section is None:
            continue
        monitor = section.monitor
        if monitor not in metric_names.epoch_names(spec.task):
            kind = metric_names.task_of({monitor: None})
            hint = metric_names.listed(metric_names.names("val", spec.task))
            fail(key, f"{monitor} is a {kind} metric; {cfg.data.name} is a {spec.task} task (use {hint})")
        if monitor.startswith("val_") and cfg.data.val_fraction == 0:
            fail(key, f"{monitor} needs a validation split, but data.val_fraction is 0 (monitor train_loss, or set "
                      "val_fraction)")
    schedule = training.schedule
    if schedule.name == "cosine" and schedule.warmup_epochs >= (schedule.epochs or training.epochs):
        fail(("training", "schedule", "warmup_epochs"),
             f"the warm-up ({schedule.warmup_epochs} epochs) must be shorter "
             f"than the schedule ({schedule.epochs or training.epochs} epochs)")


def dump(cfg: Config) -> str:
    """The resolved config as YAML, in the order of the schema; the merged files and the --set
    overrides as comments."""
    header = "".join([*(f"# --config {item}\n" for item in cfg._layers),
                      *(f"# --set {item}\n" for item in cfg._overrides)])
    return header + yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, default_flow_style=False)


def json_schema() -> dict:
    """The JSON Schema of a config file, accepting what nnctl accepts (its aliases, `$schema`)."""
    from .json_schema import config_schema

    return config_schema()
