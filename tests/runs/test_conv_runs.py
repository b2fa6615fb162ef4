"""A convolutional network through every command that asks about layers: train, checkpoint, eval,
predict on images, summary, gradcheck, lr-find, doctor's data, export to both formats, and a run stopped
(or killed) and resumed that ends byte for byte as the run left alone."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import api, data
from nnctl.cli import main
from nnctl.errors import Interrupted
from nnctl.runs import checkpoint

CNN = """\
seed: 2
data: {name: digits}
model:
  layers:
    - {type: conv2d, filters: 6, kernel_size: 3, padding: same, activation: relu}
    - {type: maxpool2d}
    - {type: batchnorm}
    - {type: conv2d, filters: 8, kernel_size: 3, activation: relu}
    - {type: dropout, rate: 0.25}
    - {type: flatten}
    - {units: 10, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.005}
training: {epochs: 3, batch_size: 64, save_interval: 0}
"""


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """(config path, the api.train result) of the small CNN left alone."""
    folder = tmp_path_factory.mktemp("cnn")
    path = folder / "cnn.yaml"
    path.write_text(CNN)
    return path, api.train(api.load_config(path), run_dir=folder / "run", plots=False)


def test_a_conv_checkpoint_records_its_input_shape_and_reloads(cnn):
    _, result = cnn
    ckpt = api.load_checkpoint(result["checkpoint"])
    assert ckpt.input_shape == (8, 8, 1) and ckpt.n_inputs == 64
    assert json.loads(Path(result["checkpoint"]).read_text())["input_shape"] == [8, 8, 1]
    assert ckpt.model.params()["layers.0.W"].shape == (3, 3, 1, 6)
    scores = json.loads(invoke("eval", result["checkpoint"], "--json").stdout)
    assert scores["accuracy"] == result["test"]["accuracy"] > 0.8


def test_predict_takes_images_as_arrays_of_images_or_rows(cnn, tmp_path):
    _, result = cnn
    ckpt = api.load_checkpoint(result["checkpoint"])
    images = data.load(ckpt.config.data, ckpt.config.seed).x_test[:6] * 0  # shapes only: the values below
    raw = np.random.default_rng(0).integers(0, 17, (6, 8, 8)).astype(np.float64) + images.reshape(6, 8, 8)
    labels = api.predictions(ckpt, raw.reshape(6, 64))["predicted"].tolist()
    for name, array in (("hw.npy", raw), ("hwc.npy", raw[..., None]), ("rows.npy", raw.reshape(6, 64))):
        np.save(tmp_path / name, array)
        out = invoke("predict", result["checkpoint"], tmp_path / name)
        assert out.exit_code == 0, out.output
        assert [int(line.split(",")[0]) for line in out.stdout.splitlines()[1:]] == labels


def test_summary_prints_keras_shapes(cnn):
    path, result = cnn
    for source in (path, result["checkpoint"]):
        out = invoke("summary", source)
        assert out.exit_code == 0, out.output
        assert "(input: (None, 8, 8, 1), float32)" in out.stdout
        assert "layers.0 (Conv2D)" in out.stdout and "(None, 8, 8, 6)" in out.stdout and "(None, 2, 2, 8)" in out.stdout


def test_gradcheck_and_lr_find_run_on_a_cnn(cnn, tmp_path):
    path, _ = cnn
    out = invoke("gradcheck", path, "--samples", "20", "--json")
    assert out.exit_code == 0, out.output
    assert {"layers.0.W", "layers.2.gamma", "layers.3.W"} <= set(json.loads(out.stdout)["parameters"])
    out = invoke("lr-find", path, "--steps", "20", "--output", tmp_path / "lr.png", "--json")
    assert out.exit_code == 0, out.output


def test_the_per_layer_diagnostics_cover_the_convolutions(cnn):
    _, result = cnn
    record = result["history"][-1]
    assert {"layers.0.grad_norm", "layers.0.weight_norm", "layers.0.update_ratio", "layers.0.dead_fraction",
            "layers.3.dead_fraction", "layers.6.grad_norm"} <= set(record)
    assert invoke("doctor", result["run_dir"]).exit_code == 0


def test_export_writes_the_trained_cnn_to_both_formats(cnn, tmp_path):
    """Batchnorm after pooling, dropout, a flatten of 8 channels: both formats checked on the test
    split, and predict.py's labels for the test images (as a CSV of rows) are nnctl predict's."""
    pytest.importorskip("onnx")
    _, result = cnn
    for fmt, out in (("numpy", tmp_path / "folder"), ("onnx", tmp_path / "m.onnx")):
        got = invoke("export", result["checkpoint"], "--format", fmt, "-o", out, "--json")
        assert got.exit_code == 0, got.output
        report = json.loads(got.stdout)
        assert report["rows_from"] == "test split" and report["max_difference"] <= report["bound"]
    ckpt = api.load_checkpoint(result["checkpoint"])
    x = data.load(ckpt.config.data, ckpt.config.seed, preprocessing={"scaling": "none"}).x_test
    np.savetxt(tmp_path / "test.csv", x, delimiter=",", fmt="%g")
    predicted = subprocess.run([sys.executable, tmp_path / "folder" / "predict.py", tmp_path / "test.csv"],
                               capture_output=True, text=True, check=True).stdout.split()
    assert [int(label) for label in predicted] == api.predictions(ckpt, x)["predicted"].tolist()


def test_a_cnn_stopped_mid_epoch_resumes_to_the_same_bytes(cnn, tmp_path):
    path, reference = cnn
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return signal.SIGTERM if calls["n"] > 25 else 0  # inside the second epoch (21 batches an epoch)

    with pytest.raises(Interrupted):
        api.train(api.load_config(path), run_dir=tmp_path / "run", stop=stop, plots=False)
    assert api.load_checkpoint(tmp_path / "run" / "last.json").training["rows_done"] > 0
    api.resume(tmp_path / "run", plots=False)
    for name in ("last.json", "checkpoint.json"):
        assert (tmp_path / "run" / name).read_bytes() == (Path(reference["run_dir"]) / name).read_bytes(), name


@pytest.mark.slow
def test_a_cnn_killed_and_resumed_ends_as_the_run_left_alone(cnn, tmp_path):
    path, reference = cnn
    run_dir = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "nnctl.cli", "train", str(path), "--run-dir", str(run_dir), "-q",
                                "--no-plots", "--set", "training.epochs=3"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not ((run_dir / "last.json").exists()):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.005)
    process.kill()  # kill -9: nothing saved on the way out
    process.communicate()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running", "test set-up: killed too late"
    out = invoke("train", "--resume", run_dir, "-q", "--no-plots")
    assert out.exit_code == 0, out.output
    for name in ("last.json", "checkpoint.json"):
        assert (run_dir / name).read_bytes() == (Path(reference["run_dir"]) / name).read_bytes(), name


def test_a_format_2_checkpoint_loads_as_rows_of_its_width(moons_run, tmp_path):
    doc = json.loads(Path(moons_run["checkpoint"]).read_text())
    doc["version"], doc["n_inputs"] = 2, doc.pop("input_shape")[0]
    del doc["data_file"]  # format 4's
    doc["sha256"] = checkpoint._digest(doc)
    (tmp_path / "v2.json").write_text(json.dumps(doc))
    old = api.load_checkpoint(tmp_path / "v2.json")
    assert old.version == 2 and old.input_shape == (2,)
