"""The optimizers of a Sequential model's compile(), with Keras' names: one class for each optimizer
of the engine (engine.optimizers.OPTIMIZERS), its arguments those of the engine's class (whose
defaults the config's schema takes too), checked as a config's `optimizer` section is.

    model.compile(loss="cross_entropy", optimizer=optimizers.Adam(lr=1e-3))
    optimizers.SGD(0.02, momentum=0.9, nesterov=True)     # learning_rate= as Keras spells it
"""

from __future__ import annotations

import inspect

from pydantic import TypeAdapter, ValidationError

from ..config import plain_data
from ..config.aliases import KEYS, canonical
from ..config.messages import _pick_member, describe_all
from ..config.schema import OptimizerConfig
from ..engine.optimizers import OPTIMIZERS
from ..errors import ConfigError


class Optimizer:
    """An optimizer and its options, as a config's `optimizer` section: {name, lr, ...}."""

    name = ""  # the optimizer's YAML word

    def __init__(self, *args, **kwargs):
        title = type(self).__name__
        if len(args) > 1:
            raise ConfigError(f"optimizers.{title}: takes the learning rate by position, and the other options by name")
        if args:
            kwargs = {"lr": args[0], **kwargs}
        self.options = check({"name": self.name, **kwargs}, f"optimizers.{title}")

    def get_config(self) -> dict:
        """The config's `optimizer` section: its name and the options given."""
        return {"name": self.name, **self.options}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"

    def __eq__(self, other):
        return isinstance(other, Optimizer) and other.get_config() == self.get_config()

    __hash__ = None


def check(section, source: str, prefix: tuple = ()) -> dict:
    """A config's optimizer section (`{"name": "adam", "learning_rate": 0.01}`), checked as a
    config's is, its options under nnctl's names; ConfigError naming the key (under `prefix`:
    ("optimizer",) for compile's argument) otherwise."""
    section = canonical({"optimizer": plain_data(section, source)}, {}, source)["optimizer"]
    model = _pick_member(OptimizerConfig, section) if isinstance(section, dict) else None
    try:
        if model is None:  # not a mapping, or an unknown name: the union's own error says which names there are
            TypeAdapter(OptimizerConfig).validate_python(section)
        model.model_validate(section)
    except ValidationError as e:
        raise ConfigError(describe_all(e.errors(), section, source, {}, root=model, prefix=prefix)
                          .replace("(allowed: name, ", "(allowed: ")) from None
    return {key: value for key, value in section.items() if key != "name"}


def _optimizer_class(name: str, engine_class) -> type[Optimizer]:
    """The model API's class for the engine's optimizer `engine_class`, under its name (Keras')."""
    given = list(inspect.signature(engine_class).parameters.values())
    parameters = [given[0].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in given[1:]]
    parameters += [inspect.Parameter(alias, inspect.Parameter.KEYWORD_ONLY, default=None)
                   for alias in KEYS["optimizer"]]  # learning_rate: Keras' name of lr
    rule = inspect.cleandoc(engine_class.__doc__ or "")
    return type(engine_class.__name__, (Optimizer,), {
        "name": name, "__module__": __name__, "__signature__": inspect.Signature(parameters),
        "__doc__": f"The config's optimizer {{name: {name}, ...}}; learning_rate= is lr, as Keras names it.\n\n{rule}"})


BY_NAME = {name: _optimizer_class(name, cls) for name, cls in OPTIMIZERS.items()}  # a YAML word -> its class
globals().update({cls.__name__: cls for cls in BY_NAME.values()})
__all__ = ["Optimizer", *(cls.__name__ for cls in BY_NAME.values())]  # noqa: PLE0604 - generated classes
