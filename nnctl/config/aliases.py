"""The names users bring from Keras and PyTorch, mapped to nnctl's words: one table per kind of word.

A word is matched ignoring case, `_`, `-` and spaces (`ReLU`, `Adam`, `BatchNorm`, `leaky-relu`,
`binary_crossentropy`), so the tables below hold only the names that differ by more than that.
`canonical` rewrites a parsed config with nnctl's words before it is validated, so the resolved
config (and the run's config.yaml) says `cross_entropy` whatever the file said; `suggest` looks an
unknown word up among the aliases first, then by spelling. docs/config.md lists these tables.
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass, field
from typing import Any

from . import schema


def fold(word: str) -> str:
    """A word as it is compared: lower case, without `_`, `-` and spaces."""
    return re.sub(r"[\s_-]+", "", word.lower())


def _tags(annotation, key: str) -> tuple[str, ...]:
    """The words a tagged union of models is chosen by (its members' `name` or `type` literal)."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    words = []
    for member in typing.get_args(annotation):
        while typing.get_origin(member) is typing.Annotated:
            member = typing.get_args(member)[0]
        words += typing.get_args(member.model_fields[key].annotation)
    return tuple(words)


@dataclass(frozen=True)
class Words:
    """The valid words of one key, and the other names users write for them."""

    key: str  # where the word is written, as docs/config.md names it
    names: tuple[str, ...]
    aliases: dict[str, str] = field(default_factory=dict)

    def lookup(self, word: Any) -> str | None:
        """nnctl's word for `word`, or None when it is none of the names or aliases."""
        if not isinstance(word, str):
            return None
        folded = fold(word)
        for name in self.names:
            if fold(name) == folded:
                return name
        for alias, name in self.aliases.items():
            if fold(alias) == folded:
                return name
        return None


LOSSES = Words("loss", schema.LOSS_NAMES, {
    "categorical_crossentropy": "cross_entropy", "sparse_categorical_crossentropy": "cross_entropy",
    "CrossEntropyLoss": "cross_entropy",
    "binary_crossentropy": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy", "BCELoss": "binary_cross_entropy",
    "mean_squared_error": "mse", "MSELoss": "mse",
    "mean_absolute_error": "mae", "L1Loss": "mae",
    "huber_loss": "huber", "HuberLoss": "huber",
})
ACTIVATIONS = Words("model.layers[].activation", schema.ACTIVATION_NAMES, {
    "identity": "linear", "logistic": "sigmoid", "swish": "silu",
})
INITIALIZERS = Words("model.layers[].initializer", schema.INITIALIZER_NAMES, {
    "kaiming_normal": "he_normal", "kaiming_uniform": "he_uniform",
    "xavier_normal": "glorot_normal", "xavier_uniform": "glorot_uniform",
})
LAYER_TYPES = Words("model.layers[].type", _tags(schema.LayerConfig, "type"), {
    "Linear": "dense", "BatchNormalization": "batchnorm", "BatchNorm1d": "batchnorm",
})
OPTIMIZERS = Words("optimizer.name", _tags(schema.OptimizerConfig, "name"))
SCHEDULES = Words("training.schedule.name", _tags(schema.ScheduleConfig, "name"), {
    "StepLR": "step", "ExponentialLR": "exponential", "ExponentialDecay": "exponential",
    "CosineAnnealingLR": "cosine", "CosineDecay": "cosine", "ReduceLROnPlateau": "reduce_on_plateau",
    "InverseTimeDecay": "inverse_time",
})
DATA_SETS = Words("data.name", _tags(schema.DataConfig, "name"))

# keys with other names, by the section that holds them
KEYS = {
    "optimizer": {"learning_rate": "lr"},
    "model.layers[]": {"kernel_initializer": "initializer", "out_features": "units"},
    "training": {"max_epochs": "epochs", "gradient_clip_norm": "clip_norm"},
}

# keys of other tools that nnctl has no use for, and the key to write instead: never renamed (their
# value means something else), only suggested, with the reason
NOT_KEYS = {
    "model.layers[]": {
        "in_features": ("units", "nnctl infers a layer's inputs from the layer before it (the data's width for "
                                 "the first): units is its outputs, PyTorch's out_features"),
        "input_dim": ("units", "nnctl infers a layer's inputs from the layer before it (the data's width for "
                               "the first): units is its outputs"),
    },
}

# PyTorch's losses that take logits: the output layer before them is linear, and the loss applies
# the softmax or sigmoid itself. nnctl's losses fuse that activation in training (engine.losses), so
# with these names a linear output layer gets it written: the same arithmetic in training, and
# probabilities from predict, eval and export, as from any softmax or sigmoid output layer.
LOGITS_LOSSES = {"CrossEntropyLoss": "softmax", "BCEWithLogitsLoss": "sigmoid"}

WORDS = (LOSSES, ACTIVATIONS, INITIALIZERS, LAYER_TYPES, OPTIMIZERS, SCHEDULES, DATA_SETS)


def suggest(word: Any, choices) -> str | None:
    """The valid choice `word` most likely means: an alias of one first, then the closest spelling."""
    if not isinstance(word, str):
        return None
    choices = [str(c) for c in choices]
    known = {c: c for c in choices}
    for table in (*WORDS, *(Words("", (), keys) for keys in KEYS.values()),
                  *(Words("", (), {key: name for key, (name, _) in keys.items()}) for keys in NOT_KEYS.values())):
        known.update({alias: name for alias, name in table.aliases.items() if name in choices})
    folded = {fold(name): target for name, target in known.items()}
    if fold(word) in folded:
        return folded[fold(word)]
    match = difflib.get_close_matches(fold(word), list(folded), n=1, cutoff=0.5)
    return folded[match[0]] if match else None


def canonical(data: Any, lines: dict, source: str = "<config>") -> Any:
    """A copy of parsed config data with nnctl's words for the aliases and case variants above;
    `lines` follows a renamed key. A word that is no name nor alias is left for validation to refuse."""
    import copy

    if not isinstance(data, dict):
        return data
    data = copy.deepcopy(data)
    _logits_output(data, lines)
    _word(data, ("loss",), LOSSES)
    for section, table in (("data", DATA_SETS), ("optimizer", OPTIMIZERS)):
        _word(data.get(section), (section, "name"), table)
    _keys(data.get("optimizer"), ("optimizer",), KEYS["optimizer"], lines, source)
    training = data.get("training")
    _keys(training, ("training",), KEYS["training"], lines, source)
    if isinstance(training, dict):
        _word(training.get("schedule"), ("training", "schedule", "name"), SCHEDULES)
    layers = data.get("model", {}).get("layers") if isinstance(data.get("model"), dict) else None
    for i, layer in enumerate(layers if isinstance(layers, list) else []):
        _keys(layer, ("model", "layers", i), KEYS["model.layers[]"], lines, source)
        for key, table in (("type", LAYER_TYPES), ("activation", ACTIVATIONS), ("initializer", INITIALIZERS)):
            _word(layer, ("model", "layers", i, key), table)
    return data


def _logits_output(data: dict, lines: dict) -> None:
    """After a loss of LOGITS_LOSSES, a linear dense output layer gets the activation the loss applies."""
    loss = data.get("loss")
    activation = next((a for name, a in LOGITS_LOSSES.items() if isinstance(loss, str) and fold(loss) == fold(name)), None)
    layers = data.get("model", {}).get("layers") if isinstance(data.get("model"), dict) else None
    if activation is None or not isinstance(layers, list) or not layers or not isinstance(layers[-1], dict):
        return
    last, at = layers[-1], ("model", "layers", len(layers) - 1)
    if LAYER_TYPES.lookup(last.get("type", "dense")) == "dense" and ACTIVATIONS.lookup(last.get("activation", "linear")) == "linear":
        last["activation"] = activation
        if at in lines:
            lines.setdefault(at + ("activation",), lines[at])


def not_a_key(key: Any, section: str) -> str | None:
    """Why `key`, unknown in `section` (as KEYS names sections), is a key of another tool nnctl
    has no use for (NOT_KEYS), or None."""
    for name, (_, why) in NOT_KEYS.get(section, {}).items():
        if isinstance(key, str) and fold(key) == fold(name):
            return why
    return None


def _word(node: Any, path: tuple, table: Words) -> None:
    """Replace the word at the last key of `path` in `node` (the mapping that holds it) by nnctl's."""
    if isinstance(node, dict) and path[-1] in node:
        name = table.lookup(node[path[-1]])
        if name is not None:
            node[path[-1]] = name


def _keys(node: Any, path: tuple, aliases: dict, lines: dict, source: str) -> None:
    """Rename the aliased keys of a mapping in place, keeping their order and their lines."""
    from ..errors import ConfigError
    from .yaml_lines import _dotted, _where, line_of

    if not isinstance(node, dict) or not any(key in aliases for key in node):
        return
    given = {}
    for key in node:
        name = aliases.get(key, key)
        if name in given:
            raise ConfigError(f"{_where(source, line_of(lines, path + (key,)))}: {_dotted(path + (key,))}: "
                              f"{given[name]} and {key} are the same key: give it once")
        given[name] = key
    renamed = {}
    for key, value in node.items():
        name = aliases.get(key, key)
        renamed[name] = value
        if name != key:
            for known in [k for k in lines if k[:len(path) + 1] == path + (key,)]:
                lines[path + (name,) + known[len(path) + 1:]] = lines.pop(known)
    node.clear()
    node.update(renamed)
