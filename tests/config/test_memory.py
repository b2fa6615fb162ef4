"""The memory estimate (nnctl.config.memory) and the inputs that claim more memory than there is: refused
with a config, data or usage error before anything large is allocated, never a MemoryError."""

import gzip
import io
import json
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import api, config, data
from nnctl.cli import main
from nnctl.config import memory
from nnctl.errors import ConfigError, DataError

HUGE = """\
data: {name: moons}
model:
  layers:
    - {units: 1000000, activation: relu}
    - {units: 1000000, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam}
run: {output_dir: OUT}
"""
BLOBS = """\
data: {name: blobs, n_samples: 10000000, n_features: 100000}
model:
  layers:
    - {units: 3, activation: softmax}
loss: cross_entropy
optimizer: {name: sgd}
run: {output_dir: OUT}
"""
NPZ = """\
data: {name: npz, path: PATH}
model:
  layers:
    - {units: 4, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: sgd}
run: {output_dir: OUT}
"""


def write(tmp_path, text, **values):
    for key, value in {"OUT": str(tmp_path / "runs"), **values}.items():
        text = text.replace(key, str(value))
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,biggest", [(HUGE, "optimizer's state"), (BLOBS, "the data set")])
def test_what_cannot_fit_is_refused_by_check_and_train(tmp_path, text, biggest):
    path = write(tmp_path, text)
    for command in (["check", str(path)], ["train", str(path)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 3, result.output
        assert "training needs about" in result.output and "TiB of memory, this machine has" in result.output
        assert "available (MemAvailable)" in result.output and biggest in result.output
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_the_estimate_allocates_nothing(tmp_path):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="needs about"):
            api.check(write(tmp_path, BLOBS))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000


def test_check_shows_the_estimate_and_the_limit_can_be_set(tmp_path, monkeypatch):
    path = write(tmp_path, NPZ.replace("name: npz, path: PATH", "name: moons"))
    result = CliRunner().invoke(main, ["check", str(path), "--json"])
    need = json.loads(result.output)["memory"]
    assert set(need["parts"]) == {"parameters", "gradients", "optimizer", "activations", "evaluation", "data"}
    assert need["bytes"] == sum(need["parts"].values()) and need["parts"]["data"] == 1000 * 2 * (8 + 4)
    assert need["available_source"] == "MemAvailable" and not need["lower_bound"]
    monkeypatch.setenv("NNCTL_MEMORY_LIMIT", "10K")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 3 and "this machine has 10.0 KiB available (NNCTL_MEMORY_LIMIT)" in result.output
    monkeypatch.setenv("NNCTL_MEMORY_LIMIT", "1G")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0 and "(1.0 GiB available)" in result.output


def test_the_estimate_follows_the_optimizer_and_the_batch():
    def need(**changes):
        base = {"data": {"name": "iris"}, "model": {"layers": [{"units": 100, "activation": "relu"},
                {"units": 3, "activation": "softmax"}]}, "loss": "cross_entropy", "optimizer": {"name": "sgd"}}
        return memory.estimate(config.from_dict({**base, **changes}))["parts"]
    n = 4 * 100 + 100 + 100 * 3 + 3
    assert need()["parameters"] == need()["gradients"] == n * 4
    assert need()["optimizer"] == n * 4 and need(optimizer={"name": "adam", "amsgrad": True})["optimizer"] == 5 * n * 4
    assert need(training={"batch_size": 64})["activations"] == 2 * need()["activations"]
    assert need(training={"dtype": "float64"})["parameters"] == n * 8


CNN = {"data": {"name": "digits"}, "model": {"layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}, {"type": "flatten"},
    {"units": 10, "activation": "softmax"}]}, "loss": "cross_entropy", "optimizer": {"name": "sgd"}}


def test_a_convolutions_patches_are_in_the_estimate(tmp_path, monkeypatch):
    """Per row: the conv layer's four outputs (8 x 8 x 4), its padded input (10 x 10) and the input's
    gradient (8 x 8); the dense layer's four outputs; the input row. Besides, the conv's chunk of
    images (here the whole batch: 32 x 64 windows x 9 values is under conv.CHUNK_VALUES): their
    patches (64 windows of 3 x 3 x 1; their gradient reuses the array), the product (64 x 4) and
    the padded images."""
    parts = memory.estimate(config.from_dict({**CNN, "training": {"batch_size": 32}}))["parts"]
    assert parts["activations"] == (32 * (64 + 4 * 256 + 100 + 64 + 4 * 10) + 32 * (64 * 9 + 64 * 4 + 100)) * 4
    big = write(tmp_path, json.dumps({**CNN, "training": {"batch_size": 1000}}))
    monkeypatch.setenv("NNCTL_MEMORY_LIMIT", "8M")
    result = CliRunner().invoke(main, ["check", str(big)])
    assert result.exit_code == 3 and "most of it is a training batch's activations" in result.output


@pytest.mark.parametrize("text,expected", [("1000", 1000), ("512M", 512 * 2**20), ("1.5GiB", 3 * 2**29), ("2g", 2**31)])
def test_memory_limit_units(text, expected):
    assert memory.parse_size(text) == expected


def test_the_blobs_loader_refuses_what_cannot_fit():
    """A checkpoint naming such a data set reaches the loader without nnctl check: a data error."""
    cfg = config.from_dict(yaml_free(BLOBS))
    with pytest.raises(DataError, match="blobs of 10,000,000 samples of 100,000 features need about 14.6 TiB"):
        data.load(cfg.data, 0)


def yaml_free(text):
    import yaml

    return yaml.safe_load(text.replace("OUT", "runs"))


# ---------------------------------------------------------------- files that claim to be huge


def npy_header(shape, descr="<f8") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def test_an_npz_whose_header_claims_10_to_the_12_rows_is_a_data_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "d.npz", "w") as archive:
        archive.writestr("x.npy", npy_header((10**12, 3)) + bytes(48))
        archive.writestr("y.npy", npy_header((2,), "<i8") + bytes(16))
    result = CliRunner().invoke(main, ["train", str(write(tmp_path, NPZ, PATH=tmp_path / "d.npz"))])
    assert result.exit_code == 5, result.output
    assert "'x': its header claims shape (1000000000000, 3) float64 (21.8 TiB), but holds 48 B" in result.output


def test_an_npz_member_within_its_declared_size_but_beyond_memory_is_refused(tmp_path, monkeypatch):
    np.savez(tmp_path / "d.npz", x=np.zeros((1000, 3)), y=np.arange(1000) % 2)
    monkeypatch.setenv("NNCTL_MEMORY_LIMIT", "10K")
    with pytest.raises(DataError, match=r"'x': an array of shape \(1000, 3\) float64 needs 23.4 KiB, this machine has "
                                        r"10.0 KiB available \(NNCTL_MEMORY_LIMIT\)"):
        api.load_data(config.load(write(tmp_path, NPZ, PATH=tmp_path / "d.npz")))


def test_an_npz_of_0_columns_is_a_data_error(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((100, 0)), y=np.arange(100) % 2)
    result = CliRunner().invoke(main, ["train", str(write(tmp_path, NPZ, PATH=tmp_path / "d.npz"))])
    assert result.exit_code == 5, result.output
    assert "'x' has 100 rows of 0 columns: no features" in result.output


def test_predict_refuses_an_npy_claiming_10_to_the_12_rows(moons_run, tmp_path):
    (tmp_path / "x.npy").write_bytes(npy_header((10**12, 2)) + bytes(32))
    result = CliRunner().invoke(main, ["predict", moons_run["checkpoint"], str(tmp_path / "x.npy")])
    assert result.exit_code == 5, result.output
    assert "its header claims shape (1000000000000, 2) float64" in result.output


def test_a_gzip_bomb_in_an_idx_file_is_read_no_further_than_its_header_says(tmp_path):
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (100).to_bytes(4, "big") + bytes(50_000_000),
                                                     compresslevel=1))
    with pytest.raises(DataError, match=r"holds more than data bytes, its header \(100,\) says 100"):
        data.read_idx(tmp_path / "bomb.gz")
    (tmp_path / "big.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\xff\xff\xff\xff" * 3))
    with pytest.raises(DataError, match="more than the 100,000,000 an IDX file of MNIST or Fashion-MNIST holds"):
        data.read_idx(tmp_path / "big.gz")


def test_gradcheck_batch_size_has_a_limit(tmp_path):
    path = write(tmp_path, NPZ.replace("name: npz, path: PATH", "name: moons"))
    result = CliRunner().invoke(main, ["gradcheck", str(path), "--batch-size", "1000000000"])
    assert result.exit_code == 2 and "1<=x<=10000" in result.output
    result = CliRunner().invoke(main, ["gradcheck", str(write(tmp_path, HUGE))])
    assert result.exit_code == 3 and "needs about" in result.output
