"""One hand-computed step (and a few) per optimizer, and every optimizer against torch.optim."""

import json
import typing
from pathlib import Path

import numpy as np
import pytest

from nnctl.engine.optimizers import OPTIMIZERS, SGD, Adam


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
    opts = {"sgd": dict(lr=0.1, momentum=0.5), "rmsprop": dict(lr=0.01, momentum=0.5, centered=True),
            "adam": dict(lr=0.1, amsgrad=True), "adamw": dict(lr=0.1, amsgrad=True)}.get(name, dict(lr=0.1))
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
    # adagrad's steps shrink as its sum grows, and adadelta's start at sqrt(epsilon): both need
    # a larger lr; adadelta, slow by design, has to cut the distance by a factor 3 only
    opt = OPTIMIZERS[name](lr={"adagrad": 1.0, "adadelta": 1.0}.get(name, 0.1))
    p = {"w": np.array([3.0, -2.0])}
    for _ in range(500):
        opt.step(p, {"w": 2 * p["w"]})
    assert np.abs(p["w"]).max() < (1.0 if name == "adadelta" else 1e-2)


# ---------------------------------------------------------------- against PyTorch's torch.optim

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "optimizers.json").read_text())


def _case_id(case):
    options = ",".join(f"{k}={v}" for k, v in case["options"].items())
    return f"{case['name']}({options})" + ("-scheduled" if len(set(case["lrs"])) > 1 else "")


def test_the_reference_covers_every_optimizer_with_non_default_options():
    names = {case["name"] for case in REFERENCE["cases"]}
    assert names == set(OPTIMIZERS)
    for name in names:
        assert any(case["name"] == name and len(case["options"]) >= 2 for case in REFERENCE["cases"]), name
    assert all(len(case["params"]) >= 20 for case in REFERENCE["cases"])


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=_case_id)
def test_trajectory_matches_torch_optim(case):
    """The same gradients through nnctl's optimizer give PyTorch's parameters at every step."""
    opt = OPTIMIZERS[case["name"]](**case["options"])
    params = {k: np.array(v, dtype=np.float64) for k, v in case["init"].items()}
    for step, (lr, grads, expected) in enumerate(zip(case["lrs"], case["grads"], case["params"]), 1):
        opt.lr = lr
        opt.step(params, {k: np.array(v, dtype=np.float64) for k, v in grads.items()})
        for k, p in params.items():
            np.testing.assert_allclose(p, expected[k], rtol=1e-6, atol=0, err_msg=f"{k} after step {step}")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_builds_from_its_config_with_every_key(name):
    from nnctl import config
    from nnctl.engine import optimizers

    members = typing.get_args(typing.get_args(config.OptimizerConfig)[0])
    model = next(m for m in members if typing.get_args(m.model_fields["name"].annotation) == (name,))
    cfg = model(name=name)
    opt = optimizers.build(config.plain(cfg))
    assert type(opt) is OPTIMIZERS[name]
    for key, value in cfg.model_dump().items():  # the constructor took every YAML key as it is
        assert key == "name" or getattr(opt, key) == value, key
