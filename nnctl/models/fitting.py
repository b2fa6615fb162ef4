"""What fit does with its arguments: the config of the run, its data set, and the training itself,
through the run's own pieces (runs.training: the same model, optimizer, callbacks and loop as
`nnctl train`), in memory or into a run folder (api.train).

The arrays of fit(x, y) are a data set as an .npz file holding them would be (data.arrays); the
run's config names them by data.arrays.IN_MEMORY. Where Keras' fit and a YAML file's defaults
differ, fit on arrays takes Keras' (ARRAY_DEFAULTS, TRAINING_DEFAULTS): the arrays are the
network's inputs and targets as given (no scaling), every row trains (no test split, no
validation unless asked), and the model keeps the last epoch's weights.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from .. import api, config as config_module
from ..data import CATALOG, arrays
from ..engine.callbacks import Callback, EarlyStopping
from ..errors import ConfigError, Interrupted
from ..runs import checkpoint as checkpoint_module, training as training_module
from ..runs.interrupts import deferred
from ..runs.progress import Progress
from .history import History

REGRESSION_LOSSES = ("mse", "mae", "huber")  # a model compiled with one of these predicts values: its task
ARRAY_DEFAULTS = {"scaling": "none", "target_scaling": "none", "val_fraction": 0.0, "test_fraction": 0.0}
TRAINING_DEFAULTS = {"checkpoint": "last"}
SOURCE = "Sequential"  # how messages about a model API model's config name it


def task(loss: str) -> str:
    """classification or regression, from a compiled loss (its alias resolved)."""
    word = config_module.aliases.LOSSES.lookup(loss) or loss
    return "regression" if word in REGRESSION_LOSSES else "classification"


def data_section(given, x, loss: str, validation_split, validation_data, scaling, remembered: dict | None) -> dict:
    """The config's data section of a fit: of the arrays x (and y), of `given` (a built-in data set's
    name, a .csv or .npz file's path, or a data section), or the model's own (`remembered`: from
    from_yaml, or an earlier fit on a data set)."""
    if x is not None and given is not None:
        raise ConfigError("fit: give the data as x and y, or as data=, not both")
    if validation_split and validation_data is not None:
        raise ConfigError("fit: validation_split holds out rows of x, validation_data gives them apart: give one")
    if x is not None:
        section = {"name": "npz", "path": arrays.IN_MEMORY, "task": task(loss), **ARRAY_DEFAULTS}
    elif given is not None:
        section = _named(given, loss)
    elif remembered is not None:
        section = dict(remembered)
    else:
        raise ConfigError("fit: no data: give x and y (arrays), or data= (a built-in data set's name, a .csv or "
                          ".npz file, or a config's data section)")
    if x is None and validation_data is not None:
        raise ConfigError("fit: validation_data goes with x and y; a data set's validation rows are data.val_fraction "
                          "of its own (validation_split=)")
    if validation_split is not None:
        section["val_fraction"] = validation_split
    if scaling is not None:
        section["scaling"] = scaling
    return section


def _named(given, loss: str) -> dict:
    """A data section from fit's data=: a built-in data set, a file, or a section itself."""
    if isinstance(given, dict):
        return config_module.plain_data(given, SOURCE, ("data",))
    if not isinstance(given, (str, Path)):
        raise ConfigError("fit: data= takes a data set's name, a file's path or a data section, got "
                          f"{type(given).__name__}")
    suffix = Path(given).suffix.lower()
    if suffix in (".csv", ".npz"):
        return {"name": suffix[1:], "path": str(Path(given).expanduser().absolute()), "task": task(loss)}
    if str(given) in CATALOG:
        return {"name": str(given)}
    raise ConfigError(f"fit: data={str(given)!r} is neither a data set nnctl knows ({', '.join(CATALOG)}) nor a .csv "
                      "or "
                      f".npz file")


def user_callbacks(callbacks) -> tuple[list[Callback], dict | None]:
    """fit's callbacks, each an engine.callbacks.Callback; an EarlyStopping among them becomes the
    config's training.early_stopping (returned apart), so the run's twin config holds it."""
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise ConfigError(f"fit: callbacks: expected a list of callbacks, got {type(callbacks).__name__}: write "
                          f"callbacks=[...]")
    kept, stopping = [], None
    for callback in callbacks or ():
        if isinstance(callback, EarlyStopping):
            stopping = {"monitor": callback.monitor, "mode": callback.mode, "patience": callback.patience,
                        "min_delta": callback.min_delta, "restore_best": callback.restore_best}
        elif isinstance(callback, Callback):
            kept.append(callback)
        else:
            raise ConfigError(f"fit: callbacks are nnctl.callbacks.Callback objects (engine.callbacks.Callback: "
                              f"on_epoch_end(record), on_batch_end ...), got {type(callback).__module__}."
                              f"{type(callback).__name__}")
    return kept, stopping


def progress(verbose, epochs: int):
    """The training screen fit shows on stdout (as Keras' fit): verbose 0 none, 1 (or auto) the live
    line and a row per epoch, 2 one plain line per epoch."""
    if verbose not in (0, 1, 2, "auto"):
        raise ConfigError(f"fit: verbose: expected 0, 1, 2 or 'auto', got {verbose!r}")
    return [] if verbose == 0 else [Progress(epochs=epochs, stream=sys.stdout, live=verbose != 2)]


def dataset(cfg, x, y, validation_data, image_shape: tuple | None):
    """The data set the run trains on: fit's arrays (image_shape: the model's declared input, when
    it holds images and x holds rows), or the config's data set."""
    if x is None:
        return training_module.load_data(cfg)
    if y is None:
        raise ConfigError("fit: x is given without y: give the targets too (the labels, or the values to predict)")
    if validation_data is not None and (not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2):
        raise ConfigError("fit: validation_data: expected (x_val, y_val)")
    return arrays.load(cfg.data, cfg.seed, cfg.training.dtype, x, y, validation_data, image_shape)


class Fitted(NamedTuple):
    """What a fit left: the model trained (a Checkpoint held in memory, or the run's checkpoint.json),
    the optimizer's last state (None: a run folder's, in its last.json), the epochs' records, the
    run's summary (None: no run folder), and the Interrupted that stopped it early, if one did."""

    kept: checkpoint_module.Checkpoint | None
    optimizer: dict | None
    records: list
    run: dict | None
    interrupted: Interrupted | None = None


class Records(Callback):
    """The epochs' records as they end: what History shows, also of a fit stopped early."""

    def __init__(self):
        self.records = []

    def on_epoch_end(self, record):
        self.records.append(record)
        return False


def train(cfg, data, callbacks, warm_start, run_dir) -> Fitted:
    """Train `cfg` on `data` with `callbacks` after nnctl's own: in memory, or into a run folder
    (`run_dir`: a path, or True for a new one under run.output_dir). Ctrl-C stops after the current
    batch: in memory, the model keeps what it learnt so far (Fitted.interrupted says so); a run
    folder saves last.json, from which --resume continues, and Interrupted is raised."""
    records = Records()
    if run_dir is not None:
        with deferred() as stop:
            run = api.train(cfg, run_dir=None if run_dir is True else run_dir, callbacks=[*callbacks, records],
                            stop=stop, dataset=data, warm_start=warm_start)
        return Fitted(checkpoint_module.load(run["checkpoint"]), None, records.records, run)
    training = training_module.Training(cfg, data, warm_start=warm_start)
    interrupted = None
    try:
        with deferred() as stop:
            training.fit_in_memory([*callbacks, records], stop)
    except Interrupted as e:
        interrupted = Interrupted(e.signal, e.position,
                                  f"interrupted by signal {e.signal} after {len(records.records)} "
                                                        f"epochs and part of the next: the model keeps the weights "
                                                        f"trained so far")
    epoch = training.kept_epoch(records.records) if interrupted is None else len(records.records)
    metrics = training_module.without_seconds(records.records[epoch - 1]) if epoch else {}
    kept = checkpoint_module.Checkpoint(path=arrays.IN_MEMORY, config=cfg, model=training.model,
                                        preprocessing=data.preprocessing, classes=data.classes,
                                        input_shape=training.input_shape, epoch=epoch or 0, metrics=metrics,
                                        optimizer=None,
                                        data_file=data.data_file)
    return Fitted(kept, training.optimizer.state_dict(), records.records, None, interrupted)


def history(records: list[dict], cfg, n_rows: int, run: dict | None) -> History:
    """fit's History of `records`."""
    size = cfg.training.batch_size
    return History(records, {"epochs": cfg.training.epochs, "batch_size": size, "steps": -(-n_rows // size)}, run)
