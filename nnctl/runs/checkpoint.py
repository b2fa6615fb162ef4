"""Checkpoints: one JSON document, data and never code, checked in full before use.

Arrays are stored as base64 of their little-endian bytes with dtype and shape, so weights
round-trip bit for bit. `sha256` covers the canonical JSON of everything else in the document.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..data import apply_preprocessing, inputs, table_record
from ..errors import CheckpointError, ConfigError, DataError
from ..files import atomic_write, read_limited
from .folder import in_run_folder

FORMAT = "nnctl-checkpoint"
VERSION = 4
MAX_BYTES = 2_000_000_000
DTYPES = {"float32": "<f4", "float64": "<f8"}
# The exact top-level keys of each format version this nnctl reads. Version 2 added `training`;
# version 3 replaced `n_inputs` (a width) by `input_shape` (the model's: [n] or [H, W, C]); version 4
# added `data_file` (the SHA-256 and size of the file trained on), and a CSV's typed columns in
# preprocessing["table"], which an older nnctl would not apply.
KEYS = {1: frozenset({"format", "version", "nnctl_version", "epoch", "metrics", "config", "preprocessing", "classes",
                      "n_inputs", "state", "optimizer", "sha256"})}
KEYS[2] = KEYS[1] | {"training"}
KEYS[3] = KEYS[2] - {"n_inputs"} | {"input_shape"}
KEYS[4] = KEYS[3] | {"data_file"}
# What `training` holds in last.json (null in checkpoint.json): where in the next epoch training
# stood, the best monitored value so far, and each stateful callback's state_dict() by name.
TRAINING_KEYS = frozenset({"rows_done", "loss_sum", "correct", "best_value", "best_epoch", "callbacks"})


@dataclass
class Checkpoint:
    """A verified checkpoint: the model is rebuilt and its weights loaded."""

    path: str
    config: object  # nnctl.config.Config
    model: object  # nnctl.engine.model.Sequential
    preprocessing: dict
    classes: list
    input_shape: tuple  # what the model takes: (n,) rows of n features, or (H, W, C) images
    epoch: int
    metrics: dict
    optimizer: dict | None
    training: dict | None = None  # last.json's training state (TRAINING_KEYS), None in checkpoint.json
    version: int = VERSION  # the format version of the file, before any upgrade
    data_file: dict | None = None  # {"sha256", "size"} of the data file trained on; None for a built-in set

    @property
    def n_inputs(self) -> int:
        """The values of one row of raw data: what predict reads (images flattened)."""
        return math.prod(self.input_shape)


def encode(array: np.ndarray) -> dict:
    """A JSON-able record of an array: dtype, shape, base64 of its little-endian bytes."""
    name = str(array.dtype)
    return {"dtype": name, "shape": list(array.shape),
            "data": base64.b64encode(np.ascontiguousarray(array, dtype=DTYPES[name])).decode("ascii")}  # no bytes copy


def decode(record, where: str) -> np.ndarray:
    """The array an `encode` record describes, after checking dtype, shape, size and finiteness."""
    if not isinstance(record, dict) or set(record) != {"dtype", "shape", "data"}:
        raise CheckpointError(f"{where}: expected an object with keys dtype, shape, data")
    dtype, shape, data = record["dtype"], record["shape"], record["data"]
    if dtype not in DTYPES:
        raise CheckpointError(f"{where}.dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
    if not (isinstance(shape,
                       list) and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**31 for d in shape)):
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


def _digest(doc: dict, whole: bool = False) -> str:
    """The SHA-256 of json.dumps(doc minus sha256, sort_keys=True, separators=(",", ":")), computed
    piece by piece: a checkpoint's arrays are long strings, and the whole text at once would
    cost three times the file in memory (the JSON chunks, their join, its UTF-8 bytes)."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    if whole:  # a small document of nnctl's own: the whole text at once, in C, is the same bytes, ~10x faster
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")).hexdigest()
    digest = hashlib.sha256()
    _hash_canonical(body, digest.update)
    return digest.hexdigest()


def _encoded_size(doc: dict) -> int:
    """The characters of the arrays' data in a checkpoint document nnctl is writing."""
    arrays = [*doc["state"].values(), *(doc["optimizer"]["arrays"].values() if doc["optimizer"] else ())]
    return sum(len(a["data"]) for a in arrays)


SLICE = 1 << 20  # characters of a long string hashed at a time
_VERBATIM = bytes(range(0x20, 0x7F)).translate(None, b'"\\')  # the characters json.dumps copies as they are


def _verbatim(text: str) -> bool:
    """Whether json.dumps copies `text` as it is, between its quotes (base64 does: no character to
    escape); looked at a slice at a time, as bytes (a regular expression took 3 ms a megabyte)."""
    return text.isascii() and not any(text[start:start + SLICE].encode("ascii").translate(None, _VERBATIM)
                                      for start in range(0, len(text), SLICE))


def _hash_canonical(value, update) -> None:
    """Feed `update` the bytes of json.dumps(value, sort_keys=True, separators=(",", ":"))."""
    if isinstance(value, dict):
        update(b"{")
        for i, key in enumerate(sorted(value)):
            update(b',"' if i else b'"')
            update(json.dumps(key)[1:].encode("ascii"))
            update(b":")
            _hash_canonical(value[key], update)
        update(b"}")
    elif isinstance(value, list):
        update(b"[")
        for i, item in enumerate(value):
            if i:
                update(b",")
            _hash_canonical(item, update)
        update(b"]")
    elif isinstance(value, str) and len(value) > SLICE and _verbatim(value):
        # base64: nothing to escape, so the string is its own JSON; hashed in slices, never copied whole
        update(b'"')
        for start in range(0, len(value), SLICE):
            update(value[start:start + SLICE].encode("ascii"))
        update(b'"')
    else:
        update(json.dumps(value).encode("ascii"))


def save(path, *, config, model, preprocessing: dict, classes: list, epoch: int,
         metrics: dict, optimizer: dict | None = None, training: dict | None = None, data_file: dict | None = None,
         write=None) -> None:
    """Write a checkpoint atomically (with `write(path, text)` when given: it is serialised here,
    so a write that happens later still holds these numbers). `config` is the resolved Config (or
    its model_dump(mode="json"), which a run computes once); the model's input shape is recorded;
    `optimizer` a state_dict; `training` the state a resumed run needs (TRAINING_KEYS), given
    together with `optimizer`; `data_file` the SHA-256 and size of the data file trained on."""
    (write or atomic_write)(path, text(config=config, model=model, preprocessing=preprocessing, classes=classes,
                                       epoch=epoch, metrics=metrics, optimizer=optimizer, training=training,
                                       data_file=data_file))


def text(*, config, model, preprocessing: dict, classes: list, epoch: int, metrics: dict,
         optimizer: dict | None = None, training: dict | None = None, data_file: dict | None = None) -> str:
    """The checkpoint's JSON text, as `save` writes it."""
    doc = {
        "format": FORMAT, "version": VERSION, "nnctl_version": __version__, "epoch": epoch,
        "metrics": metrics, "config": config if isinstance(config, dict) else config.model_dump(mode="json"),
        "preprocessing": preprocessing,
        "classes": classes, "input_shape": list(model.input_shape),
        "state": {name: encode(a) for name, a in model.state().items()},
        "optimizer": None if optimizer is None else
        {"t": optimizer["t"], "arrays": {k: encode(v) for k, v in optimizer["arrays"].items()}},
        "training": training, "data_file": data_file,
    }
    doc["sha256"] = _digest(doc, whole=_encoded_size(doc) <= SLICE)  # every epoch of a small model: kept cheap
    return _dumps(doc)


def _dumps(doc: dict) -> str:
    """json.dumps(doc, separators=(",", ":"), allow_nan=False), with the arrays' base64 put in by
    a join rather than passed through the encoder, which looks at every character of a string
    (~2 ms a megabyte, most of a checkpoint's serialisation): base64 has nothing to escape, so
    the text is the same."""
    records = [*doc["state"].values(), *(doc["optimizer"]["arrays"].values() if doc["optimizer"] else ())]
    if sum(len(r["data"]) for r in records) <= SLICE:
        return json.dumps(doc, separators=(",", ":"), allow_nan=False)
    holes = {id(r): {**r, "data": ""} for r in records}  # the same records, their data left empty
    shell = {**doc, "state": {k: holes[id(r)] for k, r in doc["state"].items()},
             "optimizer": doc["optimizer"] and {**doc["optimizer"],
                                                "arrays": {k: holes[id(r)] for k,
                                                           r in doc["optimizer"]["arrays"].items()}}}
    pieces = json.dumps(shell, separators=(",", ":"), allow_nan=False).split('"data":""')
    if len(pieces) != len(records) + 1:  # an empty "data" elsewhere (a config string): the plain way
        return json.dumps(doc, separators=(",", ":"), allow_nan=False)
    out = [pieces[0]]
    for record, piece in zip(records, pieces[1:]):  # json.dumps keeps the dicts' order: the records' order
        out += ['"data":"', record["data"], '"', piece]
    return "".join(out)


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise CheckpointError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name):
    raise CheckpointError(f"{name} is not valid JSON")


def _v1_to_v2(doc: dict) -> dict:
    """Version 1 had no training state. Its last.json (the one with an optimizer) was always
    written at the end of an epoch and knew no stateful callbacks, so that state is: no rows of
    the next epoch done, no callbacks, and a best value the resumed run recomputes from the
    metrics log (best_epoch null)."""
    training = None if doc["optimizer"] is None else {
        "rows_done": 0, "loss_sum": 0.0, "correct": 0, "best_value": None, "best_epoch": None, "callbacks": {}}
    return {**doc, "version": 2, "training": training}


def _v2_to_v3(doc: dict) -> dict:
    """Version 2 knew only dense networks, which take rows: its width is the input shape [n]."""
    doc = {**doc, "version": 3, "input_shape": [doc["n_inputs"]]}
    del doc["n_inputs"]
    return doc


def _v3_to_v4(doc: dict) -> dict:
    """Version 3 did not record the data file: a run folder of it scores itself only with --data."""
    return {**doc, "version": 4, "data_file": None}


# version -> the function that lifts a document to the next version
UPGRADES = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}


def _read(path) -> tuple[dict, int]:
    """Read and parse a checkpoint file, checking in this order: size, JSON, format and version,
    sha256, the exact keys of that version; then upgrade it to the current version. Returns the
    document and the version the file was written in."""
    path = Path(path)
    source = str(path)
    raw = read_limited(path, MAX_BYTES, CheckpointError, "a checkpoint",
                       "{size:,} bytes is over the {limit:,} a checkpoint may have", follow=not in_run_folder(path))
    # Peak memory about twice the file: the bytes are dropped once decoded, the text once parsed.
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError(f"{source}: not a valid checkpoint: not JSON ({str(e)[:120]})") from None
    del raw
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except CheckpointError as e:
        raise CheckpointError(f"{source}: not a valid checkpoint: {e}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        if _is_config(path, text):
            raise CheckpointError(f"{source}: is a config, not a checkpoint: train it first (nnctl train {source}), "
                                  f"then pass its run folder (such as runs/{path.stem}-latest) or its "
                                  "checkpoint.json") from None
        raise CheckpointError(f"{source}: not a valid checkpoint: not JSON ({str(e)[:120]})") from None
    del text
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{source}: not an nnctl checkpoint (no \"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if type(version) is not int or version not in KEYS:
        readable = f"versions {min(KEYS)} to {VERSION}"
        if type(version) is int and version > VERSION:
            raise CheckpointError(f"{source}: checkpoint format version {version} is newer than this nnctl "
                                  f"({__version__}) "
                                  f"reads ({readable}): upgrade nnctl to a version that reads format {version}")
        raise CheckpointError(f"{source}: checkpoint format version {version!r} is not one nnctl wrote; "
                              f"this nnctl ({__version__}) reads {readable}")
    try:
        digest = _digest(doc)
    except RecursionError:
        raise CheckpointError(f"{source}: not a valid checkpoint: nested too deeply") from None
    if doc.get("sha256") != digest:
        raise CheckpointError(f"{source}: sha256 does not match the content: the file was changed or is corrupt")
    if set(doc) != KEYS[version]:
        missing, extra = KEYS[version] - set(doc), set(doc) - KEYS[version]
        raise CheckpointError(f"{source}: keys differ from format version {version}: "
                              f"missing {sorted(missing)}, unexpected {sorted(extra)}")
    while doc["version"] < VERSION:
        doc = UPGRADES[doc["version"]](doc)
    return doc, version


# a line that starts a config's top-level section (YAML), which no checkpoint (one JSON object) has
CONFIG_LINE = re.compile(r"^(data|model|training|optimizer|loss|seed|run)\s*:", re.MULTILINE)


def _is_config(path: Path, text: str) -> bool:
    """Whether a file that is not JSON is a YAML config given where a checkpoint is read."""
    return path.suffix.lower() in (".yaml", ".yml") or CONFIG_LINE.search(text[:100_000]) is not None


def _is_int(value, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


CHUNK = 4 << 20  # base64 characters decoded at a time (a multiple of 4)


def _decode_into(record, target: np.ndarray, where: str) -> np.ndarray:
    """Decode an `encode` record whose dtype and shape were checked (_check_record) into the
    C-contiguous array `target`, a slice at a time; refuse a wrong length, bad base64 or a value
    that is not finite. Returns target."""
    data, expected = record["data"], target.nbytes
    if not isinstance(data, str) or len(data) != 4 * math.ceil(expected / 3):
        raise CheckpointError(f"{where}.data: expected base64 of {expected} bytes for shape {list(target.shape)} "
                              f"{target.dtype}")
    out, done = target.reshape(-1).view(np.uint8), 0
    try:
        for start in range(0, len(data), CHUNK):
            piece = base64.b64decode(data[start:start + CHUNK], validate=True)
            if done + len(piece) > expected:  # unpadded: up to 2 bytes too many
                done = -1
                break
            out[done:done + len(piece)] = np.frombuffer(piece, np.uint8)
            done += len(piece)
    except ValueError:  # binascii.Error
        raise CheckpointError(f"{where}.data: not valid base64") from None
    if done != expected:
        raise CheckpointError(f"{where}.data: does not hold the {expected} bytes shape {list(target.shape)} "
                              f"{target.dtype} needs")
    if sys.byteorder == "big":  # the file holds little-endian bytes
        target.byteswap(inplace=True)
    if not np.isfinite(target).all():
        raise CheckpointError(f"{where}: holds NaN or infinite values")
    return target


# The state entries (by their last name) whose values have a domain narrower than the finite
# numbers: a negative variance makes inference take a square root of a negative number.
AT_LEAST_ZERO = {"running_var": "a variance"}


def _check_domain(values: np.ndarray, name: str, where: str) -> None:
    """Refuse a decoded state array outside its domain (AT_LEAST_ZERO)."""
    what = AT_LEAST_ZERO.get(name.rpartition(".")[2])
    if what is not None and values.size and values.min() < 0:
        raise CheckpointError(f"{where}: holds {values.min():.6g}, but {what} is never negative")


def _check_slots(optimizer: dict, optimizer_cfg, params: dict, source: str) -> None:
    """optimizer.arrays holds exactly the slots the configured optimizer keeps for every parameter
    once it has stepped (t > 0), and none before its first step (slots are created on first use):
    a resumed run without its moments would silently train differently."""
    from ..config import plain
    from ..engine.optimizers import build as build_optimizer

    slots, t, name = build_optimizer(plain(optimizer_cfg)).slot_names(), optimizer["t"], optimizer_cfg.name
    expected = {f"{p}.{slot}" for p in params for slot in slots} if t > 0 else set()
    given = set(optimizer["arrays"])
    kept = ", ".join(slots) or "no slots"
    for key in sorted(given - expected):
        why = "no state before its first step (t is 0)" if t == 0 else f"{kept} per parameter"
        raise CheckpointError(f"{source}: optimizer.arrays.{key}: not a slot of {name}, which keeps {why}")
    for key in sorted(expected - given):
        raise CheckpointError(f"{source}: optimizer.arrays: {key} is missing: after {t} steps {name} keeps {kept} "
                              f"for every parameter, and a resumed run needs all of them to continue exactly")


def _check_record(record, where: str, dtype: str, shape: tuple) -> None:
    """An encoded array's dtype and shape are the expected ones: read from the JSON alone,
    before anything is decoded or allocated."""
    if not isinstance(record, dict) or set(record) != {"dtype", "shape", "data"}:
        raise CheckpointError(f"{where}: expected an object with keys dtype, shape, data")
    if record["dtype"] != dtype:
        raise CheckpointError(f"{where}.dtype: expected {dtype} (training.dtype), got {record['dtype']!r}")
    if record["shape"] != list(shape):
        chain = " (inputs = the previous layer's units)" if len(shape) == 2 else ""
        raise CheckpointError(f"{where}.shape: the config's layers give {list(shape)}{chain}, got {record['shape']!r}")


def load(path) -> Checkpoint:
    """Read, verify and rebuild a checkpoint: config, model with weights, preprocessing.

    Every array's dtype and shape is checked against the config (shapes chaining layer to
    layer) before one is decoded, so no allocation is larger than the file itself.
    """
    from .. import config as config_module
    from ..data import spec
    from ..engine.model import build, state_shapes, summary_rows

    source = str(path)
    doc, version = _read(path)
    try:
        cfg = config_module.from_dict(doc["config"], source=f"{source} (config)")
    except ConfigError as e:
        raise CheckpointError(f"the checkpoint's config is not valid: {e}") from None
    input_shape = _checked_input_shape(doc["input_shape"], cfg, source)
    n_inputs = math.prod(input_shape)
    dtype = cfg.training.dtype
    # The config's layers cannot hold more numbers than the file: checked before building them.
    n_params = sum(r["params"] for r in summary_rows(config_module.plain(cfg.model.layers), input_shape))
    size = Path(path).stat().st_size
    if n_params * np.dtype(dtype).itemsize > size:
        raise CheckpointError(f"{source}: config: its layers have {n_params:,} parameters, more than the "
                              f"{size:,} bytes of the file can hold: the state does not match the config")
    # chained layer to layer, nothing allocated
    params, buffers = state_shapes(config_module.plain(cfg.model.layers), input_shape)
    expected = {**params, **buffers}
    state = doc["state"]
    if not isinstance(state, dict) or set(state) != set(expected):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{source}: state: keys {found} do not match the model's {sorted(expected)}")
    for name, shape in expected.items():
        _check_record(state[name], f"{source}: state.{name}", dtype, shape)
    optimizer = doc["optimizer"]
    if optimizer is not None:
        if not isinstance(optimizer, dict) or set(optimizer) != {"t",
                                                                 "arrays"} or not isinstance(optimizer["arrays"], dict):
            raise CheckpointError(f"{source}: optimizer: expected an object with keys t and arrays")
        if not _is_int(optimizer["t"], 0, 2**62):
            raise CheckpointError(f"{source}: optimizer.t: expected a step count, got {optimizer['t']!r}")
        for key, record in optimizer["arrays"].items():
            name = key.rpartition(".")[0]
            if name not in params:
                raise CheckpointError(f"{source}: optimizer.arrays.{key}: not <parameter>.<slot> for a parameter of "
                                      "the model")
            _check_record(record, f"{source}: optimizer.arrays.{key}", dtype, params[name])
        _check_slots(optimizer, cfg.optimizer, params, source)
    preprocessing, classes = doc["preprocessing"], doc["classes"]
    if not isinstance(preprocessing, dict) or not isinstance(classes, list):
        raise CheckpointError(f"{source}: preprocessing must be an object and classes a list")
    try:  # the stored scaling must fit the input width, or predictions would fail later
        apply_preprocessing(np.zeros((1, n_inputs)), preprocessing, dtype)
        inputs.check(preprocessing.get("inputs"), n_inputs)  # names and ranges: absent in older checkpoints
        table_record.check(preprocessing.get("table"), n_inputs, (preprocessing.get("inputs") or {}).get("names"))
    except DataError as e:
        raise CheckpointError(f"{source}: preprocessing: {e}") from None
    n_out = cfg.model.layers[-1].units
    if spec(cfg.data).task == "regression":
        target = preprocessing.get("target")
        if classes or not isinstance(target, dict) or not all(
                isinstance(target.get(k), (int, float)) and math.isfinite(target[k]) for k in ("mean", "std")) \
                or target["std"] <= 0:
            raise CheckpointError(f"{source}: a regression checkpoint needs no classes and a finite target scaling "
                                  f"(preprocessing.target with mean and std > 0)")
    elif len(classes) != (2 if n_out == 1 else n_out):
        raise CheckpointError(f"{source}: classes: {len(classes)} labels for an output layer of {n_out} units")
    if not all(type(c) in (int, str) for c in classes) or len(set(classes)) != len(classes):
        raise CheckpointError(f"{source}: classes: expected distinct integers or strings")
    epoch, metrics = doc["epoch"], doc["metrics"]
    if not _is_int(epoch, 0, cfg.training.epochs) or not isinstance(metrics, dict):
        raise CheckpointError(f"{source}: epoch must be 0 to training.epochs ({cfg.training.epochs}) and metrics an "
                              "object")
    training = _checked_training(doc["training"], optimizer, epoch, source)
    data_file = _checked_data_file(doc["data_file"], source)
    # Only now allocate and decode, everything else having been checked from the JSON: one array
    # at a time, straight into its destination, its base64 text dropped once decoded, so memory
    # stays about the file's size (finiteness is checked here).
    model = build(config_module.plain(cfg.model.layers), input_shape, None, dtype)
    for name, target in model.state().items():
        _decode_into(state[name], target, f"{source}: state.{name}")
        _check_domain(target, name, f"{source}: state.{name}")
        state[name] = None
    if optimizer is not None:
        arrays = optimizer["arrays"]
        decoded = {}
        for key in list(arrays):
            decoded[key] = _decode_into(arrays[key], np.empty(params[key.rpartition(".")[0]], dtype),
                                        f"{source}: optimizer.arrays.{key}")
            arrays[key] = None
        optimizer = {"t": optimizer["t"], "arrays": decoded}
    return Checkpoint(path=source, config=cfg, model=model, preprocessing=preprocessing, classes=classes,
                      input_shape=input_shape, epoch=epoch, metrics=metrics, optimizer=optimizer, training=training,
                      version=version, data_file=data_file)


def _checked_data_file(record, source: str) -> dict | None:
    """data_file: null, or the SHA-256 (64 hex digits) and size in bytes of the file trained on."""
    if record is None:
        return None
    if not (isinstance(record, dict) and set(record) == {"sha256", "size"} and isinstance(record["sha256"], str)
            and re.fullmatch(r"[0-9a-f]{64}", record["sha256"]) and _is_int(record["size"], 0, 2**62)):
        raise CheckpointError(f"{source}: data_file: expected null or an object with sha256 (64 hex digits) and size")
    return record


def _checked_input_shape(given, cfg, source: str) -> tuple:
    """The recorded input shape: [n] or [H, W, C] of positive integers, of the data set's width, the
    shape the config's layers take from that data (an image's only when a layer takes images),
    and one every layer fits (the config's layers are walked on it)."""
    from ..config import shapes
    from ..data import spec
    from ..engine.model import plan
    from ..engine.protocol import ShapeError

    known = spec(cfg.data)
    if not (isinstance(given, list) and len(given) in (1, 3) and all(_is_int(d, 1, 10**8) for d in given)
            and math.prod(given) <= 10**9):
        raise CheckpointError(f"{source}: input_shape: expected [features] or [height, width, channels], got {given!r}")
    shape = tuple(given)
    if known.n_features is not None:
        expected = shapes.input_shape(cfg, known.n_features, known.image_shape)
        if shape != expected:
            raise CheckpointError(f"{source}: input_shape: the config's layers take {list(expected)} from "
                                  f"{cfg.data.name}, got {given!r}")
    try:
        plan([layer.model_dump() for layer in cfg.model.layers], shape)
    except ShapeError as e:
        raise CheckpointError(f"{source}: input_shape: {given!r} does not fit the config's layers: model.layers"
                              f"[{e.index}]: {e}") from None
    return shape


def _checked_training(training, optimizer, epoch: int, source: str) -> dict | None:
    """last.json's training state, checked key by key; null exactly when there is no optimizer state."""
    if training is None or optimizer is None:
        if (training is None) != (optimizer is None):
            raise CheckpointError(f"{source}: training and optimizer must both be given (last.json) or both null")
        return None
    where = f"{source}: training"
    if not isinstance(training, dict) or set(training) != TRAINING_KEYS:
        raise CheckpointError(f"{where}: expected an object with keys {', '.join(sorted(TRAINING_KEYS))}")
    rows, loss_sum, correct = training["rows_done"], training["loss_sum"], training["correct"]
    # correct: a count of right classes, or for regression a sum of absolute errors
    if not _is_int(rows, 0, 2**62) or not (_is_int(correct, 0, rows) or (
            type(correct) is float and math.isfinite(correct) and correct >= 0)):
        raise CheckpointError(f"{where}: rows_done must be a count and correct a count at most rows_done "
                              f"(or a sum of errors)")
    if (optimizer["t"] == 0) != (epoch == 0 and rows == 0):  # t = 0 with no moments would restart the optimizer
        raise CheckpointError(f"{source}: optimizer.t: {optimizer['t']} steps taken, but training stands at epoch "
                              f"{epoch} with {rows} rows of the next done")
    if type(loss_sum) not in (int, float) or not math.isfinite(loss_sum):
        raise CheckpointError(f"{where}.loss_sum: expected a finite number, got {loss_sum!r}")
    best_value, best_epoch = training["best_value"], training["best_epoch"]
    if (best_value is None) != (best_epoch is None) or (best_epoch is not None and not (
            type(best_value) in (int, float) and math.isfinite(best_value) and _is_int(best_epoch, 1, epoch))):
        raise CheckpointError(f"{where}: best_value and best_epoch must both be null or a finite number and an "
                              f"epoch from 1 to {epoch}")
    if not isinstance(training["callbacks"], dict):
        raise CheckpointError(f"{where}.callbacks: expected an object of states by callback name")
    return {**training, "loss_sum": float(loss_sum)}
