"""Scoring a checkpoint on a split of the data set it was trained on (`nnctl eval`)."""

from __future__ import annotations

from ..data import SPLITS
from ..engine import metrics
from ..engine.losses import LOSSES
from ..engine.train import evaluate
from ..errors import DataError
from . import checkpoint as checkpoint_module, checkpoint_data


def evaluate_checkpoint(path, split: str = "test", data=None) -> dict:
    """Score a checkpoint on a split of its own data set, rebuilt with its seed and preprocessing.

    Classification: loss, accuracy, macro_f1, per-class scores, confusion matrix and, for two
    classes, roc_auc. Regression: loss, mae, rmse and r2 (mae and rmse in the target's units).
    `split` "all": every row (train, val and test); "test" of a model trained without a test split
    (data.test_fraction 0): every row of `data`. `data`: a file (or MNIST folder) read in place
    of the checkpoint's, with its data settings; for a built-in data set, a CSV (target last) or
    .npz file of its features.
    A file the checkpoint alone names is opened only inside its run folder (DataError otherwise;
    see checkpoint_data.py); `data` for a data set not read from a file raises ValueError.
    """
    ckpt = checkpoint_module.load(path)
    dataset = checkpoint_data.load(ckpt, data)
    if split == "test" and getattr(ckpt.config.data, "test_fraction", None) == 0:
        if data is None:
            raise DataError(f"{path}: the model was trained without a test split (data.test_fraction: 0): score it "
                            f"on a file with --data FILE (every row of it), or on --split val or train")
        split = "all"  # a file given to a model that held out no test rows is its test set, whole
    if split == "all":  # every row of the data set: a new labelled file scored whole
        import numpy as np

        parts = [dataset.split(name) for name in SPLITS]
        x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    else:
        x, y = dataset.split(split)
    scores = evaluate(ckpt.model, LOSSES[ckpt.config.loss], x, y, task=dataset.task, target_scale=dataset.target_scale)
    result = {"checkpoint": str(path), "epoch": ckpt.epoch, "split": split, "task": dataset.task, "n": len(y),
              **{k: v for k, v in scores.items() if k != "out"}}
    if dataset.notes:  # a CSV's cells filled in, and values training never saw (over every row read)
        result["notes"] = [{"kind": kind, "text": text} for kind, text in dataset.notes]
    if dataset.task == "regression":
        return result
    result["classes"] = ckpt.classes
    if len(y):
        cm = metrics.confusion_matrix(y, metrics.predicted_classes(scores["out"]), len(ckpt.classes))
        result["macro_f1"] = metrics.macro_f1(cm)
        if len(ckpt.classes) == 2:
            out = scores["out"]
            result["roc_auc"] = metrics.roc_auc(y, out[:, -1])  # the positive class's probability
        result["per_class"] = metrics.per_class(cm)
        result["confusion_matrix"] = cm.tolist()
    return result
