"""A model's parameters in one flat buffer, its gradients in another, and the read-only mappings
through which its layers see their views of them.

Every optimizer's rule is elementwise, so an update of six arrays is the same arithmetic as one
update of a buffer that holds them end to end, with a sixth of the NumPy calls: on MNIST's
784-256-128-10 network, 13 calls per Adam step instead of 78. The model allocates the two
buffers when it is built (`pack`) and hands them to the optimizer with its parameters and
gradients (`Packed.flat`); nothing is detected or guessed.

That only holds while every layer writes into its views (`np.matmul(..., out=grads["W"])`,
`grads["gamma"][...] = ...`): a layer that bound a new array to a key would leave the buffer,
which the optimizer steps, holding old numbers. So once packed, `params` and `grads` are
`Packed` mappings that refuse assignment, naming the key.
"""

import math
from collections.abc import Mapping

import numpy as np


class Packed(Mapping):
    """Arrays by name, views of a model's flat buffer; read-only: write into an array
    (`grads[key][...] = value`), never assign a new one to a key.

    `flat` is the buffer they fill exactly, end to end in this order (the model's mappings), or
    None when they are only part of it (a layer's). `compiled`: whether the model chose the compiled
    kernels for its optimizer's steps (kernels.for_model).
    """

    def __init__(self, arrays: dict, flat: np.ndarray | None = None, what: str = "arrays", compiled: bool = False):
        self._arrays, self.flat, self.what, self.compiled = dict(arrays), flat, what, compiled
        self.layout = tuple((name, a.shape) for name, a in self._arrays.items())  # what an optimizer's state follows

    def __getitem__(self, key):
        return self._arrays[key]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self):
        return len(self._arrays)

    def __setitem__(self, key, value):
        raise TypeError(f"{self.what}[{key!r}] is a view of the model's flat buffer, which the optimizer steps: write "
                        f"into it ({self.what}[{key!r}][...] = value, or out={self.what}[{key!r}]) instead of binding "
                        f"a new array to {key!r}")

    def __delitem__(self, key):
        raise TypeError(f"{self.what}[{key!r}] belongs to the model's flat buffer and cannot be removed")

    def __repr__(self):
        return f"Packed({self.what}: {', '.join(f'{n} {s}' for n, s in self.layout)})"


def pack(owners: list, attribute: str) -> np.ndarray:
    """Move the arrays of every owner's dict `attribute` ("params" or "grads") into one new 1-D
    buffer, in order, keeping their shapes and values, and replace each dict by a Packed mapping
    of its views. Returns the buffer (of the arrays' one dtype: a model has one)."""
    dicts = [getattr(owner, attribute) for owner in owners]
    entries = [(d, k) for d in dicts for k in d]
    dtypes = {d[k].dtype for d, k in entries} or {np.dtype("float64")}
    if len(dtypes) != 1:
        raise TypeError(f"a model's {attribute} must share one dtype, not {sorted(map(str, dtypes))}")
    flat = np.empty(sum(d[k].size for d, k in entries), dtypes.pop())
    shapes = iter(views(flat, [d[k].shape for d, k in entries]))
    for owner, d in zip(owners, dicts):
        packed = {}
        for k in d:
            view = next(shapes)
            view[...] = d[k]
            packed[k] = view
        setattr(owner, attribute, Packed(packed, None, attribute))
    return flat


def views(flat: np.ndarray, shapes: list[tuple]) -> list[np.ndarray]:
    """Views of the 1-D array `flat`, end to end, one of each shape."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[start:start + size].reshape(shape))
        start += size
    return out
