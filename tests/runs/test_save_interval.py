"""training.save_interval: a fast run writes its folder at most every so many seconds, and the
files are the same bytes as a run that writes every epoch."""

import json

import pytest
from helpers.moons import moons_yaml

from nnctl import api, files

EARLY = {"monitor": "val_accuracy", "patience": 3}


def train(tmp_path, name, interval, monkeypatch, **training):
    written = []
    real = files.atomic_write

    def counting(path, data):
        written.append(path.name)
        real(path, data)

    monkeypatch.setattr(files, "atomic_write", counting)
    path = tmp_path / f"{name}.yaml"
    path.write_text(moons_yaml(seed=3, training={"epochs": 8, "save_interval": interval, **training}))
    api.train(api.load_config(path), run_dir=tmp_path / name)
    monkeypatch.setattr(files, "atomic_write", real)
    return tmp_path / name, written


def metrics(run_dir):
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("training", [{}, {"checkpoint": "last"}, {"early_stopping": EARLY}],
                         ids=["best", "last", "early-stopping"])
@pytest.mark.slow
def test_saving_once_gives_the_bytes_of_saving_every_epoch(tmp_path, monkeypatch, training):
    every, written_every = train(tmp_path, "every", 0, monkeypatch, **training)
    once, written_once = train(tmp_path, "once", 3600, monkeypatch, **training)
    epochs = len(metrics(every))
    assert written_every.count("last.json") == epochs and written_every.count("metrics.jsonl") == epochs
    assert written_once.count("last.json") == 1 and written_once.count("metrics.jsonl") == 1
    for name in ("last.json", "checkpoint.json"):  # all but the config (its save_interval) and so the sha256
        assert without_config(once / name) == without_config(every / name), name
    assert metrics(once) == metrics(every)


def without_config(path):
    doc = json.loads(path.read_text())
    assert doc.pop("config")["training"].pop("save_interval") in (0, 3600)
    doc.pop("sha256")
    return doc


def test_a_divergence_writes_the_last_good_epoch_kept_in_memory(tmp_path, monkeypatch):
    import numpy as np

    from nnctl.engine import losses

    real, calls = losses.LOSSES["cross_entropy"], []

    def value_and_grad(z, y):  # the untrained reference, then 7 batches and a validation pass an epoch
        calls.append(1)
        value, dz = real.value_and_grad(z, y)
        return (np.inf if len(calls) == 18 else value), dz

    monkeypatch.setitem(losses.LOSSES, "cross_entropy", losses.Loss(value_and_grad, fused=real.fused))
    path = tmp_path / "c.yaml"
    path.write_text(moons_yaml(seed=4, data={"noise": None}, training={"epochs": 5, "save_interval": 3600}))
    with pytest.raises(api.TrainingDiverged, match="last.json holds the last good epoch"):
        api.train(api.load_config(path), run_dir=tmp_path / "run")
    assert api.load_checkpoint(tmp_path / "run" / "last.json").epoch == 2
    assert [r["epoch"] for r in metrics(tmp_path / "run")] == [1, 2]
