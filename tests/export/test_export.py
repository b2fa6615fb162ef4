"""nnctl export: ONNX and the NumPy-only folder give nnctl's predictions, on shipped configs and on
random networks over every layer and activation; what is refused, and with which exit code."""

import importlib
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers.export import (
    OUTPUTS,
    assert_same,
    numpy_folder_outputs,
    random_checkpoint,
    run_onnx,
)

from nnctl import api, config
from nnctl.cli import main
from nnctl.engine.activations import ACTIVATIONS
from nnctl.export import check, export, onnx as onnx_format, predict as predict_template

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]

SHIPPED = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml") if not p.stem.startswith(("sweep_", "mnist")))


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ---------------------------------------------------------------- shipped configs


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_exports_to_both_formats_exactly(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the CSV config names its file from the repository's root
    epochs = 1 if name.endswith("_cnn") else 3  # a convolutional epoch takes seconds: one trains it
    cfg = config.load(ROOT / "configs" / f"{name}.yaml", [f"training.epochs={epochs}"])
    run = api.train(cfg, run_dir=tmp_path / "run", plots=False)
    ckpt = api.load_checkpoint(run["checkpoint"])
    result = invoke("export", tmp_path / "run", "--format", "onnx", "-o", tmp_path / "model.onnx", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "onnx" and report["opset"] == onnx_format.OPSET and report["rows"] > 0
    assert report["max_difference"] <= report["bound"]
    result = invoke("export", run["checkpoint"], "--format", "numpy", "-o", tmp_path / "folder")
    assert result.exit_code == 0, result.output
    assert "largest difference" in result.output
    assert sorted(os.listdir(tmp_path / "folder")) == ["__init__.py", "model.npz", "nnctl-export.json", "predict.py"]
    x, _ = check.rows(ckpt)
    assert_same(ckpt, x, run_onnx(tmp_path / "model.onnx", x, ckpt))
    assert_same(ckpt, x, numpy_folder_outputs(tmp_path / "folder", x, tmp_path))


# ---------------------------------------------------------------- random networks


HIDDEN = [a for a in ACTIVATIONS if a != "softmax"]  # softmax belongs on the output layer only


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", HIDDEN)
def test_random_networks_over_every_layer_and_activation(activation, loss, dtype, tmp_path):
    ckpt = random_checkpoint(tmp_path / "checkpoint.json", activation, loss, dtype)
    onnx_report = export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx")
    numpy_report = export(tmp_path / "checkpoint.json", "numpy", tmp_path / "folder")
    assert onnx_report["rows_from"] == "test split" and numpy_report["max_difference"] <= numpy_report["bound"]
    model = onnx.load(str(tmp_path / "model.onnx"))
    # on the inputs and after an activation: a node; right after a dense layer (across dropout): folded
    normalizations = sum(node.op_type == "BatchNormalization" for node in model.graph.node)
    assert normalizations == (1 if activation == "linear" else 2)
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, dtype) * 3  # also outside the training range
    assert_same(ckpt, x, run_onnx(tmp_path / "model.onnx", x, ckpt))
    from nnctl.export import numpy_folder
    assert_same(ckpt, x, numpy_folder.run(tmp_path / "folder", x))


def test_every_activation_has_an_onnx_form_and_a_numpy_form():
    assert set(onnx_format.ACTIVATION_NODES) == set(ACTIVATIONS) == set(predict_template.ACTIVATIONS)
    x = np.linspace(-30, 30, 601).reshape(-1, 1)
    for name, rule in ACTIVATIONS.items():
        forward = rule.forward
        if name != "softmax":
            np.testing.assert_array_equal(predict_template.ACTIVATIONS[name](x), forward(x), err_msg=name)


# ---------------------------------------------------------------- refusals


def test_a_tampered_checkpoint_is_refused_as_eval_refuses_it(moons_run, tmp_path):
    doc = json.loads(Path(moons_run["checkpoint"]).read_text())
    doc["state"]["layers.0.b"]["data"] = doc["state"]["layers.0.b"]["data"][::-1]
    tampered = tmp_path / "checkpoint.json"
    tampered.write_text(json.dumps(doc))
    evaluated = invoke("eval", tampered)
    for fmt in ("onnx", "numpy"):
        exported = invoke("export", tampered, "--format", fmt, "-o", tmp_path / f"out-{fmt}")
        assert exported.exit_code == evaluated.exit_code == 4
        assert exported.output == evaluated.output
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.json"]


@pytest.mark.parametrize("fmt", ["onnx", "numpy"])
def test_a_layer_no_format_writes_is_refused_with_exit_3_before_anything_is_written(moons_run, tmp_path, monkeypatch,
                                                                                   fmt):
    steps_module = importlib.import_module("nnctl.export.steps")  # nnctl.export.steps is also the function
    monkeypatch.setattr(steps_module, "WRITTEN", ("batchnorm", "activation"))  # as if dense were new
    result = invoke("export", moons_run["checkpoint"], "--format", fmt, "-o", tmp_path / "out")
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert "model.layers[0].type: a dense layer cannot be exported yet (export writes batchnorm, activation " \
           "layers): nothing was written" in result.stderr
    assert os.listdir(tmp_path) == []


def test_without_the_onnx_package_exit_5_names_the_extra(moons_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    result = invoke("export", moons_run["checkpoint"], "--format", "onnx", "-o", tmp_path / "model.onnx")
    assert result.exit_code == 5
    assert "nnctl[onnx]" in result.output
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fmt", ["onnx", "numpy"])
def test_an_export_beyond_the_bound_exits_7_and_leaves_nothing(moons_run, tmp_path, monkeypatch, fmt):
    monkeypatch.setitem(check.BOUNDS, "float32", -1.0)  # no difference is small enough
    result = invoke("export", moons_run["checkpoint"], "--format", fmt, "-o", tmp_path / "out")
    assert result.exit_code == 7
    assert re.search(r"largest difference \S+ \(bound -1\)", result.output)
    assert os.listdir(tmp_path) == []


def test_a_run_folder_without_checkpoint_is_refused(tmp_path):
    result = invoke("export", tmp_path, "--format", "numpy", "-o", tmp_path / "out")
    assert result.exit_code == 4 and "checkpoint.json" in result.output


def test_a_data_file_outside_the_run_folder_is_opened_only_while_unchanged(moons_run, tmp_path):
    """The check rebuilds the test split only as `nnctl eval` may (a file outside the run folder
    while its SHA-256 is the recorded one): else synthetic rows."""
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    data.write_text("a,b,y\n" + "\n".join(f"{a},{b},{int(a > b)}" for a, b in rng.normal(size=(60, 2))))
    cfg = config.from_dict({"seed": 0, "data": {"name": "csv", "path": str(data), "target": "y"},
                            "model": {"layers": [{"units": 4, "activation": "relu"},
                                                 {"units": 2, "activation": "softmax"}]},
                            "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.01},
                            "training": {"epochs": 2}})
    run = api.train(cfg, run_dir=tmp_path / "run", plots=False)
    report = export(run["checkpoint"], "numpy", tmp_path / "folder")
    assert report["rows_from"] == "test split" and report["rows"] == run["test"]["n"]
    data.write_text("not,a,table\n\x00")  # were it opened, the check would fail to read it
    report = export(run["checkpoint"], "numpy", tmp_path / "folder")
    assert report["rows_from"].startswith("synthetic rows") and report["rows"] == 64


def test_the_check_reference_is_nnctls_predictions(moons_run):
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    x, rows_from = check.rows(ckpt)
    assert rows_from == "test split" and len(x) == moons_run["test"]["n"]
    reference, predictions = check.reference(ckpt, x), api.predictions(ckpt, x)
    np.testing.assert_array_equal(reference["probabilities"], predictions["probabilities"])
    np.testing.assert_array_equal(reference["label"], predictions["predicted"])
