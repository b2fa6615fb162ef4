"""Every derivative against central finite differences, in float64."""

import numpy as np
import pytest

from nnctl.activations import ACTIVATIONS
from nnctl.layers import Dense
from nnctl.losses import LOSSES
from nnctl.model import build
from nnctl.config import DenseLayer

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
    forward, backward = ACTIVATIONS[name]
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.1  # keep clear of relu's kink, where the derivative is undefined
    w = rng.normal(size=(4, 5))  # a random projection turns the output into a scalar
    analytic = backward(forward(x), w)
    numeric = numeric_grad(lambda: float((forward(x) * w).sum()), x)
    assert rel_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("name,k", [("cross_entropy", 3), ("binary_cross_entropy", 1), ("mse", 3), ("mse", 1)])
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


@pytest.mark.parametrize("name", ["sigmoid", "softmax", "tanh"])
def test_activations_stay_finite_on_extreme_inputs(name):
    x = np.array([[1e4, -1e4, 0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = ACTIVATIONS[name][0](x)
    assert np.isfinite(y).all()


def test_dense_gradients():
    rng = np.random.default_rng(2)
    layer = Dense(4, 3, "glorot_uniform", rng, "float64")
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
    ("cross_entropy", 3, "softmax"), ("binary_cross_entropy", 1, "sigmoid"), ("mse", 3, "softmax"), ("mse", 1, "linear")])
def test_whole_network_gradient(loss_name, out_units, out_act):
    rng = np.random.default_rng(3)
    layers = [DenseLayer(units=5, activation="tanh", initializer="glorot_normal"),
              DenseLayer(units=4, activation="leaky_relu", initializer="he_normal"),
              DenseLayer(units=4, activation="sigmoid", initializer="he_uniform"),
              DenseLayer(units=out_units, activation=out_act, initializer="glorot_uniform")]
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
    from nnctl.layers import initialize

    rng = np.random.default_rng(4)
    n_in, n_out = 400, 300
    assert initialize("he_normal", n_in, n_out, rng, "float64").std() == pytest.approx(np.sqrt(2 / n_in), rel=0.02)
    assert initialize("glorot_normal", n_in, n_out, rng, "float64").std() == pytest.approx(np.sqrt(2 / (n_in + n_out)), rel=0.02)
    assert np.abs(initialize("he_uniform", n_in, n_out, rng, "float64")).max() <= np.sqrt(6 / n_in)
    assert np.abs(initialize("glorot_uniform", n_in, n_out, rng, "float64")).max() <= np.sqrt(6 / (n_in + n_out))
    assert initialize("he_normal", n_in, n_out, rng, "float32").dtype == np.float32
