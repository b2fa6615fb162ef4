"""Watching a metric across epochs: early stopping, and the plateau test reduce_on_plateau uses.

Each object takes exactly its YAML keys, sees one epoch record at a time through `update`,
and keeps its counters in `state_dict()` so a resumed run continues where it stopped.
"""

from __future__ import annotations

import math

from ..errors import DataError, TrainingDiverged
from .metrics import better


def resolve_mode(monitor: str, mode: str) -> str:
    """'min' or 'max'; `auto` picks max for accuracy and r2, min for losses and errors."""
    if mode != "auto":
        return mode
    return better(monitor)


class Monitor:
    """The best value of one metric so far, and how many epochs have passed without improving it
    by more than min_delta."""

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
        if not math.isfinite(value):
            raise TrainingDiverged(f"training diverged at epoch {record['epoch']}: {self.monitor} became {value}")
        if self.improved(value):
            self.best, self.best_epoch, self.wait = float(value), record["epoch"], 0
            return True
        self.wait += 1
        return False

    def state_dict(self) -> dict:
        """The counters, JSON-able."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict returned."""
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], int(state["wait"])


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
        self.stopped_epoch = state["stopped_epoch"]


def build(options: dict | None) -> EarlyStopping | None:
    """The early stopping a config's `training.early_stopping` describes (its YAML keys), or None."""
    return None if options is None else EarlyStopping(**options)
