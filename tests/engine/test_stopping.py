"""Early stopping and the monitor behind it: patience, min_delta, modes, state."""

import pytest

from nnctl.engine.callbacks import EarlyStopping, Monitor, resolve_mode
from nnctl.errors import DataError, TrainingDiverged


def feed(stopper, values, key="val_loss"):
    for epoch, value in enumerate(values, 1):
        stopper.update({"epoch": epoch, key: value})
        if stopper.stop:
            return epoch
    return None


def test_stops_after_patience_epochs_without_improvement():
    s = EarlyStopping(patience=3)
    assert feed(s, [1.0, 0.8, 0.9, 0.85, 0.81, 0.7]) == 5
    assert s.best_epoch == 2 and s.best == 0.8
    assert s.report() == {"monitor": "val_loss", "mode": "min", "best": 0.8, "best_epoch": 2, "stopped_epoch": 5,
                          "restored_best": True}


def test_min_delta_and_max_mode():
    s = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.05)
    assert s.mode == "max"
    # 0.54 is not better than 0.5 by more than 0.05; 0.56 is; 0.57 and 0.6 are not better than 0.56
    assert feed(s, [0.5, 0.54, 0.56, 0.57, 0.6, 0.9], key="val_accuracy") == 5
    assert (s.best_epoch, s.best) == (3, 0.56)


def test_improvement_resets_the_wait():
    s = EarlyStopping(patience=2)
    assert feed(s, [1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.86]) == 7


def test_auto_mode():
    assert resolve_mode("val_r2", "auto") == "max" and resolve_mode("val_mae", "auto") == "min"
    assert resolve_mode("val_loss", "max") == "max"


def test_missing_or_infinite_metric_is_an_error():
    with pytest.raises(DataError, match="val_r2 has no value at epoch 1"):
        Monitor("val_r2").update({"epoch": 1, "val_r2": None})
    with pytest.raises(TrainingDiverged, match="val_loss became inf"):
        Monitor("val_loss").update({"epoch": 2, "val_loss": float("inf")})


def test_state_round_trip():
    a = EarlyStopping(patience=3)
    feed(a, [1.0, 0.9, 0.95])
    b = EarlyStopping(patience=3)
    b.load_state_dict(a.state_dict())
    for stopper in (a, b):
        stopper.update({"epoch": 4, "val_loss": 0.96})
        stopper.update({"epoch": 5, "val_loss": 0.97})
    assert a.state_dict() == b.state_dict() and b.stop and b.stopped_epoch == 5
