"""Export of image models: small random conv networks over every padding mode, stride, dilation,
pooling, batchnorm, dropout and activation variant, on one channel and on three, in float32 and
float64, to ONNX (run by onnxruntime, and by onnx's reference evaluator) and to the NumPy folder
(run in an interpreter that has NumPy alone, given images as well as rows), each equal to nnctl's
predictions."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.export import (
    assert_same,
    numpy_folder_outputs,
    random_checkpoint,
    random_image_checkpoint,
    run_numpy_only,
    run_onnx,
)

from nnctl.export import check, export, numpy_folder

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
ROOT = Path(__file__).resolve().parents[2]

OUTPUT = {"units": 10, "activation": "softmax"}
# Each network on (8, 8, 1) images; together they hold every variant an export writes differently.
NETWORKS = {
    # same padding with an even kernel and strides [2, 1] (the odd pixel at the bottom), batchnorm right
    # after a linear conv (folded into it), an activation layer, max pooling padded `same`, then flatten
    # of 3 channels (the order back to channels last)
    "same-strided-folded-maxpool": [
        {"type": "conv2d", "filters": 3, "kernel_size": [3, 4], "strides": [2, 1], "padding": "same"},
        {"type": "batchnorm"},
        {"type": "activation", "activation": "tanh"},
        {"type": "maxpool2d", "pool_size": 3, "strides": 2, "padding": "same"},
        {"type": "flatten"},
        OUTPUT],
    # integer padding with dilation, batchnorm after an activation (a node, channels first), average
    # pooling whose padding is left out of the count, a [vertical, horizontal] padding, global average
    "padded-dilated-avgpool-global": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": 2, "dilation": 2, "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "avgpool2d", "pool_size": 3, "strides": 2, "padding": 1},
        {"type": "conv2d", "filters": 5, "kernel_size": 2, "padding": [1, 0], "dilation": [1, 2], "activation": "elu"},
        {"type": "global_avgpool2d"},
        OUTPUT],
    # valid convolution, a relu layer, max pooling of a [2, 3] window by [1, 2] strides, average
    # pooling `same` at stride 1 (padding at the bottom and right only), dropout, batchnorm on the
    # flattened features
    "valid-pools-dropout-flat-batchnorm": [
        {"type": "conv2d", "filters": 2, "kernel_size": 3, "activation": "linear"},
        {"type": "relu"},
        {"type": "maxpool2d", "pool_size": [2, 3], "strides": [1, 2]},
        {"type": "avgpool2d", "pool_size": 2, "strides": 1, "padding": "same"},
        {"type": "dropout", "rate": 0.5},
        {"type": "flatten"},
        {"type": "batchnorm"},
        {"units": 6, "activation": "gelu"},
        OUTPUT],
    # three channels of 5 x 6 images (in PyTorch's names): a convolution strided, dilated and padded
    # [1, 2], dropout then batchnorm (folded into it across the dropout), max pooling padded by 1
    # (negative values beside the padding), average pooling `same` at stride 2 (its odd pixel at the
    # bottom), flatten of 4 channels
    "rgb-aliases-dropout-folded": [
        {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": [2, 3], "stride": [2, 1],
         "dilation": [1, 2], "padding": [1, 2]},
        {"type": "dropout", "rate": 0.25},
        {"type": "batchnorm"},
        {"type": "MaxPool2d", "kernel_size": 2, "stride": 1, "padding": 1},
        {"type": "AveragePooling2D", "pool_size": 3, "strides": 2, "padding": "same"},
        {"type": "Flatten"},
        {"units": 3, "activation": "softmax"}],
    # batchnorm on the input images (per channel, a node), then every activation not written above
    # on images: the conv's own, then activation layers
    "every-activation-on-images": [
        {"type": "batchnorm"},
        {"type": "conv2d", "filters": 3, "kernel_size": 2, "activation": "leaky_relu"},
        {"type": "activation", "activation": "selu"},
        {"type": "activation", "activation": "softplus"},
        {"type": "activation", "activation": "silu"},
        {"type": "activation", "activation": "sigmoid"},
        {"type": "activation", "activation": "gelu"},
        {"type": "GlobalAveragePooling2D"},
        OUTPUT],
}
SHAPES = {"rgb-aliases-dropout-folded": (5, 6, 3)}  # the others take the digits' (8, 8, 1)
BATCHNORM_NODES = {"padded-dilated-avgpool-global": 1, "valid-pools-dropout-flat-batchnorm": 1,  # else all folded
                   "every-activation-on-images": 1}
# onnxruntime runs these in float32 only: a float64 model computes them from Slice, MatMul, Sum ...
FLOAT32_ONLY = {"Conv", "AveragePool", "GlobalAveragePool"}


def ops(path) -> list[str]:
    return [node.op_type for node in onnx.load(str(path)).graph.node]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_random_conv_networks_export_exactly_to_both_formats(network, dtype, tmp_path):
    shape = SHAPES.get(network, (8, 8, 1))
    ckpt = random_image_checkpoint(tmp_path / "checkpoint.json", NETWORKS[network], dtype, shape=shape)
    reports = [export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx"),
               export(tmp_path / "checkpoint.json", "numpy", tmp_path / "folder")]
    assert all(r["max_difference"] <= r["bound"] for r in reports)
    assert {r["rows_from"] for r in reports} == {"test split" if shape == (8, 8, 1) else "synthetic rows in the "
                                                                                         "training range"}
    written = ops(tmp_path / "model.onnx")
    assert written[2:4] == ["Reshape", "Transpose"]  # after the scaling: flat rows to images, channels first
    assert ("Conv" in written) == (dtype == "float32")
    assert (dtype == "float64") == (not FLOAT32_ONLY & set(written))  # float64: none of them
    assert written.count("BatchNormalization") == BATCHNORM_NODES.get(network, 0)
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, dtype) * 3  # also outside the training range
    assert_same(ckpt, x, run_onnx(tmp_path / "model.onnx", x))
    # the images themselves; one channel also without its axis
    images = x.reshape(-1, *shape) if dtype == "float32" or shape[2] > 1 else x.reshape(-1, *shape[:2])
    assert_same(ckpt, x, numpy_folder_outputs(tmp_path / "folder", images, tmp_path))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_without_onnxruntime_the_reference_evaluator_runs_the_image_nodes(dtype, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    for network, layers in NETWORKS.items():
        random_image_checkpoint(tmp_path / f"{network}.json", layers, dtype, shape=SHAPES.get(network, (8, 8, 1)))
        report = export(tmp_path / f"{network}.json", "onnx", tmp_path / f"{network}.onnx")
        assert report["max_difference"] <= report["bound"], network


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_onnx_model_says_its_input_shape_and_takes_images_as_the_docs_flatten_them(dtype, tmp_path):
    """The input contract of docs/export.md, by onnxruntime: `features` (N, H*W*C) in the model's
    dtype, `input_shape` [H, W, C] in the metadata, channels-last images flattened as they lie, and
    channels-first ones (PyTorch's) transposed first; flattened as they lie instead, they differ."""
    import onnxruntime

    ckpt = random_image_checkpoint(tmp_path / "checkpoint.json", NETWORKS["rgb-aliases-dropout-folded"], dtype,
                                   shape=(5, 6, 3))
    export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert given.type == {"float32": "tensor(float)", "float64": "tensor(double)"}[dtype]
    assert (given.name, given.shape) == ("features", ["N", 90])
    assert json.loads(session.get_modelmeta().custom_metadata_map["input_shape"]) == [5, 6, 3]
    images = check.synthetic(ckpt.preprocessing, 90, dtype).reshape(-1, 5, 6, 3)  # channels last, as nnctl's
    rows = images.reshape(len(images), -1)
    assert_same(ckpt, rows, run_onnx(tmp_path / "model.onnx", rows))
    torch_layout = np.ascontiguousarray(images.transpose(0, 3, 1, 2))  # (N, C, H, W)
    documented = torch_layout.transpose(0, 2, 3, 1).reshape(len(images), -1)
    assert_same(ckpt, rows, run_onnx(tmp_path / "model.onnx", documented))
    as_it_lies = run_onnx(tmp_path / "model.onnx", torch_layout.reshape(len(images), -1))
    assert np.abs(as_it_lies["probabilities"] - run_onnx(tmp_path / "model.onnx", rows)["probabilities"]).max() > 1e-3
    other_dtype = rows.astype(np.float64 if dtype == "float32" else np.float32)
    for refused in (rows[:, :-1], images, other_dtype):  # another width, the images themselves, another dtype
        with pytest.raises(Exception, match="INVALID_ARGUMENT"):
            session.run(None, {"features": refused})


def test_the_numpy_api_takes_images_and_names_the_shapes_it_takes(tmp_path):
    ckpt = random_image_checkpoint(tmp_path / "checkpoint.json", NETWORKS["valid-pools-dropout-flat-batchnorm"])
    export(tmp_path / "checkpoint.json", "numpy", tmp_path / "folder")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
            "import folder, numpy as np\n"
            "model = folder.load()\n"
            "x = np.arange(2 * 64, dtype=float).reshape(2, 64) % 17\n"
            "assert model.input_shape == (8, 8, 1)\n"
            "same = [model.predict_proba(a) for a in (x, x.reshape(2, 8, 8, 1), x.reshape(2, 8, 8))]\n"
            "assert all((p == same[0]).all() for p in same)\n"
            "try:\n"
            "    model.predict(x.reshape(2, 1, 8, 8))\n"
            "except folder.InputError as e:\n"
            "    print(e)\n")
    message = run_numpy_only(code).strip()
    assert message == "expected rows of 64 features, a 2-D array (n, 64), or images (n, 8, 8, 1) or (n, 8, 8); " \
                      "got shape (2, 1, 8, 8)"
    spec = numpy_folder.spec(ckpt, "0" * 64)
    assert spec["input_shape"] == [8, 8, 1] and spec["steps"][0] == {"kind": "images", "name": "input",
                                                                     "shape": [8, 8, 1]}
    assert spec["steps"][1] == {"kind": "conv2d", "name": "layers.0", "strides": [1, 1], "dilation": [1, 1],
                                "pads": [0, 0, 0, 0]}


def test_an_image_model_is_spec_version_4_which_an_older_predict_py_refuses(tmp_path, monkeypatch):
    """Version 4 marks image steps (3 a CSV's columns): a predict.py of version 3 would not know them."""
    ckpt = random_image_checkpoint(tmp_path / "checkpoint.json", NETWORKS["same-strided-folded-maxpool"])
    dense = random_checkpoint(tmp_path / "dense.json")
    assert numpy_folder.spec(ckpt, "0" * 64)["version"] == 4 and numpy_folder.spec(dense, "0" * 64)["version"] == 2
    export(tmp_path / "checkpoint.json", "numpy", tmp_path / "folder")
    spec = importlib.util.spec_from_file_location("exported_versions", tmp_path / "folder" / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.load(tmp_path / "folder").input_shape == (8, 8, 1)
    monkeypatch.setattr(module, "VERSION", 3)
    with pytest.raises(ValueError, match=r"not a model this predict.py reads \(nnctl-numpy-model version 4\); use the "
                                         r"predict.py exported with it"):
        module.load(tmp_path / "folder")


def test_the_docs_image_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "export.md").read_text()
    example = re.search(r"## Image models.*?```python\n(.*?)```", text, re.DOTALL).group(1)
    ckpt = random_image_checkpoint(tmp_path / "checkpoint.json", NETWORKS["same-strided-folded-maxpool"])
    export(tmp_path / "checkpoint.json", "onnx", tmp_path / "digits_cnn.onnx")
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(example, "docs/export.md", "exec"), scope)  # noqa: S102 - the page's example, as a reader runs it
    assert_same(ckpt, np.zeros((2, 64), np.float32), {"label": scope["label"], "probabilities": scope["probabilities"]})


def test_the_numpy_folder_runs_many_rows_a_batch_at_a_time(tmp_path, monkeypatch):
    ckpt = random_image_checkpoint(tmp_path / "checkpoint.json", NETWORKS["padded-dilated-avgpool-global"])
    export(tmp_path / "checkpoint.json", "numpy", tmp_path / "folder")
    spec = importlib.util.spec_from_file_location("exported_batches", tmp_path / "folder" / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen = []
    monkeypatch.setattr(module, "BATCH_ROWS", 7)
    monkeypatch.setitem(module.STEPS, "images", lambda x, arrays, step: seen.append(len(x)) or
                        x.reshape(len(x), *step["shape"]))
    x = check.synthetic(ckpt.preprocessing, 64, "float32", n=20)
    got = module.load(tmp_path / "folder")
    assert_same(ckpt, x, {"probabilities": got.predict_proba(x), "label": got.predict(x)})
    assert seen == [7, 7, 6] * 2


def test_a_saved_conv_estimator_exports_to_both_formats(tmp_path):
    """NnctlClassifier fitted on (n, H, W, 3) images, saved: its data never existed as a file, so
    each export checks itself on synthetic rows; the NumPy folder gives the estimator's classes."""
    from nnctl.sklearn import NnctlClassifier

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (60, 4, 5, 3))
    y = (images[:, :2, :, 0].mean(axis=(1, 2)) > images[:, 2:, :, 2].mean(axis=(1, 2))).astype(int)
    cnn = {"model": {"layers": [{"type": "conv2d", "filters": 3, "kernel_size": 2, "activation": "relu"},
                                {"type": "maxpool2d", "padding": "same"}, {"type": "flatten"}]}}
    clf = NnctlClassifier(cnn, image_shape=(4, 5, 3), epochs=2, random_state=0).fit(images, y)
    clf.save(tmp_path / "cnn.json")
    reports = [export(tmp_path / "cnn.json", "onnx", tmp_path / "cnn.onnx"),
               export(tmp_path / "cnn.json", "numpy", tmp_path / "folder")]
    assert {r["rows_from"] for r in reports} == {"synthetic rows in the training range"}
    assert all(r["max_difference"] <= r["bound"] for r in reports)
    got = numpy_folder_outputs(tmp_path / "folder", images, tmp_path)
    assert got["label"].tolist() == clf.predict(images).tolist()
    np.testing.assert_allclose(got["probabilities"], clf.predict_proba(images), atol=1e-6)


@pytest.mark.parametrize("runtime", ["onnxruntime", "reference evaluator"])
def test_the_onnx_check_runs_the_rows_a_slice_at_a_time(runtime, tmp_path, monkeypatch):
    """A float64 image model's graph holds each convolution's patches at once: the check feeds the
    model ROWS_PER_RUN rows at a time (here 100 of the 256 synthetic rows), as nnctl's predict
    takes batches, and joins the outputs in order."""
    import onnxruntime
    from onnx.reference import ReferenceEvaluator

    from nnctl.export import onnx_run

    if runtime == "reference evaluator":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
    session = ReferenceEvaluator if runtime == "reference evaluator" else onnxruntime.InferenceSession
    seen, run = [], session.run
    monkeypatch.setattr(session, "run", lambda self, names, feeds: seen.append(len(feeds["features"])) or
                        run(self, names, feeds))
    monkeypatch.setattr(onnx_run, "ROWS_PER_RUN", 100)
    random_image_checkpoint(tmp_path / "checkpoint.json", NETWORKS["rgb-aliases-dropout-folded"], "float64",
                            shape=(5, 6, 3))
    report = export(tmp_path / "checkpoint.json", "onnx", tmp_path / "model.onnx")
    assert report["rows"] == 256 and report["max_difference"] <= report["bound"]
    assert seen == [100, 100, 56]
