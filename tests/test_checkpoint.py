"""Checkpoints: save, load, identical predictions; every kind of damage is a CheckpointError."""

import json
from pathlib import Path

import numpy as np
import pytest

from nnctl import api, checkpoint
from nnctl.errors import CheckpointError

CONFIG = """\
seed: 1
data: {name: moons, n_samples: 200}
model:
  layers:
    - {units: 8, activation: tanh}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
training: {epochs: 3, batch_size: 16}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    (folder / "c.yaml").write_text(CONFIG)
    cfg = api.load_config(folder / "c.yaml")
    result = api.train(cfg, run_dir=folder / "run")
    return cfg, result


def test_round_trip_gives_bit_identical_predictions(trained, tmp_path):
    cfg, result = trained
    ckpt = api.load_checkpoint(result["checkpoint"])
    x = np.random.default_rng(0).normal(size=(50, 2))
    before = api.predict(ckpt, x)
    checkpoint.save(tmp_path / "again.json", config=ckpt.config, model=ckpt.model, preprocessing=ckpt.preprocessing,
                    classes=ckpt.classes, n_inputs=ckpt.n_inputs, epoch=ckpt.epoch, metrics=ckpt.metrics)
    again = api.load_checkpoint(tmp_path / "again.json")
    np.testing.assert_array_equal(before, api.predict(again, x))
    for name, w in ckpt.model.params().items():
        np.testing.assert_array_equal(w, again.model.params()[name])
    assert ckpt.config == cfg


def test_last_checkpoint_holds_optimizer_state(trained):
    _, result = trained
    last = api.load_checkpoint(result["last_checkpoint"])
    assert last.epoch == 3 and last.optimizer["t"] > 0
    assert set(last.optimizer["arrays"]) == {f"{k}.v" for k in last.model.params()}


def test_same_seed_same_checkpoint_bytes(trained, tmp_path):
    cfg, result = trained
    again = api.train(cfg, run_dir=tmp_path / "run")
    first = json.loads(Path(result["last_checkpoint"]).read_text())
    second = json.loads(Path(again["last_checkpoint"]).read_text())
    assert first["state"] == second["state"] and first["sha256"] == second["sha256"]
    assert Path(result["last_checkpoint"]).read_bytes() == Path(again["last_checkpoint"]).read_bytes()


def tamper(path, tmp_path, change):
    doc = json.loads(Path(path).read_text())
    change(doc)
    out = tmp_path / "bad.json"
    out.write_text(json.dumps(doc))
    return out


def resign(doc):
    doc["sha256"] = checkpoint._digest(doc)


def test_changed_content_fails_the_hash(trained, tmp_path):
    path = tamper(trained[1]["checkpoint"], tmp_path, lambda d: d["metrics"].update(epoch=99))
    with pytest.raises(CheckpointError, match="sha256"):
        api.load_checkpoint(path)


@pytest.mark.parametrize("change,fragment", [
    (lambda d: d.update(format="other"), "not an nnctl checkpoint"),
    (lambda d: d.update(version=99), "version 99"),
    (lambda d: (d["state"].pop("layers.0.W"), resign(d)), "do not match"),
    (lambda d: (d["state"]["layers.0.W"].update(shape=[3, 8]), resign(d)), "layers.0.W"),
    (lambda d: (d["state"]["layers.0.W"].update(dtype="int8"), resign(d)), "dtype"),
    (lambda d: (d["state"]["layers.0.W"].update(data="!!!!" * 22), resign(d)), "base64"),
    (lambda d: (d["config"]["model"]["layers"][0].update(activation="evil"), resign(d)), "config is not valid"),
    (lambda d: (d.update(extra=1), resign(d)), "unexpected"),
    (lambda d: (d.update(n_inputs="2"), resign(d)), "n_inputs"),
    (lambda d: (d["preprocessing"].update(mean=[0.0]), resign(d)), "preprocessing"),
    (lambda d: (d["preprocessing"].update(scaling="evil"), resign(d)), "preprocessing"),
    (lambda d: (d.update(classes=[0, 1, 2]), resign(d)), "classes"),
])
def test_tampered_checkpoints_are_refused(trained, tmp_path, change, fragment):
    path = tamper(trained[1]["checkpoint"], tmp_path, change)
    with pytest.raises(CheckpointError, match=fragment):
        api.load_checkpoint(path)


def test_nan_weights_are_refused(trained, tmp_path):
    def poison(d):
        rec = d["state"]["layers.0.b"]
        d["state"]["layers.0.b"] = checkpoint.encode(np.full(rec["shape"], np.nan, dtype=rec["dtype"]))
        resign(d)
    with pytest.raises(CheckpointError, match="NaN"):
        api.load_checkpoint(tamper(trained[1]["checkpoint"], tmp_path, poison))


@pytest.mark.parametrize("content,fragment", [
    (b"", "not JSON"), (b"\x00\xff", "not JSON"), (b"[1, 2]", "not an nnctl"),
    (b'{"a": 1, "a": 2}', "duplicate key"), (b'{"a": NaN}', "NaN is not valid"),
])
def test_garbage_files_are_refused(tmp_path, content, fragment):
    (tmp_path / "x.json").write_bytes(content)
    with pytest.raises(CheckpointError, match=fragment):
        api.load_checkpoint(tmp_path / "x.json")


def test_truncated_checkpoint_is_refused(trained, tmp_path):
    raw = Path(trained[1]["checkpoint"]).read_bytes()
    (tmp_path / "cut.json").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="not JSON"):
        api.load_checkpoint(tmp_path / "cut.json")


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        api.load_checkpoint(tmp_path / "nope.json")
