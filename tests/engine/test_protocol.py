"""The layer protocol: each layer type answers for itself (keys, shapes, parameters, summary row,
graph node), and the model asks it rather than keeping tables of its own."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nnctl.engine import model
from nnctl.engine.layers import Dense, DenseEpilogue, Dropout
from nnctl.engine.protocol import LAYER_TYPES, Key, Layer, ShapeError, shown


def test_a_layer_takes_exactly_its_keys_with_their_defaults():
    dense = Dense(units=3)
    assert (dense.units, dense.activation, dense.initializer, dense.l1, dense.l2) == (3, "linear", None, 0.0, 0.0)
    with pytest.raises(TypeError, match="needs 'units'"):
        Dense()
    with pytest.raises(TypeError, match="takes no key 'filters'"):
        Dense(units=3, filters=2)


def test_every_layer_type_is_registered_under_its_word_with_described_keys():
    assert list(LAYER_TYPES)[:4] == ["dense", "activation", "dropout", "batchnorm"]
    for word, cls in LAYER_TYPES.items():
        assert cls.type == word and cls.title and issubclass(cls, Layer)
        assert all(isinstance(key, Key) and key.description for key in cls.keys), word


def test_the_plan_walks_shapes_and_names_the_layer_that_does_not_fit():
    layers = [{"units": 4, "activation": "relu"}, {"type": "dropout", "rate": 0.5}, {"units": 2}]
    steps = model.plan(layers, 3)
    assert [(s.index, s.input_shape, s.output_shape) for s in steps] == [(0, (3,), (4,)), (1, (4,), (4,)),
                                                                         (2, (4,), (2,))]
    with pytest.raises(ShapeError) as info:
        model.plan([{"units": 4}], (8, 8, 1))
    assert info.value.index == 0 and "(None, 8, 8, 1)" in str(info.value) and "flatten" in str(info.value)


def test_the_summary_and_the_checkpoints_shapes_come_from_the_layers():
    layers = [{"units": 5, "activation": "tanh"}, {"type": "batchnorm"}, {"units": 2, "activation": "softmax"}]
    rows = model.summary_rows(layers, 3)
    assert [(r["type"], r["output_shape"], r["params"], r["non_trainable_params"]) for r in rows] == [
        ("Dense", [None, 5], 20, 0), ("BatchNormalization", [None, 5], 20, 10), ("Dense", [None, 2], 12, 0)]
    params, buffers = model.state_shapes(layers, 3)
    built = model.build(layers, 3, np.random.default_rng(0), "float64")
    assert params == {k: v.shape for k, v in built.params().items()}
    assert buffers == {k: v.shape for k, v in built.buffers().items()}
    assert sum(math.prod(s) for s in (*params.values(), *buffers.values())) == sum(r["params"] for r in rows)


def test_an_activation_layer_is_the_activation_of_the_layer_before_it():
    """Keras' Dense + ReLU layer and PyTorch's Linear + nn.ReLU train as `activation: relu` does:
    the same draws, the same fused step, the same outputs and gradients."""
    rng = np.random.default_rng(5)
    x, dy = rng.normal(size=(64, 6)).astype(np.float32), rng.normal(size=(64, 2)).astype(np.float32)
    inline = model.build([{"units": 300, "activation": "relu"}, {"units": 2}], 6, np.random.default_rng(0))
    apart = model.build([{"units": 300, "initializer": "he_uniform"}, {"type": "activation", "activation": "relu"},
                         {"units": 2}], 6, np.random.default_rng(0))
    steps = [[type(s) for s in m._forward[False]] for m in (inline, apart)]
    assert steps[0] == steps[1] == [DenseEpilogue, Dense]
    outs = [m.forward(x, training=True) for m in (inline, apart)]
    assert outs[0].tobytes() == outs[1].tobytes()
    for m in (inline, apart):
        m.backward(dy)
    assert [g.tobytes() for g in inline.grads().values()] == [g.tobytes() for g in apart.grads().values()]
    assert [name for name, _ in apart.named_layers] == ["layers.0", "layers.1", "layers.2"]


def test_backward_starts_at_the_first_layer_that_trains(monkeypatch):
    """The layers before it need no gradient, and it computes no dx."""
    net = model.build([{"type": "dropout", "rate": 0.5}, {"units": 3}, {"units": 2}], 4, np.random.default_rng(0))
    assert [(type(step), need_dx) for step, need_dx in net._backward[False]] == [(Dense, True), (Dense, False)]
    net.forward(np.ones((5, 4)), training=True)
    monkeypatch.setattr(Dropout, "backward", lambda *a, **k: pytest.fail("a dropout before every weight ran backward"))
    net.backward(np.ones((5, 2)))


def test_a_layer_describes_itself_for_export():
    net = model.build([{"units": 3, "activation": "tanh"}, {"type": "dropout", "rate": 0.1}, {"type": "batchnorm"},
                       {"units": 2}], 4, np.random.default_rng(0))
    nodes = [(name, layer.graph_node()) for name, layer in net.named_layers]
    assert [(name, node and node.kind) for name, node in nodes] == [
        ("layers.0", "dense"), ("layers.0.tanh", "activation"), ("layers.1", None), ("layers.2", "batchnorm"),
        ("layers.3", "dense")]
    assert nodes[1][1].attributes == {"activation": "tanh"} and nodes[3][1].attributes == {"epsilon": 1e-3}
    assert set(nodes[0][1].arrays) == {"W", "b"} and nodes[0][1].arrays["W"] is net.params()["layers.0.W"]


def test_shapes_print_as_keras_prints_them():
    assert shown((28, 28, 16)) == "(None, 28, 28, 16)" and shown((10,)) == "(None, 10)"


KERAS = json.loads((Path(__file__).resolve().parents[1] / "reference" / "keras_summary.json").read_text())


@pytest.mark.parametrize("name", sorted(KERAS))
def test_the_summary_gives_keras_shapes_and_parameter_counts(name):
    """Recorded from Keras 3 by tests/reference/record_keras_summary.py for the same networks."""
    case = KERAS[name]
    rows = model.summary_rows(case["layers"], tuple(case["input_shape"]))
    assert [{"output_shape": r["output_shape"], "params": r["params"]} for r in rows] == case["keras"]
    assert sum(r["params"] for r in rows) == case["total_params"]
