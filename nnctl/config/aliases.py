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
    "binary_crossentropy": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy",
    "BCELoss": "binary_cross_entropy",
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
# A layer type's other names are its class's (engine.protocol.Layer.aliases), and so are its keys'.
LAYER_TYPES = Words("model.layers[].type", _tags(schema.LayerConfig, "type"),
                    {alias: name for name, cls in schema.LAYER_TYPES.items() for alias in cls.aliases})
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
    "training": {"max_epochs": "epochs", "gradient_clip_norm": "clip_norm"},
}
# the keys of each layer type with other names, by type
LAYER_KEYS = {name: {alias: key.name for key in cls.keys for alias in key.aliases}
              for name, cls in schema.LAYER_TYPES.items()}
ACTIVATION_TYPE = "activation"  # the layer type that a type word naming an activation means ({type: relu})

# keys of other tools that nnctl has no use for, and the key to write instead: never renamed (their
# value means something else), only suggested, with the reason
NOT_KEYS = {
    "model.layers[]": {
        "in_features": ("units", ("nnctl infers a layer's inputs from the layer before it (the data's width for "
                                 "the first): units is its outputs, PyTorch's out_features")),
        "input_dim": ("units", ("nnctl infers a layer's inputs from the layer before it (the data's width for "
                               "the first): units is its outputs")),
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
    for table in (*WORDS, *(Words("", (), keys) for keys in (*KEYS.values(), *LAYER_KEYS.values())),
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
        _layer(layer, ("model", "layers", i), lines, source)
    return data


def _logits_output(data: dict, lines: dict) -> None:
    """After a loss of LOGITS_LOSSES, a linear dense output layer gets the activation the loss applies."""
    loss = data.get("loss")
    activation = next((a for name,
                       a in LOGITS_LOSSES.items() if isinstance(loss, str) and fold(loss) == fold(name)), None)
    layers = data.get("model", {}).get("layers") if isinstance(data.get("model"), dict) else None
    if activation is None or not isinstance(layers, list) or not layers or not isinstance(layers[-1], dict):
        return
    last, at = layers[-1], ("model", "layers", len(layers) - 1)
    if LAYER_TYPES.lookup(last.get("type", "dense")) == "dense" and ACTIVATIONS.lookup(last.get("activation",
                                                                                                "linear")) == "linear":
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


def _layer(layer: Any, path: tuple, lines: dict, source: str) -> None:
    """A layer's type word first (`Conv2d` -> conv2d; an activation's name, `ReLU`, -> an
    activation layer), then the keys of that type by their other names, then its words."""
    if not isinstance(layer, dict):
        return
    word = layer.get("type")
    if LAYER_TYPES.lookup(word) is None and ACTIVATIONS.lookup(word) is not None:
        _activation_type(layer, path, ACTIVATIONS.lookup(word), lines, source)
    _word(layer, path + ("type",), LAYER_TYPES)
    _keys(layer, path, LAYER_KEYS.get(layer.get("type", schema.DEFAULT_TYPE), {}), lines, source)
    for key, table in (("activation", ACTIVATIONS), ("initializer", INITIALIZERS)):
        _word(layer, path + (key,), table)


def _activation_type(layer: dict, path: tuple, name: str, lines: dict, source: str) -> None:
    """`{type: ReLU}` (Keras' ReLU layer, PyTorch's nn.ReLU) as `{type: activation, activation: relu}`."""
    from ..errors import ConfigError
    from .yaml_lines import _dotted, _where, line_of

    if "activation" in layer:
        key = path + ("activation",)
        raise ConfigError(f"{_where(source, line_of(lines, key))}: {_dotted(key)}: the layer's type, {layer['type']}, "
                          f"is an activation already: give {{type: activation, activation: ...}} or the type alone")
    layer["type"] = ACTIVATION_TYPE
    layer["activation"] = name
    if path + ("type",) in lines:
        lines[path + ("activation",)] = lines[path + ("type",)]


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
