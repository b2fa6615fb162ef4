"""Convolution, pooling, flatten and global pooling: forward and backward against direct loops
written here, every gradient entry against central differences in float64, over random shapes,
strides, paddings and dilations; float32 stays float32."""

import itertools

import numpy as np
import pytest

from nnctl.engine import conv, model
from nnctl.engine.conv import Conv2D
from nnctl.engine.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from nnctl.engine.reshape import Flatten

EPS = 1e-6


def built(layer, input_shape, dtype="float64", seed=0):
    layer.build(input_shape, np.random.default_rng(seed), dtype)
    return layer


def geometry(h, w, k, s, p, d):
    """The padding each side and the output size, from PyTorch's formula, written out again."""
    if p == "same":
        pads = []
        for n, kk, ss, dd in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
            out = -(-n // ss)
            total = max((out - 1) * ss + dd * (kk - 1) + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
    else:
        p = (0, 0) if p == "valid" else (p, p) if isinstance(p, int) else p
        pads = [(p[0], p[0]), (p[1], p[1])]
    ho = (h + sum(pads[0]) - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (w + sum(pads[1]) - d[1] * (k[1] - 1) - 1) // s[1] + 1
    return pads, ho, wo


def loop_conv(x, W, b, s, p, d):
    """z[n, i, j, f] = b[f] + sum of x_pad[n, i*sh + a*dh, j*sw + c*dw, k] W[a, c, k, f], one term at a time."""
    n, h, w, c = x.shape
    kh, kw, _, f = W.shape
    pads, ho, wo = geometry(h, w, (kh, kw), s, p, d)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    z = np.zeros((n, ho, wo, f))
    for m, i, j, o in itertools.product(range(n), range(ho), range(wo), range(f)):
        total = b[o]
        for a, e, k in itertools.product(range(kh), range(kw), range(c)):
            total += xp[m, i * s[0] + a * d[0], j * s[1] + e * d[1], k] * W[a, e, k, o]
        z[m, i, j, o] = total
    return z


def loop_conv_backward(x, W, dz, s, p, d):
    """dx, dW, db of loop_conv by the chain rule, term by term."""
    n, h, w, c = x.shape
    kh, kw, _, f = W.shape
    pads, ho, wo = geometry(h, w, (kh, kw), s, p, d)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    dxp, dW = np.zeros_like(xp), np.zeros_like(W)
    for m, i, j, o in itertools.product(range(n), range(ho), range(wo), range(f)):
        for a, e, k in itertools.product(range(kh), range(kw), range(c)):
            y, z = i * s[0] + a * d[0], j * s[1] + e * d[1]
            dW[a, e, k, o] += xp[m, y, z, k] * dz[m, i, j, o]
            dxp[m, y, z, k] += W[a, e, k, o] * dz[m, i, j, o]
    dx = dxp[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w]
    return dx, dW, dz.sum(axis=(0, 1, 2))


def loop_pool(x, k, s, p, kind):
    """Each window's max (the first of equal values) or mean over the image's own values, one by one;
    and for max, where each output came from."""
    n, h, w, c = x.shape
    pads, ho, wo = geometry(h, w, k, s, p, (1, 1))
    out, source = np.zeros((n, ho, wo, c)), {}
    for m, i, j, o in itertools.product(range(n), range(ho), range(wo), range(c)):
        cells = [(y, z) for a, e in itertools.product(range(k[0]), range(k[1]))
                 if 0 <= (y := i * s[0] + a - pads[0][0]) < h and 0 <= (z := j * s[1] + e - pads[1][0]) < w]
        values = [x[m, y, z, o] for y, z in cells]
        if kind == "max":
            best = int(np.argmax(values))
            out[m, i, j, o], source[m, i, j, o] = values[best], cells[best]
        else:
            out[m, i, j, o] = sum(values) / len(values)
            source[m, i, j, o] = cells
    return out, source


def loop_pool_backward(x, dy, source, kind):
    dx = np.zeros_like(x)
    for (m, i, j, o), cells in source.items():
        if kind == "max":
            dx[m, cells[0], cells[1], o] += dy[m, i, j, o]
        else:
            for y, z in cells:
                dx[m, y, z, o] += dy[m, i, j, o] / len(cells)
    return dx


def numeric(loss, array: np.ndarray) -> np.ndarray:
    """Central differences of loss() over every entry of array (changed in place, then restored)."""
    out = np.empty(array.shape)
    flat, grad = array.reshape(-1), out.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + EPS
        plus = loss()
        flat[i] = old - EPS
        minus = loss()
        flat[i] = old
        grad[i] = (plus - minus) / (2 * EPS)
    return out


def check_gradients(layer, x, rng):
    """Every entry of dL/dx and of every parameter's gradient against central differences, for
    L = sum(forward(x) * r) with a fixed random r."""
    y = layer.forward(x, training=True)
    r = rng.normal(size=y.shape)
    dx = layer.backward(r)
    analytic = {"x": dx.copy(), **{k: g.copy() for k, g in layer.grads.items()}}

    def loss():
        return float((layer.forward(x, training=True) * r).sum())

    for name, array in {"x": x, **layer.params}.items():
        np.testing.assert_allclose(analytic[name], numeric(loss, array), rtol=1e-6, atol=1e-8, err_msg=name)


def conv_cases(n):
    """n small random convolutions that fit: (input shape, filters, kernel, strides, padding, dilation),
    the paddings valid, same, an integer and a pair in turn."""
    rng = np.random.default_rng(21)
    cases = []
    while len(cases) < n:
        h, w, c, f = (int(v) for v in (*rng.integers(3, 8, 2), *rng.integers(1, 4, 2)))
        k, s, d = (tuple(int(v) for v in rng.integers(1, high, 2)) for high in (4, 3, 3))
        p = ["valid", "same", int(rng.integers(0, 3)), [int(v) for v in rng.integers(0, 2, 2)]][len(cases) % 4]
        pads, _, _ = geometry(h, w, k, s, p, d)
        if all(dd * (kk - 1) + 1 <= nn + sum(pp) for dd, kk, nn, pp in zip(d, k, (h, w), pads)):
            cases.append(((h, w, c), f, k, s, p, d))
    return cases


@pytest.mark.parametrize("shape,filters,kernel,strides,padding,dilation", conv_cases(12))
def test_conv2d_forward_and_backward_are_the_loops(shape, filters, kernel, strides, padding, dilation):
    rng = np.random.default_rng(sum(shape) + filters)
    layer = built(Conv2D(filters=filters, kernel_size=list(kernel), strides=list(strides), padding=padding,
                         dilation=list(dilation)), shape)
    layer.params["b"][...] = rng.normal(size=filters)
    x = rng.normal(size=(2, *shape))
    W, b = layer.params["W"], layer.params["b"]
    expected = loop_conv(x, W, b, strides, padding, dilation)
    assert layer.output_shape(shape) == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    layer.forward(x, training=True)
    dz = rng.normal(size=expected.shape)
    dx, dW, db = loop_conv_backward(x, W, dz, strides, padding, dilation)
    np.testing.assert_allclose(layer.backward(dz), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,filters,kernel,strides,padding,dilation", conv_cases(8))
def test_conv2d_gradients_match_central_differences(shape, filters, kernel, strides, padding, dilation):
    rng = np.random.default_rng(7)
    layer = built(Conv2D(filters=filters, kernel_size=list(kernel), strides=list(strides), padding=padding,
                         dilation=list(dilation)), shape)
    check_gradients(layer, rng.normal(size=(2, *shape)), rng)


POOLS = [((5, 6, 2), 2, None, "valid"), ((5, 5, 3), 3, 1, "valid"), ((7, 4, 1), [2, 3], [2, 1], "same"),
         ((4, 5, 2), 3, 2, 1), ((6, 6, 2), [3, 2], [1, 2], [1, 1]), ((3, 3, 1), 2, 1, "same")]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("shape,size,strides,padding", POOLS)
def test_pooling_forward_and_backward_are_the_loops(kind, shape, size, strides, padding):
    rng = np.random.default_rng(3)
    cls = MaxPool2D if kind == "max" else AvgPool2D
    layer = built(cls(pool_size=size, strides=strides, padding=padding), shape)
    x = rng.normal(size=(2, *shape))
    k = (size, size) if isinstance(size, int) else tuple(size)
    s = k if strides is None else (strides, strides) if isinstance(strides, int) else tuple(strides)
    expected, source = loop_pool(x, k, s, padding, kind)
    assert layer.output_shape(shape) == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-15)
    dy = rng.normal(size=expected.shape)
    np.testing.assert_allclose(layer.backward(dy), loop_pool_backward(x, dy, source, kind), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("shape,size,strides,padding", POOLS)
def test_pooling_gradients_match_central_differences(kind, shape, size, strides, padding):
    rng = np.random.default_rng(4)
    layer = built((MaxPool2D if kind == "max" else AvgPool2D)(pool_size=size, strides=strides, padding=padding), shape)
    check_gradients(layer, rng.normal(size=(2, *shape)), rng)  # continuous values: no two equal in a window


def test_max_pooling_keeps_the_first_of_equal_values_and_propagates_nan():
    layer = built(MaxPool2D(pool_size=2), (2, 4, 1))
    x = np.array([[1.0, 3.0, np.nan, 5.0], [3.0, 2.0, 7.0, np.nan]]).reshape(1, 2, 4, 1)
    out = layer.forward(x, training=True)
    assert out[0, 0, 0, 0] == 3.0 and np.isnan(out[0, 0, 1, 0])
    dx = layer.backward(np.ones_like(out))
    assert dx.reshape(2, 4).tolist() == [[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]


def test_global_average_pooling_and_flatten():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4, 5, 2))
    pool = built(GlobalAvgPool2D(), (4, 5, 2))
    np.testing.assert_allclose(pool.forward(x), x.mean(axis=(1, 2)), rtol=1e-14)
    check_gradients(pool, x, rng)
    flat = built(Flatten(), (4, 5, 2))
    assert flat.output_shape((4, 5, 2)) == (40,)
    np.testing.assert_array_equal(flat.forward(x, training=True), x.reshape(3, 40))  # Keras' order: channels last
    np.testing.assert_array_equal(flat.backward(x.reshape(3, 40)), x)


def test_batchnorm_after_a_convolution_normalises_each_channel():
    rng = np.random.default_rng(6)
    net = model.build([{"type": "conv2d", "filters": 3, "kernel_size": 2}, {"type": "batchnorm"}, {"type": "flatten"},
                       {"units": 2}], (4, 4, 1), rng, "float64")
    bn = net.layers[1]
    assert bn.params["gamma"].shape == (3,) and net.buffers()["layers.1.running_mean"].shape == (3,)
    y = bn.forward(rng.normal(size=(5, 3, 3, 3)) * 4 + 2, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, atol=1e-3)
    check_gradients(bn, rng.normal(size=(3, 2, 3, 3)), rng)


def test_dropout_after_a_convolution_drops_each_value_on_its_own():
    net = model.build([{"type": "conv2d", "filters": 8, "kernel_size": 1}, {"type": "dropout", "rate": 0.5},
                       {"type": "flatten"}, {"units": 2}], (6, 6, 1), np.random.default_rng(0))
    dropout = net.layers[1]
    y = dropout.forward(np.ones((50, 6, 6, 8), np.float32), training=True)
    assert y.dtype == np.float32 and set(np.unique(y)) == {0.0, 2.0}
    per_channel = (y == 0).mean(axis=(0, 1, 2))  # every channel loses about half: not whole channels
    assert np.all((per_channel > 0.4) & (per_channel < 0.6))


@pytest.mark.slow
def test_a_cnn_keeps_float32_forward_backward_and_weights():
    net = model.build([{"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
                       {"type": "maxpool2d"}, {"type": "conv2d", "filters": 4, "kernel_size": 2, "activation": "tanh"},
                       {"type": "avgpool2d", "padding": "same"}, {"type": "batchnorm"}, {"type": "global_avgpool2d"},
                       {"units": 3, "activation": "softmax"}], (8, 8, 2), np.random.default_rng(0), "float32")
    x = np.random.default_rng(1).normal(size=(4, 128)).astype(np.float32)
    for training in (False, True):
        out = net.forward(x, training=training)
        assert out.dtype == np.float32
    net.backward(np.ones_like(out))
    assert {a.dtype for a in (*net.state().values(), *net.grads().values())} == {np.dtype(np.float32)}


def test_the_conv_initializers_use_the_convolution_fans():
    """He: std sqrt(2 / (kh kw C)); Glorot: limit sqrt(6 / (kh kw (C + F))), as Keras and PyTorch count."""
    he = built(Conv2D(filters=64, kernel_size=5, initializer="he_normal"), (9, 9, 8)).params["W"]
    assert abs(he.std() / np.sqrt(2 / (5 * 5 * 8)) - 1) < 0.02
    glorot = built(Conv2D(filters=16, kernel_size=3, initializer="glorot_uniform"), (9, 9, 4)).params["W"]
    limit = np.sqrt(6 / (3 * 3 * (4 + 16)))
    assert glorot.max() <= limit and glorot.max() > 0.95 * limit


@pytest.mark.parametrize("jit", ["0", "1"])
@pytest.mark.parametrize("channels", [1, 3])
def test_the_fused_conv_steps_over_several_chunks_are_the_loops_and_their_gradients(channels, jit, monkeypatch):
    """Chunks of one or two images through conv+relu+maxpool and conv+relu as the model
    runs them, compiled or in NumPy: the output against the loops, every parameter's gradient
    against central differences."""
    monkeypatch.setenv("NNCTL_JIT", jit)
    monkeypatch.setattr(conv, "CHUNK_VALUES", 2 * 6 * 6 * 9)  # one or two images a chunk
    layers = [{"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
              {"type": "maxpool2d", "pool_size": 2},
              {"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "same", "activation": "relu"},
              {"type": "flatten"}, {"units": 3}]
    net = model.build(layers, (6, 6, channels), np.random.default_rng(5), "float64")
    first, second = net.layers[0], net.layers[3]
    assert [type(step).__name__ for step in net._forward[False][:2]] == ["ConvReluPool", "ConvEpilogue"]
    assert first.chunk < 3 and second.chunk == 2  # several chunks in both convolutions
    rng = np.random.default_rng(6)
    for layer in (first, second):
        layer.params["b"][...] = rng.normal(scale=0.1, size=layer.params["b"].shape)
    x = rng.normal(size=(3, 6 * 6 * channels))

    hidden = loop_pool(np.maximum(loop_conv(x.reshape(3, 6, 6, channels), first.params["W"], first.params["b"],
                                            (1, 1), "same", (1, 1)), 0), (2, 2), (2, 2), "valid", "max")[0]
    hidden = np.maximum(loop_conv(hidden, second.params["W"], second.params["b"], (1, 1), "same", (1, 1)), 0)
    dense = net.layers[-1]
    expected = hidden.reshape(3, -1) @ dense.params["W"] + dense.params["b"]
    np.testing.assert_allclose(net.forward(x, training=True), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-12, atol=1e-12)

    r = rng.normal(size=expected.shape)
    net.forward(x, training=True)
    net.backward(r)
    analytic = {name: g.copy() for name, g in net.grads().items()}

    def loss():
        return float((net.forward(x, training=True) * r).sum())

    for name, array in net.params().items():
        np.testing.assert_allclose(analytic[name], numeric(loss, array), rtol=1e-6, atol=1e-8, err_msg=name)
