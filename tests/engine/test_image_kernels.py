"""The compiled image kernels (im2col, col2im, max and average pooling) give the NumPy code's bits:
each image layer run both ways on the same inputs (float32 and float64; overlapping, padded,
strided and dilated windows; ties, NaN, infinities and signed zeros), the raw bytes compared; and
a whole convolutional training ends with the same weights either way."""

import numpy as np
import pytest

from nnctl import api
from nnctl.engine import conv, kernels, model
from nnctl.engine.conv import Conv2D
from nnctl.engine.pooling import AvgPool2D, MaxPool2D

jit_only = pytest.mark.skipif(kernels.load() is None, reason="numba is not importable or NNCTL_JIT=0")

LAYERS = [
    (Conv2D, {"filters": 3, "kernel_size": 3, "padding": "same"}, (7, 6, 2)),
    (Conv2D, {"filters": 2, "kernel_size": [2, 3], "strides": [2, 1], "dilation": [1, 2], "padding": 1}, (8, 9, 3)),
    (Conv2D, {"filters": 4, "kernel_size": 5, "strides": 2}, (12, 12, 1)),
    (MaxPool2D, {"pool_size": 3, "strides": 1, "padding": "same"}, (6, 7, 2)),  # overlapping windows
    (MaxPool2D, {"pool_size": 2}, (8, 8, 3)),
    (MaxPool2D, {"pool_size": [3, 2], "strides": [2, 1], "padding": [1, 1]}, (7, 5, 2)),
    (AvgPool2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (7, 8, 2)),
    (AvgPool2D, {"pool_size": 2, "strides": 1}, (5, 5, 3)),
]


def inputs(shape, dtype, seed):
    """Images with repeated values (ties), NaN, +-inf and -0.0 among ordinary numbers."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, *shape)).astype(dtype)
    x.reshape(-1)[::7] = np.round(x.reshape(-1)[::7])  # ties inside windows
    x.reshape(-1)[5::13] = -0.0
    if seed % 2:
        x.reshape(-1)[3::41] = np.nan
        x.reshape(-1)[9::53] = -np.inf
        x.reshape(-1)[11::59] = np.inf
    return x


def run(cls, options, shape, dtype, seed, jit, monkeypatch):
    """The bytes of a layer's inference and training outputs, its dx and its gradients."""
    monkeypatch.setenv("NNCTL_JIT", "1" if jit else "0")
    layer = cls(**options)
    layer.build(shape, np.random.default_rng(0), dtype)
    x = inputs(shape, dtype, seed)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and infinities in, on purpose
        inference = layer.forward(x).copy()
        y = layer.forward(x, training=True).copy()
        dy = np.random.default_rng(seed + 1).normal(size=y.shape).astype(dtype)
        dy.reshape(-1)[::9] = -0.0
        dx = layer.backward(dy).copy()
    return [a.tobytes() for a in (inference, y, dx, *layer.grads.values())]


@jit_only
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,options,shape", LAYERS, ids=lambda v: getattr(v, "__name__", None))
def test_an_image_kernel_gives_numpys_bits(cls, options, shape, dtype, seed, monkeypatch):
    assert run(cls, options, shape, dtype, seed, True, monkeypatch) == run(cls, options, shape, dtype, seed, False,
                                                                           monkeypatch)


@pytest.mark.slow
@jit_only
def test_a_cnn_trains_to_the_same_weights_with_and_without_the_kernels(tmp_path, monkeypatch):
    config = tmp_path / "cnn.yaml"
    config.write_text("""\
seed: 3
data: {name: digits}
model:
  layers:
    - {type: conv2d, filters: 6, kernel_size: 3, padding: same, activation: relu}
    - {type: maxpool2d, pool_size: 2}
    - {type: batchnorm}
    - {type: conv2d, filters: 8, kernel_size: 3, activation: relu}
    - {type: avgpool2d, pool_size: 2, strides: 1, padding: same}
    - {type: dropout, rate: 0.2}
    - {type: flatten}
    - {units: 10, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.003}
training: {epochs: 2, batch_size: 64}
""")
    states = []
    for jit in ("1", "0"):
        monkeypatch.setenv("NNCTL_JIT", jit)
        result = api.train(api.load_config(config), run_dir=tmp_path / f"run-{jit}", plots=False)
        states.append({k: v.tobytes() for k, v in api.load_checkpoint(result["last_checkpoint"]).model.state().items()})
    assert states[0] == states[1]
    assert result["test"]["accuracy"] > 0.3  # it learned something (chance: 0.1)


@jit_only
@pytest.mark.parametrize("channels", [1, 3])
def test_the_fused_conv_steps_over_several_chunks_give_numpys_bits(channels, monkeypatch):
    """conv+relu+maxpool and conv+relu, a few images a chunk (the last chunk shorter), float32:
    the compiled steps' outputs and gradients are the bytes of the layers run apart in NumPy."""
    monkeypatch.setattr(conv, "CHUNK_VALUES", 3 * 10 * 10 * 9)  # the second conv: three images a chunk
    layers = [{"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
              {"type": "maxpool2d", "pool_size": 2},
              {"type": "conv2d", "filters": 5, "kernel_size": 3, "padding": "same", "activation": "relu"},
              {"type": "flatten"}, {"units": 3}]
    x = np.random.default_rng(1).normal(size=(8, 10 * 10 * channels)).astype(np.float32)
    x[:, ::5] = 0.0  # relu's ties at zero
    runs = []
    for jit in ("1", "0"):
        monkeypatch.setenv("NNCTL_JIT", jit)
        net = model.build(layers, (10, 10, channels), np.random.default_rng(2), "float32")
        assert net.layers[0].chunk < 8 and net.layers[3].chunk < 8
        y = net.forward(x, training=True).copy()
        net.backward(np.random.default_rng(3).normal(size=y.shape).astype(np.float32))
        runs.append([y.tobytes(), net.forward(x).tobytes(), *(g.tobytes() for g in net.grads().values())])
    assert runs[0] == runs[1]
