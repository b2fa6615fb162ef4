"""nnctl export: ONNX and the NumPy-only folder give nnctl's predictions, on shipped configs and on
random networks over every layer and activation; what is refused, and with which exit code."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from nnctl import api, config
from nnctl.cli import main
from nnctl.engine.activations import ACTIVATIONS
from nnctl.engine.model import build
from nnctl.export import check, export
from nnctl.export import onnx as onnx_format
from nnctl.export import predict as predict_template
from nnctl.export.steps import WRITTEN
from nnctl.runs import checkpoint as checkpoint_module

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]

def _written(path: Path) -> bool:
    """Whether the formats write every layer of a shipped config (export/steps.py's WRITTEN; dropout
    leaves no step); the others are refused, which tests/runs/test_conv_runs.py checks."""
    layers = yaml.safe_load(path.read_text())["model"]["layers"]
    return all(layer.get("type", "dense") in (*WRITTEN, "dropout") for layer in layers)


SHIPPED = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")
                 if not p.stem.startswith(("sweep_", "mnist")) and _written(p))


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def run_onnx(path, x):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"features": x})))


@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory):
    """A folder whose only package is NumPy (symbolic links to the venv's), for `python -I -S`."""
    site = tmp_path_factory.mktemp("only-numpy")
    numpy_dir = Path(np.__file__).parent
    for name in ("numpy", "numpy.libs"):
        if (numpy_dir.parent / name).exists():
            (site / name).symlink_to(numpy_dir.parent / name)
    return site


def run_numpy_only(site, code: str) -> str:
    """Run `code` in a fresh interpreter that sees the standard library and NumPy, nothing else."""
    prelude = (f"import sys; sys.path.insert(0, {str(site)!r})\n"
               "import importlib.util\n"
               "assert importlib.util.find_spec('nnctl') is None and importlib.util.find_spec('sklearn') is None\n")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", prelude + code], capture_output=True, text=True,
                          timeout=120, cwd=site, env={"PATH": os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stderr
    return done.stdout


def numpy_folder_outputs(site, folder, x, tmp_path) -> dict:
    """predict_proba / predict of an exported folder, computed in a NumPy-only process."""
    np.save(tmp_path / "x.npy", x)
    run_numpy_only(site, f"import runpy, json, numpy as np\n"
                         f"m = runpy.run_path({str(folder / 'predict.py')!r})\n"
                         f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
                         f"spec = m['load']()[0]\n"
                         f"if spec['task'] == 'regression':\n"
                         f"    np.save({str(tmp_path / 'prediction.npy')!r}, m['predict'](x))\n"
                         f"else:\n"
                         f"    np.save({str(tmp_path / 'probabilities.npy')!r}, m['predict_proba'](x))\n"
                         f"    np.save({str(tmp_path / 'label.npy')!r}, m['predict'](x))\n")
    return {name: np.load(tmp_path / f"{name}.npy") for name in ("prediction", "probabilities", "label")
            if (tmp_path / f"{name}.npy").exists()}


def assert_same(ckpt, x, got):
    """got (outputs of an export) equals nnctl's api.predictions within the bounds."""
    bound = check.BOUNDS[ckpt.config.training.dtype]
    expected = api.predictions(ckpt, x)
    if expected["task"] == "regression":
        values = expected["values"]
        have = np.asarray(got["prediction"]).reshape(values.shape)
        target = ckpt.preprocessing["target"]
        scale = target["std"] * np.maximum(np.abs(values - target["mean"]) / target["std"], 1.0)
        assert np.max(np.abs(have - values) / scale) <= bound
        return
    assert np.max(np.abs(np.asarray(got["probabilities"], np.float64) - expected["probabilities"])) <= bound
    label = np.asarray(got["label"])
    if label.dtype.kind not in "iu":
        label = np.array([ckpt.classes.index(c) for c in label.tolist()])
    np.testing.assert_array_equal(label, expected["predicted"])


# ---------------------------------------------------------------- shipped configs


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_exports_to_both_formats_exactly(name, tmp_path, numpy_only, monkeypatch):
    monkeypatch.chdir(ROOT)  # the CSV config names its file from the repository's root
    cfg = config.load(ROOT / "configs" / f"{name}.yaml", ["training.epochs=3"])
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
    assert sorted(os.listdir(tmp_path / "folder")) == ["model.npz", "predict.py"]
    x, _ = check.rows(ckpt)
    assert_same(ckpt, x, run_onnx(tmp_path / "model.onnx", x))
    assert_same(ckpt, x, numpy_folder_outputs(numpy_only, tmp_path / "folder", x, tmp_path))


# ---------------------------------------------------------------- random networks


HIDDEN = [a for a in ACTIVATIONS if a != "softmax"]  # softmax belongs on the output layer only
OUTPUTS = {  # loss: (output layer, data)
    "cross_entropy": ({"units": 2, "activation": "softmax"}, {"name": "moons", "n_samples": 200}),
    "binary_cross_entropy": ({"units": 1, "activation": "sigmoid"}, {"name": "moons", "n_samples": 200}),
    "mse": ({"units": 1}, {"name": "diabetes"}),
}


def random_checkpoint(path, activation: str, loss: str, dtype: str, seed: int = 0):
    """A checkpoint of an untrained network over every layer kind, with random batchnorm
    statistics: batchnorm after an activation (a node), after a linear dense (folded, also across
    dropout), and on the inputs themselves."""
    output, data = OUTPUTS[loss]
    layers = [{"type": "batchnorm"},
              {"units": 8, "activation": activation},
              {"type": "batchnorm", "activation": activation},
              {"units": 8},
              {"type": "dropout", "rate": 0.3},
              {"type": "batchnorm", "activation": activation},
              {"units": 8, "activation": activation},
              output]
    cfg = config.from_dict({"seed": 0, "data": data, "model": {"layers": layers}, "loss": loss,
                            "optimizer": {"name": "adam", "lr": 0.01}, "training": {"epochs": 1, "dtype": dtype}})
    n_inputs = 2 if data["name"] == "moons" else 10
    rng = np.random.default_rng(seed)
    model = build(config.plain(cfg.model.layers), n_inputs, rng, dtype)
    for name, array in model.state().items():
        if name.endswith(("gamma", "running_var")):
            array[...] = rng.uniform(0.5, 2.0, array.shape)
        elif name.endswith(("beta", "running_mean", ".b")):
            array[...] = rng.normal(0, 0.5, array.shape)
    preprocessing = {"scaling": "standard", "mean": rng.normal(0, 1, n_inputs).tolist(),
                     "std": rng.uniform(0.5, 2, n_inputs).tolist()}
    classes = [0, 1]
    if loss == "mse":
        preprocessing["target"], classes = {"scaling": "standard", "mean": 152.0, "std": 77.0}, []
    checkpoint_module.save(path, config=cfg, model=model, preprocessing=preprocessing, classes=classes,
                           epoch=0, metrics={})
    return api.load_checkpoint(path)


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
    assert sum(node.op_type == "BatchNormalization" for node in model.graph.node) == (1 if activation == "linear" else 2)
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, dtype) * 3  # also outside the training range
    assert_same(ckpt, x, run_onnx(tmp_path / "model.onnx", x))
    from nnctl.export import numpy_folder
    assert_same(ckpt, x, numpy_folder.run(tmp_path / "folder", x))


def test_every_activation_has_an_onnx_form_and_a_numpy_form():
    assert set(onnx_format.ACTIVATION_NODES) == set(ACTIVATIONS) == set(predict_template.ACTIVATIONS)
    x = np.linspace(-30, 30, 601).reshape(-1, 1)
    for name, rule in ACTIVATIONS.items():
        forward = rule.forward
        if name != "softmax":
            np.testing.assert_array_equal(predict_template.ACTIVATIONS[name](x), forward(x), err_msg=name)


# ---------------------------------------------------------------- the ONNX model itself


def test_onnx_model_inputs_outputs_opset_and_metadata(moons_run, tmp_path):
    out = tmp_path / "model.onnx"
    export(moons_run["checkpoint"], "onnx", out)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert [i.name for i in model.graph.input] == ["features"]
    assert [o.name for o in model.graph.output] == ["probabilities", "label"]
    assert model.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    props = {p.key: p.value for p in model.metadata_props}
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    assert props["nnctl_version"] == __import__("nnctl").__version__
    assert json.loads(props["classes"]) == ckpt.classes
    assert json.loads(props["config"]) == ckpt.config.model_dump(mode="json")
    assert props["checkpoint_sha256"] == hashlib.sha256(Path(moons_run["checkpoint"]).read_bytes()).hexdigest()


def test_regression_gives_prediction_in_the_targets_units(tmp_path):
    ckpt = random_checkpoint(tmp_path / "checkpoint.json", "relu", "mse", "float32")
    export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx")
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float32")
    got = run_onnx(tmp_path / "model.onnx", x)
    assert list(got) == ["prediction"] and got["prediction"].shape == (len(x),)
    assert_same(ckpt, x, got)
    assert got["prediction"].dtype == np.float64  # unscaled in float64, as nnctl does


def test_without_onnxruntime_the_reference_evaluator_checks(moons_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    report = export(moons_run["checkpoint"], "onnx", tmp_path / "model.onnx")
    assert report["max_difference"] <= report["bound"] and (tmp_path / "model.onnx").is_file()


# ---------------------------------------------------------------- the NumPy folder


def test_numpy_folder_predict_py_prints_the_classes(moons_run, tmp_path, numpy_only):
    folder = tmp_path / "folder"
    assert invoke("export", moons_run["run_dir"], "--format", "numpy", "-o", folder).exit_code == 0
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float32", n=20).astype(np.float64)
    (tmp_path / "input.csv").write_text("x0,x1\n" + "\n".join(",".join(repr(v) for v in row) for row in x.tolist()))
    printed = run_numpy_only(numpy_only, f"import runpy, sys\nsys.argv = ['predict.py', {str(tmp_path / 'input.csv')!r}]\n"
                                         f"runpy.run_path({str(folder / 'predict.py')!r}, run_name='__main__')\n")
    expected = api.predictions(ckpt, x)
    assert printed.split() == [str(ckpt.classes[k]) for k in expected["predicted"]]
    with np.load(folder / "model.npz", allow_pickle=False) as npz:  # no object arrays: no pickle needed
        assert "spec" in npz.files and "layers.0.W" in npz.files


def test_numpy_export_replaces_an_earlier_one_but_no_other_folder(moons_run, tmp_path):
    folder = tmp_path / "folder"
    assert invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", folder).exit_code == 0
    assert invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", folder).exit_code == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    result = invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", tmp_path / "other")
    assert result.exit_code == 1 and "not an earlier NumPy export" in result.output
    assert os.listdir(tmp_path / "other") == ["notes.txt"]
    assert sorted(os.listdir(tmp_path)) == ["folder", "other"]


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


def test_a_data_file_outside_the_run_folder_is_not_opened(moons_run, tmp_path):
    """The check rebuilds the test split only as `nnctl eval` may: else synthetic rows."""
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    data.write_text("a,b,y\n" + "\n".join(f"{a},{b},{int(a > b)}" for a, b in rng.normal(size=(60, 2))))
    cfg = config.from_dict({"seed": 0, "data": {"name": "csv", "path": str(data), "target": "y"},
                            "model": {"layers": [{"units": 4, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
                            "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.01}, "training": {"epochs": 2}})
    run = api.train(cfg, run_dir=tmp_path / "run", plots=False)
    data.write_text("not,a,table\n\x00")  # were it opened, the check would fail to read it
    report = export(run["checkpoint"], "numpy", tmp_path / "folder")
    assert report["rows_from"] == "synthetic rows in the training range" and report["rows"] == check.SYNTHETIC_ROWS


def test_the_check_reference_is_nnctls_predictions(moons_run):
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    x, rows_from = check.rows(ckpt)
    assert rows_from == "test split" and len(x) == moons_run["test"]["n"]
    reference, predictions = check.reference(ckpt, x), api.predictions(ckpt, x)
    np.testing.assert_array_equal(reference["probabilities"], predictions["probabilities"])
    np.testing.assert_array_equal(reference["label"], predictions["predicted"])


def test_the_docs_onnxruntime_example_runs(moons_run, tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "export.md").read_text()
    example = re.search(r"With onnxruntime:\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(example.strip().splitlines()) <= 10
    export(moons_run["checkpoint"], "onnx", tmp_path / "model.onnx")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "docs/export.md", "exec"), {})
    printed = capsys.readouterr().out
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    expected = api.predictions(ckpt, np.array([[0.5, 0.25], [1.5, -0.5]]))
    assert printed.startswith(str([ckpt.classes[k] for k in expected["predicted"]]))
