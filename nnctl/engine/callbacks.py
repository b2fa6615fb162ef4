"""What the training loop calls at fixed points: small objects, each with its own state.

`train.fit` calls, in list order, `on_epoch_begin(epoch)` before an epoch's first batch,
`on_batch_end(epoch, rows_done, n_rows, position)` after each batch (`position`: the running
sums of loss and score so far in the epoch) and `on_epoch_end(record)` after the epoch's
validation scores; a run (nnctl.runs.training) first calls `on_train_begin(info)` with what it
trains (run folder, data set sizes, parameters, optimizer), and last `on_train_end(status, error)`
however training ended (Keras' on_train_end, Lightning's on_exception). A true value from any
on_epoch_end ends training after that epoch (every callback still sees the record). A callback that
raises `Interrupted` at epoch begin or batch end stops training at once: the loop fills in the
position reached. A callback with a `state_key` keeps what a resumed run needs in `state_dict()`,
saved under that name, and takes it back with `load_state_dict()` (Keras' Callback, minGPT's
trigger_callbacks, Lightning's state_key).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError, Interrupted
from . import divergence
from .metric_names import better


def saved_number(state: dict, key: str, low: float = -math.inf, null: bool = False) -> float | None:
    """state[key] as a saved state holds it: a finite number at least `low` (or None when `null`);
    ValueError naming the key otherwise, so a damaged state is refused on load, not later."""
    value = state[key]
    if value is None and null:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or value < low:
        raise ValueError(f"{key}: expected a number{f' >= {low:g}' if low > -math.inf else ''}, got {value!r}")
    return value


def saved_count(state: dict, key: str, low: int = 0, null: bool = False) -> int | None:
    """state[key] as a whole number at least `low` (or None when `null`); ValueError otherwise."""
    value = state[key]
    if value is None and null:
        return None
    if type(value) is not int or value < low:
        raise ValueError(f"{key}: expected a whole number >= {low}, got {value!r}")
    return value


ENDINGS = ("finished", "interrupted", "diverged", "failed")  # a run's status once it has ended


class Callback:
    """No-op hooks and no state: subclasses override what they need."""

    # the name a run's checkpoint keeps this callback's state_dict() under (part of the file
    # format); None: nothing a resumed run needs
    state_key: str | None = None

    def on_train_begin(self, info: dict) -> None:
        """Before training starts (called by a run, not by fit): what is trained, as
        runs.training.Training.describe gives it."""

    def on_train_end(self, status: str, error: BaseException | None) -> None:
        """After training ended (called by a run, not by fit), in list order, however it ended:
        `status` is one of ENDINGS, `error` what ended it (None when finished; Interrupted for a
        stop request, KeyboardInterrupt for a second signal, TrainingDiverged). A callback that
        raises here (its last save failed) makes its error the run's: those after it see that one."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Before the first batch of epoch `epoch` (counted from 1)."""

    def on_batch_end(self, epoch: int, rows_done: int, n_rows: int, position=None) -> None:
        """After each batch: `rows_done` of the epoch's `n_rows` training rows are done; `position`
        (an engine.train.Position) holds those rows' summed loss and score (the running scores:
        loss_sum / rows_done; score_sum / rows_done is the accuracy, or for regression the mae in
        scaled units)."""

    def on_epoch_end(self, record: dict) -> bool:
        """After the epoch's validation scores; True asks training to end after this epoch."""
        return False

    def state_dict(self) -> dict:
        """What a resumed run needs, JSON-able."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict returned."""


class LambdaCallback(Callback):
    """Plain functions as hooks (Keras' LambdaCallback): `on_epoch_end(record)` (its value is
    ignored: it only watches) and `on_batch_end(epoch, rows_done, n_rows)`, for progress lines."""

    def __init__(self, on_epoch_end=None, on_batch_end=None):
        self.epoch_end, self.batch_end = on_epoch_end, on_batch_end

    def on_batch_end(self, epoch, rows_done, n_rows, position=None):
        if self.batch_end is not None:
            self.batch_end(epoch, rows_done, n_rows)

    def on_epoch_end(self, record):
        if self.epoch_end is not None:
            self.epoch_end(record)
        return False


class StopOnRequest(Callback):
    """Stops training when `stop()` returns a signal number (see nnctl.runs.interrupts): asked
    before every epoch and after every batch but an epoch's last, whose end comes first."""

    def __init__(self, stop):
        self.stop = stop

    def on_epoch_begin(self, epoch):
        if signal := self.stop():
            raise Interrupted(signal)

    def on_batch_end(self, epoch, rows_done, n_rows, position=None):
        if rows_done < n_rows and (signal := self.stop()):
            raise Interrupted(signal)


class LossLimit(Callback):
    """Divergence with finite numbers: an epoch's training loss above `limit` (see divergence.py;
    the limit comes from the untrained weights, so a resumed run gets the same one). Put it first
    among the on_epoch_end callbacks: a diverged epoch is neither logged nor saved."""

    def __init__(self, limit: float, optimizer, x_train):
        self.limit, self.optimizer, self.x_train = limit, optimizer, x_train

    def on_epoch_end(self, record):
        divergence.check(divergence.exploded_loss(record["train_loss"], self.limit), record["epoch"],
                         self.optimizer.lr, self.x_train)
        return False


class LearningRateScheduler(Callback):
    """Sets optimizer.lr from a schedule (engine/schedules.py) before each epoch, and shows the
    schedule each finished epoch; its state is the schedule's."""

    state_key = "schedule"

    def __init__(self, schedule, optimizer):
        self.schedule, self.optimizer = schedule, optimizer

    def on_epoch_begin(self, epoch):
        self.optimizer.lr = self.schedule.lr(epoch, self.optimizer.initial_lr)

    def on_epoch_end(self, record):
        self.schedule.update(record)
        return False

    def state_dict(self):
        return self.schedule.state_dict()

    def load_state_dict(self, state):
        self.schedule.load_state_dict(state)


def resolve_mode(monitor: str, mode: str) -> str:
    """'min' or 'max'; `auto` picks max for accuracy and r2, min for losses and errors."""
    if mode != "auto":
        return mode
    return better(monitor)


class Monitor(Callback):
    """The best value of one metric so far, and how many epochs have passed without improving it
    by more than min_delta."""

    state_key = "monitor"

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", min_delta: float = 0.0):
        self.monitor, self.mode, self.min_delta = monitor, resolve_mode(monitor, mode), min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0

    def improved(self, value: float) -> bool:
        """Whether `value` beats the best by more than min_delta."""
        if self.best is None:
            return True
        gain = value - self.best if self.mode == "max" else self.best - value
        return gain > self.min_delta

    def update(self, record: dict) -> bool:
        """Take one epoch's record; True when it is the new best."""
        value = record.get(self.monitor)
        if value is None:  # r2 of a constant validation target, or a metric this task does not log
            raise DataError(f"the monitored metric {self.monitor} has no value at epoch {record['epoch']} "
                            f"(r2 is undefined when every validation target is equal): monitor val_loss instead")
        divergence.check(divergence.non_finite({self.monitor: value}), record["epoch"])  # a record not made by fit
        if self.improved(value):
            self.best, self.best_epoch, self.wait = float(value), record["epoch"], 0
            return True
        self.wait += 1
        return False

    def on_epoch_end(self, record):
        self.update(record)
        return False

    def state_dict(self) -> dict:
        """The counters, JSON-able."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict returned (ValueError when it is not what state_dict writes)."""
        best, best_epoch = saved_number(state, "best", null=True), saved_count(state, "best_epoch", 1, null=True)
        if (best is None) != (best_epoch is None):
            raise ValueError(f"best and best_epoch: both a value or both null, got {best!r} and {best_epoch!r}")
        self.best, self.best_epoch, self.wait = best, best_epoch, saved_count(state, "wait")


class EarlyStopping(Monitor):
    """Stop when `monitor` has not improved by more than min_delta for `patience` epochs;
    with restore_best, the run ends with the weights of the best epoch."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 10, min_delta: float = 0.0,
                 restore_best: bool = True):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.restore_best = patience, restore_best
        self.stopped_epoch: int | None = None

    def update(self, record: dict) -> bool:
        improved = super().update(record)
        if self.wait >= self.patience:
            self.stopped_epoch = record["epoch"]
        return improved

    def on_epoch_end(self, record):
        self.update(record)
        return self.stop

    @property
    def stop(self) -> bool:
        """Whether training should end after this epoch."""
        return self.stopped_epoch is not None

    def report(self) -> dict:
        """What happened, for the run's summary: best epoch and value, where it stopped, what was restored."""
        return {"monitor": self.monitor, "mode": self.mode, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "restored_best": self.restore_best}

    def state_dict(self) -> dict:
        return {**super().state_dict(), "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.stopped_epoch = saved_count(state, "stopped_epoch", 1, null=True)


class BestWeights(Callback):
    """A copy, in memory, of the weights of the best epoch so far by `monitor` (a Monitor earlier
    in the list, which has already seen the record); `restore()` puts them back in the model."""

    def __init__(self, model, monitor: Monitor, weights: dict | None = None):
        self.model, self.monitor, self.weights = model, monitor, weights

    def on_epoch_end(self, record):
        if self.monitor.best_epoch == record["epoch"]:
            self.weights = {k: v.copy() for k, v in self.model.state().items()}
        return False

    def restore(self) -> None:
        """Load the kept weights into the model (nothing when no epoch finished)."""
        if self.weights is not None:
            self.model.load_state(self.weights)


class DropoutGenerators(Callback):
    """The dropout layers' random generators: their exact state is what a resumed run needs to
    drop the same units. No hooks: only state."""

    def __init__(self, model):
        self.generators = [layer.rng for layer in model.layers if isinstance(getattr(layer, "rng", None),
                                                                             np.random.Generator)]
        self.state_key = "dropout" if self.generators else None  # a model without dropout saves no state

    def state_dict(self) -> dict:
        return {"states": [g.bit_generator.state for g in self.generators]}

    def load_state_dict(self, state: dict) -> None:
        if len(state["states"]) != len(self.generators):
            raise ValueError(f"{len(state['states'])} generator states for {len(self.generators)} dropout layers")
        for generator, saved in zip(self.generators, state["states"]):
            generator.bit_generator.state = saved
