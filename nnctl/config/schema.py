"""The config's schema: pydantic models for every key, with its type, default and meaning.

Models are strict, frozen and forbid unknown keys; `nnctl schema` prints them as JSON Schema.
The names a key allows (activations, initializers, losses) come from the engine's registries,
the layers' keys from their classes (engine.protocol.Key: built into models by layer_models), the
optimizers', schedules' and early stopping's defaults from their classes' constructors, and
the generated data sets' from the data catalog: each is written once, there
(tests/test_registries.py holds the rest, such as the data sets' names, equal to it).
"""

from __future__ import annotations

import inspect
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, model_validator

from ..data.catalog import CATALOG
from ..data.columns import IMPUTE, MISSING, TYPES
from ..engine import callbacks as _callbacks, optimizers as _opt, schedules as _sched
from ..engine.activations import ACTIVATIONS
from ..engine.layers import INITIALIZERS
from ..engine.losses import LOSSES
from ..engine.metric_names import MAXIMISED, MONITORED
from ..engine.model import LAYER_TYPES  # noqa: F401  (the layer types, for the config's other modules)
from ..engine.protocol import DEFAULT_TYPE  # noqa: F401
from . import layer_models

ACTIVATION_NAMES = tuple(ACTIVATIONS)
INITIALIZER_NAMES = tuple(INITIALIZERS)
LOSS_NAMES = tuple(LOSSES)
MAX_CONFIG_BYTES = 1_000_000
COLUMN_TYPES, IMPUTE_NAMES, MISSING_VALUES = TYPES, IMPUTE, MISSING


def _default(cls, key: str):
    """The default of `key` in the constructor of the engine's class `cls`."""
    return inspect.signature(cls).parameters[key].default


class Strict(BaseModel):
    """Unknown keys are errors; a loaded config is immutable; numbers are finite (no .inf, .nan)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------- data


class _Split(Strict):
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of the training rows held out for validation")
    scaling: Literal["standard", "pixels", "none"] | None = Field(
        None, description="standard: zero mean, unit variance (fitted on train); pixels: divide by 255; none. Default: "
                          "pixels for images, standard otherwise")


class _SklearnSplit(_Split):
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="share of all rows held out for the test split")


class MoonsData(_SklearnSplit):
    name: Literal["moons"]
    n_samples: int = Field(CATALOG["moons"].defaults["n_samples"], ge=20, le=10_000_000, description="number of points")
    noise: float = Field(CATALOG["moons"].defaults["noise"], ge=0.0,
                         description="standard deviation of the Gaussian noise")


class BreastCancerData(_SklearnSplit):
    name: Literal["breast_cancer"]


class MnistData(_Split):
    name: Literal["mnist"]
    path: str | None = Field(None, description="folder with the four IDX .gz files (relative to the config file's "
                                               "folder); default $NNCTL_DATA_DIR/mnist, then the cache, then OpenML")


class CirclesData(_SklearnSplit):
    name: Literal["circles"]
    n_samples: int = Field(CATALOG["circles"].defaults["n_samples"], ge=20, le=10_000_000,
                           description="number of points")
    noise: float = Field(CATALOG["circles"].defaults["noise"], ge=0.0,
                         description="standard deviation of the Gaussian noise")
    factor: float = Field(CATALOG["circles"].defaults["factor"], gt=0.0, lt=1.0,
                          description="radius of the inner circle over the outer one")


class BlobsData(_SklearnSplit):
    name: Literal["blobs"]
    n_samples: int = Field(CATALOG["blobs"].defaults["n_samples"], ge=20, le=10_000_000, description="number of points")
    centers: int = Field(CATALOG["blobs"].defaults["centers"], ge=2, le=1000,
                         description="number of blobs, one class each")
    n_features: int = Field(CATALOG["blobs"].defaults["n_features"], ge=1, le=100_000,
                            description="dimensions of each point")
    cluster_std: float = Field(CATALOG["blobs"].defaults["cluster_std"], gt=0.0,
                               description="standard deviation of each blob")


class IrisData(_SklearnSplit):
    name: Literal["iris"]


class WineData(_SklearnSplit):
    name: Literal["wine"]


class DigitsData(_SklearnSplit):
    name: Literal["digits"]


class _Regression(Strict):
    target_scaling: Literal["standard", "none"] = Field(
        "standard",
        description="regression: standardise the target on the training split for learning (metrics stay in its units)")


class DiabetesData(_SklearnSplit, _Regression):
    name: Literal["diabetes"]


class FashionMnistData(_Split):
    name: Literal["fashion_mnist"]
    path: str | None = Field(None, description="folder with the four IDX .gz files (relative to the config file's "
                                               "folder); default $NNCTL_DATA_DIR/fashion_mnist, then the cache, then "
                                               "OpenML")


class _Table(_SklearnSplit, _Regression):
    task: Literal["classification", "regression"] = Field("classification", description="what the target is")
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0, description="share of all rows held out for the test split; 0: "
                                 "none, every row trains (score another file with nnctl eval --data)")


class OpenMLData(_Table):
    name: Literal["openml"]
    dataset: str | int = Field(description="OpenML name (e.g. 'blood-transfusion-service-center') or numeric id")
    version: int | None = Field(None, ge=1, description="version of a data set given by name; default the active one")
    target: str | None = Field(None, description="target column; default the data set's own")


class ColumnSettings(Strict):
    type: Literal[COLUMN_TYPES] = Field(description="numeric, categorical (one-hot), binary (one 0/1 input) or ignore")
    impute: Literal[IMPUTE_NAMES] = Field("median", description="numeric: what fills a missing cell: the training "
                                          "median, mean or 0; drop_rows: leave such rows out of training")
    indicator: bool | None = Field(None, description="numeric: add a 0/1 input `NAME:missing`; default: when a "
                                                     "training cell was missing (never with drop_rows)")
    max_categories: int | None = Field(None, ge=2, description="categorical: at most this many inputs: the most "
                                                               "frequent values, the rest together as `NAME:other`")

    @model_validator(mode="after")
    def _options_fit_the_type(self):
        numeric = {"impute": self.impute != "median", "indicator": self.indicator is not None}
        for key, given in numeric.items():
            if given and self.type != "numeric":
                raise ValueError(f"{key} applies to a numeric column, not a {self.type} one")
        if self.max_categories is not None and self.type != "categorical":
            raise ValueError(f"max_categories applies to a categorical column, not a {self.type} one")
        return self


def _column_kind(value) -> str:
    """A column is given by its type's word, or by a mapping of settings."""
    return "word" if isinstance(value, str) else "settings"


ColumnType = Annotated[Annotated[Literal[COLUMN_TYPES], Tag("word")] | Annotated[ColumnSettings, Tag("settings")],
                       Discriminator(_column_kind)]


class CsvData(_Table):
    name: Literal["csv"]
    path: str = Field(description="the CSV file; a relative path is relative to the config file's folder")
    target: str | int | None = Field(None, description="target column: header name or 0-based index; default the last")
    features: list[str | int] | None = Field(None, min_length=1,
                                             description="feature columns; default every other column")
    header: bool = Field(True, description="the first row names the columns")
    delimiter: str | None = Field(None, min_length=1, max_length=1, description="field separator, e.g. ';' or a tab "
                                  "(\"\\t\"); default: of , ; tab and |, the one that splits the file's first lines "
                                  "evenly")
    decimal: Literal[".", ","] = Field(".", description="decimal mark of the numbers: ',' for 1,5 (with a ; tab or | "
                                                        "delimiter)")
    encoding: str = Field("utf-8", min_length=1, description="the file's text encoding, e.g. cp1252 for a Windows "
                                                             "spreadsheet's CSV (UTF-8 and UTF-16 with a byte-order "
                                                             "mark are read whatever it says)")
    missing_values: list[str] = Field(list(MISSING_VALUES), description="cells that mean 'missing' (compared stripped, "
                                                                        "in any case)")
    columns: dict[str, ColumnType] | None = Field(
        None, description="each feature column by name: its type (numeric, categorical, binary, ignore), or a mapping "
                          "of settings (below); a column not named has the type its cells tell (docs/tables.md)")

    @model_validator(mode="after")
    def _decimal_is_not_the_delimiter(self):
        if self.decimal == "," and self.delimiter == ",":
            raise ValueError("decimal ',' needs another delimiter (;, tab or |): a comma cannot be both")
        import codecs

        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"encoding {self.encoding!r} is not a text encoding Python knows "
                             f"(such as utf-8, cp1252, latin-1)") from None
        return self


class NpzData(_Table):
    name: Literal["npz"]
    path: str = Field(description="the .npz file; a relative path is relative to the config file's folder")
    x_key: str = Field("x", description="array of the features, (n, n_features) numbers")
    y_key: str = Field("y", description="array of the targets, (n,) labels or numbers")


DataConfig = Annotated[MoonsData | BreastCancerData | MnistData | CirclesData | BlobsData | IrisData | WineData
                       | DigitsData | DiabetesData | FashionMnistData | OpenMLData | CsvData | NpzData,
                       Field(discriminator="name")]

# ---------------------------------------------------------------- model


# The layer models, built from the engine's layer classes' keys (layer_models.py), each also under
# its own name here (DenseLayer, Conv2DLayer ...), and their union by `type`.
LAYER_MODELS, LayerConfig = layer_models.build(Strict)
globals().update({model.__name__: model for model in LAYER_MODELS.values()})


class ModelConfig(Strict):
    layers: list[LayerConfig] = Field(min_length=1,
                                      description="layers in order; the input size comes from the data set")


# ---------------------------------------------------------------- optimizer


class SGDConfig(Strict):
    name: Literal["sgd"]
    lr: float = Field(_default(_opt.SGD, "lr"), gt=0.0, description="learning rate")
    momentum: float = Field(_default(_opt.SGD, "momentum"), ge=0.0, lt=1.0, description="momentum coefficient")
    nesterov: bool = Field(_default(_opt.SGD, "nesterov"), description="use Nesterov momentum")

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self):
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov: true needs momentum > 0")
        return self


class AdamConfig(Strict):
    name: Literal["adam"]
    lr: float = Field(_default(_opt.Adam, "lr"), gt=0.0, description="learning rate")
    beta_1: float = Field(_default(_opt.Adam, "beta_1"), ge=0.0, lt=1.0,
                          description="decay of the first-moment estimate")
    beta_2: float = Field(_default(_opt.Adam, "beta_2"), ge=0.0, lt=1.0,
                          description="decay of the second-moment estimate")
    epsilon: float = Field(_default(_opt.Adam, "epsilon"), gt=0.0, description="added to the denominator for stability")
    amsgrad: bool = Field(_default(_opt.Adam, "amsgrad"),
                          description="AMSGrad: divide by the largest second moment seen so far")


class RMSpropConfig(Strict):
    name: Literal["rmsprop"]
    lr: float = Field(_default(_opt.RMSprop, "lr"), gt=0.0, description="learning rate")
    rho: float = Field(_default(_opt.RMSprop, "rho"), ge=0.0, lt=1.0,
                       description="decay of the running mean of squared gradients")
    momentum: float = Field(_default(_opt.RMSprop, "momentum"), ge=0.0, lt=1.0, description="momentum coefficient")
    centered: bool = Field(_default(_opt.RMSprop, "centered"),
                           description="divide by the running variance instead of the running mean square")
    epsilon: float = Field(_default(_opt.RMSprop, "epsilon"), gt=0.0,
                           description="added to the denominator for stability")


class AdagradConfig(Strict):
    name: Literal["adagrad"]
    lr: float = Field(_default(_opt.Adagrad, "lr"), gt=0.0, description="learning rate")
    initial_accumulator_value: float = Field(_default(_opt.Adagrad, "initial_accumulator_value"), ge=0.0,
                                             description="start of the sum of squared gradients")
    epsilon: float = Field(_default(_opt.Adagrad, "epsilon"), gt=0.0,
                           description="added to the denominator for stability")


class AdadeltaConfig(Strict):
    name: Literal["adadelta"]
    lr: float = Field(_default(_opt.Adadelta, "lr"), gt=0.0, description="scale of the step; 1.0 is the paper's rule")
    rho: float = Field(_default(_opt.Adadelta, "rho"), ge=0.0, lt=1.0, description="decay of the running means")
    epsilon: float = Field(_default(_opt.Adadelta, "epsilon"), gt=0.0, description="added inside both square roots")


class AdamWConfig(AdamConfig):
    name: Literal["adamw"]
    weight_decay: float = Field(_default(_opt.AdamW, "weight_decay"), ge=0.0,
                                description="decoupled weight decay: p -= lr * weight_decay * p each step")


class AdamaxConfig(Strict):
    name: Literal["adamax"]
    lr: float = Field(_default(_opt.Adamax, "lr"), gt=0.0, description="learning rate")
    beta_1: float = Field(_default(_opt.Adamax, "beta_1"), ge=0.0, lt=1.0,
                          description="decay of the first-moment estimate")
    beta_2: float = Field(_default(_opt.Adamax, "beta_2"), ge=0.0, lt=1.0, description="decay of the infinity norm")
    epsilon: float = Field(_default(_opt.Adamax, "epsilon"), gt=0.0, description="added to |g| for stability")


class NadamConfig(Strict):
    name: Literal["nadam"]
    lr: float = Field(_default(_opt.Nadam, "lr"), gt=0.0, description="learning rate")
    beta_1: float = Field(_default(_opt.Nadam, "beta_1"), ge=0.0, lt=1.0,
                          description="decay of the first-moment estimate")
    beta_2: float = Field(_default(_opt.Nadam, "beta_2"), ge=0.0, lt=1.0,
                          description="decay of the second-moment estimate")
    epsilon: float = Field(_default(_opt.Nadam, "epsilon"), gt=0.0,
                           description="added to the denominator for stability")
    momentum_decay: float = Field(_default(_opt.Nadam, "momentum_decay"), ge=0.0,
                                  description="how fast the momentum schedule approaches beta_1")


OptimizerConfig = Annotated[SGDConfig | RMSpropConfig | AdagradConfig | AdadeltaConfig | AdamConfig | AdamWConfig
                            | AdamaxConfig | NadamConfig, Field(discriminator="name")]

# ---------------------------------------------------------------- training and run


MONITOR_NAMES = MONITORED  # engine.metrics.SCORES: every epoch score, validation first
MODE_NAMES = ("auto", "min", "max")
MODE_HELP = f"min or max is better; auto: max for {' and '.join(MAXIMISED)}"


class ConstantSchedule(Strict):
    name: Literal["constant"]


class StepSchedule(Strict):
    name: Literal["step"]
    step_size: int = Field(_default(_sched.Step, "step_size"), ge=1, description="epochs between two cuts")
    gamma: float = Field(_default(_sched.Step, "gamma"), gt=0.0, le=1.0, description="factor of each cut")


class ExponentialSchedule(Strict):
    name: Literal["exponential"]
    gamma: float = Field(_default(_sched.Exponential, "gamma"), gt=0.0, le=1.0, description="factor per epoch")


class InverseTimeSchedule(Strict):
    name: Literal["inverse_time"]
    decay: float = Field(_default(_sched.InverseTime, "decay"), ge=0.0, description="lr / (1 + decay * (epoch - 1))")


class CosineSchedule(Strict):
    name: Literal["cosine"]
    epochs: int | None = Field(None, ge=1, description="length of warm-up plus cosine; default training.epochs")
    warmup_epochs: int = Field(_default(_sched.Cosine, "warmup_epochs"), ge=0,
                               description="epochs of linear warm-up from 0 to lr")
    min_lr: float = Field(_default(_sched.Cosine, "min_lr"), ge=0.0, description="where the cosine ends")


class ReduceOnPlateauSchedule(Strict):
    name: Literal["reduce_on_plateau"]
    monitor: Literal[MONITOR_NAMES] = Field(_default(_sched.ReduceOnPlateau, "monitor"),
                                            description="the metric watched")
    mode: Literal[MODE_NAMES] = Field(_default(_sched.ReduceOnPlateau, "mode"),
                                      description=MODE_HELP)
    factor: float = Field(_default(_sched.ReduceOnPlateau, "factor"), gt=0.0, lt=1.0,
                          description="multiplies lr at each plateau")
    patience: int = Field(_default(_sched.ReduceOnPlateau, "patience"), ge=1,
                          description="epochs without improvement before a cut")
    min_delta: float = Field(_default(_sched.ReduceOnPlateau, "min_delta"), ge=0.0,
                             description="smallest change that counts as an improvement")
    min_lr: float = Field(_default(_sched.ReduceOnPlateau, "min_lr"), ge=0.0, description="lr never goes below this")


ScheduleConfig = Annotated[ConstantSchedule | StepSchedule | ExponentialSchedule | InverseTimeSchedule | CosineSchedule
                           | ReduceOnPlateauSchedule, Field(discriminator="name")]


class EarlyStoppingConfig(Strict):
    monitor: Literal[MONITOR_NAMES] = Field(_default(_callbacks.EarlyStopping, "monitor"),
                                            description="the metric watched")
    mode: Literal[MODE_NAMES] = Field(_default(_callbacks.EarlyStopping, "mode"),
                                      description=MODE_HELP)
    patience: int = Field(_default(_callbacks.EarlyStopping, "patience"), ge=1,
                          description="epochs without improvement before stopping")
    min_delta: float = Field(_default(_callbacks.EarlyStopping, "min_delta"), ge=0.0,
                             description="smallest change that counts as an improvement")
    restore_best: bool = Field(_default(_callbacks.EarlyStopping, "restore_best"),
                               description="end with the best epoch's weights (checkpoint and test scores)")


class TrainingConfig(Strict):
    epochs: int = Field(10, ge=1, le=100_000, description="passes over the training split")
    batch_size: int = Field(32, ge=1, description="rows per gradient step")
    shuffle: bool = Field(True, description="reshuffle the training rows every epoch")
    dtype: Literal["float32", "float64"] = Field("float32", description="floating-point type of weights and data")
    schedule: ScheduleConfig = Field(ConstantSchedule(name="constant"), description="learning-rate schedule")
    early_stopping: EarlyStoppingConfig | None = Field(None, description="stop when a metric stops improving")
    clip_norm: float | None = Field(None, gt=0.0,
                                    description="clip the gradients' global norm to this before each step")
    checkpoint: Literal["best", "last"] = Field("best", description="what checkpoint.json holds, and the test split "
                                                "scores: the best epoch's weights (by early_stopping's monitor, else "
                                                "the "
                                                "lowest val_loss) or the last epoch's")
    save_interval: float = Field(1.0, ge=0.0, le=86_400.0, description="seconds at least between two saves of the run "
                                 "folder (metrics, last.json, checkpoint.json) during training: an epoch that ends "
                                 "sooner "
                                 "is saved with a later one; the last epoch and an interrupted one are always saved; 0 "
                                 "saves every epoch")


class MlflowConfig(Strict):
    uri: str | None = Field(None, description="MLflow tracking URI (a server's http://..., or sqlite:///FILE); "
                                              "default MLflow's own: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db "
                                              "in the working folder (what a plain `mlflow ui` shows)")
    experiment: str | None = Field(None, min_length=1, description="MLflow experiment the run is logged in (created "
                                   "if missing); default MLFLOW_EXPERIMENT_NAME or MLFLOW_EXPERIMENT_ID, else nnctl")
    log_model: bool = Field(True, description="log a finished run's checkpoint as the MLflow model `model` (a "
                                              "pyfunc over the NumPy export: runs:/<id>/model); false saves the "
                                              "export's time, about a second a run")
    parent_run_id: str | None = Field(None, description="id of the MLflow run this run is nested under "
                                                        "(nnctl sweep sets it: the sweep's parent run)")


class TrackingConfig(Strict):
    mlflow: MlflowConfig | None = Field(None, description="log the run to MLflow (params, metrics per epoch, "
                                                          "test scores, files); needs nnctl[mlflow]")
    tensorboard: bool = Field(False, description="write TensorBoard event files into RUN_DIR/tensorboard/; "
                                                 "needs nnctl[tensorboard]")


class RunConfig(Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                             description="prefix of the run folder; default the config file's stem")
    output_dir: str = Field("runs", description="folder in which run folders are created")
    tracking: TrackingConfig = Field(TrackingConfig(), description="experiment trackers the run also logs to")


class Config(Strict):
    seed: int = Field(0, ge=0, lt=2**63, description="seed of the one random generator of a run")
    data: DataConfig
    model: ModelConfig
    loss: Literal[LOSS_NAMES]
    optimizer: OptimizerConfig
    training: TrainingConfig = TrainingConfig()
    run: RunConfig = RunConfig()
    # the --set overrides this config was loaded with, written as a comment atop the resolved config
    _overrides: tuple = PrivateAttr(default=())
    # the files merged over the config file (--config), in order
    _layers: tuple = PrivateAttr(default=())
