"""Every derivative against central finite differences, in float64."""

import numpy as np
import pytest

from nnctl.engine.activations import ACTIVATIONS, FROM_INPUT
from nnctl.engine.layers import Activation, BatchNorm, Dense, Dropout
from nnctl.engine.losses import LOSSES
from nnctl.engine.model import build

EPS = 1e-6


def numeric_grad(f, x):
    """Central differences of the scalar f() with respect to every entry of x (changed in place)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + EPS
        plus = f()
        x[i] = old - EPS
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * EPS)
    return grad


def rel_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradient(name):
    rng = np.random.default_rng(0)
    forward, backward = ACTIVATIONS[name].forward, ACTIVATIONS[name].backward
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.1  # keep clear of relu's kink, where the derivative is undefined
    w = rng.normal(size=(4, 5))  # a random projection turns the output into a scalar
    analytic = backward(x if name in FROM_INPUT else forward(x), w)
    numeric = numeric_grad(lambda: float((forward(x) * w).sum()), x)
    assert rel_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("name,k", [("cross_entropy", 3), ("binary_cross_entropy", 1), ("mse", 3), ("mse", 1),
                                    ("mae", 3), ("mae", 1), ("huber", 3), ("huber", 1)])
def test_loss_gradient(name, k):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(6, k))
    y = rng.integers(0, max(k, 2), size=6)
    loss = LOSSES[name]
    _, analytic = loss.value_and_grad(z, y)
    numeric = numeric_grad(lambda: loss.value_and_grad(z, y)[0], z)
    assert rel_error(analytic, numeric) < 1e-6


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 0])
    _, dz = LOSSES["cross_entropy"].value_and_grad(z, y)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(dz, (p - np.eye(3)[y]) / 2, rtol=1e-12)


@pytest.mark.parametrize("name,k", [("cross_entropy", 3), ("binary_cross_entropy", 1)])
def test_losses_stay_finite_on_extreme_logits(name, k):
    z = np.array([[1e4] * k, [-1e4] * k], dtype=np.float32)
    z[0, 0] = -1e4
    y = np.array([0, k - 1]) if k > 1 else np.array([1, 1])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, dz = LOSSES[name].value_and_grad(z, y)
    assert np.isfinite(value) and np.isfinite(dz).all()
    assert value > 1e3  # confidently wrong: a huge, but finite, loss


@pytest.mark.parametrize("name", ["sigmoid", "softmax", "tanh", "elu", "selu", "softplus", "gelu", "silu"])
def test_activations_stay_finite_on_extreme_inputs(name):
    x = np.array([[1e4, -1e4, 0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = ACTIVATIONS[name].forward(x)
    assert np.isfinite(y).all()


def test_dense_gradients():
    rng = np.random.default_rng(2)
    layer = Dense(units=3, initializer="glorot_uniform")
    layer.build((4,), rng, "float64")
    x = rng.normal(size=(5, 4))
    w = rng.normal(size=(5, 3))

    def f():
        return float((layer.forward(x) * w).sum())

    layer.forward(x, training=True)
    dx = layer.backward(w)
    assert rel_error(layer.grads["W"], numeric_grad(f, layer.params["W"])) < 1e-6
    assert rel_error(layer.grads["b"], numeric_grad(f, layer.params["b"])) < 1e-6
    assert rel_error(dx, numeric_grad(f, x)) < 1e-6
    np.testing.assert_allclose(layer.grads["W"], x.T @ w)  # dW = x^T dz
    np.testing.assert_allclose(layer.grads["b"], w.sum(axis=0))


@pytest.mark.parametrize("loss_name,out_units,out_act", [
    ("cross_entropy", 3, "softmax"), ("binary_cross_entropy", 1, "sigmoid"), ("mse", 3, "softmax"),
    ("mse", 1, "linear")])
def test_whole_network_gradient(loss_name, out_units, out_act):
    rng = np.random.default_rng(3)
    layers = [dict(units=5, activation="tanh", initializer="glorot_normal"),
              dict(units=4, activation="leaky_relu", initializer="he_normal"),
              dict(units=4, activation="sigmoid", initializer="he_uniform"),
              dict(units=out_units, activation=out_act, initializer="glorot_uniform")]
    model = build(layers, 3, rng, "float64")
    loss = LOSSES[loss_name]
    fused = loss.fused is not None
    x = rng.normal(size=(7, 3))
    y = rng.integers(0, max(out_units, 2), size=7)

    def f():
        return loss.value_and_grad(model.forward(x, logits=fused), y)[0]

    _, dz = loss.value_and_grad(model.forward(x, training=True, logits=fused), y)
    model.backward(dz, logits=fused)
    grads = {k: v.copy() for k, v in model.grads().items()}
    for name, p in model.params().items():
        assert rel_error(grads[name], numeric_grad(f, p)) < 1e-5, name


def test_initializers_have_the_documented_spread():
    from nnctl.engine.layers import initialize

    rng = np.random.default_rng(4)
    n_in, n_out = 400, 300
    assert initialize("he_normal", n_in, n_out, rng, "float64").std() == pytest.approx(np.sqrt(2 / n_in), rel=0.02)
    assert initialize("glorot_normal", n_in, n_out, rng,
                      "float64").std() == pytest.approx(np.sqrt(2 / (n_in + n_out)), rel=0.02)
    assert np.abs(initialize("he_uniform", n_in, n_out, rng, "float64")).max() <= np.sqrt(6 / n_in)
    assert np.abs(initialize("glorot_uniform", n_in, n_out, rng, "float64")).max() <= np.sqrt(6 / (n_in + n_out))
    assert initialize("he_normal", n_in, n_out, rng, "float32").dtype == np.float32


def test_new_activations_match_their_definitions():
    x = np.linspace(-3, 3, 13).reshape(1, -1)
    f = {name: ACTIVATIONS[name].forward for name in ("elu", "selu", "softplus", "gelu", "silu")}
    np.testing.assert_allclose(f["elu"](x), np.where(x > 0, x, np.exp(x) - 1))
    np.testing.assert_allclose(f["selu"](x),
                               1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)))
    np.testing.assert_allclose(f["softplus"](x), np.log1p(np.exp(x)))
    np.testing.assert_allclose(f["silu"](x), x / (1 + np.exp(-x)))
    # the tanh form of gelu stays within 1e-3 of x * Phi(x)
    from math import erf
    exact = np.array([[v * 0.5 * (1 + erf(v / np.sqrt(2))) for v in x[0]]])
    np.testing.assert_allclose(f["gelu"](x), exact, atol=1e-3)


@pytest.mark.parametrize("name", sorted(FROM_INPUT | {"elu", "selu", "softplus"}))
def test_activation_layer_keeps_what_backward_needs(name):
    rng = np.random.default_rng(5)
    layer = Activation(name)
    x = rng.normal(size=(4, 3))
    w = rng.normal(size=(4, 3))
    layer.forward(x, training=True)
    numeric = numeric_grad(lambda: float((layer.f(x) * w).sum()), x)
    assert rel_error(layer.backward(w), numeric) < 1e-6


def test_dropout_gradient_with_a_fixed_mask():
    rng = np.random.default_rng(6)
    layer = Dropout(rate=0.4)
    layer.build((5,), np.random.default_rng(0), "float64")
    x = rng.normal(size=(6, 5))
    w = rng.normal(size=(6, 5))

    def f():
        layer.rng = np.random.default_rng(0)  # the same mask at every evaluation
        return float((layer.forward(x, training=True) * w).sum())

    f()
    dx = layer.backward(w)
    assert rel_error(dx, numeric_grad(f, x)) < 1e-6
    mask = layer.backward(np.ones_like(x))
    assert 0 < (mask == 0).sum() < x.size and np.allclose(mask[mask > 0], 1 / 0.6)


def test_dropout_is_identity_in_inference_and_keeps_the_mean_in_training():
    layer = Dropout(rate=0.5)
    layer.build((50,), np.random.default_rng(1), "float32")
    x = np.ones((400, 50), dtype=np.float32)
    assert layer.forward(x) is x
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32 and abs(y.mean() - 1) < 0.02 and abs((y == 0).mean() - 0.5) < 0.02


def test_batchnorm_gradients_in_training_mode():
    rng = np.random.default_rng(7)
    layer = BatchNorm()
    layer.build((4,), None, "float64")
    layer.params["gamma"][...] = rng.normal(size=4)
    layer.params["beta"][...] = rng.normal(size=4)
    x = rng.normal(size=(8, 4)) + 1
    w = rng.normal(size=(8, 4))

    def f():
        return float((layer.forward(x, training=True) * w).sum())

    f()
    dx = layer.backward(w)
    grads = {k: v.copy() for k, v in layer.grads.items()}
    assert rel_error(dx, numeric_grad(f, x)) < 1e-6
    for key in ("gamma", "beta"):
        assert rel_error(grads[key], numeric_grad(f, layer.params[key])) < 1e-6, key


def test_batchnorm_running_statistics_and_inference():
    rng = np.random.default_rng(8)
    layer = BatchNorm(momentum=0.9)
    layer.build((3,), None, "float64")
    x = rng.normal(size=(50, 3)) * 2 + 5
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(layer.buffers["running_var"], 0.9 + 0.1 * x.var(axis=0))
    for _ in range(200):
        layer.forward(x, training=True)
    np.testing.assert_allclose(layer.forward(x), y, atol=1e-3)  # inference uses the running statistics


@pytest.mark.parametrize("l1,l2", [(0.01, 0.0), (0.0, 0.03), (0.02, 0.05)])
def test_weight_penalty_gradient_through_the_model(l1, l2):
    rng = np.random.default_rng(9)
    layers = [dict(units=4, activation="tanh", initializer="glorot_normal", l1=l1, l2=l2),
              dict(units=3, activation="softmax", initializer="glorot_normal", l2=0.1)]
    model = build(layers, 3, rng, "float64")
    loss = LOSSES["cross_entropy"]
    x = rng.normal(size=(5, 3))
    y = rng.integers(0, 3, size=5)

    def f():
        return loss.value_and_grad(model.forward(x, logits=True), y)[0] + model.penalty()

    W = model.params()["layers.0.W"]
    expected = l1 * np.abs(W).sum() + l2 * (W * W).sum() + 0.1 * (model.params()["layers.1.W"] ** 2).sum()
    assert model.penalty() == pytest.approx(expected)
    _, dz = loss.value_and_grad(model.forward(x, training=True, logits=True), y)
    model.backward(dz, logits=True)
    grads = {k: v.copy() for k, v in model.grads().items()}
    for name, p in model.params().items():
        assert rel_error(grads[name], numeric_grad(f, p)) < 1e-6, name


def test_whole_network_with_every_new_layer_and_activation():
    rng = np.random.default_rng(10)
    layers = [dict(units=6, activation="elu", initializer="glorot_normal", l2=0.01),
              dict(type="batchnorm", activation="gelu"),
              dict(type="dropout", rate=0.3),
              dict(units=5, activation="selu", initializer="glorot_normal", l1=0.01),
              dict(units=4, activation="silu", initializer="glorot_normal"),
              dict(units=4, activation="softplus", initializer="glorot_normal"),
              dict(units=3, activation="softmax", initializer="glorot_normal")]
    model = build(layers, 3, rng, "float64")
    dropout = next(layer for layer in model.layers if isinstance(layer, Dropout))
    loss = LOSSES["cross_entropy"]
    x = rng.normal(size=(9, 3))
    y = rng.integers(0, 3, size=9)

    def f():
        dropout.rng = np.random.default_rng(3)  # a fixed mask
        return loss.value_and_grad(model.forward(x, training=True, logits=True), y)[0] + model.penalty()

    f()
    dropout.rng = np.random.default_rng(3)
    _, dz = loss.value_and_grad(model.forward(x, training=True, logits=True), y)
    model.backward(dz, logits=True)
    grads = {k: v.copy() for k, v in model.grads().items()}
    assert set(grads) >= {"layers.1.gamma", "layers.1.beta"}
    for name, p in model.params().items():
        assert rel_error(grads[name], numeric_grad(f, p)) < 1e-5, name


def test_clip_by_global_norm():
    from nnctl.engine.regularizers import clip_by_global_norm, global_norm

    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, 4.0]])}
    assert clip_by_global_norm(grads, 10.0) == 5.0 and grads["a"][0] == 3.0  # under the limit: untouched
    assert clip_by_global_norm(grads, 1.0) == 5.0
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.0, 0.8]])
    assert global_norm(grads) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_loss_gradient_and_value(name):
    rng = np.random.default_rng(11)
    out = rng.normal(size=(8, 1)) * 2
    y = rng.normal(size=8)
    y[0] = out[0, 0] + 3.0  # one far target: huber's linear branch
    value, analytic = LOSSES[name].value_and_grad(out, y)
    assert rel_error(analytic, numeric_grad(lambda: LOSSES[name].value_and_grad(out, y)[0], out)) < 1e-6
    d = out[:, 0] - y
    expected = {"mse": (d ** 2).mean(), "mae": np.abs(d).mean(),
                "huber": np.where(np.abs(d) <= 1, 0.5 * d ** 2, np.abs(d) - 0.5).mean()}[name]
    assert value == pytest.approx(expected)
