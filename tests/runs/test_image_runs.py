"""Runs on a user's images: .npz, .npy and CSV in every layout train alike; augmentation is
opt-in, refused without images, and a run stopped or killed mid-epoch resumes to the bytes of the
run left alone (with the compiled kernels or without); the pictures of image runs; doctor's words
for convolutions; lr-find and TensorBoard on conv runs; init on a file of images."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from helpers.crashes import Renames, in_child
from helpers.pictures import png_size

from nnctl import api
from nnctl.cli import main
from nnctl.errors import Interrupted

CNN = {
    "seed": 3,
    "data": {"name": "npz", "path": "digits.npz", "scaling": "pixels"},
    "model": {
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d"},
            {"type": "flatten"},
            {"units": 10, "activation": "softmax"},
        ]
    },
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 0.01},
    "training": {"epochs": 3, "batch_size": 64, "save_interval": 0},
}
AUGMENT = {"shift": 1, "rotate": 15.0}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def digits():
    """scikit-learn's digits as 8x8 bytes and their labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.round(bunch.images * 255 / 16).astype(np.uint8), bunch.target


def write(folder: Path, file_name: str = "cnn.yaml", **data) -> Path:
    """The small CNN's config in `folder`, its data section updated by `data`."""
    cfg = json.loads(json.dumps(CNN))
    cfg["data"].update(data)
    path = folder / file_name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def state(checkpoint) -> dict:
    return json.loads(Path(checkpoint).read_text())["state"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder holding digits.npz (channels first, (n, 1, 8, 8)) and the augmented CNN's run left alone."""
    folder = tmp_path_factory.mktemp("images")
    images, labels = digits()
    np.savez(folder / "digits.npz", x=images[:, None], y=labels)
    api.train(api.load_config(write(folder, augment=AUGMENT)), run_dir=folder / "augmented", plots=False)
    return folder


def test_every_file_and_layout_of_the_same_images_trains_the_same_weights(folder, tmp_path):
    images, labels = digits()
    np.savez(tmp_path / "nhw.npz", x=images, y=labels)
    np.savez(tmp_path / "nhwc.npz", x=images[..., None], y=labels)
    np.save(tmp_path / "x.npy", images[:, None])
    np.save(tmp_path / "y.npy", labels)
    header = ",".join([f"p{i}" for i in range(64)] + ["label"])
    body = "\n".join(",".join(map(str, [*row, label])) for row, label in zip(images.reshape(-1, 64), labels))
    (tmp_path / "digits.csv").write_text(header + "\n" + body + "\n")
    sources = {
        "nhw": {"path": "nhw.npz"},
        "nhwc": {"path": "nhwc.npz"},
        "npy": {"name": "npy", "path": "x.npy", "target_path": "y.npy"},
        "csv": {"name": "csv", "path": "digits.csv", "image_shape": [8, 8]},
    }
    reference = api.train(api.load_config(write(folder, "plain.yaml")), run_dir=tmp_path / "nchw", plots=False)
    for name, data in sources.items():
        cfg = api.load_config(write(tmp_path, f"{name}.yaml", **data))
        result = api.train(cfg, run_dir=tmp_path / name, plots=False)
        assert state(result["checkpoint"]) == state(reference["checkpoint"]), name
        image = json.loads(Path(result["checkpoint"]).read_text())["preprocessing"]["image"]
        assert image == {
            "shape": [8, 8, 1],
            "layout": {"nhw": "nhw", "nhwc": "nhwc", "npy": "nchw", "csv": "rows"}[name],
            "pixel_max": 255.0,
            "background": "dark",
        }, name
    assert yaml.safe_load((tmp_path / "npy" / "config.yaml").read_text())["data"]["target_path"] == str(
        tmp_path / "y.npy"
    )
    assert yaml.safe_load((tmp_path / "csv" / "config.yaml").read_text())["data"]["image_shape"] == [8, 8, 1]


def test_a_csv_of_images_reads_every_column_as_a_pixel(tmp_path):
    images, labels = digits()
    rows = images.reshape(-1, 64)[:300].astype(np.int64)
    rows[:, 0] = np.arange(300)  # a column counting the rows, named like an index: a table's would be left out
    header = ",".join(["index"] + [f"p{i}" for i in range(1, 64)] + ["label"])
    body = "\n".join(",".join(map(str, [*row, label])) for row, label in zip(rows, labels))
    (tmp_path / "digits.csv").write_text(header + "\n" + body.replace("\n7,", "\n,", 1) + "\n")  # and a missing pixel
    path = write(tmp_path, name="csv", path="digits.csv", image_shape=[8, 8])
    out = invoke("train", path, "--set", "training.epochs=1", "--run-dir", tmp_path / "run", "-q", "--no-plots")
    assert out.exit_code == 0, out.output
    table = json.loads((tmp_path / "run" / "checkpoint.json").read_text())["preprocessing"]["table"]
    assert [(c["name"], c["type"]) for c in table["columns"]][:2] == [("index", "numeric"), ("p1", "numeric")]
    assert len(table["columns"]) == 64 and api.load_checkpoint(tmp_path / "run" / "checkpoint.json").input_shape == (
        8,
        8,
        1,
    )
    out = invoke("check", path, "--set", "data.columns.p1=categorical")
    assert out.exit_code == 3 and "with data.image_shape every column is a pixel, read as a number" in out.stderr


def test_check_and_summary_size_a_model_of_a_file_s_images_from_its_header(folder, tmp_path, monkeypatch):
    path = write(folder, "check.yaml")  # digits.npz: (n, 1, 8, 8), read as channels first
    out = invoke("check", path, "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["input_shape"] == [8, 8, 1] and json.loads(out.stdout)["total_params"] == 40 + 650
    monkeypatch.setenv("NNCTL_MEMORY_LIMIT", "8M")  # its patches at a batch of 100,000 cannot fit
    out = invoke("check", path, "--set", "training.batch_size=100000")
    assert out.exit_code == 3 and "most of it is a training batch's activations" in out.stderr
    np.savez(tmp_path / "rows.npz", x=np.zeros((20, 64)), y=np.arange(20) % 10)
    for command in ("check", "summary"):
        out = invoke(command, write(tmp_path, path="rows.npz"))
        assert (
            out.exit_code == 3
            and "cnn.yaml:8: model.layers[0]: conv2d: takes images, (None, height, width, "
            "channels), and its input is (None, 64)"
            in out.stderr
        ), command
    assert json.loads(invoke("summary", path, "--json").stdout)["input_shape"] == [None, 8, 8, 1]


def test_images_whose_layout_cannot_be_told_need_data_layout(tmp_path):
    np.savez(tmp_path / "two.npz", x=np.zeros((40, 6, 6, 2), np.uint8), y=np.arange(40) % 2)
    path = write(tmp_path, path="two.npz")
    out = invoke("train", path, "--run-dir", tmp_path / "run", "-q", "--no-plots")
    assert (
        out.exit_code == 5
        and "two.npz: an array of images of shape (40, 6, 6, 2): neither its second axis (6) "
        "nor its last (2) holds 1, 3 or 4 channels; say which with data.layout"
        in out.stderr
    )
    assert not (tmp_path / "run").exists()
    out = invoke(
        "train",
        path,
        "--set",
        "data.layout=nhwc",
        "--set",
        "model.layers[3].units=2",
        "--set",
        "training.epochs=1",
        "--run-dir",
        tmp_path / "run",
        "-q",
        "--no-plots",
        "--json",
    )
    assert out.exit_code == 0, out.output
    assert api.load_checkpoint(tmp_path / "run" / "checkpoint.json").input_shape == (6, 6, 2)
    out = invoke("train", path, "--set", "data.image_shape=[6, 6, 3]", "--set", "data.layout=nhwc")
    assert out.exit_code == 5 and "but data.image_shape says [6, 6, 3]" in out.stderr


def test_eval_on_a_file_of_other_images_is_refused(folder, tmp_path):
    np.savez(tmp_path / "wide.npz", x=np.zeros((300, 1, 8, 9), np.uint8), y=np.arange(300) % 10)  # 72 pixels
    np.savez(tmp_path / "tall.npz", x=np.zeros((300, 16, 4), np.uint8), y=np.arange(300) % 10)  # 64 pixels, other shape
    for name in ("wide.npz", "tall.npz"):
        out = invoke("eval", folder / "augmented", "--data", tmp_path / name)
        assert out.exit_code == 5 and "Traceback" not in out.output, out.output
    assert "images of shape (16, 4, 1) (height, width, channels), but the model was trained on (8, 8, 1)" in out.stderr


def test_augmentation_is_in_the_run_s_config_and_changes_training(folder):
    assert yaml.safe_load((folder / "augmented" / "config.yaml").read_text())["data"]["augment"] == AUGMENT
    plain = api.train(api.load_config(write(folder, "plain.yaml")), run_dir=folder / "plain-run", plots=False)
    assert state(plain["checkpoint"]) != state(folder / "augmented" / "checkpoint.json")


def test_augmentation_without_images_is_refused(folder, tmp_path, moons_config):
    out = invoke("check", moons_config(data={"augment": {"shift": 2}}))
    assert (
        out.exit_code == 3
        and "data.augment: unknown key for this data set: augment is a key of mnist, digits, "
        "fashion_mnist, csv, npz, npy"
        in out.stderr
    )
    np.savez(tmp_path / "rows.npz", x=np.random.default_rng(0).random((200, 4)), y=np.arange(200) % 10)
    out = invoke("train", write(tmp_path, path="rows.npz", augment=AUGMENT), "--run-dir", tmp_path / "run")
    assert out.exit_code == 3 and "(give data.image_shape when its rows are images)" in out.stderr
    assert not (tmp_path / "run").exists()


def stop_after(batches: int):
    calls = []

    def stop():
        calls.append(1)
        return 15 if len(calls) > batches else 0  # SIGTERM

    return stop


def test_an_augmented_run_stopped_mid_epoch_resumes_to_the_same_bytes(folder, tmp_path):
    cfg = api.load_config(write(folder, augment=AUGMENT))
    with pytest.raises(Interrupted):
        api.train(cfg, run_dir=tmp_path / "run", stop=stop_after(30), plots=False)  # 21 batches an epoch
    assert api.load_checkpoint(tmp_path / "run" / "last.json").training["rows_done"] == 9 * 64
    api.resume(tmp_path / "run", plots=False)
    for name in ("last.json", "checkpoint.json"):
        assert (tmp_path / "run" / name).read_bytes() == (folder / "augmented" / name).read_bytes(), name


def test_an_augmented_run_killed_at_a_save_resumes_to_the_same_bytes(folder, tmp_path):
    """kill -9 (os._exit) at the rename of the last.json an interrupted run saves mid-epoch, and at
    epoch 2's; the first holds the position in the epoch (rows_done) a resume continues from."""
    cfg = api.load_config(write(folder, augment=AUGMENT))
    counted = Renames()
    os.replace = counted
    try:
        with pytest.raises(Interrupted):
            api.train(cfg, run_dir=tmp_path / "counted", stop=stop_after(30), plots=False)
    finally:
        os.replace = counted.real
    saves = [k for k, name in enumerate(counted.names) if name == "last.json"]  # epoch 1's, then the interrupted one
    assert len(saves) == 2
    for name, at, stop in (("mid-epoch", saves[1], stop_after(30)), ("epoch-end", saves[0] + 5, None)):
        run_dir = tmp_path / name
        renames = Renames(at, "die")
        os.replace = renames
        try:
            assert in_child(lambda run_dir=run_dir, stop=stop: api.train(cfg, run_dir=run_dir, stop=stop,
                                                                         plots=False)) == 137
        finally:
            os.replace = renames.real
        assert json.loads((run_dir / "run.json").read_text())["status"] == "running", name
        out = invoke("train", "--resume", run_dir, "-q", "--no-plots")
        assert out.exit_code == 0, out.output
        for kept in ("last.json", "checkpoint.json"):
            assert (run_dir / kept).read_bytes() == (folder / "augmented" / kept).read_bytes(), (name, kept)


@pytest.mark.parametrize("jit", ["0", "1"])
def test_an_augmented_run_gives_the_same_bytes_with_and_without_the_compiled_kernels(
    folder, tmp_path, jit, monkeypatch
):
    monkeypatch.setenv("NNCTL_JIT", jit)
    result = api.train(api.load_config(write(folder, augment=AUGMENT)), run_dir=tmp_path / "run", plots=False)
    assert Path(result["checkpoint"]).read_bytes() == (folder / "augmented" / "checkpoint.json").read_bytes()


def test_lr_find_on_an_augmented_cnn(folder, tmp_path):
    out = invoke("lr-find", write(folder, augment=AUGMENT), "--steps", "20", "--output", tmp_path / "lr.png", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["steps"] == 20 and png_size(tmp_path / "lr.png")[0] > 300


def test_an_rgb_run_draws_its_filters_in_colour_and_its_mistakes_as_images(tmp_path):
    images, labels = digits()
    rgb = np.stack([images, images // 2, 255 - images], axis=3)  # (n, 8, 8, 3)
    np.savez(tmp_path / "rgb.npz", x=rgb, y=labels)
    cfg = api.load_config(write(tmp_path, path="rgb.npz"))
    api.train(
        cfg.model_copy(update={"training": cfg.training.model_copy(update={"epochs": 1})}),
        run_dir=tmp_path / "run",
        plots=False,
    )
    out = invoke("plot", tmp_path / "run", "--data", tmp_path / "rgb.npz")  # what the end of train draws
    assert out.exit_code == 0, out.output
    assert "filters.png" in out.stderr and "misclassified.png" in out.stderr
    assert png_size(tmp_path / "run" / "filters.png")[0] >= 800  # 8 tiles a row
    assert png_size(tmp_path / "run" / "misclassified.png") == (800, 940)  # 25 mistakes: 5 rows


def test_filters_show_each_input_channel_on_one_scale(tmp_path, monkeypatch):
    from nnctl.runs import plots

    W = np.random.default_rng(0).normal(size=(3, 3, 2, 5))
    assert plots.filters(W, "layers.0", tmp_path / "f.png") == 10  # 5 filters x 2 channels
    width, height = png_size(tmp_path / "f.png")
    assert height > width  # a row per filter
    monkeypatch.setattr(plots, "MAX_FILTERS", 3)
    assert plots.filters(np.ones((5, 5, 1, 7)), "layers.0", tmp_path / "many.png") == 3


def test_doctor_counts_a_convolution_s_dead_filters(tmp_path):
    (tmp_path / "dead.yaml").write_text(
        "seed: 0\ndata: {name: digits, scaling: none}\nmodel: {layers: [{type: conv2d, filters: 8, kernel_size: 3, "
        "padding: same, activation: relu}, {type: maxpool2d}, {type: flatten}, {units: 32, activation: relu}, "
        "{units: 10, activation: softmax}]}\nloss: cross_entropy\noptimizer: {name: sgd, lr: 0.5}\n"
        "training: {epochs: 2, batch_size: 32}\n"
    )
    api.train(api.load_config(tmp_path / "dead.yaml"), run_dir=tmp_path / "run", plots=False)
    out = invoke("doctor", tmp_path / "run")
    assert (
        "dead_units: layers.0: 100% of relu filters dead since epoch 1; layers.3: 100% of relu units dead" in out.stdout
    )


def test_tensorboard_logs_a_conv_run(tmp_path):
    pytest.importorskip("tensorboard")
    from helpers.tensorboard import events

    out = invoke(
        "train",
        Path(__file__).resolve().parents[2] / "configs" / "digits_cnn.yaml",
        "--set",
        "training.epochs=1",
        "--run-dir",
        tmp_path / "run",
        "-q",
        "--no-plots",
        "--tensorboard",
    )
    assert out.exit_code == 0, out.output
    histograms = events(tmp_path / "run" / "tensorboard" / "train", histograms=0)
    assert {"layers.0.W", "layers.0.W/grad", "layers.3.W", "layers.7.W"} <= set(histograms.Tags()["histograms"])
    assert [h.step for h in histograms.Histograms("layers.0.W")] == [1]
    assert histograms.Histograms("layers.0.W")[-1].histogram_value.num == 3 * 3 * 1 * 16
    scalars = events(tmp_path / "run" / "tensorboard" / "train")
    assert [e.step for e in scalars.Scalars("layers.0.grad_norm")] == [1]


def test_init_on_a_file_of_images_writes_a_cnn_that_trains(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    images, labels = digits()
    np.savez(tmp_path / "pictures.npz", x=images[:, None] / 255.0, y=labels)  # floats in 0..1, channels first
    out = invoke("init", "--data", "pictures.npz")
    assert out.exit_code == 0 and "wrote pictures.yaml (classification, images 8x8x1, 10 classes)" in out.stderr
    cfg = yaml.safe_load((tmp_path / "pictures.yaml").read_text())
    assert cfg["data"]["scaling"] == "none" and cfg["model"]["layers"][0]["type"] == "conv2d"
    out = invoke("train", "pictures.yaml", "--set", "training.epochs=1", "--no-plots", "-q", "--json")
    assert out.exit_code == 0, out.output
    assert api.load_checkpoint(json.loads(out.stdout)["checkpoint"]).input_shape == (8, 8, 1)
