"""Checkpoints: one JSON document, data and never code, checked in full before use.

Arrays are stored as base64 of their little-endian bytes with dtype and shape, so weights
round-trip bit for bit. `sha256` covers the canonical JSON of everything else in the document.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .data import apply_preprocessing
from .errors import CheckpointError, ConfigError, DataError
from .files import atomic_write

FORMAT = "nnctl-checkpoint"
VERSION = 1
MAX_BYTES = 2_000_000_000
DTYPES = {"float32": "<f4", "float64": "<f8"}
TOP_KEYS = {"format", "version", "nnctl_version", "epoch", "metrics", "config", "preprocessing", "classes",
            "n_inputs", "state", "optimizer", "sha256"}


@dataclass
class Checkpoint:
    """A verified checkpoint: the model is rebuilt and its weights loaded."""

    path: str
    config: object  # nnctl.config.Config
    model: object  # nnctl.model.Sequential
    preprocessing: dict
    classes: list
    n_inputs: int
    epoch: int
    metrics: dict
    optimizer: dict | None


def encode(array: np.ndarray) -> dict:
    """A JSON-able record of an array: dtype, shape, base64 of its little-endian bytes."""
    name = str(array.dtype)
    return {"dtype": name, "shape": list(array.shape),
            "data": base64.b64encode(np.ascontiguousarray(array, dtype=DTYPES[name]).tobytes()).decode("ascii")}


def decode(record, where: str) -> np.ndarray:
    """The array an `encode` record describes, after checking dtype, shape, size and finiteness."""
    if not isinstance(record, dict) or set(record) != {"dtype", "shape", "data"}:
        raise CheckpointError(f"{where}: expected an object with keys dtype, shape, data")
    dtype, shape, data = record["dtype"], record["shape"], record["data"]
    if dtype not in DTYPES:
        raise CheckpointError(f"{where}.dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
    if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**31 for d in shape)):
        raise CheckpointError(f"{where}.shape: expected a list of non-negative integers, got {shape!r}")
    expected = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
    if not isinstance(data, str) or len(data) != 4 * math.ceil(expected / 3):
        raise CheckpointError(f"{where}.data: expected base64 of {expected} bytes for shape {shape} {dtype}")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise CheckpointError(f"{where}.data: not valid base64") from None
    if len(raw) != expected:
        raise CheckpointError(f"{where}.data: holds {len(raw)} bytes, shape {shape} {dtype} needs {expected}")
    array = np.frombuffer(raw, dtype=DTYPES[dtype]).reshape(shape).astype(dtype)
    if not np.isfinite(array).all():
        raise CheckpointError(f"{where}: holds NaN or infinite values")
    return array


def _digest(doc: dict) -> str:
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def save(path, *, config, model, preprocessing: dict, classes: list, n_inputs: int, epoch: int,
         metrics: dict, optimizer: dict | None = None) -> None:
    """Write a checkpoint atomically. `config` is the resolved Config; `optimizer` a state_dict."""
    doc = {
        "format": FORMAT, "version": VERSION, "nnctl_version": __version__, "epoch": epoch,
        "metrics": metrics, "config": config.model_dump(mode="json"), "preprocessing": preprocessing,
        "classes": classes, "n_inputs": n_inputs,
        "state": {name: encode(a) for name, a in model.state().items()},
        "optimizer": None if optimizer is None else
        {"t": optimizer["t"], "arrays": {k: encode(v) for k, v in optimizer["arrays"].items()}},
    }
    doc["sha256"] = _digest(doc)
    atomic_write(path, json.dumps(doc, separators=(",", ":"), allow_nan=False))


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise CheckpointError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name):
    raise CheckpointError(f"{name} is not valid JSON")


def read_document(path) -> dict:
    """Read and parse a checkpoint file, checking size, JSON, format, version and sha256."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CheckpointError(f"{source}: {size:,} bytes is over the {MAX_BYTES:,} a checkpoint may have")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{source}: is a folder, not a checkpoint file") from None
    except OSError as e:
        raise CheckpointError(f"{source}: cannot be read: {e.strerror}") from None
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except CheckpointError as e:
        raise CheckpointError(f"{source}: not a valid checkpoint: {e}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{source}: not a valid checkpoint: not JSON ({str(e)[:120]})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{source}: not an nnctl checkpoint (no \"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if version != VERSION:
        raise CheckpointError(f"{source}: checkpoint format version {version!r}; this nnctl ({__version__}) reads version {VERSION}")
    if doc.get("sha256") != _digest(doc):
        raise CheckpointError(f"{source}: sha256 does not match the content: the file was changed or is corrupt")
    if set(doc) != TOP_KEYS:
        missing, extra = TOP_KEYS - set(doc), set(doc) - TOP_KEYS
        raise CheckpointError(f"{source}: keys differ from the format: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return doc


def load(path) -> Checkpoint:
    """Read, verify and rebuild a checkpoint: config, model with weights, preprocessing."""
    from . import config as config_module
    from .model import build

    source = str(path)
    doc = read_document(path)
    try:
        cfg = config_module.from_dict(doc["config"], source=f"{source} (config)")
    except ConfigError as e:
        raise CheckpointError(f"the checkpoint's config is not valid: {e}") from None
    n_inputs = doc["n_inputs"]
    if not isinstance(n_inputs, int) or isinstance(n_inputs, bool) or not 0 < n_inputs < 10**8:
        raise CheckpointError(f"{source}: n_inputs: expected a positive integer, got {n_inputs!r}")
    state = doc["state"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: state: expected an object of arrays")
    model = build(cfg.model.layers, n_inputs, np.random.default_rng(0), cfg.training.dtype)
    expected = model.state()  # parameters and buffers (batchnorm's running statistics)
    if set(state) != set(expected):
        raise CheckpointError(f"{source}: state: keys {sorted(state)} do not match the model's {sorted(expected)}")
    arrays = {}
    for name, target in expected.items():
        array = decode(state[name], f"{source}: state.{name}")
        if array.shape != target.shape or array.dtype != target.dtype:
            raise CheckpointError(f"{source}: state.{name}: expected {target.dtype} {list(target.shape)}, "
                                  f"got {array.dtype} {list(array.shape)}")
        arrays[name] = array
    model.load_state(arrays)
    optimizer = doc["optimizer"]
    if optimizer is not None:
        if not isinstance(optimizer, dict) or set(optimizer) != {"t", "arrays"} or not isinstance(optimizer["arrays"], dict):
            raise CheckpointError(f"{source}: optimizer: expected an object with keys t and arrays")
        optimizer = {"t": optimizer["t"], "arrays": {k: decode(v, f"{source}: optimizer.arrays.{k}")
                                                     for k, v in optimizer["arrays"].items()}}
    preprocessing, classes = doc["preprocessing"], doc["classes"]
    if not isinstance(preprocessing, dict) or not isinstance(classes, list):
        raise CheckpointError(f"{source}: preprocessing must be an object and classes a list")
    try:  # the stored scaling must fit the input width, or predictions would fail later
        apply_preprocessing(np.zeros((1, n_inputs)), preprocessing, cfg.training.dtype)
    except DataError as e:
        raise CheckpointError(f"{source}: preprocessing: {e}") from None
    n_out = cfg.model.layers[-1].units
    from .data import spec

    if spec(cfg.data).task == "regression":
        target = preprocessing.get("target")
        if classes or not isinstance(target, dict) or not all(
                isinstance(target.get(k), (int, float)) and math.isfinite(target[k]) for k in ("mean", "std")) \
                or target["std"] <= 0:
            raise CheckpointError(f"{source}: a regression checkpoint needs no classes and a finite target scaling "
                                  f"(preprocessing.target with mean and std > 0)")
    elif len(classes) != (2 if n_out == 1 else n_out):
        raise CheckpointError(f"{source}: classes: {len(classes)} labels for an output layer of {n_out} units")
    return Checkpoint(path=source, config=cfg, model=model, preprocessing=preprocessing, classes=classes,
                      n_inputs=n_inputs, epoch=doc["epoch"], metrics=doc["metrics"], optimizer=optimizer)
