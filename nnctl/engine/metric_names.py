"""The one table of metric names: which scores each task has, which way each is better, and the
splits' prefixes (`val_accuracy` is the validation split's accuracy).

The schema's monitor names, the sweep's metrics, the run folder's best keys, the training screen's
columns, the trackers' metrics and `nnctl runs` all derive from SCORES; the scorers that compute
them are in metrics.py. No NumPy here: the CLI reads these names before it imports any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    """One score of a task: its name (in records `train_<name>`, `val_<name>`, `test_<name>`), which
    way it improves, its column head on the training screen, whether the training batches keep a
    running one (train_<name>: the others are scored on whole splits only), and whether it is one
    of the few that sum a run up in a table of runs (`nnctl runs`)."""

    name: str
    mode: str  # "min" or "max"
    head: str
    train: bool = False
    brief: bool = False


# The one table of metric names: the scores each task logs, in the order its records hold them.
# The schema's monitor names, the sweep's metrics, the run folder's best keys, the training screen's
# columns, the trackers' metrics and `nnctl runs` all derive from it.
SCORES = {
    "classification": (Score("loss", "min", "loss", train=True),
                       Score("accuracy", "max", "acc", train=True, brief=True)),
    "regression": (Score("loss", "min", "loss", train=True), Score("mae", "min", "mae", train=True, brief=True),
                   Score("rmse", "min", "rmse"), Score("r2", "max", "r2", brief=True)),
}
TASKS = tuple(SCORES)
SPLITS = ("train", "val", "test")  # the prefixes: `val_accuracy` is the validation split's accuracy
MAXIMISED = tuple(dict.fromkeys(s.name for scores in SCORES.values() for s in scores if s.mode == "max"))


def split_scores(split: str, task: str | None = None) -> tuple[Score, ...]:
    """The scores `split` has for `task` (every task's, each once, for None): the training split
    keeps only the running ones."""
    scores = SCORES[task] if task is not None else dict.fromkeys(s for t in TASKS for s in SCORES[t])
    return tuple(s for s in scores if s.train or split != "train")


def names(split: str, task: str | None = None) -> tuple[str, ...]:
    """The record keys of `split`'s scores for `task` (of every task, for None): val_loss, val_accuracy ..."""
    return tuple(f"{split}_{s.name}" for s in split_scores(split, task))


def epoch_names(task: str | None = None) -> tuple[str, ...]:
    """The scores of an epoch's record, in its order: the training split's, then the validation split's."""
    return names("train", task) + names("val", task)


MONITORED = names("val") + names("train")  # what early stopping and plateau schedules can watch


def head(key: str) -> str:
    """A record key's column head on screen: the split's prefix and the score's head (val_accuracy -> val_acc)."""
    split, _, name = key.partition("_")
    score = next((s for t in TASKS for s in SCORES[t] if s.name == name), None)
    return key if split not in SPLITS or score is None else f"{split}_{score.head}"


def listed(keys: Iterable[str]) -> str:
    """Names as a sentence lists them: `val_loss, val_mae or val_r2`."""
    keys = list(keys)
    return keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} or {keys[-1]}"


def default_monitor(validation: bool) -> str:
    """What 'the best epoch' means without early stopping: the lowest validation loss, or the
    lowest training loss when there is no validation split."""
    return "val_loss" if validation else "train_loss"


def better(metric: str) -> str:
    """Which way `metric` improves: 'max' for accuracy and r2 (of any split: val_accuracy, test_r2),
    'min' for losses and errors. The one place that says so."""
    return "max" if metric.endswith(MAXIMISED) else "min"


def task_of(scores: Mapping[str, object]) -> str | None:
    """The task whose own scores (not the loss every task has) appear among the keys of `scores`,
    with or without a split's prefix; None when there are none."""
    keys = {k.split("_", 1)[1] if k.startswith(tuple(f"{s}_" for s in SPLITS)) else k for k in scores}
    shared = set.intersection(*({s.name for s in SCORES[t]} for t in TASKS))
    return next((t for t in TASKS if keys & ({s.name for s in SCORES[t]} - shared)), None)
