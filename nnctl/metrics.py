"""Classification metrics as pure functions of predicted and true class indices."""

import numpy as np


def predicted_classes(out: np.ndarray) -> np.ndarray:
    """Class indices from outputs: argmax over k > 1 columns, threshold 0.5 on a single column."""
    if out.shape[1] == 1:
        return (out[:, 0] > 0.5).astype(np.int64)
    return out.argmax(axis=1)


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
