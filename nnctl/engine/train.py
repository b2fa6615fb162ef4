"""The training loop: shuffle, batches, forward, loss, backward, step; callbacks at fixed points.

It knows nothing about the model's insides, and nothing about logging, saving, schedules, early
stopping or signals: those are callbacks (engine/callbacks.py).
"""

import math
import time
from dataclasses import dataclass

import numpy as np

from . import divergence
from .callbacks import Callback
from ..errors import Interrupted, TrainingDiverged
from .metrics import accuracy, count_correct, predicted_classes, regression_scores
from .regularizers import clip_by_global_norm


@dataclass(frozen=True)
class Position:
    """Where training stands: `epoch` epochs finished and `rows_done` rows of the next one, with
    those rows' summed loss and score, so that the epoch's record comes out as if uninterrupted.
    score_sum: the right classes (a count) for classification, the absolute errors' sum for regression."""

    epoch: int = 0
    rows_done: int = 0
    loss_sum: float = 0.0
    score_sum: int | float = 0


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator that shuffles epoch `epoch`: derived from (seed, epoch) alone, so a resumed
    run shuffles exactly as an uninterrupted one."""
    return np.random.default_rng([seed, epoch])


def evaluate(model, loss, x, y, batch_size: int = 8192, task: str = "classification", target_scale: float = 1.0) -> dict:
    """Mean loss, the task's scores and the model's outputs on (x, y), in inference mode:
    accuracy for classification; mae, rmse (times target_scale: in the target's units) and r2
    for regression."""
    regression = task == "regression"
    if len(x) == 0:
        empty = {"mae": None, "rmse": None, "r2": None} if regression else {"accuracy": None}
        return {"loss": None, **empty, "out": np.zeros((0, 1))}
    fused = loss.fused is not None
    total, outs = 0.0, []
    # huge weights overflow here as an infinite loss, which the callers check and report
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            z = model.forward(xb, logits=fused)
            value, _ = loss.value_and_grad(z, yb)
            total += value * len(xb)
            outs.append(model.outputs_from_logits(z) if fused else z)
    out = np.concatenate(outs)
    if regression:
        scores = regression_scores(y, out)
        scores["mae"] *= target_scale
        scores["rmse"] *= target_scale
    else:
        scores = {"accuracy": accuracy(y, predicted_classes(out))}
    return {"loss": total / len(x), **scores, "out": out}


def fit(model, loss, optimizer, data, *, epochs: int, batch_size: int, shuffle: bool, seed: int,
        clip_norm: float | None = None, callbacks=(), start: Position = Position()) -> list[dict]:
    """Mini-batch training for epochs start.epoch+1 .. epochs (the first from start.rows_done on);
    returns the epochs' records. `data` has x_train, y_train, x_val, y_val (and task).

    `clip_norm` caps the gradients' global norm before each step: part of the step, like the
    optimizer, rather than an observer of it, so an argument and not a callback. The callbacks
    are called in list order (see engine/callbacks.py); one raising Interrupted stops training
    with the position reached in the error. Raises TrainingDiverged on a non-finite loss, and at
    an epoch's end on a weight beyond divergence.WEIGHT_BOUND or a non-finite validation score.
    """
    history = []
    for epoch in range(start.epoch + 1, epochs + 1):
        try:
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
        except Interrupted as e:
            raise Interrupted(e.signal, start) from None
        # A diverging run overflows on its way to inf; the finite checks in _epoch catch it and
        # say so, so NumPy's own warnings would only add noise.
        with np.errstate(over="ignore", invalid="ignore"):
            record = _epoch(model, loss, optimizer, data, epoch, batch_size, shuffle, seed, clip_norm, callbacks, start)
        start = Position(epoch)
        history.append(record)
        if any([callback.on_epoch_end(record) for callback in callbacks]):  # a list: every callback sees the record
            break
    return history


def _epoch(model, loss, optimizer, data, epoch, batch_size, shuffle, seed, clip_norm, callbacks, start) -> dict:
    """One pass over the training split (from row start.rows_done of its order), then the validation scores."""
    started = time.perf_counter()
    fused = loss.fused is not None
    params, grads = model.params(), model.grads()
    x, y = data.x_train, data.y_train
    n = len(x)
    order = epoch_rng(seed, epoch).permutation(n) if shuffle else np.arange(n)
    regression = getattr(data, "task", "classification") == "regression"
    # The shuffled rows of every batch are gathered into one reused array: no allocation per batch,
    # and the first layer's product then reads rows that are still in the cache. The indices are a
    # permutation, always in range: mode="clip" only spares NumPy the buffered copy "raise" makes.
    batch = np.empty((min(batch_size, n), *x.shape[1:]), x.dtype)
    targets = np.empty(min(batch_size, n), y.dtype)
    # Per step, everything below runs once per batch: for a network of a few thousand parameters
    # (moons) the step is Python overhead, not arithmetic, so the batch's targets, predicted
    # classes and hits go into reused arrays too, and only the callbacks that do something
    # after a batch are called after each one.
    predicted, hits = np.empty(len(targets), np.int64), np.empty(len(targets), bool)
    after_batch = [c for c in callbacks if _overrides_on_batch_end(c)]
    penalties = bool(model.penalties)
    loss_sum, score_sum = start.loss_sum, start.score_sum
    for i in range(start.rows_done, n, batch_size):
        idx = order[i:i + batch_size]
        m = len(idx)
        if shuffle:
            xb = np.take(x, idx, axis=0, out=batch[:m], mode="clip")
            yb = np.take(y, idx, axis=0, out=targets[:m], mode="clip")
        else:
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        z = model.forward(xb, training=True, logits=fused)
        value, dz = loss.value_and_grad(z, yb)
        if penalties:
            value += model.penalty()
        if not math.isfinite(value):
            raise TrainingDiverged(divergence.message(epoch, i // batch_size + 1, optimizer.lr, f"the loss became {value}", x))
        model.backward(dz, logits=fused)
        if clip_norm is not None:
            clip_by_global_norm(grads, clip_norm)
        optimizer.step(params, grads)
        loss_sum += value * m
        if regression:
            score_sum += float(np.abs(z[:, 0] - yb).sum())
        elif z.shape[1] > 1:  # the argmax of the logits is the softmax's
            score_sum += count_correct(z, yb, predicted, hits)
        else:  # a single logit needs its sigmoid
            out = model.outputs_from_logits(z) if fused else z
            score_sum += int((predicted_classes(out) == yb).sum())
        if not after_batch:
            continue
        rows_done = min(i + batch_size, n)
        position = Position(epoch - 1, rows_done, loss_sum, score_sum)
        try:
            for callback in after_batch:
                callback.on_batch_end(epoch, rows_done, n, position)
        except Interrupted as e:
            _check_weights(params, epoch, optimizer, x)  # never save non-finite weights over good ones
            raise Interrupted(e.signal, position) from None
    _check_weights(params, epoch, optimizer, x)
    if regression:
        scale = data.target_scale
        val = evaluate(model, loss, data.x_val, data.y_val, task="regression", target_scale=scale)
        scores = {"train_loss": loss_sum / n, "train_mae": score_sum / n * scale, "val_loss": val["loss"],
                  "val_mae": val["mae"], "val_rmse": val["rmse"], "val_r2": val["r2"]}
    else:
        val = evaluate(model, loss, data.x_val, data.y_val)
        scores = {"train_loss": loss_sum / n, "train_accuracy": score_sum / n, "val_loss": val["loss"],
                  "val_accuracy": val["accuracy"]}
    bad = [k for k, v in scores.items() if v is not None and not math.isfinite(v)]
    if bad:  # finite weights can still overflow on the validation rows
        raise TrainingDiverged(divergence.message(epoch, None, optimizer.lr, f"{bad[0]} became {scores[bad[0]]}", x))
    return {"epoch": epoch, **scores, "lr": optimizer.lr, "seconds": round(time.perf_counter() - started, 4)}


def _overrides_on_batch_end(callback) -> bool:
    """Whether `callback` does anything after a batch: Callback's own hook does nothing, and
    calling it ~20,000 times a run is not free."""
    return getattr(type(callback), "on_batch_end", None) is not Callback.on_batch_end


def _check_weights(params, epoch, optimizer, x) -> None:
    if what := divergence.exploded_weights(params):
        raise TrainingDiverged(divergence.message(epoch, None, optimizer.lr, what, x))
