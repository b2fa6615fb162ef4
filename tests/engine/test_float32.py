"""A float32 network stays float32 end to end: every activation, loss, layer, optimizer step,
regularizer and schedule, taken from the registries so that a new entry is covered at once.

Under NumPy 2 a Python float never promotes a float32 array, but a NumPy float64 scalar (such as
`np.sqrt(2 / np.pi)`) or a float64 array does, silently: the result is float64, or is computed in
float64 and cast back by an in-place operation. `Watched` catches both: it is a float32 array
that records every ufunc call mixing it with a float64 NumPy value.
"""

import math
import typing

import numpy as np
import pytest

from nnctl.config import default_initializer, plain, schema
from nnctl.engine import optimizers, schedules
from nnctl.engine.activations import ACTIVATIONS, FROM_INPUT
from nnctl.engine.losses import LOSSES
from nnctl.engine.model import build
from nnctl.engine.protocol import LAYER_TYPES
from nnctl.engine.regularizers import Penalty, clip_by_global_norm


class Watched(np.ndarray):
    """A float32 array whose ufunc calls with a float64 NumPy operand are recorded in `promotions`."""

    promotions: typing.ClassVar[list[str]] = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [np.asarray(x) if isinstance(x, Watched) else x for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(np.asarray(o) if isinstance(o, Watched) else o for o in out)
        if any(isinstance(x, (np.ndarray, np.generic)) and x.dtype == np.float64 for x in plain):
            Watched.promotions.append(f"np.{ufunc.__name__}.{method} with a float64 operand")
        result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        if isinstance(result, np.ndarray) and result.dtype == np.float32:
            return result.view(Watched)
        return result


@pytest.fixture(autouse=True)
def no_promotion():
    Watched.promotions = []
    yield
    assert Watched.promotions == [], f"float32 computed in float64: {sorted(set(Watched.promotions))}"


def watched(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32).view(Watched)


def assert_float32(array, what):
    assert array.dtype == np.float32, f"{what} is {array.dtype}"


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_keeps_float32_forward_and_backward(name):
    forward, backward = ACTIVATIONS[name].forward, ACTIVATIONS[name].backward
    x = watched((6, 4), scale=3.0)
    y = forward(x)
    assert_float32(y, f"{name} forward")
    dx = backward(x if name in FROM_INPUT else y, watched((6, 4), seed=1))
    assert_float32(dx, f"{name} backward")


OUTPUTS = {"cross_entropy": [3], "binary_cross_entropy": [1]}  # the others: a target column, or one-hot classes


@pytest.mark.parametrize("name,outputs", [(name, k) for name in sorted(LOSSES) for k in OUTPUTS.get(name, [1, 3])])
def test_every_loss_keeps_float32_gradients(name, outputs):
    rng = np.random.default_rng(2)
    if name in ("cross_entropy", "binary_cross_entropy") or outputs > 1:
        y = rng.integers(0, max(2, outputs), size=8)
    else:
        y = rng.normal(size=8).astype(np.float32)  # a regression target, standardised as training has it
    value, dz = LOSSES[name].value_and_grad(watched((8, outputs), scale=2.0), y)
    assert type(value) is float
    assert_float32(dz, f"{name}'s gradient")


LAYER_OPTIONS = {"dense": {"units": 5}, "dropout": {"rate": 0.5}, "batchnorm": {}, "activation": {},
                 "conv2d": {"filters": 3, "kernel_size": 3, "padding": "same"}, "maxpool2d": {}, "avgpool2d": {},
                 "flatten": {}, "global_avgpool2d": {}}  # what each type requires
IMAGE = (6, 6, 2)  # the input of a layer that takes images (flattened after it when it keeps them)


def layer_types():
    union = typing.get_args(typing.get_args(schema.LayerConfig)[0])
    return [typing.get_args(member)[0] for member in union]


@pytest.mark.parametrize("layer_class", layer_types(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_layer_keeps_float32_forward_and_backward(layer_class, activation):
    kind = typing.get_args(layer_class.model_fields["type"].annotation)[0]
    assert kind in LAYER_OPTIONS, f"add the options a {kind} layer needs to LAYER_OPTIONS"
    options = dict(LAYER_OPTIONS[kind], type=kind)
    if "activation" in layer_class.model_fields:
        options["activation"] = activation
    if "initializer" in layer_class.model_fields:
        options["initializer"] = default_initializer(activation)
    last = schema.DenseLayer(units=3, activation=activation, initializer=default_initializer(activation))
    images = LAYER_TYPES[kind].takes_images
    layers = plain([layer_class(**options)]) + ([{"type": "flatten"}] if images and kind != "global_avgpool2d" else [])
    width = math.prod(IMAGE) if images else 4
    model = build(layers + plain([last]), IMAGE if images else 4, np.random.default_rng(0), "float32")
    for training in (False, True):  # training last: backward needs what it kept
        out = model.forward(watched((6, width), scale=2.0), training=training)
        assert_float32(out, f"{kind} + {activation} forward (training={training})")
    model.backward(watched(out.shape, seed=3))
    for key, grad in model.grads().items():
        assert_float32(grad, key)
    for key, array in model.state().items():
        assert_float32(array, key)


@pytest.mark.parametrize("name", sorted(optimizers.OPTIMIZERS))
def test_every_optimizer_step_stays_in_float32(name):
    opt = optimizers.OPTIMIZERS[name](lr=0.01)
    params = {"a.W": watched((3, 4)), "a.b": watched((4,), seed=1)}
    for step in range(3):
        grads = {k: watched(v.shape, seed=10 + step) for k, v in params.items()}
        opt.step(params, grads)
    for key, p in params.items():
        assert_float32(p, key)
    for key, slot in opt.state_dict()["arrays"].items():
        assert_float32(slot, f"{name}'s {key}")


def test_the_penalties_and_clipping_stay_in_float32():
    W, dW = watched((4, 3)), watched((4, 3), seed=1)
    penalty = Penalty(l1=0.01, l2=0.02)
    assert type(penalty.value(W)) is float
    penalty.add_grad(W, dW)
    clip_by_global_norm({"W": dW}, 0.1)
    assert_float32(dW, "the clipped penalised gradient")


@pytest.mark.parametrize("name", sorted(schedules.SCHEDULES))
def test_every_schedule_gives_a_python_float(name):
    """An optimizer's lr multiplies float32 arrays: a NumPy float64 rate would promote them."""
    options = {"epochs": 10} if name == "cosine" else {}
    schedule = schedules.SCHEDULES[name](**options)
    for epoch in range(1, 12):
        lr = schedule.lr(epoch, 0.01)
        assert type(lr) is float, f"{name} gives {type(lr)}"
        schedule.update({"epoch": epoch, "val_loss": 1.0, "train_loss": 1.0})
