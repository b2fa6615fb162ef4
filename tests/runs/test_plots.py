"""Plots: every run's PNGs, redrawn identically by `nnctl plot`; the decision boundary is the model's."""

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import api, data
from nnctl.cli import main
from nnctl.engine import metrics
from nnctl.engine.model import build
from nnctl.runs import plots, report


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the PNG signature."""
    raw = Path(path).read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", path
    length, kind = struct.unpack(">I4s", raw[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", raw[16:24])


def test_a_run_writes_its_plots(moons_run):
    names = sorted(Path(p).name for p in moons_run["plots"])
    assert names == ["confusion_matrix.png", "curves.png", "decision_boundary.png", "gradient_flow.png"]
    for path in moons_run["plots"]:
        width, height = png_size(path)
        assert 300 <= width <= 2000 and 300 <= height <= 2000, (path, width, height)
        assert Path(path).stat().st_size > 5000  # something was drawn, not an empty canvas


@pytest.mark.slow
def test_plot_redraws_the_same_pictures(moons_run, tmp_path):
    run = Path(shutil.copytree(moons_run["run_dir"], tmp_path / "run"))  # the shared run's pictures stay
    before = {Path(p).name: Path(p).read_bytes() for p in moons_run["plots"]}
    for name in before:
        (run / name).unlink()
    result = CliRunner().invoke(main, ["plot", str(run)])
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.split()) == sorted(str(run / name) for name in before)
    for name, content in before.items():
        assert (run / name).read_bytes() == content  # from the files, exactly what training drew from memory


def test_plot_of_a_folder_without_a_run(tmp_path):
    result = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 4 and "checkpoint.json" in result.stderr
    assert CliRunner().invoke(main, ["plot", str(tmp_path / "nowhere")]).exit_code == 4


def test_no_plots(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: {name: moons, n_samples: 100}\nmodel: {layers: [{units: 2, activation: softmax}]}\n"
                    "loss: cross_entropy\noptimizer: {name: adam}\ntraining: {epochs: 1}\n")
    result = CliRunner().invoke(main,
                                ["train", str(path), "--run-dir", str(tmp_path / "run"), "--no-plots", "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "run").glob("*.png"))


def test_decision_boundary_picture_shows_the_models_predictions(moons_run, tmp_path):
    import matplotlib.image

    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    dataset = api.load_data(ckpt.config, preprocessing=ckpt.preprocessing)
    raw = report.unscale(dataset.x_test, dataset.preprocessing)

    def predict_classes(points):
        return metrics.predicted_classes(api.predict(ckpt, points))

    info = plots.decision_boundary(predict_classes, raw, dataset.y_test, ckpt.classes, tmp_path / "b.png",
                                   resolution=100)
    xs, ys, grid = info["xs"], info["ys"], info["classes"]
    # 1. the grid drawn is the model's prediction at every cell centre
    gx, gy = np.meshgrid(xs, ys)
    direct = metrics.predicted_classes(api.predict(ckpt, np.column_stack([gx.ravel(), gy.ravel()]))).reshape(grid.shape)
    np.testing.assert_array_equal(grid, direct)
    assert 0.2 < grid.mean() < 0.8  # both classes have a region

    # 2. the pixels at the cell centres have the colour of that class's region
    image = matplotlib.image.imread(tmp_path / "b.png")[:, :, :3]
    assert (image.shape[1], image.shape[0]) == info["image_size"]
    left, top, right, bottom = info["axes_pixels"]
    colours = np.array([plots.region_colour(k) for k in range(2)])
    n = len(xs)
    checked = agreed = 0
    for i in range(1, n - 1, 3):
        for j in range(1, n - 1, 3):
            if (grid[i - 1:i + 2, j - 1:j + 2] != grid[i, j]).any():
                continue  # on the boundary itself a pixel may belong to either side
            px = int(left + (j + 0.5) / n * (right - left))
            py = int(bottom - (i + 0.5) / n * (bottom - top))  # image rows go down, y goes up
            distance = np.abs(colours - image[py, px]).sum(axis=1)
            if distance.min() > 0.05:
                continue  # a test point is drawn here
            checked += 1
            agreed += int(distance.argmin() == grid[i, j])
    assert checked > 500
    assert agreed == checked


@pytest.mark.slow
def test_image_data_sets_get_a_grid_of_misclassified_images(tmp_path):
    rng = np.random.default_rng(0)
    model = build([dict(units=10, activation="softmax", initializer="glorot_uniform")], 64, rng, "float32")
    x = rng.random((40, 64)).astype(np.float32)
    y = rng.integers(0, 10, 40)
    dataset = data.Dataset("mnist", "classification", list(range(10)), x, y, x, y, x, y, {"scaling": "none"},
                           (8, 8), "test")
    history = [{"epoch": 1, "train_loss": 2.3, "train_accuracy": 0.1, "val_loss": 2.3, "val_accuracy": 0.1, "lr": 0.1}]
    drawn = report.draw(tmp_path, history, 1, model, "cross_entropy", dataset, dataset.classes)
    assert sorted(Path(p).name for p in drawn) == ["confusion_matrix.png", "curves.png", "misclassified.png"]
    width, height = png_size(tmp_path / "misclassified.png")
    assert width == 800 and height > 600  # 5 columns, 5 rows of images


def test_misclassified_grid_counts_and_handles_none(tmp_path):
    images = np.zeros((6, 4))
    assert plots.misclassified_images(images, np.array([0, 1, 1, 0, 1, 1]), np.array([0, 1, 0, 0, 0, 1]),
                                      [0, 1], (2, 2),
                                      tmp_path / "m.png") == 2
    assert plots.misclassified_images(images, np.zeros(6, int), np.zeros(6, int), [0, 1], (2, 2),
                                      tmp_path / "n.png") == 0
    assert png_size(tmp_path / "n.png")[0] > 300


def test_importing_the_cli_imports_no_heavy_library():
    code = ("import sys, nnctl.cli; heavy = [m for m in ('matplotlib', 'sklearn', 'pydantic', 'numpy') if m in "
            "sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_curves_of_a_regression_run_show_mae(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "train_mae": 2 / e, "val_loss": 1.1 / e,
                "val_mae": 2.2 / e} for e in (1, 2, 3)]
    plots.learning_curves(history, 3, tmp_path / "c.png")
    assert png_size(tmp_path / "c.png") == (1000, 400)


def test_plot_of_malformed_metrics_rows_is_a_data_error(moons_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(moons_run["run_dir"], run)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    for bad in ("[1, 0.5, 0.9]", '{"epoch": 1, "train_loss": "low"}', '{"train_loss": 0.5}', "{oops", '"text"',
                '{"epoch": 3, "train_loss": 1e308}', '{"epoch": 3, "val_loss": -1e301}'):
        (run / "metrics.jsonl").write_text("\n".join(lines[:2] + [bad] + lines[3:]) + "\n")
        result = CliRunner().invoke(main, ["plot", str(run)])
        assert result.exit_code == 5, (bad, result.output)
        assert "metrics.jsonl:3:" in result.stderr and "internal error" not in result.output


def test_curves_draw_any_value_a_metrics_file_may_hold(tmp_path):
    """±1e300, the largest a row of metrics.jsonl may hold (folder.METRIC_LIMIT): drawn, no warning;
    ±1e308 made matplotlib's axis margins overflow (an internal error), and is now refused on reading."""
    from nnctl.runs.folder import METRIC_LIMIT

    history = [{"epoch": e, "train_loss": (-1) ** e * METRIC_LIMIT, "train_accuracy": 0.5, "val_loss": METRIC_LIMIT,
                "val_accuracy": -METRIC_LIMIT, "layers.0.grad_norm": METRIC_LIMIT} for e in (1, 2, 3)]
    plots.learning_curves(history, 2, tmp_path / "c.png")
    assert plots.gradient_flow(history, ["layers.0"], tmp_path / "g.png")
    assert png_size(tmp_path / "c.png") == (1000, 400)


def test_gradient_flow_draws_the_models_layers_only(tmp_path, monkeypatch):
    """A metrics file with 20,000 layers.N columns took minutes to draw (a line and a legend entry
    each); only the model's own layers are looked up."""
    drawn = []
    real = plots.Figure.subplots

    def spy(fig, *args, **kwargs):
        ax = real(fig, *args, **kwargs)
        plot = ax.plot
        monkeypatch.setattr(ax, "plot", lambda *a, **k: drawn.append(k.get("label")) or plot(*a, **k))
        return ax

    monkeypatch.setattr(plots.Figure, "subplots", spy)
    history = [{"epoch": e, **{f"layers.{n}.grad_norm": 1.0 + n for n in range(20_000)}} for e in (1, 2)]
    assert plots.gradient_flow(history, ["layers.0", "layers.2"], tmp_path / "g.png")
    assert drawn == ["layers.0", "layers.2"]
    assert not plots.gradient_flow(history, ["layers.20000"], tmp_path / "none.png")
    model = build([{"type": "dense", "units": 3, "activation": "relu"}, {"type": "dropout", "rate": 0.5},
                   {"type": "dense", "units": 2, "activation": "softmax"}], 2, np.random.default_rng(0))
    assert report.weighted_layers(model) == ["layers.0", "layers.2"]
