"""nnctl: train small neural networks written from scratch in NumPy, driven by YAML files.

The model API, Keras' spelling over the same machinery (nnctl.models), is imported on first use,
so that `import nnctl` (and the command line) stays light:

    from nnctl import Sequential, layers, optimizers
    model = nnctl.load("runs/latest")
"""

__version__ = "0.1.0"

# name -> (module, attribute; None: the module itself)
_LAZY = {"Sequential": ("nnctl.models.sequential", "Sequential"), "load": ("nnctl.models.sequential", "load"),
         "Input": ("nnctl.models.layers", "Input"), "layers": ("nnctl.models.layers", None),
         "optimizers": ("nnctl.models.optimizers", None), "callbacks": ("nnctl.engine.callbacks", None)}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'nnctl' has no attribute {name!r}")
    import importlib

    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    return value if attribute is None else getattr(value, attribute)


def __dir__():
    return sorted([*globals(), *_LAZY])
