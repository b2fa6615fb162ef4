"""The Python API, and the one the CLI uses: config -> data -> model -> training -> checkpoint.

    cfg = nnctl.api.load_config("configs/moons.yaml")
    result = nnctl.api.train(cfg)                      # writes runs/moons-.../
    ckpt = nnctl.api.load_checkpoint(result["checkpoint"])
    probabilities = nnctl.api.predict(ckpt, x_raw)     # applies the stored preprocessing
"""

from __future__ import annotations

import numpy as np

from . import config as config_module, data as data_module
from .config import memory
from .engine import metrics
from .engine.callbacks import LambdaCallback
from .engine.losses import LOSSES
from .engine.model import build, summary_rows
from .errors import NnctlError, TrainingDiverged  # noqa: F401  (what callers of this API catch)
from .runs import checkpoint as checkpoint_module, evaluation, report, training
from .runs.summary import summary  # noqa: F401  (part of this API; its own module keeps `nnctl summary` light)


def load_config(path, overrides=(), layers=()) -> config_module.Config:
    """Read and validate a YAML config (or a dict holding one, validated exactly as a file, its
    errors naming dotted keys), with the files of `layers` merged over it and then its
    `key=value` overrides (raises ConfigError)."""
    return config_module.load(path, overrides, layers)


def config(cfg) -> config_module.Config:
    """`cfg` as a validated Config: one already, a dict, or a YAML file's path (ConfigError)."""
    return cfg if isinstance(cfg, config_module.Config) else load_config(cfg)


def _source(path) -> str:
    """How messages name a config given by path, or as a dict."""
    return config_module.DICT_SOURCE if isinstance(path, dict) else str(path)


def starter_config(data, target=None, overrides=()) -> config_module.Config:
    """The config `nnctl init` would write for `data` (a built-in data set's name, or a CSV or .npz
    file whose `target` column, default the last, is predicted), after the `key=value` overrides;
    the data keys among them (the delimiter, the columns' types, ...) apply before the file is read."""
    from .config import starter
    from .data import infer

    profile = infer.describe(str(data), target, _file_settings(data, overrides))
    return _starter(profile, starter.text(profile), None, overrides)


def starter_text(data, target=None, config_dir=None, overrides=()):
    """(the commented starter config `nnctl init` writes into the folder `config_dir`, with the
    `key=value` overrides written in, the data's infer.Profile), refused (DataError, ConfigError)
    wherever `train` would refuse it: a file is loaded, split and scaled as training loads it (a
    built-in data set is known to load)."""
    from .config import starter
    from .data import infer

    profile = infer.describe(str(data), target, _file_settings(data, overrides))
    cfg = _starter(profile, starter.text(profile, config_dir=config_dir), config_dir, overrides)
    if profile.path is not None:
        training.check_fits(cfg, training.load_data(cfg))
    return starter.text(profile, config_dir=config_dir, overrides=overrides), profile


def inspect_data(path, target=None, overrides=()) -> dict:
    """What training would read in the CSV file `path` (`nnctl data inspect`): each column's type
    and why, missing cells, distinct values and inputs, the target's balance; the `data.` keys of
    the `key=value` overrides apply as to `train --data`."""
    from .data import infer

    return infer.inspect(str(path), target, _file_settings(path, overrides))


def _file_settings(data, overrides) -> dict:
    """The `data.` keys of `overrides` that say how to read a CSV file (delimiter, header, target,
    columns, ...), checked as a CSV's data section: what a starter config is told before its file is read."""
    from pathlib import Path

    from pydantic import ValidationError

    from .data import infer

    wanted = [item for item in overrides if item.partition("=")[0].strip().startswith("data.")]
    if not wanted or not infer.is_csv(Path(data).expanduser()):
        return {}
    lines: dict = {}
    given = config_module.apply_overrides({"data": {}}, wanted, lines, "--set")["data"]
    try:
        checked = config_module.CsvData.model_validate({"name": "csv", "path": str(data), **given})
    except ValidationError as e:
        raise config_module.ConfigError(config_module.describe_all(e.errors(), {"name": "csv", **given}, "--set", lines,
                                                                   root=config_module.CsvData,
                                                                   prefix=("data",))) from None
    return {key: getattr(checked, key) for key in given if key not in ("name", "path")}


def _starter(profile, text: str, config_dir, overrides) -> config_module.Config:
    """The starter config `text` of the data `profile`, written for `config_dir`, validated."""
    from pathlib import Path

    from .config import starter

    source = f"<the default config for {profile.path or profile.name}>"
    parsed, lines = config_module.parse_yaml(text, source)
    parsed = config_module.anchor_path(parsed, config_dir if config_dir is not None else Path.cwd())
    parsed = config_module.apply_overrides(parsed, overrides, lines, source)
    cfg = config_module.from_dict(parsed, source, lines, stem=starter.default_name(profile).removesuffix(".yaml"))
    cfg._overrides = tuple(overrides)
    return cfg


def check(path, overrides=(), layers=()) -> dict:
    """Everything `train` validates, without loading a data set: the resolved config and its size.
    `path`: a YAML file, or a dict holding the config.

    For a user's file or an OpenML set, whose width only the data can tell, n_features, input_shape
    (the model's: [features], or [height, width, channels] for a model of images) and total_params
    are None.
    """
    cfg = load_config(path, overrides, layers)
    spec = data_module.spec(cfg.data)
    shape = config_module.shapes.check(cfg, spec, _source(path))  # None: a file's width, known once loaded
    rows = summary_rows(config_module.plain(cfg.model.layers), shape) if shape is not None else None
    need = memory.require(cfg, source=_source(path))  # ConfigError when it cannot fit in memory
    return {"config": _source(path), "valid": True, "overrides": list(overrides), "layers": list(layers),
            "resolved": cfg.model_dump(mode="json"),
            "resolved_yaml": config_module.dump(cfg), "data": {"name": cfg.data.name, "n_features": spec.n_features,
                                                                "n_classes": spec.n_classes, "task": spec.task},
            "input_shape": None if shape is None else list(shape),
            "total_params": None if rows is None else sum(r["params"] for r in rows), "memory": need}


def schema() -> dict:
    """The JSON Schema of a config file (for editors that use yaml-language-server)."""
    return config_module.json_schema()


def load_checkpoint(path) -> checkpoint_module.Checkpoint:
    """Read and verify a checkpoint, rebuilding its model (raises CheckpointError)."""
    return checkpoint_module.load(path)


def load_data(cfg, preprocessing: dict | None = None) -> data_module.Dataset:
    """The config's data set, split and scaled (raises DataError); with a checkpoint's
    `preprocessing`, scaled as it was."""
    return training.load_data(cfg, preprocessing)


def train(cfg, *, run_dir=None, callbacks=(), on_epoch=None, on_batch=None, stop=None, plots: bool = True,
          dataset=None, warm_start=None) -> dict:
    """Train the network `cfg` describes (a Config, a dict, or a YAML file's path); write a run
    folder; return the run's summary. The model API's fit passes `dataset` (a data.Dataset: its
    arrays, trained on instead of the config's data set) and `warm_start` (runs.training.WarmStart:
    the weights a model trained further starts from).

    The summary has run_dir, checkpoint, last_checkpoint, best_epoch, checkpoint_epoch, epochs,
    final, history, early_stopping (or None) and test (the checkpoint's scores on the test split:
    loss and accuracy, or for regression loss, mae, rmse and r2; and n) and plots (the PNGs
    written, none when `plots` is false). `callbacks` (engine.callbacks.Callback objects) run
    after nnctl's own; `on_epoch(record)` and `on_batch(epoch, rows_done, n_rows)` are the
    shorthand for watching. `stop()` is asked before every epoch and after every batch (see
    nnctl.runs.interrupts); a signal number from it ends training with Interrupted after saving
    last.json, from which `resume` continues.
    """
    return training.train(config(cfg), run_dir=run_dir, callbacks=_watching(callbacks, on_epoch, on_batch), stop=stop,
                          plots=plots, model_writer=_mlflow_model_writer, dataset=dataset, warm_start=warm_start)


def resume(run_dir, cfg=None, *, callbacks=(), on_epoch=None, on_batch=None, stop=None, plots: bool = True) -> dict:
    """Continue the run in `run_dir` from its last.json, exactly where it stopped; returns what
    `train` does. `cfg`, if given, must match the run's config (ConfigError shows the difference).

    The folder is locked for the whole resume (RunBusy if another process holds it), and
    everything in it is checked before any file changes: a refused resume leaves it as it was."""
    cfg = None if cfg is None else config(cfg)
    return training.resume(run_dir, cfg, callbacks=_watching(callbacks, on_epoch, on_batch), stop=stop, plots=plots,
                           model_writer=_mlflow_model_writer)


def track(run_dir, uri: str | None = None) -> dict:
    """Put the run folder `run_dir` into MLflow (default: the store it logged to), adding only what
    its MLflow run lacks; returns run_id, uri, experiment, created, points_added, points_present,
    epochs, status and mlflow_status (nnctl.runs.replay)."""
    from .runs import replay

    return replay.replay(run_dir, uri, _mlflow_model_writer)


def _mlflow_model_writer(checkpoint, folder, meta) -> None:
    """A finished run's MLflow model: the NumPy export under a pyfunc (runs cannot import export)."""
    from .export import mlflow_model

    mlflow_model.write(checkpoint, folder, meta)


def _watching(callbacks, on_epoch, on_batch) -> list:
    """The caller's callbacks, then the on_epoch / on_batch shorthand as one LambdaCallback."""
    watch = [LambdaCallback(on_epoch_end=on_epoch, on_batch_end=on_batch)] if on_epoch or on_batch else []
    return [*callbacks, *watch]


def evaluate_checkpoint(path, split: str = "test", data=None) -> dict:
    """Score a checkpoint on a split of its own data set, rebuilt with its seed and preprocessing.

    Classification: loss, accuracy, macro_f1, per-class scores, confusion matrix and, for two
    classes, roc_auc. Regression: loss, mae, rmse and r2 (mae and rmse in the target's units).
    `data`: a file (or MNIST folder) read in place of the checkpoint's, with its data settings.
    A file the checkpoint alone names is opened only inside its run folder (DataError otherwise;
    see nnctl.runs.checkpoint_data); `data` for a data set not read from a file raises ValueError.
    """
    return evaluation.evaluate_checkpoint(path, split, data)


def predict(ckpt: checkpoint_module.Checkpoint, x_raw) -> np.ndarray:
    """Model outputs for raw feature rows, after the checkpoint's preprocessing: class
    probabilities, or for regression the predicted values in the target's own units. For a model
    trained on a CSV, `x_raw` may be its columns by name ({column: cells}, or a pandas DataFrame),
    read as nnctl reads the CSV's cells: text categories, missing cells filled in."""
    if hasattr(x_raw, "keys") and "table" in ckpt.preprocessing:
        from .data.prepare import encode_columns

        x_raw = encode_columns(ckpt.preprocessing["table"], x_raw)[0]
    x = data_module.apply_preprocessing(np.asarray(x_raw), ckpt.preprocessing, ckpt.config.training.dtype)
    out = ckpt.model.predict(x)
    if "target" in ckpt.preprocessing:
        return data_module.unscale_target(out, ckpt.preprocessing)
    return out


def gradcheck(path, overrides=(), layers=(), *, samples: int | None = 100, tolerance: float | None = None,
              batch_size: int = 8, seed: int | None = None) -> dict:
    """Backprop against central differences for the network `path` configures, in float64.

    The batch is synthetic (standard normal features of the data set's width, random labels),
    so no data set is loaded, except a user's file or an OpenML set whose width or classes only
    the data can tell. At most `samples` entries per parameter tensor are checked.
    """
    from threadpoolctl import threadpool_limits

    from .engine import gradcheck as gradcheck_module

    cfg = load_config(path, overrides, layers)
    spec = data_module.spec(cfg.data)
    n_features, n_classes, image_shape = spec.n_features, spec.n_classes, spec.image_shape
    if n_features is None or n_classes is None:
        dataset = load_data(cfg)
        config_module.shapes.check(cfg, dataset.spec(), f"{_source(path)} (data from {dataset.source})")
        n_features, n_classes, image_shape = dataset.x_train.shape[1], len(dataset.classes or []), dataset.image_shape
    tolerance = gradcheck_module.TOLERANCE if tolerance is None else tolerance
    memory.require(cfg, n_features, data=False, dtype="float64", batch_size=batch_size, image_shape=image_shape,
                   source=_source(path))
    rng = np.random.default_rng(cfg.seed if seed is None else seed)
    shape = config_module.shapes.input_shape(cfg, n_features, image_shape)
    model = build(config_module.plain(cfg.model.layers), shape, rng, "float64")
    x = rng.standard_normal((batch_size, n_features))
    y = rng.standard_normal(batch_size) if spec.task == "regression" else rng.integers(0, n_classes, batch_size)
    # Thousands of products of a batch of 8: BLAS threads only add waiting (13 s instead of 0.5 s
    # for MNIST's network on a busy 2-core machine).
    with threadpool_limits(limits=1, user_api="blas"):
        results = gradcheck_module.check(model, LOSSES[cfg.loss], x, y, samples, rng, tolerance)
    worst = max(r["max_relative_error"] for r in results.values())
    return {"config": _source(path), "batch_size": batch_size, "samples": samples, "eps": gradcheck_module.EPS,
            "tolerance": tolerance, "parameters": results, "max_relative_error": worst, "passed": worst <= tolerance}


def predictions(ckpt: checkpoint_module.Checkpoint, x_raw: np.ndarray) -> dict:
    """For raw feature rows: the predicted class index and the class probabilities (or the values, for regression)."""
    out = predict(ckpt, x_raw)
    task = data_module.spec(ckpt.config.data).task
    if task == "regression":
        return {"task": task, "values": out}
    probabilities = np.hstack([1 - out, out]) if out.shape[1] == 1 else out  # one sigmoid unit: p(classes[1])
    return {"task": task, "classes": ckpt.classes, "predicted": metrics.predicted_classes(out),
            "probabilities": probabilities}


def plot_run(run_dir, data=None) -> list[str]:
    """Redraw a run folder's PNGs from its logs and checkpoint; return their paths. `data` as
    for evaluate_checkpoint."""
    return report.plot_run(run_dir, data)
