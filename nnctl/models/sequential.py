"""Sequential: Keras' model class over nnctl's config, engine and runs, the twin of a YAML config.

    model = Sequential([layers.Dense(32, activation="relu"), layers.Dense(2, activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(x, y, epochs=20, batch_size=32, validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test)
    model.save("model.json")                     # a checkpoint: nnctl eval, predict, export read it
    print(model.to_yaml(data="train.npz"))       # the config `nnctl train` trains to the same bits

A model is a config in the making: its layers are model.layers, compile gives loss and
optimizer, fit the data and training sections, and the seed the run's. fit validates that config
exactly as a YAML file is (errors name its dotted keys) and trains it through the same pieces as
`nnctl train` (nnctl.models.fitting): the same seed, data and config give the same weights.
"""

from __future__ import annotations

import os

import numpy as np

from .. import api, config as config_module
from ..config import aliases
from ..config.messages import _closest
from ..data import apply_preprocessing, arrays, scale_target
from ..engine.losses import LOSSES
from ..engine.train import evaluate as evaluate_model
from ..errors import ConfigError, DataError
from ..runs import checkpoint as checkpoint_module, summary as summary_module, training as training_module
from ..runs.training import WarmStart
from . import fitting, optimizers as optimizers_module, twin
from .stack import LayerStack

# Keras' metric names -> the score nnctl computes, for each task (every one, whatever compile names)
METRICS = {"classification": {"accuracy": "accuracy", "acc": "accuracy", "sparse_categorical_accuracy": "accuracy",
                              "categorical_accuracy": "accuracy", "binary_accuracy": "accuracy"},
           "regression": {"mae": "mae", "mean_absolute_error": "mae", "rmse": "rmse", "root_mean_squared_error": "rmse",
                          "r2": "r2", "r2_score": "r2"}}


class Sequential(LayerStack):
    """Layers in order, trained by nnctl as its YAML config would be (see the module's docstring).
    `seed` is the config's: the initial weights, the splits, the shuffles and the dropout masks."""

    def __init__(self, layers=None, *, seed: int = 0, name: str | None = None):
        self.seed = seed
        self._compiled: dict | None = None  # loss, optimizer section, metrics
        self._training: dict = {}  # the training section: from_yaml's, then fit's arguments
        self._data: dict | None = None  # the data section a fit without x trains on (from_yaml's, fit(data=)'s)
        self._run: dict = {}  # the run section (from_yaml's): output_dir, tracking
        self._fitted: checkpoint_module.Checkpoint | None = None  # the trained model, its config, scaling, classes
        self._optimizer_state: dict | None = None  # the optimizer's, for a further fit after the same compile
        self._validation_given = False  # the last fit's validation rows were given apart: no YAML twin
        self.history = None
        super().__init__(layers, name)

    def _changed(self) -> None:
        """A changed architecture or input shape: no trained weights any more."""
        self._fitted, self._optimizer_state = None, None

    def _summary(self) -> dict:
        if self._fitted is not None:
            return {**summary_module.architecture(self._fitted.config, self._fitted.input_shape),
                    "name": self.name or "sequential"}
        return super()._summary(self._training.get("dtype", "float32"))

    # ------------------------------------------------------------ compile and fit

    def compile(self, optimizer="adam", loss=None, metrics=None) -> None:
        """The config's loss and optimizer, and the scores evaluate returns: `loss` a name of LOSSES
        or Keras' or PyTorch's (sparse_categorical_crossentropy, mse, CrossEntropyLoss ...);
        `optimizer` a name, an optimizers.* object (optimizers.Adam(lr=1e-3)) or an optimizer
        section ({"name": "sgd", "lr": 0.1}); `metrics` Keras' names of the scores nnctl computes
        (accuracy; mae, rmse, r2 for a regression). A further fit starts a fresh optimizer."""
        if not isinstance(loss, str) or aliases.LOSSES.lookup(loss) is None:
            given = loss if isinstance(loss, str) else type(loss).__name__ if loss is not None else None
            raise ConfigError(f"compile: loss: expected one of {', '.join(LOSSES)} (or Keras' or PyTorch's name of "
                              f"one), got {given!r}{_closest(loss, LOSSES)}")
        if isinstance(optimizer, optimizers_module.Optimizer):
            section = optimizer.get_config()
        elif isinstance(optimizer, str):
            section = {"name": optimizer}
        elif isinstance(optimizer, dict):
            section = optimizer
        else:
            raise ConfigError(f"compile: optimizer: expected a name ('adam'), an nnctl.optimizers object "
                              "(optimizers.Adam(lr=1e-3)) or an optimizer section (a dict), got "
                              f"{type(optimizer).__name__}")
        section = {"name": section.get("name"), **optimizers_module.check(section, "compile", ("optimizer",))}
        task = fitting.task(loss)
        names = [metrics] if isinstance(metrics, str) else list(metrics or ())
        known = METRICS[task]
        for name in names:
            if not isinstance(name, str) or aliases.fold(name) not in {aliases.fold(k) for k in known}:
                raise ConfigError(f"compile: metrics: {name!r} is not a score nnctl computes for a {task} (loss "
                                  f"{loss}): expected {', '.join(known)}{_closest(name, known)}")
        scores = [next(v for k, v in known.items() if aliases.fold(k) == aliases.fold(name)) for name in names]
        self._compiled = {"loss": loss, "optimizer": section, "metrics": list(dict.fromkeys(scores))}
        self._optimizer_state = None

    def fit(self, x=None, y=None, *, epochs: int | None = None, batch_size: int | None = None, verbose="auto",
            callbacks=(), validation_split: float | None = None, validation_data=None, shuffle: bool | None = None,
            data=None, scaling: str | None = None, run_dir=None, runs: bool = False, **training):
        """Train on the arrays x and y (or on `data`: a built-in data set's name, a .csv or .npz
        file, a config's data section), as `nnctl train` trains the model's config; returns a
        History. A model trained before continues from its weights, as Keras' fit does.

        epochs, batch_size, shuffle and any other key of the config's training section (dtype,
        schedule, early_stopping, clip_norm, checkpoint ...) by name; validation_split holds out
        that share of the rows (data.val_fraction: stratified, drawn from the seed, where Keras
        takes the last rows), validation_data=(x_val, y_val) gives validation rows apart. On
        arrays, `scaling` (none by default, as Keras: the arrays are the inputs; standard or
        pixels as nnctl train does) is data.scaling. `run_dir` (a folder) or runs=True (a new
        folder under runs/) writes a run folder as nnctl train does; without, nothing is
        written. verbose: 0 silent, 1 (auto) the live line and a row per epoch, 2 a line per epoch.
        """
        if self._compiled is None:
            raise ConfigError("fit before compile: call model.compile(loss=..., optimizer=...) first (the config's "
                              "loss and optimizer)")
        if not self._layers:
            raise ConfigError("fit: the model has no layers: add them with model.add(layers.Dense(...))")
        if run_dir is not None and not isinstance(run_dir, (str, os.PathLike)):
            raise ConfigError(f"fit: run_dir: expected a folder's path, got {type(run_dir).__name__}")
        own, stopping = fitting.user_callbacks(callbacks)
        given = {"epochs": epochs, "batch_size": batch_size, "shuffle": shuffle, **training}
        given = {k: v for k, v in given.items() if v is not None}
        if stopping is not None:
            given["early_stopping"] = stopping
        stopping = given.get("early_stopping")
        if isinstance(stopping, dict) and stopping.get("restore_best", True) and "checkpoint" not in given:
            given["checkpoint"] = "best"  # Keras' restore_best_weights: the early stopping's best epoch is kept
        section = {**fitting.TRAINING_DEFAULTS, **self._training, **given}
        loss = self._compiled["loss"]
        data_cfg = fitting.data_section(data, x, loss, validation_split, validation_data, scaling, self._data)
        cfg = self._config(data_cfg, section, runs or run_dir is not None)
        dataset = fitting.dataset(cfg, x, y, validation_data, self._image_shape())
        self._check_input(dataset)
        training_module.check_fits(cfg, dataset)  # the output layer against y's classes, the memory
        fitted = fitting.train(cfg, dataset, [*fitting.progress(verbose, cfg.training.epochs), *own],
                               self._warm_start(cfg),
                               run_dir if run_dir is not None else (True if runs else None))
        self._fitted, self._optimizer_state = fitted.kept, fitted.optimizer
        self._training, self._validation_given = config_module.plain(cfg.training), validation_data is not None
        self._input_shape = tuple(fitted.kept.input_shape)
        if x is None:
            self._data = config_module.plain(cfg.data)
        self.history = fitting.history(fitted.records, cfg, len(dataset.x_train), fitted.run)
        if fitted.interrupted is not None:
            raise fitted.interrupted
        return self.history

    def _config(self, data: dict, training: dict, run_folder: bool) -> config_module.Config:
        """The model's config with these data and training sections, validated as a YAML file is."""
        run = {**self._run, **({"name": self.name} if self.name else {})}
        doc = {"seed": self.seed, "data": data, "model": {"layers": self._specs()}, "loss": self._compiled["loss"],
               "optimizer": self._compiled["optimizer"], "training": training, "run": run}
        cfg = config_module.from_dict(config_module.plain_data(doc, fitting.SOURCE), fitting.SOURCE)
        if not self.name and "name" not in self._run:
            cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": "sequential"})})
        return cfg

    def _check_input(self, dataset) -> None:
        """The data against the declared input shape: as many values a row, the same images."""
        shape, width, images = self._input_shape, dataset.x_train.shape[1], dataset.image_shape
        if shape is None:
            return
        if int(np.prod(shape)) != width or (len(shape) == 3 and images is not None and tuple(images) != shape):
            raise DataError(f"fit: the model takes inputs of shape {shape}, and the data's are "
                            f"{tuple(images) if images is not None else (width,)}")

    def _warm_start(self, cfg) -> WarmStart | None:
        """The weights a further fit starts from: the model's, when it was trained with these layers
        and this input; the optimizer's state too when compile was not called again since."""
        if self._fitted is None or self._fitted.config.model != cfg.model:
            return None
        if self._fitted.config.training.dtype != cfg.training.dtype:
            return None
        same = self._fitted.config.optimizer == cfg.optimizer
        return WarmStart({k: v.copy() for k, v in self._fitted.model.state().items()},
                         self._optimizer_state if same else None)

    # ------------------------------------------------------------ after training

    def _trained(self, what: str) -> checkpoint_module.Checkpoint:
        if self._fitted is None:
            raise ConfigError(f"{what} before fit: the model has no trained weights, scaling or classes yet "
                              f"(fit it, or load a checkpoint with nnctl.load)")
        return self._fitted

    @property
    def classes(self) -> list:
        """The class labels, in the order of predict's columns (empty for a regression)."""
        return list(self._trained("classes").classes)

    @property
    def weights(self) -> dict:
        """Copies of the parameters and buffers, by dotted name (`layers.0.W`), as a checkpoint's state."""
        return {k: v.copy() for k, v in self._trained("weights").model.state().items()}

    def _rows(self, x, what: str) -> np.ndarray:
        """Raw rows of x (images flattened) checked against the model's width. A model fit on a CSV's
        typed columns also takes them by name ({column: cells}, a pandas DataFrame), read as training
        read the file's cells."""
        kept = self._trained(what)
        if hasattr(x, "keys"):
            if "table" not in kept.preprocessing:
                raise DataError(f"{what}: x by column name is for a model fit on a CSV's columns; this one takes "
                                f"an array of {kept.n_inputs} values a row")
            from ..data.prepare import encode_columns

            x = encode_columns(kept.preprocessing["table"], x, what)[0]
        rows, _ = arrays.features(x)
        if rows.shape[1] != kept.n_inputs:
            raise DataError(f"{what}: x has {rows.shape[1]} values a row, and the model takes {kept.n_inputs}")
        return rows

    def predict(self, x, batch_size: int | None = None, verbose=0) -> np.ndarray:
        """The outputs for x, scaled as in training: class probabilities (n, units), or for a
        regression the values in y's units (n, 1), as Keras' predict."""
        return api.predict(self._trained("predict"), self._rows(x, "predict"))

    def predict_proba(self, x) -> np.ndarray:
        """A classifier's probabilities, one column per class (a single sigmoid unit gives both)."""
        if self._trained("predict_proba").classes == []:
            raise ConfigError("predict_proba: a regression has no class probabilities: use predict")
        return api.predictions(self._fitted, self._rows(x, "predict_proba"))["probabilities"]

    def evaluate(self, x, y, batch_size: int | None = None, verbose=0, return_dict: bool = False):
        """The loss on (x, y) and the compiled metrics: the loss alone without metrics, else [loss,
        *metrics] (Keras' order), or with return_dict a dict of every score nnctl computes (accuracy;
        mae, rmse and r2 for a regression, in y's units)."""
        kept = self._trained("evaluate")
        rows = self._rows(x, "evaluate")
        task, dtype = fitting.task(kept.config.loss), kept.config.training.dtype
        targets = twin.targets(y, task, kept, len(rows))
        if task == "regression":
            targets = scale_target(targets, kept.preprocessing, dtype)
        scores = evaluate_model(kept.model, LOSSES[kept.config.loss],
                                apply_preprocessing(rows, kept.preprocessing, dtype),
                                targets, batch_size or 8192, task,
                                float(kept.preprocessing.get("target", {}).get("std", 1.0)))
        scores = {k: v for k, v in scores.items() if k != "out"}
        if return_dict:
            return scores
        metrics = (self._compiled or {}).get("metrics", [])
        return [scores["loss"], *(scores[m] for m in metrics)] if metrics else scores["loss"]

    # ------------------------------------------------------------ files

    def save(self, path) -> None:
        """Write the trained model as an nnctl checkpoint (JSON): nnctl eval, predict, export and
        nnctl.load read it. One trained on a file records its SHA-256, as a run's checkpoint does (nnctl
        eval reads the file while it is unchanged); one trained on arrays names no file: eval takes --data FILE."""
        kept = self._trained("save")
        checkpoint_module.save(path, config=kept.config, model=kept.model, preprocessing=kept.preprocessing,
                               classes=kept.classes, epoch=kept.epoch, metrics=kept.metrics, data_file=kept.data_file)

    def export(self, path, format: str = "onnx") -> dict:
        """Write the model as ONNX or as a NumPy-only folder (`format` numpy), checked against
        nnctl's predictions as `nnctl export` does; returns what its --json prints."""
        return twin.export(self, path, format)

    def get_config(self, data=None) -> dict:
        """The model's config as a dict: what to_yaml writes (see there)."""
        return twin.config(self, data).model_dump(mode="json")

    def to_yaml(self, path=None, *, data=None) -> str:
        """The model's config as YAML, the one `nnctl train` trains to the same weights: layers, seed,
        loss and optimizer, the last fit's training and data sections. `data`: the data section to
        write (a config's, a built-in set's name, or the .npz / .csv file holding the arrays fit was
        given: numpy.savez(FILE, x=x, y=y)); without, arrays are named by a placeholder to replace.
        With `path`, also written there."""
        return twin.to_yaml(self, path, data)

    @classmethod
    def from_yaml(cls, source) -> Sequential:
        """The model a YAML config describes (its text, or a file's path), compiled, with its training
        and data sections: fit() without arguments trains it as `nnctl train` does."""
        return twin.from_config(cls, twin.read(source))

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        """The model a config given as a dict describes (validated as a YAML file is)."""
        return twin.from_config(cls, config_module.load(config))

    def __repr__(self):
        return f"{super().__repr__()[:-1]}, seed={self.seed})"


def load(path) -> Sequential:
    """A model from an nnctl checkpoint (a file, or a run folder's checkpoint.json; runs/latest: the
    newest run): predict, evaluate, summary, save and further fits as after its own fit."""
    return twin.from_checkpoint(Sequential, path)
