"""Learning-rate schedules: the documented formula at chosen epochs, and state round trips."""

import itertools
import math

import pytest

from nnctl.engine.schedules import SCHEDULES, Constant, Cosine, Exponential, InverseTime, ReduceOnPlateau, Step


def test_constant_step_exponential_inverse_time():
    assert [Constant().lr(e, 0.1) for e in (1, 50)] == [0.1, 0.1]
    assert [Step(step_size=3, gamma=0.5).lr(e, 1.0) for e in range(1, 8)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert Exponential(gamma=0.9).lr(3, 2.0) == pytest.approx(2.0 * 0.81)
    assert [InverseTime(decay=0.5).lr(e, 1.0) for e in (1, 2, 3)] == pytest.approx([1.0, 1 / 1.5, 0.5])


def test_cosine_with_warmup():
    s = Cosine(epochs=12, warmup_epochs=2, min_lr=0.01)
    lrs = [s.lr(e, 1.0) for e in range(1, 13)]
    assert lrs[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])  # warm-up epochs stay below base_lr; the cosine starts there
    assert lrs[2 + 5] == pytest.approx(0.01 + 0.99 * (1 + math.cos(math.pi * 5 / 10)) / 2)
    assert all(a >= b for a, b in itertools.pairwise(lrs[2:])) and lrs[-1] > 0.01


def test_cosine_without_warmup_starts_at_base():
    assert Cosine(epochs=4).lr(1, 0.3) == pytest.approx(0.3)
    assert Cosine(epochs=4).lr(3, 0.3) == pytest.approx(0.15)


def records(values, key="val_loss"):
    return [{"epoch": i + 1, key: v} for i, v in enumerate(values)]


def test_reduce_on_plateau_cuts_after_patience_and_respects_min_lr():
    s = ReduceOnPlateau(factor=0.5, patience=2, min_lr=0.3)
    lrs = []
    for r in records([1.0, 0.9, 0.95, 0.92, 0.91, 0.5, 0.6, 0.6, 0.6, 0.6]):
        lrs.append(s.lr(r["epoch"], 1.0))
        s.update(r)
    # bad epochs 3, 4 -> cut before epoch 5; 5 is bad, 6 improves; 7, 8 bad -> cut; 9, 10 bad -> cut (min_lr)
    assert lrs == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3]
    assert s.lr(11, 1.0) == 0.3 and s.scale == 0.125


@pytest.mark.parametrize("min_lr", [0.01, 0.05])
def test_reduce_on_plateau_never_raises_the_rate(min_lr):
    """min_lr at or above the optimizer's lr: torch and Keras never change the rate (it used to jump to min_lr)."""
    s = ReduceOnPlateau(factor=0.5, patience=1, min_lr=min_lr)
    lrs = []
    for r in records([1.0, 1.0, 1.0, 1.0, 1.0]):
        lrs.append(s.lr(r["epoch"], 0.01))
        s.update(r)
    assert lrs == [0.01] * 5


def test_reduce_on_plateau_cuts_down_to_min_lr_when_it_is_below_lr():
    s = ReduceOnPlateau(factor=0.1, patience=1, min_lr=0.002)
    lrs = []
    for r in records([1.0, 1.0, 1.0, 1.0]):
        lrs.append(s.lr(r["epoch"], 0.01))
        s.update(r)
    assert lrs == [0.01, 0.01, 0.002, 0.002]  # epoch 2 is the first without improvement


def test_reduce_on_plateau_max_mode_and_min_delta():
    s = ReduceOnPlateau(monitor="val_accuracy", factor=0.1, patience=1, min_delta=0.01)
    s.update({"epoch": 1, "val_accuracy": 0.5})
    s.update({"epoch": 2, "val_accuracy": 0.505})  # not better by more than min_delta
    assert s.lr(3, 1.0) == pytest.approx(0.1)
    s.update({"epoch": 3, "val_accuracy": 0.6})
    assert s.lr(4, 1.0) == pytest.approx(0.1)


def test_plateau_state_round_trip_continues_identically():
    seq = records([1.0, 1.1, 1.2, 0.9, 1.0, 1.0, 1.0, 1.0])
    a = ReduceOnPlateau(factor=0.5, patience=2)
    for r in seq[:5]:
        a.update(r)
    b = ReduceOnPlateau(factor=0.5, patience=2)
    b.load_state_dict(a.state_dict())
    for r in seq[5:]:
        a.update(r)
        b.update(r)
        assert a.lr(r["epoch"] + 1, 1.0) == b.lr(r["epoch"] + 1, 1.0)
    assert a.state_dict() == b.state_dict()


def test_registry_keys_are_the_yaml_words():
    from typing import get_args

    from nnctl import config

    members = get_args(get_args(config.ScheduleConfig)[0])
    assert {get_args(m.model_fields["name"].annotation)[0] for m in members} == set(SCHEDULES)
