"""When a run has diverged although its numbers are still finite: the rule, in one place.

A NaN or infinite loss or weight is divergence at once (train.py checks every batch). Adam or
RMSprop at an absurd learning rate, though, blow the weights up to 1e13 and the loss to 1e24 in
the first epoch and then stay finite for ever. So at the end of every epoch a run has also
diverged when

- its training loss exceeds LOSS_FACTOR times the untrained network's loss (at least LOSS_FLOOR):
  relative, because a loss has the units of its target (an unscaled regression target of 1e5
  starts at a mean squared error of 1e10), and because unscaled inputs start a classifier's
  cross-entropy in the thousands; the untrained network, rather than the first epoch, because
  the adaptive optimizers explode within the first epoch;
- or a weight's magnitude exceeds WEIGHT_BOUND: in float32 a weight of 1e8 times an input of
  order 1 rounds away every term of order 1 (8 is its spacing there), and no trained network of
  scaled data comes near it (the shipped configs end below 3).
"""

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import TrainingDiverged
from .protocol import Array

LOSS_FACTOR = 1e3
LOSS_FLOOR = 1.0  # a loss near 0 at the start (a target already fitted) must not make 1e-3 "explode"
WEIGHT_BOUND = 1e8
REFERENCE_ROWS = 1024  # a reference, not a score: 1,024 rows give MNIST's within 1%, with little memory


def reference_loss(model: Any, loss: Any, x: Array, y: Array) -> float:
    """The untrained network's mean loss, with its weight penalties, on the first REFERENCE_ROWS
    rows of (x, y), in inference mode (no running statistic or dropout generator moves, so the
    training that follows is unchanged). Call it before any training or restored weights."""
    if len(x) == 0:
        return math.nan
    fused = loss.fused is not None
    xb, yb = x[:REFERENCE_ROWS], y[:REFERENCE_ROWS]
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite is reported by the first batch
        value, _ = loss.value_and_grad(model.forward(xb, logits=fused), yb)
        return float(value + (model.penalty() if model.penalties else 0.0))


def loss_limit(reference: float) -> float:
    """The training loss above which an epoch has diverged, for an untrained loss `reference`
    (no limit when the reference is unknown or not finite: the per-batch check then decides)."""
    if not math.isfinite(reference):
        return math.inf
    return LOSS_FACTOR * max(reference, LOSS_FLOOR)


def exploded_loss(train_loss: float, limit: float) -> str | None:
    """What went wrong when an epoch's training loss is above `limit`, else None."""
    if train_loss > limit:
        return (f"the training loss reached {train_loss:.3g}, above {limit:.3g} "
                f"({LOSS_FACTOR:g} times the untrained network's loss, and never below {LOSS_FACTOR * LOSS_FLOOR:g})")
    return None


def exploded_weights(params: Mapping[str, Array]) -> str | None:
    """What went wrong when a weight is NaN, infinite or beyond WEIGHT_BOUND, else None."""
    largest, name = 0.0, None
    for key, p in params.items():
        if p.size == 0:
            continue
        value = max(float(p.max()), -float(p.min()))  # max and min propagate NaN and allocate nothing
        if not math.isfinite(value):
            return "the weights became NaN or infinite"
        if value > largest:
            largest, name = value, key
    if largest > WEIGHT_BOUND:
        return f"the weight {name} reached {largest:.3g}, beyond {WEIGHT_BOUND:g}"
    return None


def non_finite(scores: Mapping[str, float | None]) -> str | None:
    """What went wrong when one of `scores` (by name; None for a score not defined) is NaN or
    infinite, else None: finite weights can still overflow on the validation rows."""
    bad = next((k for k, v in scores.items() if v is not None and not math.isfinite(v)), None)
    return None if bad is None else f"{bad} became {scores[bad]}"


def check(what: str | None, epoch: int, lr: float | None = None, x: Array | None = None,
          batch: int | None = None) -> None:
    """Raise TrainingDiverged when one of the checks above found `what`: the one place a run's
    divergence is raised, saying where (`batch` of `epoch`), what, and the two likely causes with
    their numbers (`lr`: the optimizer's; `x`: the training inputs, whose largest magnitude tells
    whether they were scaled)."""
    if what:
        raise TrainingDiverged(message(epoch, batch, lr, what, x))


def message(epoch: int, batch: int | None, lr: float | None, what: str, x: Array | None) -> str:
    """Where and how training diverged, with the two likely causes and, where known, their numbers."""
    where = f"epoch {epoch}, batch {batch}" if batch else f"epoch {epoch}"
    rate = "try a tenth of optimizer.lr" if lr is None else f"optimizer.lr is {lr:g}: try a tenth of it"
    inputs = "see data.scaling"
    if x is not None:
        inputs = f"the largest absolute input is {float(np.abs(x).max()) if x.size else 0.0:g}; {inputs}"
    return (f"training diverged at {where}: {what}. Likely causes: a learning rate too high ({rate}) "
            f"or unscaled inputs ({inputs})")
