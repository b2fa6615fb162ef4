"""The pictures of a run folder: what to draw for which data set, from memory or from the files.

`draw` is called by training with the model in memory; `plot_run` redraws the same files from a
run folder's metrics.jsonl and checkpoint.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import data as data_module
from ..engine import metrics
from ..engine.losses import LOSSES
from ..engine.train import evaluate
from ..errors import CheckpointError
from . import checkpoint as checkpoint_module
from .folder import read_metrics

FILES = {"curves": "curves.png", "gradients": "gradient_flow.png", "confusion": "confusion_matrix.png",
         "boundary": "decision_boundary.png",
         "misclassified": "misclassified.png"}


def draw(folder, history: list[dict], best_epoch, model, loss_name: str, dataset, classes: list) -> list[str]:
    """Write the run's PNGs into `folder`; return their paths.

    Always the learning curves, the gradient flow (when the run logged its per-layer gradient
    norms) and the test split's confusion matrix; the decision boundary for
    data sets of two features; a grid of misclassified images for image data sets.
    """
    from . import plots  # matplotlib is imported only here, when something is drawn

    folder = Path(folder)
    written = []
    plots.learning_curves(history, best_epoch, folder / FILES["curves"])
    written.append(folder / FILES["curves"])
    if plots.gradient_flow(history, weighted_layers(model), folder / FILES["gradients"]):  # none before the diagnostics
        written.append(folder / FILES["gradients"])
    x, y = dataset.x_test, dataset.y_test
    if len(y) == 0 or dataset.task != "classification":  # the other pictures are about classes
        return [str(p) for p in written]
    out = evaluate(model, LOSSES[loss_name], x, y)["out"]
    predicted = metrics.predicted_classes(out)
    cm = metrics.confusion_matrix(y, predicted, len(classes))
    plots.confusion_matrix(cm, classes, folder / FILES["confusion"],
                           title=f"test split: accuracy {metrics.accuracy(y, predicted):.4f} (n={len(y)})")
    written.append(folder / FILES["confusion"])
    if x.shape[1] == 2:  # moons, circles, blobs of two features, a user's 2-column file
        raw = unscale(x, dataset.preprocessing)

        def predict_classes(points):
            scaled = data_module.apply_preprocessing(points, dataset.preprocessing, x.dtype.name)
            return metrics.predicted_classes(model.predict(scaled))

        plots.decision_boundary(predict_classes, raw, y, classes, folder / FILES["boundary"])
        written.append(folder / FILES["boundary"])
    if dataset.image_shape is not None:
        # per-pixel standard scaling would show each pixel on its own scale: draw the raw pixels
        images = unscale(x, dataset.preprocessing)
        plots.misclassified_images(images, y, predicted, classes, dataset.image_shape, folder / FILES["misclassified"])
        written.append(folder / FILES["misclassified"])
    return [str(p) for p in written]


def weighted_layers(model) -> list[str]:
    """The model's layers with parameters, in order (`layers.0`, `layers.2`, ...)."""
    return list(dict.fromkeys(name.rsplit(".", 1)[0] for name in model.params()))


def unscale(x: np.ndarray, preprocessing: dict) -> np.ndarray:
    """Scaled rows back in the data set's own units (float64), so pictures show the user's numbers."""
    x = x.astype(np.float64)
    if preprocessing.get("scaling") == "standard":
        return x * np.asarray(preprocessing["std"]) + np.asarray(preprocessing["mean"])
    if preprocessing.get("scaling") == "pixels":
        return x * preprocessing["scale"]
    return x


def plot_run(run_dir, data=None) -> list[str]:
    """Redraw a run folder's PNGs from its metrics.jsonl and checkpoint.json; `data` replaces the
    checkpoint's data file (a file outside the run folder must be given so: nnctl.runs.checkpoint_data)."""
    from . import checkpoint_data
    from .lookup import resolve

    folder = resolve(run_dir)  # runs/latest: the newest run
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such run folder")  # a missing checkpoint: exit 4, as for every command
    ckpt = checkpoint_module.load(folder / "checkpoint.json")
    history = read_metrics(folder)
    dataset = checkpoint_data.load(ckpt, data)
    return draw(folder, history, ckpt.epoch, ckpt.model, ckpt.config.loss, dataset, ckpt.classes)
