"""The pictures of a run, drawn with matplotlib's Agg backend on figures that never touch pyplot.

Importing this module imports matplotlib, so only the code that draws imports it. Each function
takes plain arrays and a path, and writes one PNG atomically.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..engine import metric_names
from ..files import atomic_write

DPI = 100
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
BACKGROUND_MIX = 0.3  # share of the class colour in a decision region; the rest is white
BOUNDARY_FIGSIZE = (7.0, 5.5)
BOUNDARY_AXES = (0.1, 0.1, 0.65, 0.8)  # left, bottom, width, height as fractions of the figure


def class_colour(k: int) -> tuple:
    return to_rgb(PALETTE[k % len(PALETTE)])


def region_colour(k: int) -> np.ndarray:
    """The light colour of class k's decision region."""
    return 1 - BACKGROUND_MIX * (1 - np.array(class_colour(k)))


def _save(fig: Figure, path) -> None:
    FigureCanvasAgg(fig)  # the Agg canvas renders the PNG; no GUI backend is ever loaded
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    atomic_write(path, buffer.getvalue())


def learning_curves(history: list[dict], best_epoch: int | None, path) -> None:
    """Loss and accuracy (mae for regression) per epoch, train against validation, with the best epoch marked."""
    fig = Figure(figsize=(10, 4))
    epochs = [r["epoch"] for r in history]
    task = metric_names.task_of(history[0]) if history else None
    second = next(s.name for s in metric_names.split_scores("train", task) if s.name != "loss")  # accuracy or mae
    for ax, metric in zip(fig.subplots(1, 2), ("loss", second)):
        for split, style in (("train", "-"), ("val", "--")):
            points = [(e, r[f"{split}_{metric}"]) for e,
                      r in zip(epochs, history) if r.get(f"{split}_{metric}") is not None]
            if points:
                ax.plot(*zip(*points), style, marker="o" if len(points) < 30 else None, markersize=3,
                        label="validation" if split == "val" else "train")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="#2ca02c", linestyle=":", label=f"best epoch ({best_epoch})")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def gradient_flow(history: list[dict], layers: list[str], path) -> bool:
    """The gradient norm (`layers.N.grad_norm`) per epoch of each of `layers` (the model's, in
    order), log scale: vanishing or exploding gradients show as lines far apart or running away.
    False (nothing drawn) for a run that logged no such column. Only the model's own layers are
    looked up: a metrics file may hold any number of other columns."""
    columns = [layer for layer in layers if any(f"{layer}.grad_norm" in r for r in history)]
    if not columns:
        return False
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    drawn = False
    for layer in columns:
        points = [(r["epoch"], r[f"{layer}.grad_norm"]) for r in history if (r.get(f"{layer}.grad_norm") or 0) > 0]
        if points:
            ax.plot(*zip(*points), marker="o" if len(points) < 30 else None, markersize=3, label=layer)
            drawn = True
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("gradient norm of W")
    ax.set_title("gradient flow")
    ax.grid(alpha=0.3, which="both")
    if drawn:
        ax.legend()
    fig.tight_layout()
    _save(fig, path)
    return True


def confusion_matrix(cm: np.ndarray, classes: list, path, title: str = "test split") -> None:
    """Counts of true (rows) against predicted (columns) classes, darker for more."""
    n = len(classes)
    side = max(4.5, 0.55 * n + 2)
    fig = Figure(figsize=(side + 1, side))
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    labels = [str(c) for c in classes]
    long_labels = max(map(len, labels)) > 3
    ax.set_xticks(range(n), labels, rotation=45 if long_labels else 0, ha="right" if long_labels else "center")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if n <= 30:
        threshold = cm.max() / 2 if cm.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=11 if n <= 10 else 8,
                        color="white" if cm[i, j] > threshold else "black")
    fig.tight_layout()
    _save(fig, path)


def boundary_grid(predict_classes, x: np.ndarray, resolution: int = 200, margin: float = 0.1):
    """The class `predict_classes` gives at every cell centre of a grid over x's range (plus a margin).

    Returns (xs, ys, classes): xs (resolution,), ys (resolution,) cell centres, classes (resolution, resolution)
    with classes[i, j] the class at (xs[j], ys[i]).
    """
    low, high = x.min(axis=0), x.max(axis=0)
    pad = (high - low) * margin + 1e-9
    low, high = low - pad, high + pad
    step = (high - low) / resolution
    xs = low[0] + step[0] * (np.arange(resolution) + 0.5)
    ys = low[1] + step[1] * (np.arange(resolution) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    classes = predict_classes(np.column_stack([gx.ravel(), gy.ravel()])).reshape(resolution, resolution)
    return xs, ys, classes


def decision_boundary(predict_classes, x: np.ndarray, y: np.ndarray, classes: list, path,
                      feature_names=("feature 1", "feature 2"), resolution: int = 200) -> dict:
    """The decision regions of a 2-D classifier with the points (x, y) on top.

    Returns the grid that was drawn (xs, ys, classes) and where the plot area lies in the
    image (`axes_pixels`: left, top, right, bottom), so the picture can be read back.
    """
    xs, ys, grid = boundary_grid(predict_classes, x, resolution)
    fig = Figure(figsize=BOUNDARY_FIGSIZE)
    ax = fig.add_axes(BOUNDARY_AXES)
    colours = np.array([region_colour(k) for k in range(len(classes))])
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    extent = (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)
    ax.imshow(colours[grid], origin="lower", extent=extent, aspect="auto", interpolation="nearest")
    for k, label in enumerate(classes):
        rows = y == k
        ax.scatter(x[rows, 0], x[rows, 1], s=14, color=class_colour(k), edgecolors="black", linewidths=0.4,
                   label=f"class {label}")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title("decision regions, test points")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    _save(fig, path)
    width, height = BOUNDARY_FIGSIZE[0] * DPI, BOUNDARY_FIGSIZE[1] * DPI
    left, bottom, w, h = BOUNDARY_AXES
    return {"xs": xs, "ys": ys, "classes": grid, "image_size": (int(width), int(height)),
            "axes_pixels": (left * width, (1 - bottom - h) * height, (left + w) * width, (1 - bottom) * height)}


def _picture(row: np.ndarray, image_shape: tuple) -> np.ndarray:
    """A flat row as an image imshow draws: (H, W) for one channel, (H, W, 3) for three."""
    picture = row.reshape(image_shape)
    return picture[..., 0] if picture.ndim == 3 and picture.shape[2] == 1 else picture


def misclassified_images(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, classes: list,
                         image_shape: tuple, path, limit: int = 25) -> int:
    """A grid of up to `limit` misclassified images, each titled with its true and predicted label."""
    all_wrong = np.flatnonzero(y_true != y_pred)
    wrong = all_wrong[:limit]
    columns = 5
    rows = max(1, -(-len(wrong) // columns))
    fig = Figure(figsize=(columns * 1.6, rows * 1.8 + 0.4))
    if len(wrong) == 0:
        fig.text(0.5, 0.5, "no misclassified test images", ha="center", va="center")
    else:
        for i, ax in enumerate(fig.subplots(rows, columns, squeeze=False).ravel()):
            ax.set_axis_off()
            if i < len(wrong):
                k = wrong[i]
                ax.imshow(_picture(images[k], image_shape), cmap="gray_r", interpolation="nearest")
                ax.set_title(f"true {classes[y_true[k]]} / pred {classes[y_pred[k]]}", fontsize=8)
        fig.suptitle(f"misclassified test images: the first {len(wrong)} of {len(all_wrong)}")
        fig.tight_layout()
    _save(fig, path)
    return len(all_wrong)
