"""Experiment trackers as training callbacks: MLflow and TensorBoard (optional extras).

    trackers = start(cfg, run, model)   # before training: MissingDependency / DataError (exit 5) when unusable
    ... fit(callbacks=[..., *trackers]) ...   # on_train_end: test scores, status, artifacts

The run folder stays the source of truth: a tracker that fails once training has started reports
it once on stderr and is silent afterwards; training goes on. The trackers are in mlflow_tracker.py
and tensorboard_tracker.py, on the common ground of tracker.py.
"""

from __future__ import annotations

from ..engine.callbacks import Callback


def start(cfg, run, model=None, model_writer=None) -> list[Callback]:
    """The trackers `cfg.run.tracking` asks for, each connected (raises before training starts).
    `model`: TensorBoard draws its weights and gradients once per epoch; `model_writer`
    (nnctl.export.mlflow_model.write) makes a finished run's MLflow model."""
    tracking = cfg.run.tracking
    trackers: list[Callback] = []
    try:
        if tracking.mlflow is not None:
            from .mlflow_tracker import MlflowTracker

            trackers.append(MlflowTracker(cfg, run, tracking.mlflow, model_writer))
        if tracking.tensorboard:
            from .tensorboard_tracker import TensorBoardTracker

            trackers.append(TensorBoardTracker(cfg, run, model))
    except BaseException:
        end(trackers, run)  # the ones already started are ended as the run is
        raise
    return trackers


def end(trackers, run) -> None:
    """Close every tracker with the run's outcome (run.json's status and test scores): the ones
    started before another failed to (a run ends them through Callback.on_train_end)."""
    for tracker in trackers:
        tracker.end(run)
