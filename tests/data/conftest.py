"""The data tests' fixtures: no network, an empty cache, and a tiny MNIST (helpers/mnist.py)."""

import socket

import numpy as np
import pytest
from helpers.mnist import N_TEST, N_TRAIN, write_mnist_folder

from nnctl.data import images

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, an empty cache and no data folder; returns the hosts something tried to reach."""
    attempts = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK:
            attempts.append(host)
            raise socket.gaierror(socket.EAI_NONAME, f"no network in tests ({host})")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            attempts.append(address[0])
            raise OSError(f"no network in tests ({address[0]})")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNCTL_DATA_DIR", raising=False)
    monkeypatch.setattr(images, "OPENML_DELAY", 0.001)
    return attempts


@pytest.fixture
def tiny(monkeypatch):
    """150 random 28x28 images (120 train, 30 test), 10 classes in turn, blank borders like MNIST's."""
    monkeypatch.setattr(images, "MNIST_N_TRAIN", N_TRAIN)
    monkeypatch.setattr(images, "MNIST_N_TEST", N_TEST)
    pixels = np.random.default_rng(0).integers(0, 256, (N_TRAIN + N_TEST, 28, 28), dtype=np.uint8)
    pixels[:, :2, :] = pixels[:, :, :2] = 0  # constant features, as real MNIST has
    labels = (np.arange(N_TRAIN + N_TEST) % 10).astype(np.uint8)
    return pixels.reshape(-1, 784), labels


@pytest.fixture
def data_dir(tmp_path, monkeypatch, tiny):
    """$NNCTL_DATA_DIR pointing at a folder with the tiny MNIST as IDX files."""
    write_mnist_folder(tmp_path / "data" / "mnist", *tiny)
    monkeypatch.setenv("NNCTL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "mnist"
