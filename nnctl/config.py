"""YAML -> validated, immutable config. Every config error is raised here, as ConfigError.

A message names the file, the line (where YAML knows it), the dotted key, what was expected
and, for a misspelt word, the closest valid one.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, ValidationError, model_validator

from .errors import ConfigError

ACTIVATION_NAMES = ("relu", "leaky_relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "gelu", "softplus", "silu")
INITIALIZER_NAMES = ("he_normal", "he_uniform", "glorot_normal", "glorot_uniform")
LOSS_NAMES = ("mse", "binary_cross_entropy", "cross_entropy", "mae", "huber")
MAX_CONFIG_BYTES = 1_000_000


class Strict(BaseModel):
    """Unknown keys are errors; a loaded config is immutable; numbers are finite (no .inf, .nan)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------- data


class _Split(Strict):
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of the training rows held out for validation")
    scaling: Literal["standard", "pixels", "none"] | None = Field(
        None, description="standard: zero mean, unit variance (fitted on train); pixels: divide by 255; none. Default: pixels for images, standard otherwise")


class _SklearnSplit(_Split):
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="share of all rows held out for the test split")


class MoonsData(_SklearnSplit):
    name: Literal["moons"]
    n_samples: int = Field(1000, ge=20, le=10_000_000, description="number of points")
    noise: float = Field(0.2, ge=0.0, description="standard deviation of the Gaussian noise")


class BreastCancerData(_SklearnSplit):
    name: Literal["breast_cancer"]


class MnistData(_Split):
    name: Literal["mnist"]
    path: str | None = Field(None, description="folder with the four IDX .gz files; default $NNCTL_DATA_DIR/mnist, then the cache, then OpenML")


class CirclesData(_SklearnSplit):
    name: Literal["circles"]
    n_samples: int = Field(1000, ge=20, le=10_000_000, description="number of points")
    noise: float = Field(0.1, ge=0.0, description="standard deviation of the Gaussian noise")
    factor: float = Field(0.5, gt=0.0, lt=1.0, description="radius of the inner circle over the outer one")


class BlobsData(_SklearnSplit):
    name: Literal["blobs"]
    n_samples: int = Field(1000, ge=20, le=10_000_000, description="number of points")
    centers: int = Field(3, ge=2, le=1000, description="number of blobs, one class each")
    n_features: int = Field(2, ge=1, le=100_000, description="dimensions of each point")
    cluster_std: float = Field(1.0, gt=0.0, description="standard deviation of each blob")


class IrisData(_SklearnSplit):
    name: Literal["iris"]


class WineData(_SklearnSplit):
    name: Literal["wine"]


class DigitsData(_SklearnSplit):
    name: Literal["digits"]


class _Regression(Strict):
    target_scaling: Literal["standard", "none"] = Field(
        "standard", description="regression: standardise the target on the training split for learning (metrics stay in its units)")


class DiabetesData(_SklearnSplit, _Regression):
    name: Literal["diabetes"]


class FashionMnistData(_Split):
    name: Literal["fashion_mnist"]
    path: str | None = Field(None, description="folder with the four IDX .gz files; default $NNCTL_DATA_DIR/fashion_mnist, then the cache, then OpenML")


class _Table(_SklearnSplit, _Regression):
    task: Literal["classification", "regression"] = Field("classification", description="what the target is")


class OpenMLData(_Table):
    name: Literal["openml"]
    dataset: str | int = Field(description="OpenML name (e.g. 'blood-transfusion-service-center') or numeric id")
    version: int | None = Field(None, ge=1, description="version of a data set given by name; default the active one")
    target: str | None = Field(None, description="target column; default the data set's own")


class CsvData(_Table):
    name: Literal["csv"]
    path: str = Field(description="the CSV file, relative to the current folder")
    target: str | int | None = Field(None, description="target column: header name or 0-based index; default the last")
    features: list[str | int] | None = Field(None, min_length=1, description="feature columns; default every other column")
    header: bool = Field(True, description="the first row names the columns")
    delimiter: str = Field(",", min_length=1, max_length=1, description="field separator")


class NpzData(_Table):
    name: Literal["npz"]
    path: str = Field(description="the .npz file, relative to the current folder")
    x_key: str = Field("x", description="array of the features, (n, n_features) numbers")
    y_key: str = Field("y", description="array of the targets, (n,) labels or numbers")


DataConfig = Annotated[Union[MoonsData, BreastCancerData, MnistData, CirclesData, BlobsData, IrisData, WineData, DigitsData,
                             DiabetesData, FashionMnistData, OpenMLData, CsvData, NpzData], Field(discriminator="name")]

# ---------------------------------------------------------------- model


class DenseLayer(Strict):
    type: Literal["dense"] = "dense"
    units: int = Field(ge=1, le=1_000_000, description="number of outputs")
    activation: Literal[ACTIVATION_NAMES] = Field("linear", description="activation applied to the outputs")
    initializer: Literal[INITIALIZER_NAMES] | None = Field(
        None, description="weight initialiser; default he_uniform for relu-like activations, glorot_uniform otherwise")
    l1: float = Field(0.0, ge=0.0, description="L1 penalty on the weights: l1 * sum|W| added to each batch's mean loss")
    l2: float = Field(0.0, ge=0.0, description="L2 penalty on the weights: l2 * sum W^2 added to each batch's mean loss")


class DropoutLayer(Strict):
    type: Literal["dropout"]
    rate: float = Field(ge=0.0, lt=1.0, description="share of the inputs zeroed in training (inverted dropout)")


class BatchNormLayer(Strict):
    type: Literal["batchnorm"]
    momentum: float = Field(0.99, ge=0.0, lt=1.0, description="decay of the running mean and variance")
    epsilon: float = Field(1e-3, gt=0.0, description="added to the variance for stability")
    activation: Literal[ACTIVATION_NAMES] = Field("linear", description="activation applied after normalising")


def _layer_type(value) -> str:
    """A layer without `type` is dense."""
    return value.get("type", "dense") if isinstance(value, dict) else getattr(value, "type", "dense")


LayerConfig = Annotated[Union[Annotated[DenseLayer, Tag("dense")], Annotated[DropoutLayer, Tag("dropout")],
                              Annotated[BatchNormLayer, Tag("batchnorm")]], Discriminator(_layer_type)]


class ModelConfig(Strict):
    layers: list[LayerConfig] = Field(min_length=1, description="layers in order; the input size comes from the data set")


# ---------------------------------------------------------------- optimizer


class SGDConfig(Strict):
    name: Literal["sgd"]
    lr: float = Field(0.01, gt=0.0, description="learning rate")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="momentum coefficient")
    nesterov: bool = Field(False, description="use Nesterov momentum")

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self):
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov: true needs momentum > 0")
        return self


class AdamConfig(Strict):
    name: Literal["adam"]
    lr: float = Field(0.001, gt=0.0, description="learning rate")
    beta_1: float = Field(0.9, ge=0.0, lt=1.0, description="decay of the first-moment estimate")
    beta_2: float = Field(0.999, ge=0.0, lt=1.0, description="decay of the second-moment estimate")
    epsilon: float = Field(1e-8, gt=0.0, description="added to the denominator for stability")
    amsgrad: bool = Field(False, description="AMSGrad: divide by the largest second moment seen so far")


class RMSpropConfig(Strict):
    name: Literal["rmsprop"]
    lr: float = Field(0.01, gt=0.0, description="learning rate")
    rho: float = Field(0.99, ge=0.0, lt=1.0, description="decay of the running mean of squared gradients")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="momentum coefficient")
    centered: bool = Field(False, description="divide by the running variance instead of the running mean square")
    epsilon: float = Field(1e-8, gt=0.0, description="added to the denominator for stability")


class AdagradConfig(Strict):
    name: Literal["adagrad"]
    lr: float = Field(0.01, gt=0.0, description="learning rate")
    initial_accumulator_value: float = Field(0.0, ge=0.0, description="start of the sum of squared gradients")
    epsilon: float = Field(1e-10, gt=0.0, description="added to the denominator for stability")


class AdadeltaConfig(Strict):
    name: Literal["adadelta"]
    lr: float = Field(1.0, gt=0.0, description="scale of the step; 1.0 is the paper's rule")
    rho: float = Field(0.9, ge=0.0, lt=1.0, description="decay of the running means")
    epsilon: float = Field(1e-6, gt=0.0, description="added inside both square roots")


class AdamWConfig(AdamConfig):
    name: Literal["adamw"]
    weight_decay: float = Field(0.01, ge=0.0, description="decoupled weight decay: p -= lr * weight_decay * p each step")


class AdamaxConfig(Strict):
    name: Literal["adamax"]
    lr: float = Field(0.002, gt=0.0, description="learning rate")
    beta_1: float = Field(0.9, ge=0.0, lt=1.0, description="decay of the first-moment estimate")
    beta_2: float = Field(0.999, ge=0.0, lt=1.0, description="decay of the infinity norm")
    epsilon: float = Field(1e-8, gt=0.0, description="added to |g| for stability")


class NadamConfig(Strict):
    name: Literal["nadam"]
    lr: float = Field(0.002, gt=0.0, description="learning rate")
    beta_1: float = Field(0.9, ge=0.0, lt=1.0, description="decay of the first-moment estimate")
    beta_2: float = Field(0.999, ge=0.0, lt=1.0, description="decay of the second-moment estimate")
    epsilon: float = Field(1e-8, gt=0.0, description="added to the denominator for stability")
    momentum_decay: float = Field(0.004, ge=0.0, description="how fast the momentum schedule approaches beta_1")


OptimizerConfig = Annotated[Union[SGDConfig, RMSpropConfig, AdagradConfig, AdadeltaConfig, AdamConfig, AdamWConfig,
                                  AdamaxConfig, NadamConfig], Field(discriminator="name")]

# ---------------------------------------------------------------- training and run


MONITOR_NAMES = ("val_loss", "val_accuracy", "val_mae", "val_rmse", "val_r2", "train_loss", "train_accuracy", "train_mae")
MODE_NAMES = ("auto", "min", "max")


class ConstantSchedule(Strict):
    name: Literal["constant"]


class StepSchedule(Strict):
    name: Literal["step"]
    step_size: int = Field(10, ge=1, description="epochs between two cuts")
    gamma: float = Field(0.1, gt=0.0, le=1.0, description="factor of each cut")


class ExponentialSchedule(Strict):
    name: Literal["exponential"]
    gamma: float = Field(0.95, gt=0.0, le=1.0, description="factor per epoch")


class InverseTimeSchedule(Strict):
    name: Literal["inverse_time"]
    decay: float = Field(0.1, ge=0.0, description="lr / (1 + decay * (epoch - 1))")


class CosineSchedule(Strict):
    name: Literal["cosine"]
    epochs: int | None = Field(None, ge=1, description="length of warm-up plus cosine; default training.epochs")
    warmup_epochs: int = Field(0, ge=0, description="epochs of linear warm-up from 0 to lr")
    min_lr: float = Field(0.0, ge=0.0, description="where the cosine ends")


class ReduceOnPlateauSchedule(Strict):
    name: Literal["reduce_on_plateau"]
    monitor: Literal[MONITOR_NAMES] = Field("val_loss", description="the metric watched")
    mode: Literal[MODE_NAMES] = Field("auto", description="min or max is better; auto: max for accuracy and r2")
    factor: float = Field(0.1, gt=0.0, lt=1.0, description="multiplies lr at each plateau")
    patience: int = Field(5, ge=1, description="epochs without improvement before a cut")
    min_delta: float = Field(0.0, ge=0.0, description="smallest change that counts as an improvement")
    min_lr: float = Field(0.0, ge=0.0, description="lr never goes below this")


ScheduleConfig = Annotated[Union[ConstantSchedule, StepSchedule, ExponentialSchedule, InverseTimeSchedule, CosineSchedule,
                                 ReduceOnPlateauSchedule], Field(discriminator="name")]


class EarlyStoppingConfig(Strict):
    monitor: Literal[MONITOR_NAMES] = Field("val_loss", description="the metric watched")
    mode: Literal[MODE_NAMES] = Field("auto", description="min or max is better; auto: max for accuracy and r2")
    patience: int = Field(10, ge=1, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0.0, description="smallest change that counts as an improvement")
    restore_best: bool = Field(True, description="end with the best epoch's weights (checkpoint and test scores)")


class TrainingConfig(Strict):
    epochs: int = Field(10, ge=1, le=100_000, description="passes over the training split")
    batch_size: int = Field(32, ge=1, description="rows per gradient step")
    shuffle: bool = Field(True, description="reshuffle the training rows every epoch")
    dtype: Literal["float32", "float64"] = Field("float32", description="floating-point type of weights and data")
    schedule: ScheduleConfig = Field(ConstantSchedule(name="constant"), description="learning-rate schedule")
    early_stopping: EarlyStoppingConfig | None = Field(None, description="stop when a metric stops improving")
    clip_norm: float | None = Field(None, gt=0.0, description="clip the gradients' global norm to this before each step")


class RunConfig(Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="prefix of the run folder; default the config file's stem")
    output_dir: str = Field("runs", description="folder in which run folders are created")


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


# ---------------------------------------------------------------- YAML with line numbers

# YAML 1.1 reads `1e-3` as a string; users mean the number.
_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$")


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-3` as a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _walk(node, path: tuple, lines: dict, source: str):
    """Record the line of every key and reject duplicate keys and aliases."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise ConfigError(f"{source}:{key.start_mark.line + 1}: {_dotted(path) or 'top level'}: keys must be plain words")
            if key.value in seen:
                raise ConfigError(
                    f"{source}:{key.start_mark.line + 1}: {_dotted(path + (key.value,))}: duplicate key "
                    f"(first given on line {seen[key.value]})")
            seen[key.value] = key.start_mark.line + 1
            lines[path + (key.value,)] = key.start_mark.line + 1
            _walk(value, path + (key.value,), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, source)


def _where(source: str, line) -> str:
    """`file:line`; a --set override (a string in `lines`) names itself instead of a line."""
    if isinstance(line, str):
        return line
    return f"{source}:{line}" if line else source


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_yaml(text: str, source: str) -> tuple[Any, dict]:
    """Parse YAML text safely; return the data and a map from key path to line number."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("\t"):
            raise ConfigError(f"{source}:{number}: a tab indents this line; YAML needs spaces")
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            lines: dict = {}
            if node is not None:
                _check_no_aliases(node, source)
                _walk(node, (), lines, source)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except RecursionError:  # PyYAML composes nested lists and mappings recursively
        raise ConfigError(f"{source}: nested too deeply to be a config") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: not valid YAML: {e.problem or e.context}") from None
    except yaml.reader.ReaderError as e:  # a control character: YAML allows only printable text
        line = text.count("\n", 0, e.position) + 1
        raise ConfigError(f"{source}:{line}: not a text file (character {e.character!r} is not allowed in YAML)") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML: {' '.join(str(e).split())}") from None
    return data, lines


def _check_no_aliases(root, source: str):
    """Refuse aliases: a config has no need for them, and they make alias bombs possible."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise ConfigError(f"{source}:{node.start_mark.line + 1}: YAML aliases (*name) are not supported in configs")
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


# ---------------------------------------------------------------- loading and validation


def load(path: str | Path, overrides=()) -> Config:
    """Read, parse and validate a YAML config file, after the `key=value` overrides (--set)."""
    path = Path(path)
    source = str(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{source}: the file is {path.stat().st_size:,} bytes; a config is at most {MAX_CONFIG_BYTES:,}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a config file") from None
    except OSError as e:
        raise ConfigError(f"{source}: cannot be read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{source}: not a text file (byte {e.start} is not UTF-8)") from None
    if "\x00" in text:
        raise ConfigError(f"{source}: not a text file (it contains NUL bytes)")
    data, lines = parse_yaml(text, source)
    data = apply_overrides(data, overrides, lines, source)
    cfg = from_dict(data, source, lines, stem=path.stem)
    cfg._overrides = tuple(overrides)
    return cfg


def from_dict(data: Any, source: str = "<config>", lines: dict | None = None, stem: str | None = None) -> Config:
    """Validate already-parsed data; `lines` maps key paths to line numbers for messages."""
    lines = lines or {}
    if data is None:
        raise ConfigError(f"{source}: the config is empty; it needs at least data, model, loss and optimizer")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:{lines.get((), 1)}: the config must be a mapping of keys to values, not {_a(_yaml_type(data))}")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e.errors()[0], data, source, lines)) from None
    if cfg.run.name is None and stem:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)[:64] or "run"
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": name})})
    check_meaning(cfg, source, lines)
    return resolve(cfg)


def resolve(cfg: Config) -> Config:
    """Fill in the defaults that depend on other keys, so the written config says everything."""
    from .data import spec as data_spec

    spec = data_spec(cfg.data)
    data = cfg.data
    if data.scaling is None:
        data = data.model_copy(update={"scaling": spec.default_scaling})
    layers = [
        layer if layer.type != "dense" or layer.initializer is not None
        else layer.model_copy(update={"initializer": default_initializer(layer.activation)})
        for layer in cfg.model.layers
    ]
    run = cfg.run if cfg.run.name is not None else cfg.run.model_copy(update={"name": "run"})
    training = cfg.training
    if training.schedule.name == "cosine" and training.schedule.epochs is None:
        training = training.model_copy(update={"schedule": training.schedule.model_copy(update={"epochs": training.epochs})})
    return cfg.model_copy(update={"data": data, "model": ModelConfig(layers=layers), "run": run, "training": training})


def default_initializer(activation: str) -> str:
    """He for relu-like activations (relu, leaky_relu, elu, gelu, silu), Glorot for the rest."""
    return "he_uniform" if activation in ("relu", "leaky_relu", "elu", "gelu", "silu") else "glorot_uniform"


def check_meaning(cfg: Config, source: str = "<config>", lines: dict | None = None, spec=None) -> None:
    """The output layer must fit the loss and the data set. `spec` (a data.DatasetSpec) defaults to
    what is known before loading; once a file is loaded, its classes are checked the same way."""
    from .data import spec as data_spec

    lines = lines or {}
    spec = spec or data_spec(cfg.data)
    label = getattr(cfg.data, "path", None) if cfg.data.name in ("csv", "npz") else \
        getattr(cfg.data, "dataset", cfg.data.name)  # how messages name the data
    index = len(cfg.model.layers) - 1
    last = cfg.model.layers[index]
    key = ("model", "layers", index)

    def fail(what: str, field: str):
        line = lines.get(key + (field,), lines.get(key, lines.get(("loss",))))
        where = _where(source, line)
        raise ConfigError(f"{where}: {_dotted(key + (field,))}: {what}")

    if last.type != "dense":
        fail(f"the output layer must be dense, got {last.type}", "type")
    n = spec.n_classes
    if spec.task == "regression":
        if cfg.loss not in ("mse", "mae", "huber"):
            where = _where(source, lines.get(("loss",)))
            raise ConfigError(f"{where}: loss: {label} is a regression task: use mse, mae or huber, not {cfg.loss}")
        if last.units != 1:
            fail(f"{label} is a regression task with one target, so the output layer needs 1 unit, got {last.units}", "units")
        if last.activation != "linear":
            fail(f"a regression output layer is linear (the target is standardised), got activation '{last.activation}'", "activation")
    elif n is None:
        pass  # a user's file or an OpenML set: its classes are checked once it is loaded
    elif cfg.loss == "cross_entropy":
        if last.activation != "softmax":
            fail(f"cross_entropy needs a softmax output layer, got activation '{last.activation}'", "activation")
        if last.units != n:
            fail(f"{label} has {n} classes, so the softmax output layer needs {n} units, got {last.units}", "units")
    elif cfg.loss == "binary_cross_entropy":
        if n != 2:
            fail(f"binary_cross_entropy is for two classes; {label} has {n}: use cross_entropy with {n} softmax units", "units")
        if last.activation != "sigmoid":
            fail(f"binary_cross_entropy needs a sigmoid output layer, got activation '{last.activation}'", "activation")
        if last.units != 1:
            fail(f"binary_cross_entropy needs 1 output unit, got {last.units}", "units")
    else:  # mse, mae, huber against one-hot targets
        allowed = {n, 1} if n == 2 else {n}
        if last.units not in allowed:
            fail(f"{cfg.loss} on {label} compares with one-hot targets: {n} units"
                 + (" (or 1 for the 0/1 label)" if n == 2 else "") + f", got {last.units}", "units")
    for i, layer in enumerate(cfg.model.layers[:-1]):
        if getattr(layer, "activation", None) == "softmax":
            key = ("model", "layers", i)
            fail("softmax belongs on the output layer only", "activation")
    _check_training(cfg, spec, source, lines)


def _check_training(cfg: Config, spec, source: str, lines: dict) -> None:
    """A monitored metric must exist for this task and split; a warm-up must fit the schedule."""
    training = cfg.training

    def fail(key: tuple, what: str):
        line = next((lines[key[:cut]] for cut in range(len(key), 0, -1) if key[:cut] in lines), None)
        raise ConfigError(f"{source}:{line}: {_dotted(key)}: {what}" if line else f"{source}: {_dotted(key)}: {what}")

    watched = [(("training", "early_stopping", "monitor"), training.early_stopping)]
    if training.schedule.name == "reduce_on_plateau":
        watched.append((("training", "schedule", "monitor"), training.schedule))
    for key, section in watched:
        if section is None:
            continue
        monitor = section.monitor
        metric = monitor.split("_", 1)[1]
        if metric in ("mae", "rmse", "r2") and spec.task != "regression":
            fail(key, f"{monitor} is a regression metric; {cfg.data.name} is a classification task (use val_loss or val_accuracy)")
        if metric == "accuracy" and spec.task == "regression":
            fail(key, f"{monitor} is for classification; {cfg.data.name} is a regression task (use val_loss, val_mae, val_rmse or val_r2)")
        if monitor.startswith("val_") and cfg.data.val_fraction == 0:
            fail(key, f"{monitor} needs a validation split, but data.val_fraction is 0 (monitor train_loss, or set val_fraction)")
    schedule = training.schedule
    if schedule.name == "cosine" and schedule.warmup_epochs >= (schedule.epochs or training.epochs):
        fail(("training", "schedule", "warmup_epochs"), f"the warm-up ({schedule.warmup_epochs} epochs) must be shorter "
             f"than the schedule ({schedule.epochs or training.epochs} epochs)")


def dump(cfg: Config) -> str:
    """The resolved config as YAML, in the order of the schema; the --set overrides as a comment."""
    header = "".join(f"# --set {item}\n" for item in cfg._overrides)
    return header + yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, default_flow_style=False)


def json_schema() -> dict:
    """The JSON Schema of a config file."""
    return Config.model_json_schema()


# ---------------------------------------------------------------- messages


def _yaml_type(value) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _user_path(loc: tuple, data: Any) -> tuple:
    """Drop the union tags pydantic puts into error locations, keeping the user's own keys."""
    path, node = [], data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and i == len(loc) - 1:
            path.append(part)  # a missing or unknown key
        # otherwise: a tag such as 'function-after[...]' or a union member name
    return tuple(path)


def _closest(word: Any, choices) -> str:
    if not isinstance(word, str):
        return ""
    match = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.5)
    return f"; did you mean '{match[0]}'?" if match else ""


def _allowed_keys(path: tuple, data: Any, root=None) -> list[str]:
    """Keys the schema (`root`, default Config) allows at the mapping that holds `path`."""
    model: Any = root or Config
    node = data
    for part in path[:-1]:
        node = node[part] if isinstance(node, (dict, list)) else None
        if isinstance(part, int):
            model = _pick_member(model, node)  # a list's item type, for this item
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        model = _pick_member(field.annotation, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _pick_member(annotation, node):
    """The BaseModel a value is validated against (the right member of a tagged union)."""
    import typing

    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list:
        return args[0]  # resolved item by item
    if typing.get_origin(annotation) is Annotated:
        return _pick_member(args[0], node)
    if args:
        for member in args:
            member = _pick_member(member, node) if typing.get_origin(member) is Annotated else member
            if isinstance(member, type) and issubclass(member, BaseModel):
                key = next((k for k in ("name", "type") if k in member.model_fields), None)
                field = member.model_fields.get(key) if key else None
                tag = typing.get_args(field.annotation)[0] if field is not None and typing.get_args(field.annotation) else None
                given = node.get(key, field.default) if isinstance(node, dict) and field is not None else None
                if tag is None or given == tag:
                    return member
        return None
    return annotation


def _node_at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part] if isinstance(data, (dict, list)) else None
    return data


def _describe(error: dict, data: Any, source: str, lines: dict, root=None, prefix: tuple = ()) -> str:
    """One readable line from pydantic's first error.

    `root` is the model `data` was validated against (default Config); `prefix` is where `data`
    sits in the file, for the line numbers and the dotted key.
    """
    inner = _user_path(error["loc"], data)
    path = prefix + inner
    line = None
    for cut in range(len(path), -1, -1):
        line = lines.get(path[:cut])
        if line is not None:
            break
    where = _where(source, line)
    key = _dotted(path) or "top level"
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        what = "is required but missing"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(inner, data, root)
        what = f"unknown key{_closest(path[-1], allowed)}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        what = f"expected one of {', '.join(choices)}, got {value!r}{_closest(value, choices)}"
        if isinstance(value, bool):
            what += _BOOLEAN_HINT
    elif kind == "union_tag_invalid":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        node = _node_at(data, inner)
        tag_key = "type" if isinstance(node, dict) and "type" in node and "name" not in node else "name"
        key = _dotted(path + (tag_key,))
        line = lines.get(tuple(path) + (tag_key,), line)
        where = _where(source, line)
        given = _written_at(data, path + ("name",), tag)
        what = f"expected one of {', '.join(choices)}, got {given!r}{_closest(tag, choices)}"
        if isinstance(given, bool):
            what += _BOOLEAN_HINT
    elif kind == "union_tag_not_found":
        key = _dotted(path + ("name",))
        what = "is required but missing (it chooses which kind this is)"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        what = f"expected a mapping of keys to values, got {_a(_yaml_type(value))}"
    elif kind == "list_type":
        what = f"expected a list, got {_a(_yaml_type(value))}"
    elif kind == "value_error":
        what = str(ctx.get("error", error["msg"]))
    else:
        what = f"{error['msg'][0].lower()}{error['msg'][1:]}, got {value!r}" if not isinstance(value, (dict, list)) else error["msg"]
        if isinstance(value, bool):
            what += _BOOLEAN_HINT
    return f"{where}: {key}: {what}"


_BOOLEAN_HINT = " (YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote it)"


def _written_at(data: Any, path: tuple, default: Any) -> Any:
    """The value the user wrote at `path` (pydantic reports a union tag as a string)."""
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return default
    return data

# ---------------------------------------------------------------- --set overrides

_KEY_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[0-9]+\])*)")


def parse_key(key: str, label: str) -> tuple:
    """`model.layers[0].units` -> ("model", "layers", 0, "units")."""
    path: list = []
    for part in key.split("."):
        match = _KEY_PART.fullmatch(part)
        if match is None:
            raise ConfigError(f"{label}: {key!r} is not a dotted key such as optimizer.lr or model.layers[0].units")
        path.append(match.group(1))
        path.extend(int(i) for i in re.findall(r"[0-9]+", match.group(2)))
    return tuple(path)


def apply_overrides(data: Any, overrides, lines: dict, source: str = "<config>") -> Any:
    """Parsed config data with each `key=value` of `overrides` set, the value read as YAML.

    Afterwards `lines` maps each overridden key to its `--set key=value`, so a validation error
    about that key names the --set rather than a line of the file.
    """
    for item in overrides:
        label = f"--set {item}"
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{label}: expected key=value, such as optimizer.lr=0.01")
        path = parse_key(key.strip(), label)
        try:
            value, _ = parse_yaml(text, label)
        except ConfigError as e:
            raise ConfigError(f"{label}: the value is not valid YAML ({str(e).split('YAML', 1)[-1].lstrip(': ')})") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}:{lines.get((), 1)}: the config must be a mapping of keys to values, "
                              f"not a {_yaml_type(data)}")
        node = data
        for depth, part in enumerate(path[:-1]):
            node = _child(node, part, path[depth + 1], path[:depth + 1], label)
        _assign(node, path, value, label)
        for known in [k for k in lines if k[:len(path)] == path]:
            del lines[known]
        for depth in range(1, len(path) + 1):  # keys the override created name it too
            lines.setdefault(path[:depth], label)
        lines[path] = label
    return data


def _child(node, part, next_part, path: tuple, label: str):
    """The mapping or list at `path` (creating a missing mapping), to step into."""
    if isinstance(node, dict) and isinstance(part, str):
        if node.get(part) is None and isinstance(next_part, str):
            node[part] = {}
        child = node.get(part)
    elif isinstance(node, list) and isinstance(part, int):
        if part >= len(node):
            raise ConfigError(f"{label}: {_dotted(path[:-1])} has {len(node)} items, so there is no [{part}]")
        child = node[part]
    else:
        raise ConfigError(f"{label}: {_dotted(path[:-1]) or 'the top level'} is {_a(_yaml_type(node))}, "
                          f"so {_dotted(path)} cannot be set")
    wanted = list if isinstance(next_part, int) else dict
    if not isinstance(child, wanted):
        raise ConfigError(f"{label}: {_dotted(path)} is {_a(_yaml_type(child))}, not {_a(_yaml_type(wanted()))}")
    return child


def _assign(node, path: tuple, value, label: str) -> None:
    """Set the last key of `path` in `node`; a list index may also be one past the end (append)."""
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last <= len(node):
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int):
        raise ConfigError(f"{label}: {_dotted(path[:-1])} has {len(node)} items, so there is no [{last}] "
                          f"(an index one past the end appends)")
    else:
        raise ConfigError(f"{label}: {_dotted(path[:-1]) or 'the top level'} is {_a(_yaml_type(node))}, "
                          f"so {_dotted(path)} cannot be set")


def dotted_keys(model=None, prefix: str = "") -> list[str]:
    """Every key a config can set, dotted (`optimizer.lr`, `model.layers[0].units`), for shell completion."""
    import typing

    keys: list[str] = []
    for name, field in (model or Config).model_fields.items():
        key = f"{prefix}{name}"
        keys.append(key)
        annotation, suffix = field.annotation, ""
        if typing.get_origin(annotation) is list:
            annotation, suffix = typing.get_args(annotation)[0], "[0]"
        while typing.get_origin(annotation) is Annotated:
            annotation = typing.get_args(annotation)[0]
        members = typing.get_args(annotation) or (annotation,)
        for member in members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                keys += [k for k in dotted_keys(member, f"{key}{suffix}.") if k not in keys]
    return keys


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"
