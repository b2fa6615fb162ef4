"""`nnctl doctor`: what a run folder says went wrong, each finding with its evidence and one change to try.

A finding is an entry of FINDINGS, keyed by its code, in order of importance: a check over the
run (run.json, metrics.jsonl, config.yaml and, when `data` is on, the checkpoint's predictions on
the data eval may open) that returns None or the evidence. Checks that read per-layer columns of
metrics.jsonl (`layers.1.dead_fraction`, ...) find nothing when a run has no such columns. The
numbers the checks compare against are named constants below, so docs/doctor.md can quote them.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine import metric_names
from ..engine.divergence import lr_advice
from ..errors import CheckpointError, NnctlError
from .folder import metrics_lines, read_member

WARNING, INFO = "warning", "info"

JUMP = 0.1  # a rise of the training loss larger than this share of the chance-level loss is a jump
JUMPS = 2  # ... and this many of them (or one explosion) say the rate is too high
EXPLODED = 10.0  # a training loss this many times the chance-level loss has exploded
STALLED = 0.05  # a training loss that fell less than this share of its first value did not move
RISING = 1.25  # validation loss (smoothed) this many times its minimum, 3 epochs or more after it
GAP = 0.10  # train accuracy this far above validation accuracy (regression: val loss 2x train loss)
IMPROVING = 0.10  # the monitored loss fell by this share over the last fifth of the epochs
PERFECT = 0.99  # a validation accuracy (or r2) above which more training gains nothing
FAR = 0.05  # test and validation accuracy this far apart (regression: r2 0.1 apart)
ONE_CLASS = 0.95  # share of the rows predicted as one class
IMBALANCE = 3.0  # largest class this many times the smallest
DEAD = 0.5  # share of a relu layer's units that never fire
SATURATED = 0.5  # share of a sigmoid/tanh layer's outputs at their limits
RATIO_HIGH, RATIO_LOW = 1e-2, 1e-5  # update/weight ratio; about 1e-3 is healthy
VANISHING = 1e-3  # first layer's gradient norm below this share of the last layer's
EARLY_STOPPING_PATIENCE = 10  # nnctl's default, for "would have stopped at epoch ..."

LAYER_COLUMN = re.compile(r"^(layers\.\d+)\.(dead_fraction|saturated_fraction|update_ratio|grad_norm|weight_norm)$")


@dataclass
class RunView:
    """What the checks read: run.json, the readable rows of metrics.jsonl, the config, and (when
    the data could be opened) the split sizes, class counts and predictions of the checkpoint."""

    path: Path
    status: dict
    history: list[dict]
    skipped_rows: int = 0
    config: object = None  # nnctl.config.Config, or None when config.yaml is missing or invalid
    data: dict = field(default_factory=dict)  # sizes, train_counts, predicted (on val or test), split, classes

    @property
    def task(self) -> str:
        classified = any(metric_names.task_of(r) == "classification" for r in self.history)
        return "classification" if classified else "regression"

    def column(self, key: str) -> tuple[list[int], np.ndarray]:
        """(epochs, values) of one metric over the epochs that hold a finite number for it."""
        pairs = [(r["epoch"], float(r[key])) for r in self.history if _finite(r.get(key))]
        return [e for e, _ in pairs], np.array([v for _, v in pairs])

    def row(self, epoch) -> dict | None:
        return next((r for r in self.history if r.get("epoch") == epoch), None)

    def chance_loss(self) -> float:
        """The loss of a model that knows nothing: log(classes) for cross-entropy, 1 for a
        standardised regression target."""
        if self.task == "regression":
            return 1.0
        n = len(self.data.get("classes") or []) or _n_classes(self.config) or 2
        return math.log(max(n, 2))


def _finite(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _n_classes(cfg) -> int | None:
    if cfg is None:
        return None
    try:
        from .. import data as data_module

        return data_module.spec(cfg.data).n_classes or None
    except (NnctlError, KeyError, AttributeError):
        return None


def _lr(view: RunView, epoch=None) -> str:
    row = view.row(epoch) if epoch is not None else (view.history[-1] if view.history else None)
    lr = row.get("lr") if row else None
    if not _finite(lr) and view.config is not None:
        lr = view.config.optimizer.lr
    return f"{lr:g}" if _finite(lr) else "?"


# ---- the checks: each returns None, or a dict with `evidence` (and optionally severity, advice)


def check_failed(view: RunView):
    status = view.status.get("status")
    if status in ("diverged", "failed"):
        error = str(view.status.get("error") or "no message")
        return {"evidence": f"run.json: status {status} after {len(view.history)} epochs: {error.split('. Likely')[0]}"}
    return None


def check_lr_too_high(view: RunView):
    epochs, loss = view.column("train_loss")
    if len(loss) < 3:
        return None
    chance = view.chance_loss()
    rises = np.diff(loss)
    jumps = [i + 1 for i in np.flatnonzero(rises > JUMP * chance)]
    exploded = [i for i in range(len(loss)) if loss[i] > EXPLODED * chance]
    if len(jumps) < JUMPS and not exploded:
        return None
    parts = []
    if jumps:
        worst = max(jumps, key=lambda i: rises[i - 1])
        parts.append(f"the training loss jumped up in {len(jumps)} of {len(loss) - 1} epochs, most at epoch "
                     f"{epochs[worst]} ({loss[worst - 1]:.4g} -> {loss[worst]:.4g}, lr {_lr(view, epochs[worst])})")
    if exploded:
        parts.append(f"it reached {loss[exploded[0]]:.4g} at epoch {epochs[exploded[0]]} "
                     f"(a model that knows nothing scores {chance:.3g})")
    first = epochs[jumps[0]] if jumps else epochs[exploded[0]]
    return {"evidence": "; ".join(parts), "epoch": first,
            "advice": lr_advice(_lr(view, first))}


def check_no_progress(view: RunView):
    epochs, loss = view.column("train_loss")
    if len(loss) < 3 or loss[0] <= 0:
        return None
    fell = (loss[0] - loss.min()) / loss[0]
    if fell >= STALLED:
        return None
    return {"evidence": f"the training loss went from {loss[0]:.4g} at epoch {epochs[0]} to {loss[-1]:.4g} at epoch "
                        f"{epochs[-1]} ({fell:.1%} lower at best), lr {_lr(view)}",
            "advice": f"multiply optimizer.lr by 10 (it is {_lr(view)}) or run `nnctl lr-find CONFIG`; if that does "
                      "not help, look at the initializer and at sigmoid/tanh saturation"}


def _smoothed(values: np.ndarray) -> np.ndarray:
    """A running median over 3 epochs (5 from 30 epochs on): one noisy epoch is not a trend."""
    w = 5 if len(values) >= 30 else 3
    half = w // 2
    return np.array([np.median(values[max(0, i - half):i + half + 1]) for i in range(len(values))])


def check_overfitting(view: RunView):
    epochs, val = view.column("val_loss")
    if len(val) < 5:
        return None
    smooth = _smoothed(val)
    low = int(np.argmin(smooth))
    best = int(np.argmin(val))
    if smooth[-1] < RISING * smooth[low] or len(val) - 1 - best < 3:
        return None
    t_epochs, train = view.column("train_loss")
    at = {e: v for e, v in zip(t_epochs, train)}
    if epochs[best] in at and epochs[-1] in at and at[epochs[-1]] > 0.9 * at[epochs[best]]:
        return None  # the training loss did not fall either: not overfitting (the rate, usually)
    last = view.history[-1]
    if view.task == "classification" and _finite(last.get("train_accuracy")) and _finite(last.get("val_accuracy")):
        gap = last["train_accuracy"] - last["val_accuracy"]
        far, scores = gap >= GAP, (f"train accuracy {last['train_accuracy']:.3f} against validation "
                                   f"{last['val_accuracy']:.3f} at epoch {last['epoch']}")
    else:
        far = _finite(last.get("train_loss")) and last["train_loss"] > 0 and val[-1] >= 2 * last["train_loss"]
        scores = f"train loss {last.get('train_loss', float('nan')):.4g} against validation {val[-1]:.4g}"
    n, stop = epochs[best], epochs[best] + EARLY_STOPPING_PATIENCE
    stopping = (getattr(view.config.training, "early_stopping", None) if view.config is not None else None)
    if stopping is not None:
        where = f"early stopping (patience {stopping.patience}) is on: a smaller patience stops sooner"
    elif stop < epochs[-1]:
        where = (f"early_stopping: {{patience: {EARLY_STOPPING_PATIENCE}}} would have stopped at epoch {stop} "
                 f"and kept epoch {n}'s weights")
    else:
        where = f"stop at epoch {n} (training.epochs: {n})"
    checkpoint = view.status.get("checkpoint_epoch")
    kept = f"; the checkpoint keeps epoch {checkpoint}" if checkpoint is not None else ""
    return {"severity": WARNING if far else INFO, "epoch": n,
            "evidence": f"validation loss rising since epoch {n} ({val[best]:.4g} -> {val[-1]:.4g} at epoch "
                        f"{epochs[-1]}) while the training loss kept falling; {scores}{kept}",
            "advice": f"add dropout or L2 (l2: 1e-4 on the dense layers), or {where}"}


def check_still_improving(view: RunView):
    if view.status.get("status") not in ("finished", None):
        return None
    key = "val_loss" if view.column("val_loss")[0] else "train_loss"
    epochs, loss = view.column(key)
    if len(loss) < 2 or loss[-1] > loss.min() * 1.02:
        return None
    k = min(max(1, round(0.2 * len(loss))), len(loss) - 1)
    if loss[-1] > (1 - IMPROVING) * loss[-1 - k]:
        return None
    last = view.history[-1]
    score = last.get("val_accuracy", last.get("val_r2"))
    split = "validation"
    if key == "train_loss":  # no validation split: the training accuracy says whether more epochs can gain
        score, split = last.get("train_accuracy"), "training"
    done = _finite(score) and score >= PERFECT
    more = f"training.epochs: {2 * epochs[-1]}"
    return {"severity": INFO if done else WARNING, "epoch": epochs[-1],
            "evidence": f"{key} still falling at the last epoch: {loss[-1 - k]:.4g} at epoch {epochs[-1 - k]} -> "
                        f"{loss[-1]:.4g} at epoch {epochs[-1]} ({1 - loss[-1] / loss[-1 - k]:.0%} lower)"
                        + (f"; the {split} score is already {score:.3f}" if done else ""),
            "advice": f"train longer ({more}); if the training score is low too, a larger network"}


def check_test_far_from_val(view: RunView):
    test = view.status.get("test")
    if not isinstance(test, dict):
        return None
    row = view.row(view.status.get("checkpoint_epoch")) or (view.history[-1] if view.history else None)
    if row is None:
        return None
    sizes = view.data.get("sizes", {})
    n_test, n_val = test.get("n") if type(test.get("n")) is int else sizes.get("test"), sizes.get("val")
    shown = (f"validation {n_val} rows, test {n_test} rows" if n_val is not None else
             f"test {n_test} rows; the validation rows were not counted: the data could not be "
             "read" if n_test is not None
             else "the split sizes are unknown: the data could not be read")
    if "accuracy" in test and _finite(test["accuracy"]) and _finite(row.get("val_accuracy")):
        t, v = test["accuracy"], row["val_accuracy"]
        if abs(t - v) < FAR:
            return None
        severity = INFO
        if n_val and n_test:
            p = (t * n_test + v * n_val) / (n_test + n_val)
            se = math.sqrt(max(p * (1 - p), 1e-12) * (1 / n_val + 1 / n_test))
            severity = WARNING if abs(t - v) > 3 * se else INFO
        name, tv, vv = "accuracy", t, v
    elif _finite(test.get("r2")) and _finite(row.get("val_r2")):
        if abs(test["r2"] - row["val_r2"]) < 2 * FAR:
            return None
        severity, name, tv, vv = INFO, "r2", test["r2"], row["val_r2"]
    else:
        return None
    one = f"; one validation row is {1 / n_val:.1%} of its accuracy" if n_val and name == "accuracy" else ""
    return {"severity": severity,
            "evidence": f"test {name} {tv:.3f} against validation {vv:.3f} at epoch {row['epoch']} ({shown}){one}",
            "advice": "larger splits (data.val_fraction, data.test_fraction), or compare several seeds "
                      "(`nnctl sweep`) before trusting either number"}


def check_one_class(view: RunView):
    predicted, classes = view.data.get("predicted"), view.data.get("classes")
    if predicted is None or not classes or len(predicted["y"]) == 0:
        return None
    y, p = np.asarray(predicted["y"]), np.asarray(predicted["p"])
    top = int(np.bincount(p, minlength=len(classes)).argmax())
    share = float(np.mean(p == top))
    true_share = float(np.mean(y == top))
    if share < ONE_CLASS or true_share > ONE_CLASS:
        return None
    split = view.data["split"]
    return {"evidence": f"the checkpoint predicts class {classes[top]!s} for {share:.0%} of the {len(p)} {split} rows, "
                        f"which hold {true_share:.0%} of it",
            "advice": "the model learnt the class shares, not the features: check the features carry signal "
                      "(data.scaling), raise optimizer.lr, or train longer; with imbalanced classes watch macro F1"}


def check_imbalance(view: RunView):
    counts, classes = view.data.get("train_counts"), view.data.get("classes")
    if counts is None or len(counts) < 2 or min(counts) == 0 and max(counts) == 0:
        return None
    big, small = int(np.argmax(counts)), int(np.argmin(counts))
    if counts[big] < IMBALANCE * max(counts[small], 1):
        return None
    return {"evidence": f"training split: class {classes[big]!s} has {counts[big]} rows, class {classes[small]!s} "
                        f"{counts[small]} ({counts[big] / max(counts[small], 1):.1f}x)",
            "advice": "judge the model by macro F1 and per-class recall (`nnctl eval`), not accuracy alone"}


def _layer_columns(view: RunView, stat: str) -> list[str]:
    """The layers that log `stat` (e.g. dead_fraction), in order: layers.0, layers.1, ...; the
    config's layers only, when it is known (a metrics file may hold any other column)."""
    found = {m.group(1) for r in view.history for k in r if (m := LAYER_COLUMN.match(k)) and m.group(2) == stat}
    if view.config is not None:
        found &= {f"layers.{i}" for i in range(len(view.config.model.layers))}
    return sorted(found, key=lambda name: int(name.split(".")[1]))


def _since(epochs: list[int], values: np.ndarray, threshold: float) -> int | None:
    """The first epoch from which every value is at least `threshold`; None if the last is below it."""
    if not len(values) or values[-1] < threshold:
        return None
    i = len(values) - 1
    while i > 0 and values[i - 1] >= threshold:
        i -= 1
    return epochs[i]


def _share_check(stat: str, threshold: float, what: str):
    """The check that a layer's `stat` stayed at least `threshold` to the last epoch; `what` says
    of what the share is, {units} standing for a dense layer's units or a convolution's filters."""
    def check(view: RunView):
        hits = []
        for layer in _layer_columns(view, stat):
            epochs, values = view.column(f"{layer}.{stat}")
            since = _since(epochs, values, threshold)
            if since is not None:
                hits.append((layer, values[-1], since))
        if not hits:
            return None
        evidence = "; ".join(f"{layer}: {v:.0%} of {what.format(units=_units(view, layer))} since epoch {since}"
                             for layer, v, since in hits)
        return {"evidence": evidence, "epoch": hits[0][2]}
    return check


def _units(view: RunView, layer: str) -> str:
    """What a layer's dead share counts: a convolution's filters (a channel dead at every position), else units."""
    index = int(layer.split(".")[1])
    known = view.config is not None and index < len(view.config.model.layers)
    return "filters" if known and view.config.model.layers[index].type == "conv2d" else "units"


check_dead_units = _share_check("dead_fraction", DEAD, "relu {units} dead")
check_saturation = _share_check("saturated_fraction", SATURATED, "outputs saturated")


def _ratio_check(high: bool):
    def check(view: RunView):
        hits = []
        for layer in _layer_columns(view, "update_ratio"):
            epochs, values = view.column(f"{layer}.update_ratio")
            if not len(values):
                continue
            median = float(np.median(values))
            if (median > RATIO_HIGH) if high else (0 < median < RATIO_LOW):
                beyond = [e for e, v in zip(epochs, values) if (v > RATIO_HIGH if high else v < RATIO_LOW)]
                hits.append((layer, median, beyond[0]))
        if not hits:
            return None
        return {"evidence": "; ".join(f"{layer}: update/weight ratio {m:.2g} (median over the epochs; about 1e-3 "
                                      f"is healthy), from epoch {e}" for layer, m, e in hits)
                            + f"; lr {_lr(view)}", "epoch": hits[0][2]}
    return check


def check_vanishing(view: RunView):
    layers = _layer_columns(view, "grad_norm")
    if len(layers) < 2:
        return None
    first, last = (view.column(f"{name}.grad_norm")[1] for name in (layers[0], layers[-1]))
    if not len(first) or not len(last) or np.median(last) <= 0:
        return None
    ratio = float(np.median(first) / np.median(last))
    if ratio >= VANISHING:
        return None
    return {"evidence": f"gradient norm of {layers[0]} is {ratio:.1e} times that of {layers[-1]} (medians over the "
                        "epochs)"}


def check_data_not_seen(view: RunView):
    why = view.data.get("error")
    if why is None:
        return None
    return {"evidence": f"the validation data could not be read, so the predictions were not checked: {why}",
            "advice": "pass the data file: nnctl doctor RUN_DIR --data FILE"}


@dataclass(frozen=True)
class Finding:
    """One entry of the registry: how serious it usually is, what triggers it (for the docs), the
    change to try, and the check."""

    severity: str
    triggers: str
    advice: str
    check: Callable[[RunView], dict | None]


FINDINGS = {  # most important first
    "diverged": Finding(WARNING, "run.json says the run diverged (NaN or exploding loss or weights) or failed",
                        f"{lr_advice()}; check data.scaling; training.clip_norm",
                        check_failed),
    "lr_too_high": Finding(WARNING, f"the training loss jumps up by more than {JUMP:g}x the chance-level loss in "
                                    f"{JUMPS}+ epochs, or exceeds {EXPLODED:g}x it",
                           lr_advice(), check_lr_too_high),
    "update_ratio_high": Finding(WARNING, f"a layer's update/weight ratio (`layers.N.update_ratio`) above "
                                          f"{RATIO_HIGH:g} (median over the epochs)",
                                 lr_advice(), _ratio_check(high=True)),
    "dead_units": Finding(WARNING, f"at least {DEAD:.0%} of a layer's relu units (a convolution's filters) never "
                                   "fire (`layers.N.dead_fraction`) up to the last epoch",
                          "lower optimizer.lr, initializer: he_normal, or activation: leaky_relu",
                          check_dead_units),
    "no_progress": Finding(WARNING, f"the training loss fell less than {STALLED:.0%} below its first epoch's",
                           "multiply optimizer.lr by 10 or run `nnctl lr-find`; then the initializer and saturation",
                           check_no_progress),
    "update_ratio_low": Finding(WARNING, f"a layer's update/weight ratio below {RATIO_LOW:g} (median over the epochs)",
                                "multiply optimizer.lr by 10", _ratio_check(high=False)),
    "vanishing_gradients": Finding(WARNING, f"the first layer's gradient norm (`layers.N.grad_norm`) below "
                                            f"{VANISHING:g} times the last layer's",
                                   "relu-family activations with initializer: he_normal, or batchnorm layers",
                                   check_vanishing),
    "saturation": Finding(WARNING, f"at least {SATURATED:.0%} of a sigmoid/tanh layer's outputs at their limits "
                                   "(`layers.N.saturated_fraction`) up to the last epoch",
                          "scale the inputs (data.scaling), lower optimizer.lr, or use relu", check_saturation),
    "predicts_one_class": Finding(WARNING, f"the checkpoint predicts one class for {ONE_CLASS:.0%}+ of the validation "
                                           "(or test) rows that hold fewer of it",
                                  "check the features carry signal, raise optimizer.lr or train longer; watch macro F1",
                                  check_one_class),
    "overfitting": Finding(WARNING, f"validation loss {RISING:g}x its minimum 3+ epochs later while the training loss "
                                    f"falls; a warning when train accuracy is {GAP:.0%} above validation, else info",
                           "dropout or L2, or early stopping (the epoch where it would have stopped is given)",
                           check_overfitting),
    "still_improving": Finding(WARNING, f"the last epoch is the best and the loss fell {IMPROVING:.0%}+ over the last "
                                        "fifth of the epochs; info when the validation score (without a validation "
                                        f"split, the training accuracy) is {PERFECT:g}+",
                               "more epochs, or a larger network", check_still_improving),
    "test_far_from_val": Finding(INFO, f"test accuracy {FAR:.0%}+ from the validation accuracy of the checkpoint's "
                                       "epoch; a warning beyond 3 standard errors of the two split sizes",
                                 "larger val/test splits, or several seeds", check_test_far_from_val),
    "class_imbalance": Finding(INFO, f"the training split's largest class is {IMBALANCE:g}x its smallest",
                               "judge by macro F1 and per-class recall (`nnctl eval`)", check_imbalance),
    "data_not_seen": Finding(INFO, "the checkpoint could not be scored on its data (the file changed, moved, or "
                                   "lies outside the run folder without a recorded SHA-256), so the checks of the "
                                   "predictions and the split sizes were skipped",
                             "`nnctl doctor RUN_DIR --data FILE`", check_data_not_seen),
}



def diagnose(view: RunView) -> list[dict]:
    """Every finding the run triggers, warnings first, then in the registry's order."""
    found = []
    for rank, (code, entry) in enumerate(FINDINGS.items()):
        hit = entry.check(view)
        if hit is None:
            continue
        finding = {"code": code, "severity": hit.get("severity", entry.severity), "evidence": hit["evidence"],
                   "advice": hit.get("advice", entry.advice)}
        if hit.get("epoch") is not None:
            finding["epoch"] = int(hit["epoch"])
        found.append((finding["severity"] != WARNING, rank, finding))
    if view.skipped_rows:
        found.append((True, len(FINDINGS), {"code": "unreadable_rows", "severity": INFO,
                                            "evidence": f"metrics.jsonl: {view.skipped_rows} rows could not be read "
                                                        "and were left out",
                                                        "advice": "none: the other rows were used"}))
    return [f for *_, f in sorted(found, key=lambda t: t[:2])]


def read(path, data: bool = True, data_path=None) -> RunView:
    """A run folder as the checks read it. CheckpointError (exit 4) when run.json is missing or not
    a JSON object; unreadable rows of metrics.jsonl are counted and left out. `data_path`: the
    file to score on, as `nnctl eval --data` (a checkpoint's own file is opened only inside its folder).
    `path` may be runs/latest: the newest run (lookup.resolve)."""
    from .lookup import resolve

    path = resolve(path)
    try:
        status = json.loads(_read_text(path, "run.json"))
    except (NnctlError, OSError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: not a readable run folder (run.json: {e})") from None
    if not isinstance(status, dict):
        raise CheckpointError(f"{path}/run.json: not a JSON object")
    try:  # the reader and the rule resume and plot hold the file to; the bad rows counted, not fatal
        lines = metrics_lines(path, CheckpointError, missing_ok=True)
    except (NnctlError, OSError) as e:
        raise CheckpointError(f"{path}/metrics.jsonl: cannot be read: {e}") from None
    history = [row for _, row, problem in lines if problem is None]
    view = RunView(path, status, history, len(lines) - len(history), _config(path))
    if data:
        view.data = _data(path, data_path)
    return view


def _read_text(path: Path, name: str) -> str:
    return read_member(path, name, CheckpointError).decode("utf-8")


def _config(path: Path):
    from .. import config as config_module

    if not os.path.lexists(path / "config.yaml"):
        return None
    try:  # see resume.prepare
        return config_module.load(path / "config.yaml", relative_to=Path.cwd(), follow=False)
    except NnctlError:
        return None


def _data(path: Path, data_path=None) -> dict:
    """Split sizes, training class counts and the checkpoint's predictions on the validation split
    (the test split when there is none), from the data eval may open; {} when that fails."""
    from ..engine.metrics import predicted_classes
    from . import checkpoint, checkpoint_data

    if not os.path.lexists(path / "checkpoint.json"):
        return {}
    try:
        ckpt = checkpoint.load(path / "checkpoint.json")
        dataset = checkpoint_data.load(ckpt, data_path)
    except (NnctlError, OSError, ValueError) as e:
        return {"error": str(e)}
    found = {"sizes": {s: len(getattr(dataset, f"y_{s}")) for s in ("train", "val", "test")}}
    if dataset.task != "classification" or not ckpt.classes:
        return found
    split = "val" if len(dataset.y_val) else "test"
    x, y = dataset.split(split)
    with np.errstate(over="ignore", invalid="ignore"):
        predicted = predicted_classes(ckpt.model.predict(x)) if len(x) else np.zeros(0, np.int64)
    found.update(classes=list(ckpt.classes), split="validation" if split == "val" else split,
                 train_counts=np.bincount(dataset.y_train, minlength=len(ckpt.classes)).tolist(),
                 predicted={"y": np.asarray(y).tolist(), "p": predicted.tolist()})
    return found


def markdown_table() -> str:
    """docs/doctor.md's table of findings, from the registry."""
    lines = ["| code | severity | triggered by | what to try |", "| --- | --- | --- | --- |"]
    lines += [f"| `{code}` | {f.severity} | {f.triggers} | {f.advice} |" for code, f in FINDINGS.items()]
    return "\n".join(lines) + "\n"
