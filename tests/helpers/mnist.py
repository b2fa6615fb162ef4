"""A tiny MNIST written as the IDX files nnctl reads: 120 train and 30 test images."""

import gzip
import struct
from pathlib import Path

import numpy as np

from nnctl import data

N_TRAIN, N_TEST = 120, 30


def write_idx(path: Path, array: np.ndarray, magic: bytes | None = None) -> None:
    """Write `array` as a gzip-compressed IDX file of unsigned bytes."""
    header = (magic or bytes([0, 0, 0x08, array.ndim])) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_mnist_folder(folder: Path, x: np.ndarray, y: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = data.MNIST_FILES
    write_idx(folder / names[0], x[:N_TRAIN].reshape(-1, 28, 28))
    write_idx(folder / names[1], y[:N_TRAIN])
    write_idx(folder / names[2], x[N_TRAIN:].reshape(-1, 28, 28))
    write_idx(folder / names[3], y[N_TRAIN:])
    return folder
