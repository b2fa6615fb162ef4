"""What the export tests share: checkpoints of random networks, a Python that has NumPy alone, and
the comparison of an export's outputs with nnctl's predictions."""

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from nnctl import api, config
from nnctl.engine.model import build
from nnctl.export import check
from nnctl.runs import checkpoint as checkpoint_module

OUTPUTS = {  # loss: (output layer, data)
    "cross_entropy": ({"units": 2, "activation": "softmax"}, {"name": "moons", "n_samples": 200}),
    "binary_cross_entropy": ({"units": 1, "activation": "sigmoid"}, {"name": "moons", "n_samples": 200}),
    "mse": ({"units": 1}, {"name": "diabetes"}),
}


def random_checkpoint(path, activation: str = "relu", loss: str = "cross_entropy", dtype: str = "float32",
                      seed: int = 0, *, classes=None, names=None, data=None, run=None):
    """A checkpoint of an untrained network over every layer kind, with random batchnorm
    statistics: batchnorm after an activation (a node), after a linear dense (folded, also across
    dropout), and on the inputs themselves. `classes` and `names` (the feature columns') replace
    the defaults ([0, 1], none); `data` and `run` the config's sections."""
    output, default_data = OUTPUTS[loss]
    layers = [{"type": "batchnorm"},
              {"units": 8, "activation": activation},
              {"type": "batchnorm", "activation": activation},
              {"units": 8},
              {"type": "dropout", "rate": 0.3},
              {"type": "batchnorm", "activation": activation},
              {"units": 8, "activation": activation},
              output]
    cfg = config.from_dict({"seed": 0, "data": data or default_data, "model": {"layers": layers}, "loss": loss,
                            "optimizer": {"name": "adam", "lr": 0.01}, "training": {"epochs": 1, "dtype": dtype},
                            **({"run": run} if run else {})})
    n_inputs = len(names) if names else 2 if default_data["name"] == "moons" else 10
    rng = np.random.default_rng(seed)
    model = randomised(build(config.plain(cfg.model.layers), n_inputs, rng, dtype), rng)
    preprocessing = {"scaling": "standard", "mean": rng.normal(0, 1, n_inputs).tolist(),
                     "std": rng.uniform(0.5, 2, n_inputs).tolist()}
    if names:
        preprocessing["inputs"] = {"names": list(names), "min": [-3.0] * n_inputs, "max": [3.0] * n_inputs}
    classes = [0, 1] if classes is None else classes
    if loss == "mse":
        preprocessing["target"], classes = {"scaling": "standard", "mean": 152.0, "std": 77.0}, []
    checkpoint_module.save(path, config=cfg, model=model, preprocessing=preprocessing, classes=classes,
                           epoch=0, metrics={})
    return api.load_checkpoint(path)


def randomised(model, rng):
    """The model, its biases and batchnorm statistics drawn at random (a new network's are 0 and 1)."""
    for name, array in model.state().items():
        if name.endswith(("gamma", "running_var")):
            array[...] = rng.uniform(0.5, 2.0, array.shape)
        elif name.endswith(("beta", "running_mean", ".b")):
            array[...] = rng.normal(0, 0.5, array.shape)
    return model


def random_image_checkpoint(path, layers: list, dtype: str = "float32", seed: int = 0, shape=(8, 8, 1)):
    """A checkpoint of an untrained network of `layers` on images of `shape` (H, W, C): the 8 x 8
    digits, or any other shape as images of an .npz file that does not exist (an export then checks
    itself on synthetic rows); its biases and batchnorm statistics random, its standard scaling
    fitted to a 0-16 range of values."""
    digits = tuple(shape) == (8, 8, 1)
    cfg = config.from_dict({"seed": 0, "data": {"name": "digits"} if digits else {"name": "npz", "path": "images.npz"},
                            "model": {"layers": layers}, "loss": "cross_entropy",
                            "optimizer": {"name": "adam", "lr": 0.01}, "training": {"epochs": 1, "dtype": dtype}})
    rng = np.random.default_rng(seed)
    model = randomised(build(config.plain(cfg.model.layers), tuple(shape), rng, dtype), rng)
    n = int(np.prod(shape))
    preprocessing = {"scaling": "standard", "mean": rng.uniform(0, 8, n).tolist(), "std": rng.uniform(2, 6, n).tolist()}
    n_classes = layers[-1]["units"]
    checkpoint_module.save(path, config=cfg, model=model, preprocessing=preprocessing, classes=list(range(n_classes)),
                           epoch=0, metrics={})
    return api.load_checkpoint(path)


@functools.cache
def numpy_site() -> Path:
    """A folder whose only package is NumPy (symbolic links to the venv's), for `python -I -S`;
    made once per test session."""
    site = Path(tempfile.mkdtemp(prefix="only-numpy-"))
    numpy_dir = Path(np.__file__).parent
    for name in ("numpy", "numpy.libs"):
        if (numpy_dir.parent / name).exists():
            (site / name).symlink_to(numpy_dir.parent / name)
    return site


def run_numpy_only(code: str = "", check: bool = True, args=(), stdin: str | None = None):
    """Run `code` (or, given `args`, a script: `args[0]` and its arguments) in a fresh interpreter
    that sees the standard library and NumPy, nothing else; its stdout (or the whole
    CompletedProcess when `check` is false)."""
    site = numpy_site()
    prelude = (f"import sys; sys.path.insert(0, {str(site)!r})\n"
               "import importlib.util\n"
               "assert importlib.util.find_spec('nnctl') is None and importlib.util.find_spec('sklearn') is None\n")
    if args:
        code = (prelude + f"import runpy; sys.argv = {[str(a) for a in args]!r}\n"
                "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    else:
        code = prelude + code
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, input=stdin,
                          timeout=120, cwd=site, env={"PATH": os.environ.get("PATH", "")})
    if not check:
        return done
    assert done.returncode == 0, done.stderr
    return done.stdout


def numpy_folder_outputs(folder, x, tmp_path) -> dict:
    """predict_proba / predict of an exported folder, computed in a NumPy-only process (`x` an
    array of rows or images, or a CSV model's cells by column)."""
    if isinstance(x, dict):
        (tmp_path / "x.json").write_text(json.dumps(x))
        load = f"json.loads(open({str(tmp_path / 'x.json')!r}).read())"
    else:
        np.save(tmp_path / "x.npy", x)
        load = f"np.load({str(tmp_path / 'x.npy')!r})"
    run_numpy_only(f"import runpy, json, numpy as np\n"
                   f"m = runpy.run_path({str(folder / 'predict.py')!r})\n"
                   f"x = {load}\n"
                   f"if m['load']().task == 'regression':\n"
                   f"    np.save({str(tmp_path / 'prediction.npy')!r}, m['predict'](x))\n"
                   f"else:\n"
                   f"    np.save({str(tmp_path / 'probabilities.npy')!r}, m['predict_proba'](x))\n"
                   f"    np.save({str(tmp_path / 'label.npy')!r}, m['predict'](x))\n")
    return {name: np.load(tmp_path / f"{name}.npy") for name in ("prediction", "probabilities", "label")
            if (tmp_path / f"{name}.npy").exists()}


def run_onnx(path, x, ckpt=None) -> dict:
    """The ONNX model's outputs for rows x (a CSV model's cells by column, given its checkpoint),
    by onnxruntime: {output name: array}."""
    import onnxruntime

    from nnctl.export import onnx_run

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = onnx_run.feeds(ckpt, x) if ckpt is not None else {"features": x}
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def assert_same(ckpt, x, got):
    """got (outputs of an export) equals nnctl's api.predictions within the bounds."""
    bound = check.BOUNDS[ckpt.config.training.dtype]
    expected = api.predictions(ckpt, x)
    if expected["task"] == "regression":
        values = expected["values"]
        have = np.asarray(got["variable" if "variable" in got else "prediction"]).reshape(values.shape)
        target = ckpt.preprocessing["target"]
        scale = target["std"] * np.maximum(np.abs(values - target["mean"]) / target["std"], 1.0)
        assert np.max(np.abs(have - values) / scale) <= bound
        return
    assert np.max(np.abs(np.asarray(got["probabilities"], np.float64) - expected["probabilities"])) <= bound
    label = np.asarray(got["label"]).tolist()  # the class values themselves: ints, or text
    np.testing.assert_array_equal([ckpt.classes.index(c) for c in label], expected["predicted"])
