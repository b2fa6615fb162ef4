"""A Sequential model and its config, both ways (to_yaml, get_config; from_yaml, from_config and
nnctl.load of a checkpoint), and what its evaluate and export need of the trained model.

The config of a model trained on arrays names them by data.arrays.IN_MEMORY, a file that does not
exist: to_yaml(data=FILE) names the .npz (or .csv) file that holds them instead, and `nnctl train`
then trains the config to the model's weights. A config cannot name validation rows given apart
(fit's validation_data), nor the image shape of an .npz file's flat rows: to_yaml says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .. import config as config_module
from ..data import arrays
from ..engine.metric_names import SCORES
from ..errors import ConfigError
from ..files import atomic_write
from ..runs import checkpoint as checkpoint_module, lookup
from . import fitting, layers as layers_module

PLACEHOLDER = """\
# The config of a Sequential model: `nnctl train` trains it to the model's weights once data.path
# names the arrays fit(x, y) was given, which no file holds yet: save them with
# numpy.savez("train.npz", x=x, y=y) and write that path in data.path, or call to_yaml(data="train.npz").
"""
TRAINABLE = "# The config of a Sequential model: `nnctl train` trains it to the model's weights.\n"
# the scores evaluate returns for a model that was not compiled here (from a config or a checkpoint)
DEFAULT_METRICS = {task: [s.name for s in scores if s.name != "loss"] for task, scores in SCORES.items()}


def config(model, data=None) -> config_module.Config:
    """The model's config: its last fit's, or before any, its layers, compile and remembered
    sections; with `data` (a data section, a built-in data set's name, or a file's path) as its data."""
    if model._compiled is None:
        raise ConfigError("to_yaml: compile the model first: a config holds its loss and optimizer")
    if model._fitted is None:
        section = _data(model._data or _arrays_section(model), data, model)
        return model._config(section, {**fitting.TRAINING_DEFAULTS, **model._training}, False)
    cfg = model._fitted.config
    section = _data(cfg.data.model_dump(mode="json"), data, model)
    return cfg if section == cfg.data.model_dump(mode="json") else _with_data(cfg, section)


def _arrays_section(model) -> dict:
    """The data section of arrays fit has not seen yet: fit's defaults for arrays."""
    return {"name": "npz", "path": arrays.IN_MEMORY, "task": fitting.task(model._compiled["loss"]),
            **fitting.ARRAY_DEFAULTS}


def _data(base: dict, data, model) -> dict:
    """The data section to_yaml writes: `base` (the model's), or `data` in place of it or of its file."""
    if isinstance(data, dict):
        return config_module.plain_data(data, fitting.SOURCE, ("data",))
    if data is not None and not isinstance(data, (str, Path)):
        raise ConfigError(f"to_yaml: data= takes a data section, a data set's name or a file's path, got "
                          f"{type(data).__name__}")
    suffix = Path(data).suffix.lower() if data is not None else ""
    if data is not None and suffix not in (".npz", ".csv"):
        return fitting.data_section(data, None, model._compiled["loss"], None, None, None, None)  # a built-in set
    if arrays.in_memory(base):
        if model._validation_given:
            raise ConfigError("to_yaml: the last fit took validation_data, rows a config cannot name apart from "
                              "its data file's: fit with validation_split for a config nnctl train trains to the "
                              "same weights, or give to_yaml a data section (data={...})")
        if model._image_shape() is not None:
            raise ConfigError("to_yaml: the model takes images, and a config's .npz file holds rows whose image shape "
                              "it cannot tell yet: give to_yaml the data section of a data set of images "
                              "(data={'name': 'digits', ...})")
    if data is None:
        return base
    kept = {k: v for k,
            v in base.items() if k in ("task", "scaling", "target_scaling", "val_fraction", "test_fraction")}
    return {"name": suffix[1:], "path": str(data), **kept}


def _with_data(cfg, section: dict) -> config_module.Config:
    """A fitted model's config with another data section, validated again as a whole."""
    doc = cfg.model_dump(mode="json")
    doc["data"] = section
    return config_module.from_dict(doc, fitting.SOURCE)


def to_yaml(model, path, data) -> str:
    """The YAML text of config(model, data), with a comment saying how it trains; written to `path` when given."""
    cfg = config(model, data)
    text = (PLACEHOLDER if arrays.in_memory(cfg.data) else TRAINABLE) + config_module.dump(cfg)
    if path is not None:
        atomic_write(path, text)
    return text


def read(source) -> config_module.Config:
    """A config from YAML text or a YAML file's path (a relative data.path: from the file's folder,
    or for text, from the current folder)."""
    if isinstance(source, Path) or isinstance(source, str) and "\n" not in source and \
            source.strip().lower().endswith((".yaml", ".yml")):
        return config_module.load(source)
    if not isinstance(source, str):
        raise ConfigError(f"from_yaml: expected YAML text or a .yaml file's path, got {type(source).__name__}")
    data, lines = config_module.parse_yaml(source, "<yaml>")
    data = config_module.anchor_path(config_module.canonical(data, lines, "<yaml>"), Path.cwd())
    return config_module.from_dict(data, "<yaml>", lines)


def from_config(sequential: type, cfg):
    """The unfitted, compiled `sequential` (the class) a config describes, remembering its training,
    data and run sections."""
    task = fitting.task(cfg.loss)
    model = sequential([layers_module.from_config(layer) for layer in config_module.plain(cfg.model.layers)],
                       seed=cfg.seed, name=cfg.run.name)
    model.compile(loss=cfg.loss, optimizer=config_module.plain(cfg.optimizer), metrics=DEFAULT_METRICS[task])
    model._training, model._data = config_module.plain(cfg.training), config_module.plain(cfg.data)
    model._run = {k: v for k, v in cfg.run.model_dump(mode="json").items() if k != "name"}
    return model


def from_checkpoint(sequential: type, path):
    """nnctl.load: the `sequential` of a checkpoint file or run folder, trained, as its own fit left it."""
    ckpt = checkpoint_module.load(lookup.checkpoint_path(path))
    model = from_config(sequential, ckpt.config)
    model._fitted, model._input_shape = ckpt, tuple(ckpt.input_shape)
    model._optimizer_state = ckpt.optimizer  # last.json's: a further fit continues the optimizer's steps
    return model


def targets(y, task: str, kept, n_rows: int) -> np.ndarray:
    """evaluate's y: class indices of the model's classes, or the values of a regression."""
    y = arrays.labels(y, task, n_rows)
    if task == "regression":
        return np.asarray(y, dtype=np.float64)
    return arrays.indices(y, kept.classes, "y")


def export(model, path, fmt: str) -> dict:
    """The trained model exported as `nnctl export` writes it, from a checkpoint written for it."""
    from ..export import export as export_checkpoint

    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "model.json"
        model.save(checkpoint)
        result = export_checkpoint(checkpoint, fmt, path)
    return {**result, "checkpoint": None}
