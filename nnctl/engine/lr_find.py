"""The learning-rate range test (Smith 2017, "Cyclical learning rates"; fastai's `lr_find`).

From the untrained weights, one optimizer step per batch while the rate grows exponentially from
`start_lr` to `end_lr`; the loss, smoothed, falls while the rate is useful and climbs once it is too
high. Each step is a training step (the weight penalties in the loss, the gradients clipped to
training.clip_norm), with only the engine's public surface (model.forward/backward/penalty,
loss.value_and_grad, optimizer.step and optimizer.lr, model.params()/grads(),
regularizers.clip_by_global_norm), so any loop's internals may change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .protocol import Array
from .regularizers import clip_by_global_norm

SMOOTHING = 0.98  # the loss's exponential moving average keeps 98% of its past (fastai's choice)
STOP_FACTOR = 4.0  # stop once the smoothed loss exceeds this many times its minimum


def rates(start_lr: float, end_lr: float, n_steps: int) -> np.ndarray:
    """lr_i = start_lr * (end_lr / start_lr) ** (i / (n_steps - 1)): equal steps on a log scale."""
    return start_lr * (end_lr / start_lr) ** (np.arange(n_steps) / max(n_steps - 1, 1))


def lr_range_test(model: Any, loss: Any, optimizer: Any, batches: Iterator[tuple[Array, Array]],
                  start_lr: float = 1e-7, end_lr: float = 10.0, n_steps: int = 200,
                  clip_norm: float | None = None) -> dict[str, Any]:
    """Train on `batches` (an iterator of (x, y), at least n_steps of them) raising optimizer.lr
    from start_lr to end_lr; stop when the smoothed loss exceeds STOP_FACTOR times its minimum or
    becomes non-finite. Each step is training's: the loss with the weight penalties (whose gradient
    the backward pass adds), the gradients clipped to `clip_norm`. The weights are changed: pass a
    model built for the test alone.

    Returns lrs, losses (raw) and smoothed (bias-corrected: avg / (1 - beta**(i+1))), the rate of
    the steepest descent of the smoothed loss against log(lr) (`suggested`) and the rate at its
    minimum (`minimum`), and `stopped` (why the test ended: "diverged" or "end").
    """
    fused = loss.fused is not None
    params, grads = model.params(), model.grads()
    lrs, losses, smoothed = [], [], []
    avg, best, stopped = 0.0, math.inf, "end"
    with np.errstate(over="ignore", invalid="ignore"):
        for i, lr in enumerate(rates(start_lr, end_lr, n_steps)):
            x, y = next(batches)
            optimizer.lr = float(lr)
            z = model.forward(x, training=True, logits=fused)
            value, dz = loss.value_and_grad(z, y)
            if model.penalties:
                value += model.penalty()
            if not math.isfinite(value):
                stopped = "diverged"
                break
            avg = SMOOTHING * avg + (1 - SMOOTHING) * value
            smooth = avg / (1 - SMOOTHING ** (i + 1))
            lrs.append(float(lr))
            losses.append(float(value))
            smoothed.append(float(smooth))
            if i > 0 and smooth > STOP_FACTOR * best:
                stopped = "diverged"
                break
            best = min(best, smooth)
            model.backward(dz, logits=fused)
            if clip_norm is not None:
                clip_by_global_norm(grads, clip_norm)
            optimizer.step(params, grads)
    suggested, minimum = suggest(np.array(lrs), np.array(smoothed))
    return {"lrs": lrs, "losses": losses, "smoothed": smoothed, "suggested": suggested, "minimum": minimum,
            "stopped": stopped}


def suggest(lrs: np.ndarray, smoothed: np.ndarray) -> tuple[float | None, float | None]:
    """(the rate where the smoothed loss falls fastest against log(lr), before its minimum; the
    rate at the minimum of every point). None for what too few points cannot tell.

    The slope is taken across a decade of rates (half a decade each side), not between neighbours:
    at the lowest rates the loss only wanders, and a neighbour-to-neighbour slope picks that noise.
    So a slope is centred half a decade after the first point at the earliest, and half a decade
    before the minimum at the latest.
    """
    if not len(smoothed):
        return None, None
    low = int(np.argmin(smoothed))
    minimum = float(lrs[low])
    log_lr = np.log10(lrs)
    per_decade = (len(lrs) - 1) / max(log_lr[-1] - log_lr[0], 1e-12)
    w = max(1, round(float(per_decade) / 2))
    if low - w <= w:
        return None, minimum
    centre = np.arange(w, low - w + 1)
    slope = (smoothed[centre + w] - smoothed[centre - w]) / (log_lr[centre + w] - log_lr[centre - w])
    return float(lrs[centre[int(np.argmin(slope))]]), minimum
