"""Work arrays: kept in a layer's `work` dict and reused batch after batch instead of allocated."""

import numpy as np
from numpy.typing import DTypeLike

from .protocol import Array, Shape


def reusable(work: dict[str, Array], key: str, shape: Shape, dtype: DTypeLike, zeroed: bool = False) -> Array:
    """An array of `shape` kept in `work` under `key` and reused across batches (zeros if `zeroed`).

    It is kept at the largest batch seen; a smaller batch (an epoch's last) gets a view of its first rows.
    """
    buf = work.get(key)
    if buf is None or buf.shape[0] < shape[0] or buf.shape[1:] != shape[1:] or buf.dtype != dtype:
        buf = work[key] = (np.zeros if zeroed else np.empty)(shape, dtype)
    return buf[:shape[0]]
