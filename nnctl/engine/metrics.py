"""Metrics as pure functions: classification from predicted and true class indices (and scores for
ROC AUC), regression from predicted and true values; and the scorer of each task that the training
loop and evaluation use (the scores' names: metric_names.SCORES)."""

from __future__ import annotations

import numpy as np

from . import kernels


def predicted_classes(out: np.ndarray) -> np.ndarray:
    """Class indices from outputs: argmax over k > 1 columns, threshold 0.5 on a single column."""
    if out.shape[1] == 1:
        return (out[:, 0] > 0.5).astype(np.int64)
    return out.argmax(axis=1)


def count_correct(z: np.ndarray, y: np.ndarray, predicted: np.ndarray, hits: np.ndarray) -> int:
    """How many rows of z (batch, classes > 1) have their largest value at y's class: a training
    batch's right answers, from its logits (their argmax is the softmax's). `predicted` and `hits`
    are reused arrays of at least len(z) rows for NumPy's three passes; where the kernels are
    loaded, one compiled pass instead."""
    m = len(z)
    jit = kernels.if_loaded()
    if jit is not None and z.dtype.kind == "f" and y.dtype.kind in "iu" and z.flags.c_contiguous:
        return int(jit.count_correct(z, y))
    return int(np.count_nonzero(np.equal(np.argmax(z, axis=1, out=predicted[:m]), y, out=hits[:m])))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of rows predicted right (NaN for no rows)."""
    return float((y_true == y_pred).mean()) if len(y_true) else float("nan")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts; row = true class, column = predicted class."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class(cm: np.ndarray) -> dict:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where undefined)."""
    tp = np.diag(cm).astype(float)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(), "support": support.tolist()}


def macro_f1(cm: np.ndarray) -> float:
    """The unweighted mean of the per-class F1 scores: every class counts the same."""
    return float(np.mean(per_class(cm)["f1"]))


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve for a binary task: the probability that a random positive scores
    above a random negative (ties count half), from the ranks (Mann-Whitney U). None with one class."""
    y_true = np.asarray(y_true)
    n_pos = int((y_true == 1).sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    _values, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2  # 1-based ranks, tied scores share their mean rank
    ranks = average_rank[inverse]
    return float((ranks[y_true == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """mae, rmse and r2 (1 - residual / total sum of squares; None for a constant target)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if len(y_true) == 0:
        return {"mae": None, "rmse": None, "r2": None}
    diff = y_pred - y_true
    total = float(((y_true - y_true.mean()) ** 2).sum())
    r2 = 1 - float((diff * diff).sum()) / total if total > 0 else None
    return {"mae": float(np.abs(diff).mean()), "rmse": float(np.sqrt((diff * diff).mean())), "r2": r2}


class ClassificationScorer:
    """The accuracy of a classifier: a running count of the training batches' right answers
    (`update` on each batch's logits, `record` at the epoch's end), and `scores` of a whole split."""

    task = "classification"

    def __init__(self, batch_size: int, outputs, total: float = 0):
        """`outputs`: the model's outputs from the logits the loop holds (a single logit needs its
        sigmoid); `total`: the count of the epoch's rows done before (a resumed position's)."""
        self.outputs, self.total = outputs, total
        # reused per batch: for a network of a few thousand parameters the step is Python overhead
        self.predicted, self.hits = np.empty(batch_size, np.int64), np.empty(batch_size, bool)

    def update(self, z: np.ndarray, y: np.ndarray) -> None:
        """Count the batch's right answers: z (batch, outputs) are its logits, y its classes."""
        if z.shape[1] > 1:  # the argmax of the logits is the softmax's
            self.total += count_correct(z, y, self.predicted, self.hits)
        else:
            self.total += int((predicted_classes(self.outputs(z)) == y).sum())

    def record(self, n_rows: int, target_scale: float = 1.0) -> dict:
        """The running scores of an epoch of `n_rows` training rows, by name."""
        return {"accuracy": self.total / n_rows}

    @staticmethod
    def scores(y: np.ndarray, out: np.ndarray | None, target_scale: float = 1.0) -> dict:
        """The scores of the outputs `out` of a whole split (None for no rows)."""
        return {"accuracy": None if out is None else accuracy(y, predicted_classes(out))}


class RegressionScorer:
    """The errors of a regressor: a running sum of the training batches' absolute errors (the mae,
    times target_scale: in the target's units), and mae, rmse and r2 of a whole split."""

    task = "regression"

    def __init__(self, batch_size: int, outputs, total: float = 0.0):
        self.total = total

    def update(self, z: np.ndarray, y: np.ndarray) -> None:
        """Add the batch's absolute errors: z (batch, 1) its outputs, y (batch,) its targets."""
        self.total += float(np.abs(z[:, 0] - y).sum())

    def record(self, n_rows: int, target_scale: float = 1.0) -> dict:
        return {"mae": self.total / n_rows * target_scale}

    @staticmethod
    def scores(y: np.ndarray, out: np.ndarray | None, target_scale: float = 1.0) -> dict:
        if out is None:
            return {"mae": None, "rmse": None, "r2": None}
        scores = regression_scores(y, out)
        return scores | {"mae": scores["mae"] * target_scale, "rmse": scores["rmse"] * target_scale}


SCORERS: dict[str, type[ClassificationScorer | RegressionScorer]] = {
    "classification": ClassificationScorer, "regression": RegressionScorer}
