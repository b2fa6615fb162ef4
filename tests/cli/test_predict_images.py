"""predict on images: arrays in every layout and PNG files (one, several, folders) give the
predictions of the training rows they hold; sizes, channels, grounds and units converted as
documented; what cannot be converted is exit 5 naming the file and the sizes."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from nnctl import api
from nnctl.cli import main

CNN = """\
seed: 1
data: {name: npz, path: digits.npz, scaling: pixels, val_fraction: 0.0}
model:
  layers:
    - {type: conv2d, filters: 4, kernel_size: 3, padding: same, activation: relu}
    - {type: maxpool2d}
    - {type: flatten}
    - {units: 10, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.01}
training: {epochs: 2, batch_size: 64}
"""


def invoke(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def digits_bytes():
    """scikit-learn's digits as 8x8 bytes (0..255) and their labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.round(bunch.images * 255 / 16).astype(np.uint8), bunch.target


def trained(folder: Path, images: np.ndarray, labels: np.ndarray, text: str = CNN) -> str:
    """The checkpoint of the small CNN trained on `images` (saved as digits.npz in `folder`)."""
    np.savez(folder / "digits.npz", x=images, y=labels)
    (folder / "cnn.yaml").write_text(text)
    return api.train(api.load_config(folder / "cnn.yaml"), run_dir=folder / "run", plots=False)["checkpoint"]


@pytest.fixture(scope="module")
def gray(tmp_path_factory):
    """(checkpoint, a few test images (n, 8, 8) bytes) of a CNN trained on digits given channels first (n, 1, 8, 8)."""
    folder = tmp_path_factory.mktemp("gray")
    images, labels = digits_bytes()
    return trained(folder, images[:, None], labels), images[-12:]


def rows(out) -> list[list[str]]:
    assert out.exit_code == 0, out.output
    return [line.split(",") for line in out.stdout.splitlines()]


def save_png(path, array, mode=None):
    Image.fromarray(array, mode).save(path)
    return path


def test_arrays_in_every_layout_predict_alike(gray, tmp_path):
    ckpt, images = gray
    outputs = []
    for name, array in (
        ("hw", images),
        ("hwc", images[..., None]),
        ("chw", images[:, None]),
        ("rows", images.reshape(12, 64)),
    ):
        np.save(tmp_path / f"{name}.npy", array)
        outputs.append(rows(invoke("predict", ckpt, tmp_path / f"{name}.npy")))
    assert all(o == outputs[0] for o in outputs) and len(outputs[0]) == 13


def test_a_png_of_an_image_predicts_exactly_as_its_array(gray, tmp_path):
    ckpt, images = gray
    np.save(tmp_path / "x.npy", images)
    expected = rows(invoke("predict", ckpt, tmp_path / "x.npy"))
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(images):
        save_png(folder / f"{i:02d}.png", image)
    (folder / "notes.txt").write_text("not an image")  # left out of a folder
    by_folder = rows(invoke("predict", ckpt, folder))
    assert by_folder[0] == ["file", *expected[0]]
    assert [r[1:] for r in by_folder[1:]] == expected[1:]  # the same probabilities, to the printed digit
    assert [r[0] for r in by_folder[1:]] == [str(folder / f"{i:02d}.png") for i in range(12)]
    paths = [folder / "03.png", folder / "00.png"]
    assert [r[1:] for r in rows(invoke("predict", ckpt, *paths))[1:]] == [expected[4], expected[1]]
    lines = invoke("predict", ckpt, *paths, "--json").stdout.splitlines()
    assert json.loads(lines[0])["file"] == str(paths[0]) and json.loads(lines[0])["class"] == int(expected[4][0])


def test_pngs_are_converted_to_the_model_s_size_ground_and_channels(gray, tmp_path):
    ckpt, images = gray
    image = images[0]
    expected = rows(invoke("predict", ckpt, save_png(tmp_path / "plain.png", image)))[1][1:]
    cases = {
        "big.png": np.kron(image, np.ones((4, 4), np.uint8)),  # 32x32: each 4x4 block averaged, exactly
        "paper.png": 255 - image,  # dark ink on a light ground: inverted
        "rgb.png": np.repeat(image[..., None], 3, axis=2),  # gray saved as RGB: its values as they are
        "opaque.png": np.dstack([image, image, image, np.full((8, 8), 255, np.uint8)]),
    }  # alpha all opaque
    for name, array in cases.items():
        out = invoke("predict", ckpt, save_png(tmp_path / name, array))
        assert rows(out)[1][1:] == expected, name
    out = invoke("predict", ckpt, tmp_path / "big.png", tmp_path / "paper.png")
    assert "big.png: averaged down 4x4 to 8x8" in out.stderr
    assert (
        "paper.png: inverted, as the model's training images are light on dark (--invert no keeps them)" in out.stderr
    )
    assert rows(invoke("predict", ckpt, tmp_path / "paper.png", "--invert", "no"))[1][1:] != expected
    assert rows(invoke("predict", ckpt, tmp_path / "plain.png", "--invert", "yes"))[1][1:] != expected


def test_a_colour_png_for_a_gray_model_is_converted_by_luminance(gray, tmp_path):
    ckpt, images = gray
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 0], colour[..., 1] = images[0], images[0] // 2
    out = invoke("predict", ckpt, save_png(tmp_path / "colour.png", colour))
    assert "colour.png: RGB converted to gray by luminance (0.299 R + 0.587 G + 0.114 B)" in out.stderr
    luminance = colour.astype(float) @ [0.299, 0.587, 0.114]
    expected = api.predictions(api.load_checkpoint(ckpt), luminance.reshape(1, 64))["probabilities"]
    assert [float(p) for p in rows(out)[1][2:]] == pytest.approx(expected[0].tolist(), rel=1e-5)


@pytest.mark.parametrize(
    "name, array, message",
    [
        (
            "tall.png",
            np.zeros((9, 8), np.uint8),
            (
                "tall.png: an image of 8x9 pixels (width x height); the model takes 8x8, "
                "or a whole multiple such as 16x16 (averaged down): resize it to 8x8"
            ),
        ),
        ("half.png", np.zeros((4, 4), np.uint8), "half.png: an image of 4x4 pixels"),
        (
            "glass.png",
            np.zeros((8, 8, 4), np.uint8),
            (
                "glass.png: has transparent pixels, and the model takes images "
                "without transparency (gray): what lies under them is unknown"
            ),
        ),
        ("junk.png", None, "junk.png: not an image file nnctl can read"),
        ("missing.png", "missing", "missing.png"),
    ],
)
def test_an_image_it_cannot_use_exits_5_naming_the_file_and_sizes(gray, tmp_path, name, array, message):
    ckpt, _ = gray
    if isinstance(array, np.ndarray):
        save_png(tmp_path / name, array)
    elif array is None:
        (tmp_path / name).write_bytes(b"\x89PNG not really")
    out = invoke("predict", ckpt, tmp_path / name)
    assert out.exit_code == 5, out.output
    assert message in out.stderr and "Traceback" not in out.output and out.stdout == ""


def test_inputs_that_do_not_go_together_are_usage_errors(gray, moons_run, tmp_path):
    ckpt, images = gray
    png = save_png(tmp_path / "a.png", images[0])
    np.save(tmp_path / "x.npy", images)
    (tmp_path / "empty").mkdir()
    for args, message in (
        ((ckpt, tmp_path / "x.npy", png), "one INPUT at a time"),
        ((ckpt, png, tmp_path / "x.npy"), "one INPUT at a time"),
        ((ckpt, tmp_path / "x.npy", "--invert", "yes"), "--invert applies to image files"),
        ((moons_run["checkpoint"], png), "image files need a model trained on images"),
        ((ckpt,), "Missing argument 'INPUT'"),
    ):
        out = invoke("predict", *args)
        assert out.exit_code == 2 and message in out.stderr, (args, out.output)
    out = invoke("predict", ckpt, tmp_path / "empty")
    assert out.exit_code == 5 and "empty: a folder without image files" in out.stderr
    out = invoke("predict", ckpt, ckpt, png)  # a glob of checkpoints is still refused as one
    assert out.exit_code == 2 and "2 checkpoints matched" in out.stderr


def test_an_rgb_model_takes_gray_pngs_repeated_into_its_channels(tmp_path):
    images, labels = digits_bytes()
    rgb = np.stack([images, images // 2, 255 - images], axis=1)  # (n, 3, 8, 8): channels first
    ckpt = trained(tmp_path, rgb, labels, CNN.replace("epochs: 2", "epochs: 1"))
    assert api.load_checkpoint(ckpt).input_shape == (8, 8, 3)
    np.save(tmp_path / "rgb.npy", rgb[:3])  # channels first, as trained
    np.save(tmp_path / "gray.npy", np.repeat(images[:3, ..., None], 3, axis=3))  # channels last
    expected = rows(invoke("predict", ckpt, tmp_path / "gray.npy"))
    for i in range(3):
        save_png(tmp_path / f"g{i}.png", images[i])
    out = invoke("predict", ckpt, *(tmp_path / f"g{i}.png" for i in range(3)))
    assert [r[1:] for r in rows(out)[1:]] == expected[1:]
    assert "every image: gray repeated into the 3 channels R, G, B" in out.stderr
    assert rows(invoke("predict", ckpt, tmp_path / "rgb.npy")) != expected  # the colours themselves matter


@pytest.mark.slow
def test_a_png_of_a_real_mnist_test_image_predicts_as_its_array(tmp_path):
    """MNIST's pixels are bytes scaled by /255 and a PNG is read as 0..1: the PNG of a test image
    must give back its exact bytes, so its prediction is the array's to the last bit (a dense
    model: how the rows are read does not depend on the layers, and it trains in a second)."""
    if not (Path(os.environ.get("NNCTL_DATA_DIR", "/nonexistent")) / "mnist").is_dir():
        pytest.skip("the MNIST files are not here (NNCTL_DATA_DIR)")
    from nnctl.data import load_mnist_raw

    config = tmp_path / "mnist.yaml"
    config.write_text(
        "data: {name: mnist, val_fraction: 0.0}\nmodel: {layers: [{units: 10, activation: softmax}]}\n"
        "loss: cross_entropy\noptimizer: {name: adam, lr: 0.01}\ntraining: {epochs: 1, batch_size: 512}\n"
    )
    ckpt = api.train(api.load_config(config), run_dir=tmp_path / "run", plots=False)["checkpoint"]
    x, _, _ = load_mnist_raw()
    tests = x[-5:].reshape(5, 28, 28)
    for i, image in enumerate(tests):
        save_png(tmp_path / f"{i}.png", image)
    np.save(tmp_path / "tests.npy", tests)
    loaded = api.load_checkpoint(ckpt)
    by_array = api.predictions(loaded, tests.reshape(5, 784))["probabilities"]
    from nnctl.data import image_files

    pixels, notes = image_files.read(
        [tmp_path / f"{i}.png" for i in range(5)],
        api.data_module.image_format(loaded.config.data, loaded.preprocessing),
    )
    assert notes == [] and np.array_equal(pixels, tests.reshape(5, 784))
    assert api.predictions(loaded, pixels)["probabilities"].tobytes() == by_array.tobytes()
    by_png = rows(invoke("predict", ckpt, *(tmp_path / f"{i}.png" for i in range(5))))
    assert [r[1:] for r in by_png[1:]] == rows(invoke("predict", ckpt, tmp_path / "tests.npy"))[1:]
