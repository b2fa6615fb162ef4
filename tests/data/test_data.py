"""nnctl.data: IDX files, the MNIST sources and their cache, seeded stratified splits, scaling.

Nothing here reaches the network: the `offline` fixture (tests/data/conftest.py), which every test
here uses, refuses every connection beyond the loopback, so the OpenML tests read a fake mnist_784
laid out in scikit-learn's own cache.
"""

import gzip
import hashlib
import json
import math
import os
import subprocess
import sys
import typing
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers.mnist import N_TEST, N_TRAIN, write_idx, write_mnist_folder
from pydantic import TypeAdapter

from nnctl import config, data
from nnctl.config import BreastCancerData, MnistData, MoonsData
from nnctl.data import images, splits
from nnctl.errors import DataError

REPO = Path(__file__).resolve().parents[2]
USER_DATA_DIR = os.environ.get("NNCTL_DATA_DIR")  # read before the fixtures clear it


pytestmark = pytest.mark.usefixtures("offline")  # no network, an empty cache, no data folder


# ---------------------------------------------------------------- IDX files


def test_read_idx_returns_the_array_written(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz"), array)


def _truncated_gzip(path):
    write_idx(path, np.zeros((50, 28, 28), np.uint8) + 7)
    path.write_bytes(path.read_bytes()[:-20])


def _flipped_gzip(path):
    write_idx(path, np.arange(5000, dtype=np.uint64).astype(np.uint8))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("make, message", [
    (lambda p: write_idx(p, np.zeros(4, np.uint8), magic=b"\x00\x00\x0d\x01"), "magic number 00000d01"),
    (lambda p: write_idx(p, np.zeros(4, np.uint8), magic=b"\x08\x03\x00\x00"), "not an IDX file"),
    (lambda p: p.write_bytes(gzip.compress(b"\x00\x00\x08\x03\x00\x00")), "truncated IDX header"),
    (lambda p: p.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x0a" + bytes(9))),
     "holds 9 data bytes, its header"),
    (lambda p: p.write_bytes(gzip.compress(b"")), "magic number missing"),
    (lambda p: p.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x00"), "gzip"),
    (_truncated_gzip, "gzip"),
    (_flipped_gzip, "gzip"),
    (lambda p: None, "broken-idx.gz: no such file"),  # no file at all
])
def test_read_idx_refuses_broken_files_naming_them(tmp_path, make, message):
    path = tmp_path / "broken-idx.gz"
    make(path)
    with pytest.raises(DataError, match=message) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_mnist_folder_with_a_missing_file_names_folder_and_file(tmp_path, tiny):
    folder = write_mnist_folder(tmp_path / "mnist", *tiny)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"mnist: t10k-labels-idx1-ubyte.gz is missing"):
        data.load_mnist_raw(str(folder))
    with pytest.raises(DataError, match="no such folder"):
        data.load_mnist_raw(str(tmp_path / "nowhere"))


def test_mnist_folder_with_wrong_counts_or_labels_is_refused(tmp_path, tiny):
    x, y = tiny
    folder = write_mnist_folder(tmp_path / "mnist", x, y)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y[:N_TEST - 1])
    with pytest.raises(DataError, match=r"expected \(30, 28, 28\) and \(30,\)"):
        data.read_mnist_idx(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(N_TEST, 10, np.uint8))
    with pytest.raises(DataError, match=r"does not hold MNIST.*labels uint8 \(150,\) up to 10"):
        data.read_mnist_idx(folder)


# ---------------------------------------------------------------- MNIST sources and the cache


def cache_path() -> Path:
    return data.cache_dir() / "mnist.npz"


def test_mnist_from_data_dir_fills_the_cache_which_the_next_load_uses(data_dir, tiny):
    x, y, source = data.load_mnist_raw()
    assert source == f"idx:{data_dir}"
    np.testing.assert_array_equal(x, tiny[0])
    np.testing.assert_array_equal(y, tiny[1])
    assert sorted(p.name for p in data.cache_dir().iterdir()) == ["mnist.npz"]  # no temporary file left
    for f in data_dir.iterdir():
        f.unlink()  # the cache alone must now be enough
    x2, y2, source2 = data.load_mnist_raw()
    assert source2 == f"cache:{cache_path()}"
    assert x2.dtype == y2.dtype == np.uint8
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)


def test_a_failed_cache_write_leaves_nothing_behind(data_dir, monkeypatch):
    def disk_full(file, **arrays):
        file.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.np, "savez", disk_full)
    assert data.load_mnist_raw()[2].startswith("idx:")
    assert list(data.cache_dir().iterdir()) == []


def test_a_corrupt_cache_is_ignored_and_rebuilt(data_dir):
    cache_path().parent.mkdir(parents=True)
    cache_path().write_bytes(b"not a zip file")
    assert data.load_mnist_raw()[2].startswith("idx:")
    assert data.load_mnist_raw()[2].startswith("cache:")


def test_a_config_path_is_read_before_the_cache_and_not_cached(tmp_path, tiny):
    folder = write_mnist_folder(tmp_path / "elsewhere", *tiny)
    cfg = MnistData(name="mnist", path=str(folder), scaling="pixels")
    ds = data.load(cfg, seed=0)
    assert ds.source == f"idx:{folder}"
    assert not cache_path().exists()
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (108, 12, 30)
    np.testing.assert_array_equal(ds.x_test, (tiny[0][N_TRAIN:] / np.float32(255)).astype(np.float32))
    assert ds.classes == list(range(10)) and ds.image_shape == (28, 28, 1)


def test_no_source_at_all_says_how_to_get_mnist(offline):
    cache_path().parent.mkdir(parents=True)
    cache_path().write_bytes(b"garbage")
    with pytest.raises(DataError) as info:
        data.load_mnist_raw()
    message = str(info.value)
    for words in ("NNCTL_DATA_DIR", "train-images-idx3-ubyte.gz", "data.path", "internet", "OpenML", "unreadable"):
        assert words in message
    assert offline == ["www.openml.org"] * (data.OPENML_RETRIES + 1)  # it did try, like a machine offline


# ---------------------------------------------------------------- OpenML, offline


def write_openml_cache(data_home: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Lay out a fake mnist_784 (data id 554) the way fetch_openml caches what it downloads.

    fetch_openml keeps every URL it fetched at data_home/openml/openml.org/<URL path>.gz
    (sklearn/datasets/_openml.py, _get_local_path) and reads it from there without a download.
    """
    root = data_home / "openml" / "openml.org"
    arff_url = "https://api.openml.org/data/v1/download/52667/mnist_784.arff"
    arff = "@RELATION mnist_784\n" + "".join(f"@ATTRIBUTE pixel{i + 1} NUMERIC\n" for i in range(784))
    arff += "@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}\n@DATA\n"
    arff += "".join(",".join(map(str, row)) + f",{label}\n" for row, label in zip(x, y))
    feature = {"data_type": "numeric", "is_target": "false", "is_ignore": "false", "is_row_identifier": "false",
               "number_of_missing_values": "0"}
    features = [dict(feature, index=str(i), name=f"pixel{i + 1}") for i in range(784)]
    features.append(dict(feature, index="784", name="class", data_type="nominal", is_target="true",
                         nominal_values=[str(d) for d in range(10)]))
    files = {
        "api/v1/json/data/list/data_name/mnist_784/limit/2/data_version/1": {"data": {"dataset": [
            {"did": 554, "name": "mnist_784", "version": 1, "status": "active", "format": "ARFF"}]}},
        "api/v1/json/data/554": {"data_set_description": {
            "id": "554", "name": "mnist_784", "version": "1", "description": "a tiny fake", "format": "ARFF",
            "status": "active", "default_target_attribute": "class", "url": arff_url,
            "md5_checksum": hashlib.md5(arff.encode()).hexdigest()}},
        "api/v1/json/data/features/554": {"data_features": {"feature": features}},
        "api/v1/json/data/qualities/554": {"data_qualities": {"quality": [
            {"name": "NumberOfInstances", "value": f"{len(y)}.0"}]}},
        "data/v1/download/52667/mnist_784.arff": arff,
    }
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content)
        (root / (path + ".gz")).write_bytes(gzip.compress(text.encode()))


def test_mnist_from_openml_runs_fetch_openml_on_its_cache_and_fills_ours(offline, tiny):
    write_openml_cache(data.cache_dir(), *tiny)
    x, y, source = data.load_mnist_raw()
    assert source == "openml:mnist_784"
    assert offline == []  # everything came from fetch_openml's cache
    assert x.dtype == y.dtype == np.uint8
    np.testing.assert_array_equal(x, tiny[0])
    np.testing.assert_array_equal(y, tiny[1])
    assert data.load_mnist_raw()[2] == f"cache:{cache_path()}"


# ---------------------------------------------------------------- splits


def moons(**options):
    return MoonsData(**{"name": "moons", "scaling": "standard", **options})


def cancer(**options):
    return BreastCancerData(**{"name": "breast_cancer", "scaling": "standard", **options})


BUILT_IN = [name for name in data.SPECS if name not in images.IMAGE_SETS]


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_catalog_says_what_loading_finds(name):
    """Each built-in set's shape, classes and rows in the catalog are what its loader gives."""
    cfg = TypeAdapter(config.DataConfig).validate_python({"name": name})
    info = data.spec(cfg)
    x, y, classes, _ = data.CATALOG[name].load(cfg, 0)
    assert x.shape == (info.rows, info.n_features) and len(y) == info.rows
    assert len(classes) == info.n_classes and (info.task == "regression") == (info.n_classes == 0)
    assert info.image_shape is None or math.prod(info.image_shape) == info.n_features


def test_the_image_sets_are_mnist_shaped():
    for name in images.IMAGE_SETS:
        info = data.SPECS[name]
        assert (info.n_features, info.n_classes, info.default_scaling, info.image_shape, info.raw_itemsize) == \
            (784, len(images.IMAGE_SETS[name].labels), "pixels", (28, 28, 1), 1)
        assert info.rows == images.MNIST_N_TRAIN + images.MNIST_N_TEST


def test_the_schema_knows_every_data_set_of_the_catalog():
    models = typing.get_args(typing.get_args(config.DataConfig)[0])
    names = {typing.get_args(m.model_fields["name"].annotation)[0] for m in models}
    assert names == set(data.CATALOG)
    for name, entry in data.CATALOG.items():
        cfg = TypeAdapter(config.DataConfig).validate_python({"name": name, **REQUIRED.get(name, {})})
        assert {key: getattr(cfg, key) for key in entry.defaults} == entry.defaults


REQUIRED = {"openml": {"dataset": "x"}, "csv": {"path": "x.csv"}, "npz": {"path": "x.npz"}}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_splits_are_sized_disjoint_and_typed(dtype):
    ds = data.load(moons(n_samples=1000, test_fraction=0.2, val_fraction=0.1), seed=3, dtype=dtype)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (720, 80, 200)
    rows = np.concatenate([ds.x_train, ds.x_val, ds.x_test])
    assert len(np.unique(rows, axis=0)) == 1000  # no row in two splits
    for name in data.SPLITS:
        x, y = ds.split(name)
        assert x.dtype == dtype and x.flags.c_contiguous and x.shape[1] == 2
        assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1}
    assert ds.classes == [0, 1] and ds.task == "classification" and ds.source == "sklearn.make_moons"
    with pytest.raises(ValueError, match="unknown split"):
        ds.split("validation")


def test_splits_are_stratified():
    ds = data.load(cancer(test_fraction=0.25, val_fraction=0.2), seed=0)
    share = np.mean(np.concatenate([ds.y_train, ds.y_val, ds.y_test]))
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert abs(y.sum() - share * len(y)) <= 1
    assert ds.classes == ["malignant", "benign"]


def test_same_seed_same_bits_other_seed_other_split():
    a, b, c = (data.load(cancer(), seed=s) for s in (7, 7, 8))
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    assert a.preprocessing == b.preprocessing
    assert not np.array_equal(a.y_train, c.y_train)
    assert not np.array_equal(data.load(moons(), seed=1).x_test, data.load(moons(), seed=2).x_test)


def test_val_fraction_zero_gives_empty_val_arrays():
    ds = data.load(moons(n_samples=100, val_fraction=0.0), seed=0)
    assert ds.x_val.shape == (0, 2) and ds.y_val.shape == (0,) and len(ds.y_train) == 80


def test_too_few_rows_to_stratify_is_a_data_error():
    with pytest.raises(DataError, match="test_fraction=0.05"):
        data.load(moons(n_samples=20, test_fraction=0.05), seed=0)
    with pytest.raises(DataError, match="class 2 has 1 rows, of which 1 would be held out"):
        splits.stratified_split(np.arange(9), np.array([0] * 4 + [1] * 4 + [2]), 0.5, np.random.default_rng(0), "k")


def test_the_split_holds_out_ceil_of_the_fraction_shared_by_largest_remainders():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    rows = np.arange(100)
    kept, held = splits.stratified_split(rows, y, 0.15, np.random.default_rng(0), "val_fraction")
    # quotas 7.5, 4.5, 3: floors 7, 4, 3 and the 15th row to the first largest remainder
    assert np.bincount(y[held]).tolist() == [8, 4, 3] and len(kept) == 85
    assert np.array_equal(np.sort(np.concatenate([kept, held])), rows)
    assert np.all(np.diff(kept) > 0) and np.all(np.diff(held) > 0)  # both keep the original order
    again = splits.stratified_split(rows, y, 0.15, np.random.default_rng(0), "val_fraction")
    other = splits.stratified_split(rows, y, 0.15, np.random.default_rng(1), "val_fraction")
    assert np.array_equal(again[1], held) and not np.array_equal(other[1], held)
    # 0.07 * 100 is 7.000000000000001
    assert len(splits.stratified_split(rows, y, 0.07, np.random.default_rng(0), "k")[1]) == 7


def test_splitting_imports_no_scikit_learn():
    code = ("import sys, numpy as np; from nnctl.data import splits; "
            "splits.stratified_split(np.arange(90), np.arange(90) % 3, 0.2, np.random.default_rng(0), 'k'); "
            "assert 'sklearn' not in sys.modules, 'splitting imported scikit-learn'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_mnist_split_is_the_standard_one_plus_a_stratified_val(data_dir, tiny):
    ds = data.load(MnistData(name="mnist", val_fraction=0.25, scaling="none"), seed=0, dtype="float64")
    np.testing.assert_array_equal(ds.x_test, tiny[0][N_TRAIN:])
    np.testing.assert_array_equal(np.bincount(ds.y_val), [3] * 10)
    train = np.concatenate([ds.x_train, ds.x_val])
    assert sorted(map(bytes, train.astype(np.uint8))) == sorted(map(bytes, tiny[0][:N_TRAIN]))


# ---------------------------------------------------------------- scaling


def test_standard_scaling_is_fitted_on_the_training_split_only():
    raw = data.load(cancer(scaling="none"), seed=5, dtype="float64")
    ds = data.load(cancer(), seed=5, dtype="float64")
    np.testing.assert_allclose(ds.preprocessing["mean"], raw.x_train.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ds.preprocessing["std"], raw.x_train.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, rtol=1e-9)
    everything = np.concatenate([raw.x_train, raw.x_val, raw.x_test])
    assert not np.allclose(ds.preprocessing["mean"], everything.mean(axis=0))


def test_constant_features_are_scaled_without_warnings(data_dir):
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        ds = data.load(MnistData(name="mnist", scaling="standard"), seed=0)
    assert ds.preprocessing["std"][0] == 1.0 and ds.preprocessing["mean"][0] == 0.0
    assert np.isfinite(ds.x_test).all() and not ds.x_train[:, 0].any()


@pytest.mark.parametrize("scaling", ["standard", "pixels", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_apply_preprocessing_reproduces_every_split_bit_for_bit(data_dir, scaling, dtype):
    raw = data.load(MnistData(name="mnist", scaling="none"), seed=1, dtype="float64")
    ds = data.load(MnistData(name="mnist", scaling=scaling), seed=1, dtype=dtype)
    stored = json.loads(json.dumps(ds.preprocessing))  # as a checkpoint keeps it
    for name in data.SPLITS:
        again = data.apply_preprocessing(raw.split(name)[0], stored, dtype)
        assert again.dtype == dtype and again.tobytes() == ds.split(name)[0].tobytes()


def test_given_preprocessing_is_applied_instead_of_fitted():
    given = {"scaling": "standard", "mean": [1.0, -1.0], "std": [2.0, 4.0]}
    raw = data.load(moons(scaling="none"), seed=0, dtype="float64")
    ds = data.load(moons(), seed=0, dtype="float64", preprocessing=given)
    assert ds.preprocessing == given
    np.testing.assert_array_equal(ds.x_test, (raw.x_test - [1.0, -1.0]) / [2.0, 4.0])


@pytest.mark.parametrize("preprocessing, message", [
    ({"scaling": "standard", "mean": [0.0], "std": [1.0]}, "has 1 features"),
    ({"scaling": "standard", "mean": [0.0, 0.0]}, "malformed"),
    ({"scaling": "standard", "mean": [0.0, 0.0], "std": [1.0, 0.0]}, "divisor"),
    ({"scaling": "pixels", "scale": "x"}, "malformed"),
    ({"scaling": "whiten"}, "unknown scaling 'whiten'"),
])
def test_apply_preprocessing_refuses_what_does_not_fit(preprocessing, message):
    with pytest.raises(DataError, match=message):
        data.apply_preprocessing(np.zeros((3, 2)), preprocessing, "float32")
    with pytest.raises(DataError, match="not numbers"):
        data.apply_preprocessing([["a", "b"]], {"scaling": "none"}, "float32")


# ---------------------------------------------------------------- folders and start-up


def test_cache_dir_and_data_dir_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c" and data.data_dir() is None
    monkeypatch.delenv("NNCTL_CACHE_DIR")
    monkeypatch.setenv("NNCTL_DATA_DIR", str(tmp_path / "d"))
    assert data.cache_dir() == Path.home() / ".cache" / "nnctl" and data.data_dir() == tmp_path / "d"


def test_importing_data_does_not_import_scikit_learn():
    code = "import sys, nnctl.data; assert 'sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


# ---------------------------------------------------------------- the real MNIST (slow)

REAL_MNIST = Path(USER_DATA_DIR) / "mnist" if USER_DATA_DIR else REPO.parent / "shared" / "data" / "mnist"


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_MNIST / "train-images-idx3-ubyte.gz").exists(),
                    reason=f"the real MNIST is not at {REAL_MNIST}")
def test_real_mnist_loads_with_the_standard_split(monkeypatch):
    monkeypatch.setenv("NNCTL_DATA_DIR", str(REAL_MNIST.parent))
    x, y, source = data.load_mnist_raw()
    assert source.startswith("idx:") and x.shape == (70000, 784) and x.dtype == np.uint8
    train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    np.testing.assert_array_equal(np.bincount(y[:60000]), train_counts)
    np.testing.assert_array_equal(np.bincount(y[60000:]), test_counts)
    ds = data.load(MnistData(name="mnist", val_fraction=0.1, scaling="pixels"), seed=0)
    assert ds.source.startswith("cache:")
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (54000, 6000, 10000)
    np.testing.assert_array_equal(np.bincount(ds.y_test), test_counts)
    assert ds.x_train.dtype == np.float32 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1


# ---------------------------------------------------------------- Fashion-MNIST: the same sources as MNIST


def test_fashion_mnist_comes_from_its_own_folder_and_cache(tmp_path, monkeypatch, tiny, offline):
    from nnctl.config import FashionMnistData

    write_mnist_folder(tmp_path / "data" / "fashion_mnist", *tiny)
    write_mnist_folder(tmp_path / "data" / "mnist", tiny[0][::-1].copy(), tiny[1])  # must not be read
    monkeypatch.setenv("NNCTL_DATA_DIR", str(tmp_path / "data"))
    ds = data.load(FashionMnistData(name="fashion_mnist", scaling="none"), seed=0, dtype="float64")
    assert ds.source == f"idx:{tmp_path / 'data' / 'fashion_mnist'}"
    np.testing.assert_array_equal(ds.x_test, tiny[0][N_TRAIN:])
    assert ds.classes[0] == "T-shirt/top" and len(ds.classes) == 10
    assert (data.cache_dir() / "fashion_mnist.npz").exists() and not cache_path().exists()
    assert data.load_mnist_raw(name="fashion_mnist")[2].startswith("cache:")


def test_no_fashion_mnist_says_how_to_get_it(offline):
    with pytest.raises(DataError) as info:
        data.load_mnist_raw(name="fashion_mnist")
    assert "Fashion-MNIST is not available" in str(info.value) and "fashion_mnist/" in str(info.value)
    assert offline  # it tried OpenML, which the tests refuse


# ---------------------------------------------------------------- the other built-in sets


@pytest.mark.parametrize("raw,n_features,classes", [
    ({"name": "circles", "n_samples": 200}, 2, [0, 1]),
    ({"name": "blobs", "n_samples": 300, "centers": 4, "n_features": 5}, 5, [0, 1, 2, 3]),
    ({"name": "iris"}, 4, ["setosa", "versicolor", "virginica"]),
    ({"name": "wine"}, 13, ["class_0", "class_1", "class_2"]),
    ({"name": "digits"}, 64, list(range(10))),
])
def test_builtin_classification_sets(raw, n_features, classes):
    from pydantic import TypeAdapter

    from nnctl.config import DataConfig

    cfg = TypeAdapter(DataConfig).validate_python(raw)
    ds = data.load(cfg, seed=0)
    assert ds.x_train.shape[1] == n_features == data.spec(cfg).n_features
    assert ds.classes == classes and ds.task == "classification"
    assert set(np.unique(ds.y_test)) == set(range(len(classes)))  # stratified: every class in the test split
    assert abs(ds.x_train.mean()) < 1e-5  # standard scaling, fitted on train


def test_diabetes_is_a_regression_set_with_a_standardised_target():
    from nnctl.config import DiabetesData

    ds = data.load(DiabetesData(name="diabetes"), seed=0, dtype="float64")
    assert ds.task == "regression" and ds.classes == [] and ds.y_train.dtype == np.float64
    assert abs(ds.y_train.mean()) < 1e-9 and abs(ds.y_train.std() - 1) < 1e-9
    target = ds.preprocessing["target"]
    assert 140 < target["mean"] < 165 and ds.target_scale == target["std"]
    raw = data.unscale_target(ds.y_test, ds.preprocessing)
    assert raw.min() >= 25 and raw.max() <= 346  # the data set's own range
    none = data.load(DiabetesData(name="diabetes", target_scaling="none"), seed=0, dtype="float64")
    np.testing.assert_allclose(none.y_test, raw)
