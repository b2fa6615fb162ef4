"""Weight penalties and gradient clipping: the pieces that keep a network from over-fitting or
blowing up, separate from the layers so the hot path stays as it is.

Convention (Keras'): a penalty is added to every batch's *mean* loss, so its strength does not
change with the batch size; over an epoch it acts once per batch.
"""

from collections.abc import Mapping

import numpy as np

from .protocol import Array


class Penalty:
    """l1 * sum(|W|) + l2 * sum(W**2), and its gradient l1 * sign(W) + 2 * l2 * W."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = l1, l2

    def value(self, W: np.ndarray) -> float:
        """The penalty for the weights W."""
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(W).sum())
        if self.l2:
            total += self.l2 * float((W * W).sum())
        return total

    def add_grad(self, W: np.ndarray, dW: np.ndarray) -> None:
        """Add the penalty's gradient to dW, in place."""
        if self.l1:
            dW += self.l1 * np.sign(W)
        if self.l2:
            dW += (2 * self.l2) * W


def global_norm(grads: Mapping[str, Array]) -> float:
    """sqrt of the sum of squares of every gradient entry."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_by_global_norm(grads: Mapping[str, Array], max_norm: float) -> float:
    """Scale every gradient by max_norm / norm when the global norm exceeds max_norm, so the
    direction is kept and only the length is cut. Returns the norm before clipping."""
    norm = global_norm(grads)
    if norm > max_norm:
        scale = max_norm / norm
        for g in grads.values():
            g *= scale
    return norm
