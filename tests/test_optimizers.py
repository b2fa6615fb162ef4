"""One hand-computed step (and a few) per optimizer."""

import numpy as np
import pytest

from nnctl.optimizers import OPTIMIZERS, Adam, SGD


def run(opt, p0, grads):
    p = {"w": np.array(p0, dtype=np.float64)}
    for g in grads:
        opt.step(p, {"w": np.array(g, dtype=np.float64)})
    return p["w"]


def test_plain_sgd_step():
    np.testing.assert_allclose(run(SGD(lr=0.1), [1.0, -2.0], [[0.5, -1.0]]), [0.95, -1.9])


def test_momentum_sgd_two_steps():
    # v1 = g1 = 1; p1 = 1 - 0.1*1 = 0.9; v2 = 0.9*1 + 2 = 2.9; p2 = 0.9 - 0.29 = 0.61
    np.testing.assert_allclose(run(SGD(lr=0.1, momentum=0.9), [1.0], [[1.0], [2.0]]), [0.61])


def test_nesterov_sgd_two_steps():
    # v1 = 1; p1 = 1 - 0.1*(1 + 0.9*1) = 0.81; v2 = 2.9; p2 = 0.81 - 0.1*(2 + 0.9*2.9) = 0.349
    np.testing.assert_allclose(run(SGD(lr=0.1, momentum=0.9, nesterov=True), [1.0], [[1.0], [2.0]]), [0.349])


def test_adam_first_step_moves_by_lr():
    # bias correction makes the first step lr * g / |g| (up to epsilon)
    np.testing.assert_allclose(run(Adam(lr=0.01), [1.0, 1.0], [[3.0, -0.2]]), [0.99, 1.01], rtol=1e-6)


def test_adam_two_steps_by_hand():
    b1, b2, lr, eps = 0.9, 0.999, 0.1, 1e-8
    g1, g2 = 1.0, -2.0
    m = (1 - b1) * g1; v = (1 - b2) * g1**2
    p = 1.0 - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
    m = b1 * m + (1 - b1) * g2; v = b2 * v + (1 - b2) * g2**2
    p = p - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(run(Adam(lr=lr), [1.0], [[g1], [g2]]), [p], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(6, 3))
    opts = {"sgd": dict(lr=0.1, momentum=0.5), "adam": dict(lr=0.1)}[name]
    a = OPTIMIZERS[name](**opts)
    p = {"w": np.zeros(3)}
    for g in grads[:3]:
        a.step(p, {"w": g})
    b = OPTIMIZERS[name](**opts)
    b.load_state_dict(a.state_dict())
    q = {"w": p["w"].copy()}
    for g in grads[3:]:
        a.step(p, {"w": g})
        b.step(q, {"w": g})
    np.testing.assert_array_equal(p["w"], q["w"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_minimise_a_quadratic(name):
    opt = OPTIMIZERS[name](lr=0.1)
    p = {"w": np.array([3.0, -2.0])}
    for _ in range(500):
        opt.step(p, {"w": 2 * p["w"]})
    assert np.abs(p["w"]).max() < 1e-2
