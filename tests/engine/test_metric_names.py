"""The one table of metric names (engine.metric_names): every list of them derives from it, and
the training loop's records hold exactly its scores, in its order."""

from types import SimpleNamespace

import numpy as np
import pytest

from nnctl.engine import metric_names, metrics
from nnctl.engine.losses import LOSSES
from nnctl.engine.model import build
from nnctl.engine.optimizers import SGD
from nnctl.engine.train import fit


def toy(task):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = rng.integers(0, 3, 40) if task == "classification" else x[:, 0] * 2 + 1
    return SimpleNamespace(x_train=x[:30], y_train=y[:30], x_val=x[30:], y_val=y[30:], task=task, target_scale=2.0)


@pytest.mark.parametrize(
    "task, output, loss",
    [
        ("classification", dict(units=3, activation="softmax"), "cross_entropy"),
        ("regression", dict(units=1, activation="linear"), "mse"),
    ],
)
def test_an_epoch_record_holds_the_tables_scores_in_its_order(task, output, loss):
    model = build([dict(units=4, activation="relu"), output], 3, np.random.default_rng(1), "float32")
    record = fit(model, LOSSES[loss], SGD(lr=0.01), toy(task), epochs=1, batch_size=8, shuffle=True, seed=0)[0]
    assert tuple(record) == ("epoch", *metric_names.epoch_names(task), "lr", "seconds")
    assert metric_names.task_of(record) == task


def test_the_lists_that_derive_from_the_table():
    from nnctl.config.schema import MONITOR_NAMES
    from nnctl.runs.tensorboard_tracker import SCALARS
    from nnctl.sweep.spec import METRIC_MODES

    assert MONITOR_NAMES == (
        "val_loss",
        "val_accuracy",
        "val_mae",
        "val_rmse",
        "val_r2",
        "train_loss",
        "train_accuracy",
        "train_mae",
    )
    assert METRIC_MODES == {
        "val_loss": "min",
        "val_accuracy": "max",
        "val_mae": "min",
        "val_rmse": "min",
        "val_r2": "max",
    }
    assert set(SCALARS) == {*metric_names.epoch_names(), "lr"} and SCALARS["val_r2"] == ("validation", "epoch_r2")
    assert metric_names.names("test", "regression") == ("test_loss", "test_mae", "test_rmse", "test_r2")


def test_direction_task_and_heads():
    assert [metric_names.better(m) for m in ("val_accuracy", "test_r2", "train_mae", "val_loss")] == [
        "max",
        "max",
        "min",
        "min",
    ]
    assert metric_names.task_of({"val_loss": 1.0, "train_loss": 1.0}) is None  # the loss is every task's
    assert (
        metric_names.task_of({"r2": 0.5}) == "regression" and metric_names.task_of({"accuracy": 1}) == "classification"
    )
    assert metric_names.head("val_accuracy") == "val_acc" and metric_names.head("epochs") == "epochs"
    assert metric_names.listed(["a", "b", "c"]) == "a, b or c"


def test_the_classification_scorer_counts_as_the_plain_expression():
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(10, 4)).astype("float32"), rng.integers(0, 4, 10)
    scorer = metrics.ClassificationScorer(10, outputs=None, total=3)
    scorer.update(z, y)
    assert scorer.total == 3 + int((z.argmax(axis=1) == y).sum())
    assert scorer.record(20) == {"accuracy": scorer.total / 20}
    one = metrics.ClassificationScorer(10, outputs=lambda z: 1 / (1 + np.exp(-z)))  # a single logit: its sigmoid
    one.update(np.array([[2.0], [-1.0], [0.5]]), np.array([1, 1, 0]))
    assert one.total == 1


def test_the_regression_scorer_reports_in_the_targets_units():
    scorer = metrics.RegressionScorer(4, outputs=None)
    scorer.update(np.array([[1.0], [2.0]]), np.array([0.5, 3.0]))
    assert scorer.record(2, target_scale=10.0) == {"mae": pytest.approx(7.5)}
    scores = metrics.RegressionScorer.scores(np.array([0.0, 2.0]), np.array([[1.0], [1.0]]), target_scale=3.0)
    assert scores == {"mae": 3.0, "rmse": 3.0, "r2": 0.0}
    assert metrics.RegressionScorer.scores(np.array([]), None) == {"mae": None, "rmse": None, "r2": None}
