"""The hot path's in-place code gives the plain expressions' results, in its own dtype.

Training reuses arrays (`out=`) in Dense, relu, the optimizers and the batch gather; these tests
pin that doing so changes neither the numbers nor the dtype, and never overwrites what inference
returned.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from nnctl.engine.activations import ACTIVATIONS
from nnctl.engine.layers import Activation, Dense
from nnctl.engine.losses import LOSSES
from nnctl.engine.model import build
from nnctl.engine.optimizers import OPTIMIZERS, SGD, Adam
from nnctl.engine.train import fit

DTYPES = ["float32", "float64"]


# ---------------------------------------------------------------- optimizers: the documented formulas' bits


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_in_place_is_the_plain_formula_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    p = rng.normal(size=(7, 5)).astype(dtype)
    ref, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    opt = Adam(lr=0.01)
    for t in range(1, 6):
        g = rng.normal(size=p.shape).astype(dtype)
        opt.step({"w": p}, {"w": g})
        m = 0.9 * m + (1 - 0.9) * g
        v = 0.999 * v + (1 - 0.999) * (g * g)
        ref = ref - (0.01 * (1 / (1 - 0.9**t))) * m / (np.sqrt(v * (1 / (1 - 0.999**t))) + 1e-8)
        assert p.dtype == ref.dtype == dtype
        assert p.tobytes() == ref.tobytes()
    assert opt.state["w"]["m"].tobytes() == m.tobytes() and opt.state["w"]["v"].tobytes() == v.tobytes()
    assert set(opt.state_dict()["arrays"]) == {"w.m", "w.v"}  # work arrays are never saved


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_in_place_is_the_plain_formula_bit_for_bit(dtype, momentum, nesterov):
    rng = np.random.default_rng(1)
    p = rng.normal(size=(4, 3)).astype(dtype)
    ref, v = p.copy(), np.zeros_like(p)
    opt = SGD(lr=0.05, momentum=momentum, nesterov=nesterov)
    for _ in range(4):
        g = rng.normal(size=p.shape).astype(dtype)
        opt.step({"w": p}, {"w": g})
        v = momentum * v + g
        ref = ref - 0.05 * ((g + momentum * v) if nesterov else v if momentum else g)
        assert p.dtype == dtype and p.tobytes() == ref.tobytes()


def test_a_numpy_float64_learning_rate_does_not_upcast_float32_steps():
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=5).astype(np.float32) for _ in range(3)]
    results = []
    for lr in (0.01, np.float64(0.01)):
        for opt in (Adam(lr=lr), SGD(lr=lr, momentum=0.9)):
            p = np.ones(5, np.float32)
            for g in grads:
                opt.step({"w": p}, {"w": g})
            results.append(p)
    assert all(r.dtype == np.float32 for r in results)
    assert results[0].tobytes() == results[2].tobytes() and results[1].tobytes() == results[3].tobytes()


# ---------------------------------------------------------------- packed parameters: one update for all


OPTIONS = {"sgd": {"momentum": 0.9, "nesterov": True}, "rmsprop": {"momentum": 0.5, "centered": True},
           "adagrad": {"initial_accumulator_value": 0.1}, "adam": {"amsgrad": True}, "adamw": {}, "adadelta": {},
           "adamax": {}, "nadam": {}}


def test_a_model_keeps_its_parameters_and_gradients_in_one_buffer_each():
    model = toy_model("float32")
    flat, flat_grads = model.params().flat, model.grads().flat
    params, grads = list(model.params().values()), list(model.grads().values())
    assert flat.size == flat_grads.size == sum(p.size for p in params) == 8 * 5 + 8 + 6 * 8 + 6 + 3 * 6 + 3
    assert not np.shares_memory(flat, flat_grads)
    start = 0
    for p, g in zip(params, grads):  # end to end, in params() order
        assert p.base is flat and g.base is flat_grads and p.shape == g.shape
        assert p.__array_interface__["data"][0] == flat.__array_interface__["data"][0] + start * flat.itemsize
        start += p.size
    assert flat[:40].tobytes() == params[0].tobytes()  # the values were moved, not reset
    np.testing.assert_array_equal(toy_model("float32").params()["layers.0.W"], params[0])  # same draws as before


def test_rebinding_a_gradient_or_parameter_fails_loudly(monkeypatch):
    """A layer that bound a new array to grads["W"] would leave the optimizer stepping old numbers."""
    monkeypatch.setenv("NNCTL_JIT", "0")  # the layers' own backward, not the fused epilogue's
    model = toy_model("float64")
    layer = model.layers[0]
    with pytest.raises(TypeError, match=r"grads\['W'\].*write into it"):
        layer.grads["W"] = np.zeros_like(layer.grads["W"])
    with pytest.raises(TypeError, match=r"params\['b'\]"):
        layer.params["b"] = np.zeros_like(layer.params["b"])
    with pytest.raises(TypeError, match="layers.0.W"):
        model.grads()["layers.0.W"] = np.zeros((5, 8))

    class Rebinding(Dense):  # the mistake, as a layer's backward would make it
        def backward(self, dz, need_dx=True):
            self.grads["W"] = self.x.T @ dz
            return super().backward(dz, need_dx)

    model.layers[0].__class__ = Rebinding
    with pytest.raises(TypeError, match=r"grads\['W'\]"):
        fit(model, LOSSES["cross_entropy"], Adam(lr=0.01), toy_data("float64"), epochs=1, batch_size=8,
            shuffle=False, seed=0)

    class Replacing(Dense):  # a whole new dict, out of the model's buffer
        def backward(self, dz, need_dx=True):
            self.grads = {"W": self.x.T @ dz, "b": dz.sum(axis=0)}

    model = toy_model("float64")
    model.layers[0].__class__ = Replacing
    with pytest.raises(TypeError, match="replaced its params or grads"):
        fit(model, LOSSES["cross_entropy"], Adam(lr=0.01), toy_data("float64"), epochs=1, batch_size=8,
            shuffle=False, seed=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_steps_packed_parameters_exactly_as_separate_arrays(name, dtype):
    rng = np.random.default_rng(8)
    model = toy_model(dtype)
    packed, packed_grads = model.params(), model.grads()
    apart = {k: v.copy() for k, v in packed.items()}
    optimizers = [OPTIMIZERS[name](lr=0.01, **OPTIONS[name]) for _ in range(2)]
    for _ in range(4):
        for k, g in packed_grads.items():
            g[...] = rng.normal(size=g.shape)
        optimizers[0].step(packed, packed_grads)
        optimizers[1].step(apart, {k: g.copy() for k, g in packed_grads.items()})
    assert optimizers[0]._flat_state and not optimizers[1]._flat_state  # one path each
    for k in packed:
        assert packed[k].dtype == dtype and packed[k].tobytes() == apart[k].tobytes(), k
    states = [o.state_dict() for o in optimizers]
    assert states[0]["t"] == states[1]["t"] == 4
    assert {k: v.tobytes() for k, v in states[0]["arrays"].items()} == {k: v.tobytes() for k,
                                                                        v in states[1]["arrays"].items()}
    assert all(v.shape == packed[k.rsplit(".", 1)[0]].shape for k, v in states[0]["arrays"].items())


@pytest.mark.parametrize("name", ["adam", "sgd", "adagrad"])
def test_a_loaded_state_continues_packed_training_bit_for_bit(name):
    rng = np.random.default_rng(9)
    grads = [{k: rng.normal(size=v.shape) for k, v in toy_model("float64").params().items()} for _ in range(6)]
    model = toy_model("float64")
    params, model_grads = model.params(), model.grads()
    optimizer = OPTIMIZERS[name](lr=0.01, **OPTIONS[name])
    saved = None
    for i, step in enumerate(grads):
        if i == 3:  # as a checkpoint would: copies of the weights and of the state
            saved = ({k: v.copy() for k, v in params.items()},
                     {"t": optimizer.t, "arrays": {k: v.copy() for k, v in optimizer.state_dict()["arrays"].items()}})
        for k, g in step.items():
            model_grads[k][...] = g
        optimizer.step(params, model_grads)
    resumed = toy_model("float64", seed=99)
    resumed.load_params(saved[0])
    again = OPTIMIZERS[name](lr=0.01, **OPTIONS[name])
    again.load_state_dict(saved[1])
    for step in grads[3:]:
        for k, g in step.items():
            resumed.grads()[k][...] = g
        again.step(resumed.params(), resumed.grads())
    assert again._flat_state
    for k, v in resumed.params().items():
        assert v.tobytes() == params[k].tobytes(), k


# ---------------------------------------------------------------- layers: reused arrays


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_training_forward_is_inference_forward_and_never_overwrites_it(dtype):
    rng = np.random.default_rng(3)
    layer = Dense(units=4, initializer="he_uniform")
    layer.build((6,), rng, dtype)
    x1, x2 = (rng.normal(size=(5, 6)).astype(dtype) for _ in range(2))
    inference = layer.forward(x1)
    kept = inference.copy()
    trained = layer.forward(x1, training=True)
    assert trained.dtype == dtype and trained.tobytes() == inference.tobytes()
    again = layer.forward(x2, training=True)
    assert np.shares_memory(again, trained)  # one array, reused batch after batch
    assert inference.tobytes() == kept.tobytes()  # what inference returned is the caller's
    last = layer.forward(x2[:3], training=True)  # an epoch's shorter last batch
    assert last.shape == (3, 4) and last.tobytes() == (x2[:3] @ layer.params["W"] + layer.params["b"]).tobytes()
    dx = layer.backward(np.ones((3, 4), dtype))
    np.testing.assert_array_equal(dx, np.ones((3, 4), dtype) @ layer.params["W"].T)
    assert layer.backward(np.ones((3, 4), dtype), need_dx=False) is None
    np.testing.assert_array_equal(layer.grads["W"], x2[:3].T @ np.ones((3, 4), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_layer_training_path_is_the_activation_functions_bit_for_bit(dtype):
    rng = np.random.default_rng(4)
    f, df = ACTIVATIONS["relu"].forward, ACTIVATIONS["relu"].backward
    layer = Activation("relu")
    for n in (3, 8, 5):  # grows its arrays, then uses a view of them
        x = rng.normal(size=(n, 6)).astype(dtype)
        x[0, :2] = 0.0
        x[1, :3] = (-0.0, np.nan, np.inf)
        dy = rng.normal(size=(n, 6)).astype(dtype)
        dy[2, :2] = (np.nan, -0.0)
        y = layer.forward(x, training=True)
        assert y.dtype == dtype and y.tobytes() == f(x).tobytes()
        dx = layer.backward(dy)
        assert dx.dtype == dtype and dx.tobytes() == df(f(x), dy).tobytes()
        assert np.shares_memory(dx, layer.work["dx"])  # written into the layer's reused array


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("rows", [7, 8, 9, 17, 129, 16_384, 16_391])
def test_a_dense_relu_step_is_the_plain_expressions_bit_for_bit(rows, width, dtype, monkeypatch):
    """A dense layer and its relu, one training step by whatever path the default picks (the fused
    kernels from 16,384 output values, once numba is in), against the plain NumPy expressions: the
    bias gradient is dz.sum(0), whose order NumPy chooses by the width (one column pairwise)."""
    monkeypatch.delenv("NNCTL_JIT", raising=False)
    rng = np.random.default_rng(rows + width)
    model = build([dict(units=width, activation="relu"), dict(units=2)], 3, rng, dtype)
    x = (rng.normal(size=(rows, 3)) * [1, 100, 0.01]).astype(dtype)
    dy = (rng.normal(size=(rows, 2)) * 10.0 ** rng.integers(-4, 5, size=(rows, 2))).astype(dtype)
    model.forward(x, training=True)
    model.backward(dy)
    W, b, W2 = model.params()["layers.0.W"], model.params()["layers.0.b"], model.params()["layers.1.W"]
    h = np.maximum(x @ W + b, 0)
    dz = (dy @ W2.T) * (h > 0)
    assert model.grads()["layers.0.b"].tobytes() == dz.sum(0).tobytes()
    assert model.grads()["layers.0.W"].tobytes() == (x.T @ dz).tobytes()


def test_the_first_dense_layer_skips_its_input_gradient():
    rng = np.random.default_rng(5)
    layers = [dict(units=4, activation="relu", initializer="he_uniform"),
              dict(units=3, activation="softmax", initializer="glorot_uniform")]
    model = build(layers, 5, rng, "float64")
    z = model.forward(rng.normal(size=(6, 5)), training=True, logits=True)
    model.backward(LOSSES["cross_entropy"].value_and_grad(z, rng.integers(0, 3, 6))[1], logits=True)
    assert "dx" not in model.layers[0].work and "dx" in model.layers[2].work


# ---------------------------------------------------------------- training: dtype, reproducibility, the plain maths


def toy_data(dtype, n=50, n_in=5, n_classes=3):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(n, n_in)).astype(dtype)
    y = rng.integers(0, n_classes, n)
    return SimpleNamespace(x_train=x[:40], y_train=y[:40], x_val=x[40:], y_val=y[40:], task="classification",
                           target_scale=1.0)


def toy_model(dtype, seed=7):
    layers = [dict(units=8, activation="relu", initializer="he_uniform"),
              dict(units=6, activation="relu", initializer="he_uniform"),
              dict(units=3, activation="softmax", initializer="glorot_uniform")]
    return build(layers, 5, np.random.default_rng(seed), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_keeps_its_dtype_and_repeats_bit_for_bit(dtype):
    runs = []
    for _ in range(2):
        model, opt = toy_model(dtype), Adam(lr=0.01)
        history = fit(model, LOSSES["cross_entropy"], opt, toy_data(dtype), epochs=3, batch_size=7,
                      shuffle=True, seed=0)
        arrays = {**model.params(), **model.grads(), **opt.state_dict()["arrays"]}
        assert {a.dtype for a in arrays.values()} == {np.dtype(dtype)}
        runs.append((history, {k: a.tobytes() for k, a in arrays.items()}))
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in runs[0][0]] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in runs[1][0]]
    assert runs[0][1] == runs[1][1]


def test_training_steps_match_plain_numpy_backpropagation():
    """Three Adam steps through the fast path against a plain, allocate-everything reference (float64)."""
    data = toy_data("float64")
    model = toy_model("float64")
    ref = {k: v.copy() for k, v in model.params().items()}
    fit(model, LOSSES["cross_entropy"], Adam(lr=0.01), data, epochs=1, batch_size=14, shuffle=False, seed=0)

    m = {k: np.zeros_like(v) for k, v in ref.items()}
    v2 = {k: np.zeros_like(v) for k, v in ref.items()}
    for t, i in enumerate(range(0, 40, 14), start=1):
        x, y = data.x_train[i:i + 14], data.y_train[i:i + 14]
        h1 = np.maximum(x @ ref["layers.0.W"] + ref["layers.0.b"], 0)
        h2 = np.maximum(h1 @ ref["layers.1.W"] + ref["layers.1.b"], 0)
        z = h2 @ ref["layers.2.W"] + ref["layers.2.b"]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - np.eye(3)[y]) / len(y)
        d2 = (dz @ ref["layers.2.W"].T) * (h2 > 0)
        d1 = (d2 @ ref["layers.1.W"].T) * (h1 > 0)
        grads = {"layers.2.W": h2.T @ dz, "layers.2.b": dz.sum(0), "layers.1.W": h1.T @ d2, "layers.1.b": d2.sum(0),
                 "layers.0.W": x.T @ d1, "layers.0.b": d1.sum(0)}
        for k, g in grads.items():
            m[k] = 0.9 * m[k] + 0.1 * g
            v2[k] = 0.999 * v2[k] + 0.001 * g * g
            ref[k] = ref[k] - 0.01 * (m[k] / (1 - 0.9**t)) / (np.sqrt(v2[k] / (1 - 0.999**t)) + 1e-8)
    for k, value in model.params().items():
        np.testing.assert_allclose(value, ref[k], rtol=1e-9, atol=1e-12, err_msg=k)
