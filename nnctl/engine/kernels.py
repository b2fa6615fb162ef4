"""Compiled kernels: which models use them, and the NumPy fallback.

The kernels (kernels_jit.py) fuse an optimizer's update rule (sgd, sgd with momentum, adam and
adamw: the rules the shipped MNIST and digits configs train with, see benchmarks/README.md) into
one pass over the model's packed buffers, a dense layer's epilogue (bias add and relu; relu's
backward with the bias gradient) into one pass over its output, and dropout, the softmax
cross-entropy's shift and gradient and the training accuracy's count likewise; the image kernels
(kernels_images.py) copy windows (im2col, col2im), pool, and fuse a convolution's bias, relu and
max pool: the same arithmetic as the NumPy expressions, in their order, so the same bits. They need
numba, which costs ~0.5 s to import and compiles each kernel once (then loads it from its cache),
so they are used only where they pay, and for all but the image layers the choice is made once,
when a model is built (`for_model`): that model's optimizer steps, dense layers, dropout, loss and
accuracy count then all take the kernels in training, or all take NumPy, whatever else the process
has imported.

- never with `NNCTL_JIT=0`, or where numba cannot be imported: the NumPy expressions run instead;
- always with `NNCTL_JIT=1` (to measure them on a small network);
- otherwise for a model of at least MIN_PARAMS parameters, or one that takes images.

Small networks (moons' 1,250 parameters) never import numba: their whole run is shorter than
the import. numba is imported at the first training step of a model that chose the kernels, never
at start-up, nor to evaluate or predict (inference runs NumPy).

The image layers (conv.py, conv_steps.py, pooling.py, windows.py) still decide per pass, by
`for_output` and `for_images`: a pass over at least MIN_ELEMENTS values (its output or patches).
"""

import importlib
import os

MIN_PARAMS = 100_000  # parameters in the packed buffer (see the module text and benchmarks/README.md)
MIN_ELEMENTS = 16_384  # values of an image layer's pass for its kernels (for_output, for_images)

_loaded: dict = {}  # "module": kernels_jit, "images": kernels_images; None when numba cannot be imported


def setting() -> str:
    """NNCTL_JIT: "0" (never), "1" (always) or anything else, unset included (where it pays);
    read at every call, so tests can switch it."""
    return os.environ.get("NNCTL_JIT", "").strip()


def wanted() -> bool:
    """False when the environment says NNCTL_JIT=0."""
    return setting() != "0"


def load():
    """The compiled kernels' module, or None (NNCTL_JIT=0, or numba missing or unusable)."""
    return _import("module", "kernels_jit")


def load_images():
    """The compiled image kernels' module, or None (as load())."""
    return _import("images", "kernels_images") if load() is not None else None


def _import(key: str, name: str):
    if not wanted():
        return None
    if key not in _loaded:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except Exception:  # noqa: BLE001 - not only ImportError: a bad NUMBA_* setting raises ValueError on import
            module = None
        _loaded[key] = module
    return _loaded[key]


def for_model(n_params: int, images: bool = False) -> bool:
    """Whether a model of n_params parameters (taking images or not) trains with the kernels (then
    load() gives them, or None where numba cannot be imported): the one decision, made when the
    model is built."""
    return wanted() and (setting() == "1" or n_params >= MIN_PARAMS or images)


def for_output(n: int):
    """The kernels when an image layer's pass over n values pays for them, or when they are loaded
    already (numba's import is paid), else None."""
    return load() if n >= MIN_ELEMENTS or "module" in _loaded or setting() == "1" else None


def for_images(n: int):
    """The image kernels when a pass over n values of an image layer pays for them, else None."""
    return load_images() if n >= MIN_ELEMENTS or setting() == "1" else None
