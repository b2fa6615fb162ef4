"""Learning-rate schedules, keyed by the YAML word. Epochs count from 1.

`lr(epoch, base_lr)` gives the rate for an epoch from the optimizer's configured `lr`; the
training loop sets it before the epoch and logs it. `update(record)` sees the finished epoch
(only reduce_on_plateau uses it). Each keeps its position in `state_dict()` for a resumed run.
"""

from __future__ import annotations

import math

from .callbacks import Monitor, saved_number


class Schedule:
    """Stateless schedules: nothing to update or save."""

    def lr(self, epoch: int, base_lr: float) -> float:
        raise NotImplementedError

    def update(self, record: dict) -> None:
        """See the finished epoch's record."""

    def state_dict(self) -> dict:
        """Position of the schedule, JSON-able."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict returned."""


class Constant(Schedule):
    """lr = base_lr"""

    def lr(self, epoch, base_lr):
        return base_lr


class Step(Schedule):
    """lr = base_lr * gamma ** ((epoch - 1) // step_size): cut by gamma every step_size epochs."""

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        self.step_size, self.gamma = step_size, gamma

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** ((epoch - 1) // self.step_size)


class Exponential(Schedule):
    """lr = base_lr * gamma ** (epoch - 1)"""

    def __init__(self, gamma: float = 0.95):
        self.gamma = gamma

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch - 1)


class InverseTime(Schedule):
    """lr = base_lr / (1 + decay * (epoch - 1))"""

    def __init__(self, decay: float = 0.1):
        self.decay = decay

    def lr(self, epoch, base_lr):
        return base_lr / (1 + self.decay * (epoch - 1))


class Cosine(Schedule):
    """Linear warm-up over warmup_epochs (each below base_lr), then half a cosine from base_lr
    down towards min_lr::

        epoch <= warmup_epochs:  lr = base_lr * epoch / (warmup_epochs + 1)
        otherwise:               t = (epoch - warmup_epochs - 1) / (epochs - warmup_epochs)
                                 lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * t)) / 2
    """

    def __init__(self, epochs: int, warmup_epochs: int = 0, min_lr: float = 0.0):
        self.epochs, self.warmup_epochs, self.min_lr = epochs, warmup_epochs, min_lr

    def lr(self, epoch, base_lr):
        if epoch <= self.warmup_epochs:
            return base_lr * epoch / (self.warmup_epochs + 1)
        t = min(1.0, (epoch - self.warmup_epochs - 1) / max(1, self.epochs - self.warmup_epochs))
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * t)) / 2


class ReduceOnPlateau(Schedule):
    """Multiply the rate by `factor` when `monitor` has not improved by more than min_delta for
    `patience` epochs, never below min_lr (and never above lr: a min_lr above it changes nothing);
    the wait starts again after each cut."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", factor: float = 0.1, patience: int = 5,
                 min_delta: float = 0.0, min_lr: float = 0.0):
        self.watch = Monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.min_lr = factor, patience, min_lr
        self.scale = 1.0  # product of the cuts so far

    def lr(self, epoch, base_lr):
        # only ever lowers the rate (torch's and Keras' rule): a min_lr above lr leaves lr as it is
        return min(base_lr, max(base_lr * self.scale, self.min_lr))

    def update(self, record):
        self.watch.update(record)
        if self.watch.wait >= self.patience:
            self.scale *= self.factor
            self.watch.wait = 0

    def state_dict(self):
        return {"scale": self.scale, **self.watch.state_dict()}

    def load_state_dict(self, state):
        self.scale = saved_number(state, "scale", low=0.0)
        self.watch.load_state_dict(state)


SCHEDULES = {"constant": Constant, "step": Step, "exponential": Exponential, "inverse_time": InverseTime,
             "cosine": Cosine, "reduce_on_plateau": ReduceOnPlateau}


def build(options: dict) -> Schedule:
    """The schedule a config's `training.schedule` names, from its YAML keys (name and options)."""
    options = dict(options)
    return SCHEDULES[options.pop("name")](**options)
