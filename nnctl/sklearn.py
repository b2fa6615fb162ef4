"""nnctl networks as scikit-learn estimators: NnctlClassifier and NnctlRegressor.

    clf = NnctlClassifier(config={"model": {"layers": [{"units": 32, "activation": "relu"}]}}, lr=0.01)
    make_pipeline(StandardScaler(), clf).fit(X, y)       # or GridSearchCV, cross_val_score ...
    clf.save("model.json")                               # a normal checkpoint: nnctl eval, predict, export
    NnctlClassifier.load("model.json").predict(X)        # the same predictions

`config` (a YAML path or a dict) holds a config's model, loss, optimizer, training and seed keys;
the data are fit(X, y)'s, so a data or run section is ignored. Without `loss`, model.layers are
the hidden layers and the estimator adds the output layer y needs (softmax over the classes with
cross_entropy; one linear unit with mse), as MLPClassifier does; with `loss`, they are the whole
network, as in a config file. Training is a run without its folder: the run's own builders
(runs.training.Training), standard scaling fitted on X, the loop with the run's callbacks, the
best epoch's weights kept. Nothing here is imported by the rest of nnctl.

For a config with convolution or pooling layers, `image_shape` says how each row of X is an
image, (height, width, channels) in that order: rows are flattened images as MNIST's are, and
the network views them as images (X of shape (n, H, W, C) is flattened first).
"""

from __future__ import annotations

import copy
import numbers
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import api, config as config_module, data as data_module
from .data.arrays import IN_MEMORY
from .engine.model import build
from .runs import checkpoint as checkpoint_module, training as training_module

# The data section of an estimator's config: its rows are fit(X, y)'s, held only in memory. A
# saved checkpoint names IN_MEMORY, an .npz which never exists: `nnctl eval --data FILE.npz`
# (arrays x and y) scores the model on a file, and export checks itself on synthetic rows.

# The network, optimizer and training an estimator gets for a section its config leaves out.
DEFAULTS = {
    "model": {"layers": [{"units": 64, "activation": "relu"}]},
    "optimizer": {"name": "adam", "lr": 0.001},
    "training": {"epochs": 100, "batch_size": 32},
}


class _NnctlEstimator(BaseEstimator):
    """What the classifier and the regressor share: config, fit, save and load."""

    _task = ""  # classification or regression

    def __init__(self, config=None, *, epochs=None, batch_size=None, lr=None, validation_fraction=0.0,
                 random_state=None, image_shape=None):
        self.config = config
        self.image_shape = image_shape
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    # ------------------------------------------------------------ fit

    def fit(self, X, y):
        """Train a new network on (X, y); returns self."""
        X, y = validate_data(self, self._rows(X), y, dtype=(np.float64, np.float32),
                             y_numeric=self._task == "regression")
        y, classes = self._targets(y)
        cfg = self._resolved_config(len(classes))
        dataset = self._dataset(cfg, X, y, classes)
        training_module.check_fits(cfg, dataset)  # the output layer against the classes, the memory
        run = training_module.Training(cfg, dataset)  # the run's model, loss, optimizer and callbacks
        history = run.fit_in_memory()  # as the model API's fit: the kept epoch's weights in the model
        epoch = run.kept_epoch(history)
        metrics = training_module.without_seconds(history[epoch - 1])
        self.history_ = [training_module.without_seconds(record) for record in history]
        self.checkpoint_ = checkpoint_module.Checkpoint(
            path=IN_MEMORY, config=cfg, model=run.model, preprocessing=dataset.preprocessing, classes=classes,
            input_shape=run.input_shape, epoch=epoch, metrics=metrics, optimizer=None)
        return self

    def _rows(self, X):
        """X as rows: images (n, H, W, C) of image_shape flattened, anything else as it is."""
        shape = getattr(X, "shape", None)
        if self.image_shape is not None and shape is not None and len(shape) > 2 \
                and tuple(shape[1:]) == tuple(self.image_shape):
            return np.asarray(X).reshape(len(X), -1)
        return X

    def _image(self, n_features: int) -> tuple | None:
        """image_shape as a tuple, once it is known to hold exactly a row's values."""
        if self.image_shape is None:
            return None
        shape = tuple(int(d) for d in self.image_shape)
        if len(shape) != 3 or min(shape) < 1 or int(np.prod(shape)) != n_features:
            raise ValueError(f"image_shape must be (height, width, channels) holding the {n_features} values of a "
                             f"row of X, got {self.image_shape!r}")
        return shape

    def _resolved_config(self, n_classes: int) -> config_module.Config:
        """The nnctl Config this fit trains: the user's keys, the defaults, the output layer, the
        parameters set on the estimator and the data section of fit(X, y)."""
        if isinstance(self.config, (str, Path)):
            raw, lines = config_module.read_yaml(Path(self.config))
            source = str(self.config)
        elif self.config is None or isinstance(self.config, dict):
            raw, lines, source = copy.deepcopy(self.config or {}), {}, f"{type(self).__name__}(config=...)"
        else:
            raise TypeError(f"config must be a YAML file's path or a dict, not {type(self.config).__name__}")
        if not isinstance(raw, dict):
            raise TypeError(f"{source}: the config must be a mapping of keys to values")
        raw = {key: value for key, value in raw.items() if key not in ("data", "run")}
        for key, default in DEFAULTS.items():
            raw.setdefault(key, copy.deepcopy(default))
        if "loss" not in raw:  # the layers are the hidden ones: add the output layer y needs
            raw["loss"], output = self._output(n_classes)
            raw["model"] = {**raw["model"], "layers": [*raw["model"].get("layers", []), output]}
        for section, key, value in (("training", "epochs", self.epochs), ("training", "batch_size", self.batch_size),
                                    ("optimizer", "lr", self.lr)):
            if value is not None:
                raw[section] = {**raw[section], key: value}
        if self.random_state is not None:
            raw["seed"] = _seed(self.random_state)
        raw["data"] = {"name": "npz", "path": IN_MEMORY, "task": self._task, "scaling": "standard",
                       "val_fraction": self.validation_fraction}
        return config_module.from_dict(raw, source, lines)

    def _dataset(self, cfg, X, y, classes) -> data_module.Dataset:
        """(X, y) as a run's data set: a validation split held out as data.load holds it out, the
        standard scaling (and a regression target's) fitted on the training rows; no test split."""
        regression = self._task == "regression"
        rows = np.arange(len(X))
        train, val = data_module.sklearn_split(rows, y, cfg.data.val_fraction, data_module.random_state(cfg.seed, 2),
                                               "validation_fraction", stratify=not regression)
        source, dtype = "fit(X, y)", cfg.training.dtype
        with np.errstate(over="ignore", invalid="ignore"):  # overflows are named by the checks below
            preprocessing = data_module.fit_preprocessing(X[train], "standard")
            data_module.check_fitted(X[train], preprocessing, source)
            if regression:
                preprocessing["target"] = data_module.fit_target_scaling(y[train], "standard")
            xs = [data_module.apply_preprocessing(X[part], preprocessing, dtype) for part in (train, val)]
        for part, scaled in zip((train, val), xs):
            data_module.check_scaled(X, part, scaled, source, dtype)
        ys = [data_module.scale_target(y[part], preprocessing,
                                       dtype) if regression else y[part] for part in (train, val)]
        return data_module.Dataset("npz", self._task, classes, xs[0], ys[0], xs[1], ys[1], xs[0][:0], ys[0][:0],
                                   preprocessing, self._image(X.shape[1]), source)

    def _outputs(self, X) -> np.ndarray:
        """The network's outputs for raw rows X, as `nnctl predict` computes them."""
        check_is_fitted(self)
        X = validate_data(self, self._rows(X), dtype=(np.float64, np.float32), reset=False)
        return api.predict(self.checkpoint_, X)

    # ------------------------------------------------------------ checkpoints

    def save(self, path) -> None:
        """Write the fitted network as an nnctl checkpoint (`nnctl eval`, `predict`, `export` read
        it; its data section names the in-memory IN_MEMORY, so eval needs `--data FILE.npz`)."""
        check_is_fitted(self)
        labels = getattr(self, "classes_", np.array([])).tolist()
        if any(type(label) is not type(stored) for label, stored in zip(labels, self.checkpoint_.classes)):
            raise ValueError("a checkpoint keeps integer or text class labels, and classes_ holds "
                             f"{self.classes_.dtype} "
                             f"labels: fit on y as integers or strings to save the model")
        ckpt = self.checkpoint_
        checkpoint_module.save(path, config=ckpt.config, model=ckpt.model, preprocessing=ckpt.preprocessing,
                               classes=ckpt.classes, epoch=ckpt.epoch, metrics=ckpt.metrics)

    @classmethod
    def load(cls, path):
        """A fitted estimator from an nnctl checkpoint (any, of the estimator's task), predicting as it does."""
        ckpt = checkpoint_module.load(path)
        task = data_module.spec(ckpt.config.data).task
        if task != cls._task:
            raise ValueError(f"{path} holds a {task} model; {cls.__name__} is for {cls._task}")
        estimator = cls(config=ckpt.config.model_dump(mode="json", include={"seed", "model", "loss", "optimizer",
                                                                             "training"}),
                        validation_fraction=ckpt.config.data.val_fraction,
                        image_shape=ckpt.input_shape if len(ckpt.input_shape) > 1 else None)
        estimator._set_fitted(ckpt)
        return estimator

    def _set_fitted(self, ckpt) -> None:
        self.checkpoint_ = ckpt
        self.n_features_in_ = ckpt.n_inputs
        self.history_ = []

    # A fitted estimator pickles (joblib, GridSearchCV's workers) as its checkpoint's data: the
    # model's arrays are views of one buffer, which pickle would not keep.
    def __getstate__(self):
        state = dict(super().__getstate__())  # BaseEstimator's may be the instance's own __dict__
        if "checkpoint_" in state:
            ckpt = state["checkpoint_"]
            state["checkpoint_"] = {"config": ckpt.config.model_dump(mode="json"), "input_shape": ckpt.input_shape,
                                    "state": {k: v.copy() for k, v in ckpt.model.state().items()},
                                    **{k: getattr(ckpt, k) for k in ("preprocessing", "classes", "epoch", "metrics")}}
        return state

    def __setstate__(self, state):
        saved = state.get("checkpoint_")
        if isinstance(saved, dict):
            cfg = config_module.from_dict(saved["config"], source="a pickled estimator's config")
            model = build(config_module.plain(cfg.model.layers), saved["input_shape"], None, cfg.training.dtype)
            model.load_state(saved["state"])
            state = {**state, "checkpoint_": checkpoint_module.Checkpoint(
                path=IN_MEMORY, config=cfg, model=model, preprocessing=saved["preprocessing"], classes=saved["classes"],
                input_shape=saved["input_shape"], epoch=saved["epoch"], metrics=saved["metrics"], optimizer=None)}
        super().__setstate__(state)


class NnctlClassifier(ClassifierMixin, _NnctlEstimator):
    """An nnctl network as a scikit-learn classifier: fit, predict, predict_proba, score (accuracy)."""

    _task = "classification"

    def _targets(self, y):
        check_classification_targets(y)
        self.classes_, y = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes in y; got {len(self.classes_)} class")
        return y.astype(np.int64), [_label(c) for c in self.classes_]

    @staticmethod
    def _output(n_classes: int):
        return "cross_entropy", {"units": n_classes, "activation": "softmax"}

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities for raw rows X: (n, classes), columns in the order of classes_."""
        out = np.asarray(self._outputs(X), dtype=np.float64)
        return np.hstack([1 - out, out]) if out.shape[1] == 1 else out  # one sigmoid unit: p(classes_[1])

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row of X."""
        index = np.argmax(self.predict_proba(X), axis=1)  # first: an unfitted estimator has no classes_
        return self.classes_[index]

    def _set_fitted(self, ckpt) -> None:
        super()._set_fitted(ckpt)
        self.classes_ = np.array(ckpt.classes)


class NnctlRegressor(RegressorMixin, _NnctlEstimator):
    """An nnctl network as a scikit-learn regressor of one target: fit, predict, score (R²)."""

    _task = "regression"

    def _targets(self, y):
        return np.asarray(y, dtype=np.float64), []

    @staticmethod
    def _output(n_classes: int):
        return "mse", {"units": 1, "activation": "linear"}

    def predict(self, X) -> np.ndarray:
        """The predicted value of each row of X, in y's units: (n,)."""
        return self._outputs(X)[:, 0]


def _seed(random_state) -> int:
    """nnctl's seed for scikit-learn's random_state: an int is the seed itself, a RandomState
    gives one (so a fit with it is repeatable only by the RandomState's own state)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be None, a non-negative integer or a RandomState, got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _label(value):
    """A class label as a checkpoint stores it: an int, or text (see save)."""
    return int(value) if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) else str(value)
