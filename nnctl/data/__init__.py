"""Datasets as seeded splits (stratified for classification) with fitted scaling.

Built in: moons, circles, blobs, breast_cancer, iris, wine, digits, diabetes (regression), and
the image sets MNIST and Fashion-MNIST, which come from, in order: the config's `path`, the
decoded cache, $NNCTL_DATA_DIR/<name>, OpenML. A user's CSV or .npz file, or any OpenML data
set, goes through nnctl.data.tabular. scikit-learn is imported inside the loaders only, so
`import nnctl` stays fast.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import files
from ..errors import DataError
from ..printable import excerpt, quoted


@dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a data set before loading it."""

    n_features: int
    n_classes: int
    task: str
    default_scaling: str
    image_shape: tuple | None = None


SPECS = {
    "moons": DatasetSpec(2, 2, "classification", "standard"),
    "breast_cancer": DatasetSpec(30, 2, "classification", "standard"),
    "mnist": DatasetSpec(784, 10, "classification", "pixels", (28, 28)),
    "circles": DatasetSpec(2, 2, "classification", "standard"),
    "iris": DatasetSpec(4, 3, "classification", "standard"),
    "wine": DatasetSpec(13, 3, "classification", "standard"),
    "digits": DatasetSpec(64, 10, "classification", "standard", (8, 8)),
    "diabetes": DatasetSpec(10, 0, "regression", "standard"),
    "fashion_mnist": DatasetSpec(784, 10, "classification", "pixels", (28, 28)),
}
IMAGE_SETS = {  # name: (what messages call it, OpenML name, class labels)
    "mnist": ("MNIST", "mnist_784", list(range(10))),
    "fashion_mnist": ("Fashion-MNIST", "Fashion-MNIST", ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                                         "Shirt", "Sneaker", "Bag", "Ankle boot"]),
}


def spec(cfg) -> DatasetSpec:
    """What is known about the data set `cfg` (a data config) before loading it; None where only
    the data can tell (the features and classes of a user's file or an OpenML set)."""
    if cfg.name in SPECS:
        return SPECS[cfg.name]
    if cfg.name == "blobs":
        return DatasetSpec(cfg.n_features, cfg.centers, "classification", "standard")
    return DatasetSpec(None, None if cfg.task == "classification" else 0, cfg.task, "standard")

SPLITS = ("train", "val", "test")
MNIST_N_TRAIN = 60_000  # OpenML's mnist_784 holds the training images first, then the test images
MNIST_N_TEST = 10_000
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
OPENML_RETRIES = 3
OPENML_DELAY = 1.0  # seconds between retries


@dataclass
class Dataset:
    """Three splits of one data set; x: (n, n_features) floats, y: (n,) int64 class indices, or
    for regression (n,) floats, standardised when preprocessing["target"] says so."""

    name: str
    task: str
    classes: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    preprocessing: dict
    image_shape: tuple | None
    source: str

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) of the split `name`: train, val or test."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    @property
    def target_scale(self) -> float:
        """What multiplies a (standardised) regression target back into its own units."""
        return float(self.preprocessing.get("target", {}).get("std", 1.0))


def cache_dir() -> Path:
    """Where downloads and decoded data are kept: $NNCTL_CACHE_DIR, else ~/.cache/nnctl."""
    return Path(os.environ.get("NNCTL_CACHE_DIR") or Path.home() / ".cache" / "nnctl").expanduser()


def data_dir() -> Path | None:
    """The folder of local data sets, $NNCTL_DATA_DIR, or None."""
    value = os.environ.get("NNCTL_DATA_DIR")
    return Path(value).expanduser() if value else None


# ---------------------------------------------------------------- loading and splitting


def load(cfg, seed: int, dtype: str = "float32", preprocessing: dict | None = None) -> Dataset:
    """Load the data set `cfg` describes, split it, and scale it (fitted on train unless given)."""
    info = spec(cfg)
    regression = info.task == "regression"
    if cfg.name in IMAGE_SETS:
        x, y, source = load_mnist_raw(cfg.path, cfg.name)
        classes = IMAGE_SETS[cfg.name][2]
        rest, test = np.arange(MNIST_N_TRAIN), np.arange(MNIST_N_TRAIN, len(y))
        # NumPy alone: importing scikit-learn's model_selection would take a second of MNIST's load
        train, val = _stratified_split(rest, y, cfg.val_fraction, np.random.default_rng([seed, 2]), "val_fraction")
    else:
        x, y, classes, source = LOADERS[cfg.name](cfg, seed)
        rest, test = _sklearn_split(np.arange(len(y)), y, cfg.test_fraction, _random_state(seed, 1), "test_fraction",
                                    stratify=not regression)
        train, val = _sklearn_split(rest, y, cfg.val_fraction, _random_state(seed, 2), "val_fraction",
                                    stratify=not regression)
    # Values too large for the scaling or for `dtype` overflow to inf: found by the checks below,
    # which name the column, rather than by NumPy's warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        if preprocessing is None:
            preprocessing = fit_preprocessing(x[train], cfg.scaling or info.default_scaling)
            _check_fitted(x[train], preprocessing, source)
            if regression:
                preprocessing["target"] = fit_target_scaling(y[train], cfg.target_scaling)
        xs = {name: apply_preprocessing(x[rows], preprocessing, dtype) for name, rows in zip(SPLITS, (train, val, test))}
    for name, rows in zip(SPLITS, (train, val, test)):
        _check_scaled(x, rows, xs[name], source, dtype)
    if regression:
        ys = {name: scale_target(y[rows], preprocessing, dtype) for name, rows in zip(SPLITS, (train, val, test))}
    else:
        ys = {name: y[rows].astype(np.int64) for name, rows in zip(SPLITS, (train, val, test))}
    return Dataset(cfg.name, info.task, classes, xs["train"], ys["train"], xs["val"], ys["val"], xs["test"], ys["test"],
                   preprocessing, info.image_shape, source)


def _too_large(x: np.ndarray, column: int, source: str, what: str) -> DataError:
    largest = float(np.max(np.abs(x[:, column].astype(np.float64))))
    return DataError(f"{source}: feature column {column + 1} holds values up to {largest:g} in size, too large {what} "
                     f"(divide the column by a power of ten)")


def _check_fitted(x: np.ndarray, preprocessing: dict, source: str) -> None:
    """A standard scaling whose mean or std overflowed: refused naming the column."""
    if preprocessing.get("scaling") != "standard":
        return
    finite = np.isfinite(preprocessing["mean"]) & np.isfinite(preprocessing["std"])
    if not finite.all():
        raise _too_large(x, int(np.argmin(finite)), source, "for the standard scaling")


def _check_scaled(x: np.ndarray, rows: np.ndarray, scaled: np.ndarray, source: str, dtype: str) -> None:
    """Rows `rows` of x, scaled, that overflowed `dtype` (raw values are finite, so an inf is an
    overflow). Bytes and shorts (images) cannot overflow: not checked, MNIST is 55 million values."""
    if (x.dtype.kind in "biu" and x.dtype.itemsize <= 2) or np.isfinite(scaled).all():
        return
    column = int(np.argmin(np.isfinite(scaled).all(axis=0)))
    raise _too_large(x[rows], column, source, f"to scale in {dtype}")


def _random_state(seed: int, stream: int) -> int:
    """A 32-bit random_state for scikit-learn, one independent stream per use of the seed."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def _stratified_split(rows: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator, key: str):
    """Split `rows` into (kept, held out), both in their original order: ceil(fraction * n) rows are
    held out, shared among the classes in proportion (largest remainders), each class's drawn at
    random by `rng`. Fraction 0 holds out nothing.

    Written with NumPy alone: scikit-learn's train_test_split would cost a second of imports.
    """
    if fraction == 0:
        return rows, rows[:0]
    n = len(rows)
    classes, inverse, counts = np.unique(y[rows], return_inverse=True, return_counts=True)
    n_held = math.ceil(round(fraction * n, 9))  # round first: 0.1 * 800 must be 80, not 80.00000000000001
    quota = n_held * counts / n
    held_counts = np.floor(quota).astype(np.int64)
    by_remainder = np.argsort(-(quota - held_counts), kind="stable")
    held_counts[by_remainder[:n_held - held_counts.sum()]] += 1
    short = [(c, k, h) for c, k, h in zip(classes.tolist(), counts.tolist(), held_counts.tolist()) if not 0 < h < k]
    if short:
        c, k, h = short[0]
        raise DataError(f"cannot split {n} rows with {key}={fraction} and every class on both sides: "
                        f"class {c} has {k} rows, of which {h} would be held out")
    order = rng.permutation(n)
    order = order[np.argsort(inverse[order], kind="stable")]  # grouped by class, random within each class
    rank = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)  # position within its class
    held = np.zeros(n, dtype=bool)
    held[order[rank < np.repeat(held_counts, counts)]] = True
    return rows[~held], rows[held]


def _sklearn_split(rows: np.ndarray, y: np.ndarray, fraction: float, random_state: int, key: str, stratify=True):
    """Split `rows` into (kept, held out) with class proportions kept (unless stratify is false:
    regression), by scikit-learn's train_test_split; fraction 0 holds out nothing.

    The tabular sets load through scikit-learn (or files) and keep its splits, on which the shipped
    configs' marks were measured; the image sets use _stratified_split, which imports nothing.
    """
    if fraction == 0:
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(rows, test_size=fraction, stratify=y[rows] if stratify else None, random_state=random_state)
    except ValueError as e:  # too few rows (for every class to appear on both sides)
        both = " and every class on both sides" if stratify else ""
        raise DataError(f"cannot split {len(rows)} rows with {key}={fraction}{both}: {e}") from None


def _moons(cfg, seed: int):
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=_random_state(seed, 0))
    return x, y, [0, 1], "sklearn.make_moons"


def _breast_cancer(cfg, seed: int):
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()  # shipped inside scikit-learn: no download
    return bunch.data, bunch.target, [str(name) for name in bunch.target_names], "sklearn.load_breast_cancer"


def _circles(cfg, seed: int):
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=cfg.n_samples, noise=cfg.noise, factor=cfg.factor, random_state=_random_state(seed, 0))
    return x, y, [0, 1], "sklearn.make_circles"


def _blobs(cfg, seed: int):
    from sklearn.datasets import make_blobs

    from ..machine import available, size

    # make_blobs allocates n_samples x n_features float64 at once (and scaling a copy): refused
    # here when that cannot fit (nnctl check and train already refuse it from the config)
    need, (have, source) = cfg.n_samples * cfg.n_features * 8 * 2, available()
    if have is not None and need > have:
        raise DataError(f"blobs of {cfg.n_samples:,} samples of {cfg.n_features:,} features need about {size(need)}, "
                        f"this machine has {size(have)} available ({source}): lower data.n_samples or n_features")

    x, y = make_blobs(n_samples=cfg.n_samples, centers=cfg.centers, n_features=cfg.n_features,
                      cluster_std=cfg.cluster_std, random_state=_random_state(seed, 0))
    return x, y, list(range(cfg.centers)), "sklearn.make_blobs"


def _bundled(loader: str):
    """A data set shipped inside scikit-learn (no download), by its loader's name."""

    def load(cfg, seed: int):
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)()
        names = getattr(bunch, "target_names", None)
        classes = [] if cfg.name == "diabetes" else [_label(n) for n in names]
        return bunch.data, bunch.target, classes, f"sklearn.{loader}"

    return load


def _label(value):
    return int(value) if isinstance(value, (int, np.integer)) else str(value)


def _csv(cfg, seed: int):
    from . import tabular

    x, raw, _, target = tabular.read_csv(cfg.path, cfg.target, cfg.features, cfg.header, cfg.delimiter)
    y, classes = tabular.targets(raw, cfg.task, f"{cfg.path}: target column {quoted(target)}")
    return x, y, classes, f"csv:{cfg.path}"


def _npz(cfg, seed: int):
    from . import tabular

    x, raw = tabular.read_npz(cfg.path, cfg.x_key, cfg.y_key)
    y, classes = tabular.targets(raw, cfg.task, f"{cfg.path}: {quoted(cfg.y_key)}")
    return x, y, classes, f"npz:{cfg.path}"


def _openml(cfg, seed: int):
    from . import tabular

    x, raw, source = tabular.fetch_openml(cfg.dataset, cfg.version, cfg.target, cache_dir())
    y, classes = tabular.targets(raw, cfg.task, f"{source}: the target")
    return x, y, classes, source


LOADERS = {"moons": _moons, "breast_cancer": _breast_cancer, "circles": _circles, "blobs": _blobs,
           "iris": _bundled("load_iris"), "wine": _bundled("load_wine"), "digits": _bundled("load_digits"),
           "diabetes": _bundled("load_diabetes"), "csv": _csv, "npz": _npz, "openml": _openml}


# ---------------------------------------------------------------- scaling


def fit_preprocessing(x: np.ndarray, scaling: str) -> dict:
    """The JSON-able description of `scaling` fitted on the training rows x."""
    if scaling == "standard":
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        std[std == 0] = 1.0  # a constant feature is only centred, not divided by zero
        return {"scaling": "standard", "mean": mean.tolist(), "std": std.tolist()}
    if scaling == "pixels":
        return {"scaling": "pixels", "scale": 255.0}
    if scaling == "none":
        return {"scaling": "none"}
    raise DataError(f"unknown scaling {scaling!r}; expected standard, pixels or none")


def fit_target_scaling(y: np.ndarray, scaling: str) -> dict:
    """How a regression target is standardised for learning, fitted on the training rows."""
    if scaling == "none":
        return {"scaling": "none", "mean": 0.0, "std": 1.0}
    std = float(np.std(y))
    return {"scaling": "standard", "mean": float(np.mean(y)), "std": std if std > 0 else 1.0}


def scale_target(y: np.ndarray, preprocessing: dict, dtype: str) -> np.ndarray:
    """Regression targets in the units the model learns."""
    target = preprocessing["target"]
    return ((np.asarray(y, dtype=np.float64) - target["mean"]) / target["std"]).astype(dtype)


def unscale_target(values: np.ndarray, preprocessing: dict) -> np.ndarray:
    """Model outputs back in the target's own units."""
    target = preprocessing.get("target", {"mean": 0.0, "std": 1.0})
    return np.asarray(values, dtype=np.float64) * target["std"] + target["mean"]


def apply_preprocessing(x: np.ndarray, preprocessing: dict, dtype: str) -> np.ndarray:
    """Raw feature rows x: (n, n_features) -> the scaled, C-contiguous `dtype` array a model was trained on."""
    # Cast first and compute in `dtype`: load() and predict then give bit-identical rows,
    # and MNIST never needs a float64 copy.
    try:
        out = np.array(x, dtype=dtype, order="C", copy=True)
    except (TypeError, ValueError) as e:
        raise DataError(f"the feature rows are not numbers: {e}") from None
    scaling = preprocessing.get("scaling")
    if scaling == "none":
        return out
    if scaling not in ("standard", "pixels"):
        raise DataError(f"unknown scaling {scaling!r}; expected standard, pixels or none")
    try:
        standard = scaling == "standard"
        with np.errstate(over="ignore"):  # a value too large for dtype becomes inf, refused below
            mean = np.asarray(preprocessing["mean"] if standard else 0.0, dtype)
            divisor = np.asarray(preprocessing["std"] if standard else preprocessing["scale"], dtype)
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"the {scaling} scaling is malformed: {type(e).__name__}: {e}") from None
    if standard and (out.ndim != 2 or mean.shape != (out.shape[1],) or divisor.shape != mean.shape):
        raise DataError(f"the standard scaling has {mean.size} features; the rows have shape {out.shape}")
    # Checked because a checkpoint is a file anyone can edit.
    if not (np.isfinite(mean).all() and np.isfinite(divisor).all() and (divisor > 0).all()):
        raise DataError(f"the {scaling} scaling holds a value that is not finite, or a divisor <= 0")
    if standard:
        out -= mean
    out /= divisor
    return out


# ---------------------------------------------------------------- MNIST


def load_mnist_raw(path: str | None = None, name: str = "mnist") -> tuple[np.ndarray, np.ndarray, str]:
    """All 70000 images (uint8, (70000, 784)) of MNIST or Fashion-MNIST (`name`), the labels (uint8)
    and where they came from."""
    title, openml_name, _ = IMAGE_SETS[name]
    if path is not None:
        folder = Path(path).expanduser()
        return (*read_mnist_idx(folder), f"idx:{folder}")
    cache = cache_dir() / f"{name}.npz"
    problems = []
    if cache.exists():
        try:
            return (*_read_cache(cache), f"cache:{cache}")
        except DataError as e:  # rebuilt below from the next source that works
            problems.append(str(e))
    local = data_dir()
    if local is not None and (local / name).is_dir():
        x, y = read_mnist_idx(local / name)
        source = f"idx:{local / name}"
    else:
        problems.append("NNCTL_DATA_DIR is not set" if local is None else f"there is no folder {local / name}")
        try:
            x, y = _fetch_openml(openml_name)
        except DataError as e:
            raise DataError(
                f"{title} is not available: {'; '.join(problems + [str(e)])}. To get it: set NNCTL_DATA_DIR to a folder "
                f"holding {name}/ with the four IDX files ({', '.join(MNIST_FILES)}), or give data.path in the config, "
                f"or run once with internet access so it is downloaded from OpenML and cached in {cache_dir()}") from None
        source = f"openml:{openml_name}"
    _write_cache(cache, x, y)
    return x, y, source


def read_mnist_idx(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read the four MNIST IDX .gz files of `folder` into (x uint8 (n, 784), y uint8 (n,)), train rows first."""
    for name in MNIST_FILES:
        if not (folder / name).exists():  # not is_file(): a FIFO or folder is refused by read_idx, by kind
            what = f"{name} is missing" if folder.is_dir() else "no such folder"
            raise DataError(f"{folder}: {what} (MNIST needs the four IDX files {', '.join(MNIST_FILES)})")
    parts = []
    for images, labels, n in zip(MNIST_FILES[::2], MNIST_FILES[1::2], (MNIST_N_TRAIN, MNIST_N_TEST)):
        x, y = read_idx(folder / images), read_idx(folder / labels)
        if x.shape != (n, 28, 28) or y.shape != (n,):
            raise DataError(f"{folder}: {images} has shape {x.shape} and {labels} {y.shape}; expected ({n}, 28, 28) and ({n},)")
        parts.append((x.reshape(n, 784), y))
    return _checked(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), str(folder))


IDX_MAX_BYTES = 100_000_000  # the largest IDX file of MNIST or Fashion-MNIST holds 47,040,000 bytes


def read_idx(path: Path) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes into an array of its shape.

    The header's dimensions say how many bytes follow: more than IDX_MAX_BYTES is refused before
    anything is decompressed, and at most one byte beyond the claim is ever read (a gzip bomb
    stops there)."""
    try:
        with files.open_capped(path, files.MAX_DATA_BYTES, DataError, "an IDX", files.DATA_TOO_BIG) as handle, \
                gzip.GzipFile(fileobj=handle, mode="rb") as f:
            magic = f.read(4)
            # Magic: two zero bytes, 0x08 (unsigned byte), then the number of dimensions.
            if len(magic) < 4 or magic[:3] != b"\x00\x00\x08" or magic[3] == 0:
                raise DataError(f"{path}: not an IDX file of unsigned bytes (magic number {magic.hex() or 'missing'})")
            dims = f.read(4 * magic[3])
            if len(dims) < 4 * magic[3]:
                raise DataError(f"{path}: truncated IDX header")
            shape = struct.unpack(f">{magic[3]}I", dims)
            claimed = math.prod(shape)
            if claimed > IDX_MAX_BYTES:
                raise DataError(f"{path}: its header claims shape {shape} ({claimed:,} bytes), more than the "
                                f"{IDX_MAX_BYTES:,} an IDX file of MNIST or Fashion-MNIST holds")
            raw = f.read(claimed + 1)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot be read as a gzip file: {excerpt(e, 160)}") from None
    if len(raw) != claimed:
        held = "more than" if len(raw) > claimed else len(raw)
        raise DataError(f"{path}: holds {held} data bytes, its header {shape} says {claimed}")
    return np.frombuffer(raw, np.uint8).reshape(shape)


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with files.open_capped(path, files.MAX_DATA_BYTES, DataError, "a cache", files.DATA_TOO_BIG) as handle, \
                np.load(handle, allow_pickle=False) as f:
            x, y = f["x"], f["y"]
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, zlib.error, zipfile.BadZipFile) as e:
        raise DataError(f"the cache {path} is unreadable ({excerpt(e, 160)})") from None
    return _checked(x, y, f"the cache {path}")


def _checked(x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """x, y if they hold all of MNIST: uint8 images (n, 784) and uint8 labels 0..9."""
    n = MNIST_N_TRAIN + MNIST_N_TEST
    if x.dtype != np.uint8 or y.dtype != np.uint8 or x.shape != (n, 784) or y.shape != (n,) or y.max() > 9:
        raise DataError(f"{where} does not hold MNIST: images {x.dtype} {x.shape} and labels {y.dtype} {y.shape} "
                        f"up to {y.max()}, expected uint8 ({n}, 784) and uint8 ({n},) up to 9")
    return x, y


def _write_cache(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Write the decoded arrays atomically, so a reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mnist-", suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x=x, y=y)  # uncompressed: 55 MB that load in ~0.03 s, where zlib takes ~0.2 s
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a cache that cannot be written only makes the next load slower


def _fetch_openml(openml_name: str = "mnist_784") -> tuple[np.ndarray, np.ndarray]:
    """mnist_784 or Fashion-MNIST from OpenML (downloaded once into cache_dir()/openml by scikit-learn)."""
    try:
        from sklearn.datasets import fetch_openml

        with warnings.catch_warnings():
            # Each retry warns; the DataError below already says what failed.
            warnings.filterwarnings("ignore", message="A network error occurred")
            # liac-arff: the pandas parser would make pandas a dependency.
            bunch = fetch_openml(openml_name, version=1, as_frame=False, parser="liac-arff", data_home=str(cache_dir()),
                                 n_retries=OPENML_RETRIES, delay=OPENML_DELAY)
        x, y = np.asarray(bunch.data), np.asarray(bunch.target, dtype=str).astype(np.uint8)  # labels are '0'..'9'
    except Exception as e:  # offline, HTTP error, corrupt download: all mean "not available"; the reason is kept
        raise DataError(f"the download of {openml_name} from OpenML failed ({type(e).__name__}: {e})") from None
    if not (x.min() >= 0 and x.max() <= 255 and np.array_equal(x.astype(np.uint8), x)):
        raise DataError(f"OpenML's {openml_name} has pixel values that are not whole numbers in 0..255")
    return _checked(x.astype(np.uint8), y, f"OpenML's {openml_name}")
