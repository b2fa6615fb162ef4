"""The training loop. It knows nothing about the model's insides and reports through a callback."""

import math
import time

import numpy as np

from .divergence import exploded_loss, exploded_weights
from ..errors import Interrupted, TrainingDiverged
from .metrics import accuracy, predicted_classes, regression_scores
from .regularizers import clip_by_global_norm


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
            outs.append(model.layers[-1].forward(z) if fused else z)
    out = np.concatenate(outs)
    if regression:
        scores = regression_scores(y, out)
        scores["mae"] *= target_scale
        scores["rmse"] *= target_scale
    else:
        scores = {"accuracy": accuracy(y, predicted_classes(out))}
    return {"loss": total / len(x), **scores, "out": out}


def fit(model, loss, optimizer, data, *, epochs: int, batch_size: int, shuffle: bool, seed: int,
        on_epoch=None, on_batch=None, start_epoch: int = 0, schedule=None, clip_norm: float | None = None,
        start: tuple = (0, 0.0, 0), stop=None, loss_limit: float = math.inf) -> list[dict]:
    """Mini-batch training for epochs start_epoch+1 .. epochs; `on_epoch(record)` after each
    epoch (a true return value stops training: early stopping), `on_batch(epoch, done, total)`
    after each batch (for progress bars). `schedule` sets optimizer.lr before each epoch;
    `clip_norm` caps the gradients' global norm before each step.

    `data` has x_train, y_train, x_val, y_val. Raises TrainingDiverged on a non-finite loss, and
    at an epoch's end on a training loss above `loss_limit` or a weight beyond
    divergence.WEIGHT_BOUND (see divergence.py).
    `start` = (rows_done, loss_sum, correct) continues epoch start_epoch+1 part-way, as an
    Interrupted error left it. `stop()` is asked after every batch; when it returns a signal
    number, fit raises Interrupted with the position reached, so the caller can save it.
    """
    history = []
    for epoch in range(start_epoch + 1, epochs + 1):
        if stop is not None and (signal := stop()):
            raise Interrupted(signal, epoch - 1, *start)
        if schedule is not None:
            optimizer.lr = schedule.lr(epoch, optimizer.initial_lr)
        # A diverging run overflows on its way to inf; the finite checks in _epoch catch it and
        # say so, so NumPy's own warnings would only add noise.
        with np.errstate(over="ignore", invalid="ignore"):
            record = _epoch(model, loss, optimizer, data, epoch, batch_size, shuffle, seed, on_batch, clip_norm,
                            start, stop, loss_limit)
        start = (0, 0.0, 0)
        history.append(record)
        if schedule is not None:
            schedule.update(record)
        if on_epoch is not None and on_epoch(record):
            break
    return history


def _epoch(model, loss, optimizer, data, epoch, batch_size, shuffle, seed, on_batch, clip_norm=None,
           start=(0, 0.0, 0), stop=None, loss_limit=math.inf) -> dict:
    """One pass over the training split (from row start[0] of its order), then the validation scores."""
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
    rows_done, total, correct = start  # correct: right classes, or for regression the sum of absolute errors
    for i in range(rows_done, n, batch_size):
        idx = order[i:i + batch_size]
        xb = np.take(x, idx, axis=0, out=batch[:len(idx)], mode="clip") if shuffle else x[i:i + batch_size]
        yb = y[idx]
        z = model.forward(xb, training=True, logits=fused)
        value, dz = loss.value_and_grad(z, yb)
        if model.penalties:
            value += model.penalty()
        if not math.isfinite(value):
            raise TrainingDiverged(_diverged_message(epoch, i // batch_size + 1, value, optimizer, x=x))
        model.backward(dz, logits=fused)
        if clip_norm is not None:
            clip_by_global_norm(grads, clip_norm)
        optimizer.step(params, grads)
        total += value * len(idx)
        if regression:
            correct += float(np.abs(z[:, 0] - yb).sum())
        else:
            # the class is the argmax of the logits as of the softmax; a single logit needs its sigmoid
            out = model.layers[-1].f(z) if fused and z.shape[1] == 1 else z
            correct += int((predicted_classes(out) == yb).sum())
        if on_batch is not None:
            on_batch(epoch, min(i + batch_size, n), n)
        if stop is not None and i + batch_size < n and (signal := stop()):
            _check_weights(params, epoch, optimizer, x)  # never save non-finite weights over good ones
            raise Interrupted(signal, epoch - 1, i + batch_size, total, correct)
    _check_weights(params, epoch, optimizer, x)
    if regression:
        scale = data.target_scale
        val = evaluate(model, loss, data.x_val, data.y_val, task="regression", target_scale=scale)
        scores = {"train_loss": total / n, "train_mae": correct / n * scale, "val_loss": val["loss"],
                  "val_mae": val["mae"], "val_rmse": val["rmse"], "val_r2": val["r2"]}
    else:
        val = evaluate(model, loss, data.x_val, data.y_val)
        scores = {"train_loss": total / n, "train_accuracy": correct / n, "val_loss": val["loss"],
                  "val_accuracy": val["accuracy"]}
    bad = [k for k, v in scores.items() if v is not None and not math.isfinite(v)]
    if bad:  # finite weights can still overflow on the validation rows
        raise TrainingDiverged(_diverged_message(epoch, None, scores[bad[0]], optimizer, what=f"{bad[0]} became {scores[bad[0]]}",
                                                 x=x))
    if what := exploded_loss(scores["train_loss"], loss_limit):  # finite, but no longer training
        raise TrainingDiverged(_diverged_message(epoch, None, scores["train_loss"], optimizer, what=what, x=x))
    return {"epoch": epoch, **scores, "lr": optimizer.lr, "seconds": round(time.perf_counter() - started, 4)}


def _check_weights(params, epoch, optimizer, x) -> None:
    if what := exploded_weights(params):
        raise TrainingDiverged(_diverged_message(epoch, None, float("nan"), optimizer, what=what, x=x))


def _diverged_message(epoch, batch, value, optimizer, what=None, x=None) -> str:
    where = f"epoch {epoch}, batch {batch}" if batch else f"epoch {epoch}"
    what = what or (f"the loss became {value}" if batch else "the weights became NaN or infinite")
    largest = float(np.abs(x).max()) if x is not None and x.size else 0.0
    return (f"training diverged at {where}: {what}. Likely causes: a learning rate too high "
            f"(optimizer.lr is {optimizer.lr:g}: try a tenth of it) or unscaled inputs "
            f"(the largest absolute input is {largest:g}; see data.scaling)")
