"""Compiled kernels: where they are used, and the NumPy fallback.

The kernels (kernels_jit.py) fuse an optimizer's update rule into one pass over the model's packed
buffers, and a dense layer's epilogue (bias add and relu; relu's backward with the bias gradient)
into one pass over its output; the image kernels (kernels_images.py) copy windows (im2col, col2im),
pool, and fuse a convolution's bias, relu and max pool: the same arithmetic as the NumPy
expressions, in their order, so the same bits. They need numba, which costs ~0.5 s to import
and compiles each kernel once (then loads it from its cache), so they are used only where they pay:

- never with `NNCTL_JIT=0`, or where numba cannot be imported: the NumPy expressions run instead;
- always with `NNCTL_JIT=1` (to measure them on a small network);
- otherwise an optimizer step uses its kernel when the model has at least MIN_PARAMS parameters;
- a dense layer's epilogue, and dropout, use their kernels when the output has at least
  MIN_ELEMENTS values (batch x units), or once another piece has loaded them; an image kernel
  when its output or patches have that many (`for_images`);
- the softmax cross-entropy uses its kernels (around NumPy's exp) once another piece has loaded them.

Small networks (moons' 1,250 parameters) never import numba: their whole run is shorter than
the import. numba is imported at the first step of a large enough model, never at start-up.
"""

import importlib
import os

MIN_PARAMS = 100_000  # parameters in the packed buffer (see the module text and benchmarks/README.md)
MIN_ELEMENTS = 16_384  # values of a dense layer's output for the fused epilogue (e.g. batch 128 x 128 units)

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


def for_params(n: int):
    """The kernels when an update of n parameters pays for them, else None."""
    return load() if n >= MIN_PARAMS or setting() == "1" else None


def if_loaded():
    """The kernels when a large enough model has already imported them (or NNCTL_JIT=1), else None:
    for kernels that save microseconds per batch, never enough to pay for numba's import alone."""
    return load() if "module" in _loaded or setting() == "1" else None


def for_output(n: int):
    """The kernels when a pass over n values (a dense epilogue, dropout) pays for them, or when
    they are loaded already (numba's import is paid: a small layer of a large model), else None."""
    return load() if n >= MIN_ELEMENTS or "module" in _loaded or setting() == "1" else None


def for_images(n: int):
    """The image kernels when a pass over n values of an image layer pays for them, else None."""
    return load_images() if n >= MIN_ELEMENTS or setting() == "1" else None
