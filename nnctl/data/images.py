"""MNIST and Fashion-MNIST: 70,000 28x28 images each, from the config's `path`, the decoded cache,
$NNCTL_DATA_DIR/<name> or OpenML, in that order; the IDX files read with their sizes checked."""

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
from ..printable import excerpt
from .cache import cache_dir, data_dir


@dataclass(frozen=True)
class ImageSet:
    """Where an image set of the catalog comes from, beside its shape (nnctl.data.catalog)."""

    title: str  # what messages call it
    openml: str  # its name on OpenML
    labels: tuple  # the class labels, by index


IMAGE_SETS = {
    "mnist": ImageSet("MNIST", "mnist_784", tuple(range(10))),
    "fashion_mnist": ImageSet("Fashion-MNIST", "Fashion-MNIST", ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")),
}
# Both hold the published training images first, then the test images.
MNIST_N_TRAIN = 60_000
MNIST_N_TEST = 10_000
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
OPENML_RETRIES = 3
OPENML_DELAY = 1.0  # seconds between retries


def load_mnist_raw(path: str | None = None, name: str = "mnist") -> tuple[np.ndarray, np.ndarray, str]:
    """All 70000 images (uint8, (70000, 784)) of MNIST or Fashion-MNIST (`name`), the labels (uint8)
    and where they came from."""
    title, openml_name = IMAGE_SETS[name].title, IMAGE_SETS[name].openml
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
                f"{title} is not available: {'; '.join(problems + [str(e)])}. To get it: set NNCTL_DATA_DIR to a "
                "folder "
                f"holding {name}/ with the four IDX files ({', '.join(MNIST_FILES)}), or give data.path in the config, "
                "or run once with internet access so it is downloaded from OpenML and cached in "
                f"{cache_dir()}") from None
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
            raise DataError(f"{folder}: {images} has shape {x.shape} and {labels} {y.shape}; expected ({n}, 28, 28) "
                            f"and ({n},)")
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
    # offline, HTTP error, corrupt download: all mean "not available"; the reason is kept
    except Exception as e:  # noqa: BLE001
        raise DataError(f"the download of {openml_name} from OpenML failed ({type(e).__name__}: {e})") from None
    if not (x.min() >= 0 and x.max() <= 255 and np.array_equal(x.astype(np.uint8), x)):
        raise DataError(f"OpenML's {openml_name} has pixel values that are not whole numbers in 0..255")
    return _checked(x.astype(np.uint8), y, f"OpenML's {openml_name}")