"""The ONNX model itself: skl2onnx's outputs (label as the class, then probabilities; variable),
nnctl 0.1's behind --legacy-outputs, its metadata (feature names, no path of the training machine),
and `-o -`."""

import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers.export import assert_same, random_checkpoint, run_onnx

from nnctl import api
from nnctl.cli import main
from nnctl.export import check, export

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def props(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_outputs_inputs_opset_and_metadata(moons_run, tmp_path):
    out = tmp_path / "model.onnx"
    report = export(moons_run["checkpoint"], "onnx", out)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert [i.name for i in model.graph.input] == ["features"]
    assert [o.name for o in model.graph.output] == report["outputs"] == ["label", "probabilities"]
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.INT64  # moons' classes are 0 and 1
    meta = props(out)
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    assert meta["nnctl_version"] == __import__("nnctl").__version__
    assert json.loads(meta["classes"]) == ckpt.classes and json.loads(meta["feature_names"]) is None
    assert json.loads(meta["config"])["model"] == ckpt.config.model_dump(mode="json")["model"]
    assert meta["checkpoint_sha256"] == hashlib.sha256(Path(moons_run["checkpoint"]).read_bytes()).hexdigest()


@pytest.mark.parametrize("classes, kind", [([7, -3], "INT64"), (["no\nway", "yes \x1b[31m"], "STRING")])
@pytest.mark.parametrize("loss, activation, seed", [("binary_cross_entropy", "relu", 1), ("cross_entropy", "tanh", 2)])
def test_label_is_the_class_itself_text_or_integer_as_trained(classes, kind, loss, activation, seed, tmp_path):
    """skl2onnx's `label`: the class value (a string tensor for text classes, looked up in a
    constant), so a user never maps indices back by hand; the probabilities' columns follow the
    metadata's class order. (These seeds' random networks predict both classes.)"""
    ckpt = random_checkpoint(tmp_path / "checkpoint.json", activation, loss, seed=seed, classes=classes)
    export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx")
    model = onnx.load(str(tmp_path / "model.onnx"))
    assert model.graph.output[0].type.tensor_type.elem_type == getattr(onnx.TensorProto, kind)
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float32", n=64)
    got = run_onnx(tmp_path / "model.onnx", x)
    assert set(got["label"].tolist()) == set(classes)
    assert_same(ckpt, x, got)


def test_legacy_outputs_are_nnctl_0_1s(moons_run, tmp_path):
    result = invoke("export", moons_run["checkpoint"], "--format", "onnx", "-o", tmp_path / "old.onnx",
                    "--legacy-outputs", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["outputs"] == ["probabilities", "label"]
    x = check.rows(api.load_checkpoint(moons_run["checkpoint"]))[0]
    legacy, current = run_onnx(tmp_path / "old.onnx", x), None
    export(moons_run["checkpoint"], "onnx", tmp_path / "new.onnx")
    current = run_onnx(tmp_path / "new.onnx", x)
    assert list(legacy) == ["probabilities", "label"] and legacy["label"].dtype == np.int64
    np.testing.assert_array_equal(legacy["probabilities"], current["probabilities"])
    assert invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", tmp_path / "f",
                  "--legacy-outputs").exit_code == 2


def test_regression_gives_variable_in_the_targets_units_and_legacy_prediction(tmp_path):
    ckpt = random_checkpoint(tmp_path / "checkpoint.json", "relu", "mse", "float32")
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float32")
    export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx")
    got = run_onnx(tmp_path / "model.onnx", x)
    assert list(got) == ["variable"] and got["variable"].shape == (len(x), 1)  # skl2onnx's regressor output
    assert got["variable"].dtype == np.float64  # unscaled in float64, as nnctl does
    assert_same(ckpt, x, got)
    export(tmp_path / "checkpoint.json", "onnx", tmp_path / "old.onnx", legacy_outputs=True)
    old = run_onnx(tmp_path / "old.onnx", x)
    assert list(old) == ["prediction"] and old["prediction"].shape == (len(x),)
    np.testing.assert_array_equal(old["prediction"], got["variable"][:, 0])


def test_the_embedded_config_holds_no_path_or_tracker_of_the_training_machine(tmp_path):
    """A model travels: neither the training CSV's folder, nor the run folder's, nor an MLflow
    URI (which may carry a user, a password, a host) goes into it; the feature names do."""
    secret = "/home/alice/secret-project"
    ckpt = random_checkpoint(tmp_path / "checkpoint.json", names=["size", "weight (kg)"],
                             data={"name": "csv", "path": f"{secret}/train.csv", "target": "kind"},
                             run={"output_dir": f"{secret}/runs",
                                  "tracking": {"mlflow": {"uri": "http://alice:hunter2@tracker.internal:5000",
                                                          "parent_run_id": "0123abcd"}}})
    assert ckpt.config.data.path.startswith(secret)
    export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx")
    export(tmp_path / "checkpoint.json", "numpy", tmp_path / "folder")
    for data in ((tmp_path / "model.onnx").read_bytes(), (tmp_path / "folder" / "model.npz").read_bytes()):
        for leak in (b"alice", b"hunter2", b"tracker.internal", b"secret-project", b"0123abcd"):
            assert leak not in data
    meta = props(tmp_path / "model.onnx")
    assert json.loads(meta["feature_names"]) == ["size", "weight (kg)"]
    embedded = json.loads(meta["config"])
    assert embedded["data"]["path"] == "train.csv" and embedded["run"]["output_dir"] == "runs"
    mlflow = embedded["run"]["tracking"]["mlflow"]
    assert mlflow["uri"] is None and mlflow["parent_run_id"] is None


def test_dash_writes_the_checked_model_to_stdout(moons_run, tmp_path):
    result = CliRunner().invoke(main, ["export", moons_run["checkpoint"], "--format", "onnx", "-o", "-"])
    assert result.exit_code == 0, result.stderr
    assert "wrote stdout (onnx, opset 17, outputs label, probabilities)" in result.stderr
    model = onnx.load_from_string(result.stdout_bytes)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(None, {"features": np.zeros((1, 2), np.float32)})
    assert probabilities.shape == (1, 2) and label.dtype == np.int64
    for refused in (["--format", "numpy", "-o", "-"], ["--format", "onnx", "-o", "-", "--json"]):
        result = invoke("export", moons_run["checkpoint"], *refused)
        assert result.exit_code == 2 and not result.stdout


def test_a_failed_check_writes_nothing_to_stdout(moons_run, monkeypatch):
    monkeypatch.setitem(check.BOUNDS, "float32", -1.0)
    result = CliRunner().invoke(main, ["export", moons_run["checkpoint"], "--format", "onnx", "-o", "-"])
    assert result.exit_code == 7 and result.stdout_bytes == b""


def test_an_output_path_with_control_characters_is_echoed_escaped(moons_run, tmp_path):
    out = tmp_path / "model\x1b[2J\x07.onnx"
    result = invoke("export", moons_run["checkpoint"], "--format", "onnx", "-o", out)
    assert result.exit_code == 0 and out.is_file()
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "model\\x1b[2J\\x07.onnx" in result.output


def test_without_onnxruntime_the_reference_evaluator_checks(moons_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    for legacy in (False, True):
        report = export(moons_run["checkpoint"], "onnx", tmp_path / "model.onnx", legacy_outputs=legacy)
        assert report["max_difference"] <= report["bound"] and (tmp_path / "model.onnx").is_file()


def test_the_graph_is_built_by_one_function_per_kind_of_step():
    from nnctl.export import onnx as onnx_format, predict as predict_template
    from nnctl.export.steps import WRITTEN

    assert set(onnx_format.LAYER_NODES) == set(predict_template.STEPS) == set(WRITTEN)


def test_the_docs_onnxruntime_example_runs(moons_run, tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "export.md").read_text()
    example = re.search(r"With onnxruntime:\n\n```python\n(.*?)```", text, re.DOTALL).group(1)
    assert len(example.strip().splitlines()) <= 10
    export(moons_run["checkpoint"], "onnx", tmp_path / "model.onnx")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "docs/export.md", "exec"), {})  # noqa: S102 - the page's example, run as a reader would
    printed = capsys.readouterr().out
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    expected = api.predictions(ckpt, np.array([[0.5, 0.25], [1.5, -0.5]]))
    assert printed.startswith(str([ckpt.classes[k] for k in expected["predicted"]]))
