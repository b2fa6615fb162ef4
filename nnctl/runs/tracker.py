"""What every tracker shares: the base class whose hooks never stop training, an epoch record's
numbers, and a config flattened into dotted keys (MLflow's params, TensorBoard's hparams)."""

from __future__ import annotations

import contextlib
import math
import sys

from ..engine.callbacks import Callback


def numbers(record: dict) -> dict[str, float]:
    """An epoch record's finite numbers (the epoch itself is the step)."""
    return {k: float(v) for k, v in record.items() if k != "epoch" and isinstance(v, (int, float))
            and not isinstance(v, bool) and math.isfinite(v)}


def flatten(value, prefix: str = "") -> dict[str, str]:
    """A nested config as dotted keys (list items by index): MLflow's params."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(value, (list, tuple)):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}{i}."))
        return out
    return {prefix[:-1]: str(value)}


class Guarded(Callback):
    """A tracker's hooks: once one fails mid-run, say so once on stderr and do nothing more."""

    label = "tracker"
    afterwards = ""  # what the user can do about it, said after the failure

    def __init__(self, run):
        self.run, self.broken = run, False

    def on_train_end(self, status, error):
        self.end(self.run)  # after run.json says how the run ended (see runs/training.py's end order)

    def end(self, run) -> None:
        """Publish how `run` ended (run.json's status and test scores), and close."""

    @contextlib.contextmanager
    def guarded(self):
        if self.broken:
            yield False
            return
        try:
            yield True
        except Exception as e:  # noqa: BLE001 - a tracker never stops training
            self.broken = True
            print(f"nnctl: {self.label} failed ({self.describe(e)}); training goes on without it (the run folder "
                  f"has everything){self.afterwards}", file=sys.stderr)

    def describe(self, error: Exception) -> str:
        """The error in a few words, for the one line that reports it."""
        text = str(error).strip().splitlines()
        return f"{type(error).__name__}{': ' + text[0][:200] if text else ''}"
