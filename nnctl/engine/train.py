"""The training loop: shuffle, batches, forward, loss, backward, step; callbacks at fixed points.

It knows nothing about the model's insides, and nothing about logging, saving, schedules, early
stopping or signals: those are callbacks (engine/callbacks.py).
"""

import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import Interrupted
from . import divergence
from .callbacks import Callback
from .metric_names import split_scores
from .metrics import SCORERS
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


@dataclass(frozen=True)
class Plan:
    """How fit trains: the last epoch, the batch size, whether and with what seed each epoch's rows
    are shuffled, and the cap on the gradients' global norm (None: no cap)."""

    epochs: int
    batch_size: int
    shuffle: bool
    seed: int
    clip_norm: float | None = None


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator that shuffles epoch `epoch`: derived from (seed, epoch) alone, so a resumed
    run shuffles exactly as an uninterrupted one."""
    return np.random.default_rng([seed, epoch])


def evaluate(model, loss, x, y, batch_size: int = 8192, task: str = "classification",
             target_scale: float = 1.0) -> dict:
    """Mean loss, the task's scores and the model's outputs on (x, y), in inference mode:
    accuracy for classification; mae, rmse (times target_scale: in the target's units) and r2
    for regression."""
    if len(x) == 0:
        return {"loss": None, **SCORERS[task].scores(y, None), "out": np.zeros((0, 1))}
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
    return {"loss": total / len(x), **SCORERS[task].scores(y, out, target_scale), "out": out}


def fit(model, loss, optimizer, data, *, epochs: int, batch_size: int, shuffle: bool, seed: int,
        clip_norm: float | None = None, callbacks=(), start: Position = Position()) -> list[dict]:
    """Mini-batch training for epochs start.epoch+1 .. epochs (the first from start.rows_done on);
    returns the epochs' records. `data` has x_train, y_train, x_val, y_val, task and target_scale
    (a data.Dataset).

    `clip_norm` caps the gradients' global norm before each step: part of the step, like the
    optimizer, rather than an observer of it, so an argument and not a callback. The callbacks
    are called in list order (see engine/callbacks.py); one raising Interrupted stops training
    with the position reached in the error. Raises TrainingDiverged on a non-finite loss, and at
    an epoch's end on a weight beyond divergence.WEIGHT_BOUND or a non-finite validation score.
    """
    plan = Plan(epochs, batch_size, shuffle, seed, clip_norm)
    return Trainer(model, loss, optimizer, data, plan, callbacks).run(start)


class Trainer:
    """One fit: the model, loss and optimizer trained on `data` as `plan` says, calling `callbacks`."""

    def __init__(self, model, loss, optimizer, data, plan: Plan, callbacks=()):
        self.model, self.loss, self.optimizer, self.data, self.plan = model, loss, optimizer, data, plan
        self.callbacks = list(callbacks)
        # only the callbacks that do something after a batch are called after each one (~20,000 a run)
        self.after_batch = [c for c in self.callbacks if _overrides_on_batch_end(c)]
        self.fused = loss.fused is not None  # the loss takes the logits: the model skips its last activation
        self.params, self.grads = model.params(), model.grads()

    def run(self, start: Position) -> list[dict]:
        """Epochs start.epoch+1 .. plan.epochs, each between its callbacks; the epochs' records."""
        history = []
        for epoch in range(start.epoch + 1, self.plan.epochs + 1):
            try:
                for callback in self.callbacks:
                    callback.on_epoch_begin(epoch)
            except Interrupted as e:
                raise Interrupted(e.signal, start) from None
            # A diverging run overflows on its way to inf; the finite checks catch it and say so,
            # so NumPy's own warnings would only add noise.
            with np.errstate(over="ignore", invalid="ignore"):
                record = self.epoch(epoch, start)
            start = Position(epoch)
            history.append(record)
            # a list, not a generator: every callback sees the record, even after one asks to stop
            if any([callback.on_epoch_end(record) for callback in self.callbacks]):  # noqa: C419
                break
        return history

    def epoch(self, epoch: int, start: Position) -> dict:
        """One pass over the training split (from row start.rows_done of its order), then the validation scores."""
        started = time.perf_counter()
        model, loss, optimizer, fused = self.model, self.loss, self.optimizer, self.fused
        params, grads, after_batch = self.params, self.grads, self.after_batch
        clip_norm, penalties, n = self.plan.clip_norm, bool(model.penalties), len(self.data.x_train)
        scorer = SCORERS[self.data.task](min(self.plan.batch_size, n), self.outputs, start.score_sum)
        loss_sum = start.loss_sum
        first_batch = start.rows_done // self.plan.batch_size + 1
        for batch, (xb, yb) in enumerate(self.batches(epoch, start.rows_done), first_batch):
            z = model.forward(xb, training=True, logits=fused)
            value, dz = loss.value_and_grad(z, yb)
            if penalties:
                value += model.penalty()
            if not math.isfinite(value):
                divergence.check(f"the loss became {value}", epoch, optimizer.lr, self.data.x_train, batch)
            model.backward(dz, logits=fused)
            if clip_norm is not None:
                clip_by_global_norm(grads, clip_norm)
            optimizer.step(params, grads)
            loss_sum += value * len(yb)
            scorer.update(z, yb)
            if after_batch:
                self.batch_end(epoch, Position(epoch - 1, min(batch * self.plan.batch_size, n), loss_sum, scorer.total))
        self.check_weights(epoch)
        scores = self.scores(loss_sum / n, scorer.record(n, self.data.target_scale))
        divergence.check(divergence.non_finite(scores), epoch, optimizer.lr, self.data.x_train)
        return {"epoch": epoch, **scores, "lr": optimizer.lr, "seconds": round(time.perf_counter() - started, 4)}

    def batches(self, epoch: int, rows_done: int):
        """The epoch's (x, y) batches from row `rows_done` of its order (shuffled from (seed, epoch)).
        The shuffled rows of every batch are gathered into one reused array: no allocation per batch,
        and the first layer's product then reads rows that are still in the cache. The indices are a
        permutation, always in range: mode="clip" only spares NumPy the buffered copy "raise" makes."""
        x, y, batch_size = self.data.x_train, self.data.y_train, self.plan.batch_size
        n = len(x)
        if not self.plan.shuffle:
            for i in range(rows_done, n, batch_size):
                yield x[i:i + batch_size], y[i:i + batch_size]
            return
        order = epoch_rng(self.plan.seed, epoch).permutation(n)
        rows, targets = np.empty((min(batch_size, n), *x.shape[1:]), x.dtype), np.empty(min(batch_size, n), y.dtype)
        for i in range(rows_done, n, batch_size):
            idx = order[i:i + batch_size]
            m = len(idx)
            yield (np.take(x, idx, axis=0, out=rows[:m], mode="clip"),
                   np.take(y, idx, axis=0, out=targets[:m], mode="clip"))

    def outputs(self, z):
        """The model's outputs from what its forward pass returned (its logits, when the loss is fused)."""
        return self.model.outputs_from_logits(z) if self.fused else z

    def batch_end(self, epoch: int, position: Position) -> None:
        """The callbacks after a batch; one raising Interrupted stops training at `position`, the
        weights checked first: non-finite ones never replace a good save."""
        try:
            for callback in self.after_batch:
                callback.on_batch_end(epoch, position.rows_done, len(self.data.x_train), position)
        except Interrupted as e:
            self.check_weights(epoch)
            raise Interrupted(e.signal, position) from None

    def scores(self, train_loss: float, train_scores: dict) -> dict:
        """The epoch's record of scores, in the table's order (engine.metrics.SCORES): the training
        split's running ones, then the validation split's."""
        data = self.data
        val = evaluate(self.model, self.loss, data.x_val, data.y_val, task=data.task, target_scale=data.target_scale)
        train = {"loss": train_loss, **train_scores}
        return {f"{split}_{s.name}": part[s.name] for split, part in (("train", train), ("val", val))
                for s in split_scores(split, data.task)}

    def check_weights(self, epoch: int) -> None:
        divergence.check(divergence.exploded_weights(self.params), epoch, self.optimizer.lr, self.data.x_train)


def _overrides_on_batch_end(callback) -> bool:
    """Whether `callback` does anything after a batch: Callback's own hook does nothing, and
    calling it ~20,000 times a run is not free."""
    return getattr(type(callback), "on_batch_end", None) is not Callback.on_batch_end
