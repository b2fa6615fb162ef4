"""The model API: Keras' Sequential over nnctl's config, engine and runs (`from nnctl import
Sequential, layers`), the twin of a YAML config.

    sequential  Sequential (add, summary, compile, fit, evaluate, predict, save, to_yaml ...) and load
    layers      the layers, one class per layer type of the engine, named and called as in Keras
    optimizers  the optimizers of compile, one class per optimizer of the engine
    fitting     what fit does: the run's config, its data set, training in memory or into a run folder
    history     fit's History
    twin        a model and its config both ways: to_yaml, from_yaml, a checkpoint's model

Nothing in nnctl imports this package but `nnctl/__init__.py`, on first use of its names.
"""

from .layers import Input
from .sequential import Sequential, load

__all__ = ["Input", "Sequential", "load"]
