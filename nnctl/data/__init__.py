"""Data sets as seeded splits (stratified for classification) with fitted scaling.

The package by concern: `catalog` (the one table of data sets, and `spec`), `sources` (their
loaders), `images` (MNIST and Fashion-MNIST files, cache and download), `csvtext` (the one
reader of a CSV's records and header), `tabular` (a user's CSV,
.npz or OpenML set), `splits`, `scaling` (fitted on train, applied anywhere), `features` and
`npyfile` (rows given to predict), `cache` (where data lives). This module loads a data set
through them: `load`, returning a `Dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import encoding, images, inputs

# the package's face: what the other packages import from nnctl.data
from .cache import cache_dir, data_dir, read_split, split_cache_path, write_split  # noqa: F401
from .catalog import CATALOG, SPECS, DatasetSpec, spec  # noqa: F401
from .images import IMAGE_SETS, MNIST_FILES, OPENML_RETRIES, load_mnist_raw, read_idx, read_mnist_idx  # noqa: F401
from .prepare import Prepared
from .scaling import (  # noqa: F401
    apply_preprocessing,
    check_fitted,
    check_scaled,
    fit_preprocessing,
    fit_target_scaling,
    scale_target,
    unscale_target,
)
from .splits import SPLITS, random_state, sklearn_split, stratified_split


def _split(y, cfg, seed: int, regression: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The train, val and test rows of a tabular set, by scikit-learn's train_test_split."""
    rest, test = sklearn_split(np.arange(len(y)), y, cfg.test_fraction, random_state(seed, 1), "test_fraction",
                               stratify=not regression)
    train, val = sklearn_split(rest, y, cfg.val_fraction, random_state(seed, 2), "val_fraction",
                               stratify=not regression)
    return train, val, test


def _drawn(entry, cfg, seed: int, regression: bool):
    """(x, y, classes, source, (train, val, test)) of a generated or bundled set: from the decoded
    cache when this seed and these parameters were drawn before, else drawn by scikit-learn (and
    kept). The cache holds scikit-learn's own arrays, so a hit gives the same bits as a draw."""
    parameters = {"seed": seed, "test_fraction": cfg.test_fraction, "val_fraction": cfg.val_fraction,
                  "stratify": not regression, **{key: getattr(cfg, key) for key in entry.defaults}}
    path = split_cache_path(cfg.name, parameters)
    kept = read_split(path)
    if kept is not None:
        return kept
    x, y, classes, source = entry.load(cfg, seed)
    rows = _split(y, cfg, seed, regression)
    write_split(path, x, y, classes, source, rows)
    return x, y, classes, source, rows


@dataclass
class Dataset:
    """Three splits of one data set; x: (n, n_features) floats, y: (n,) int64 class indices, or
    for regression (n,) floats, standardised when preprocessing["target"] says so. A CSV's
    `table` reports how its columns were read (nnctl.data.prepare), `notes` what a reader should
    hear of it (values filled in or never seen in training); `data_file` the SHA-256 and size of
    the file read."""

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
    table: dict | None = None
    notes: list = field(default_factory=list)
    data_file: dict | None = None

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) of the split `name`: train, val or test."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def spec(self) -> DatasetSpec:
        """What the loaded data says of itself: width, classes, task, image shape, rows."""
        return DatasetSpec(self.x_train.shape[1], len(self.classes), self.task,
                           self.preprocessing.get("scaling", "none"),
                           self.image_shape, len(self.x_train) + len(self.x_val) + len(self.x_test))

    @property
    def target_scale(self) -> float:
        """What multiplies a (standardised) regression target back into its own units."""
        return float(self.preprocessing.get("target", {}).get("std", 1.0))


FILE_SETS = ("csv", "npz")  # loaded from one file, whose bytes a caller may have read already


def load(cfg, seed: int, dtype: str = "float32", preprocessing: dict | None = None,
         content: bytes | None = None) -> Dataset:
    """Load the data set `cfg` describes, split it, and scale it (fitted on train unless given).
    `content`: the bytes of the config's file, read (and checked) by the caller."""
    entry, info = CATALOG[cfg.name], spec(cfg)
    regression = info.task == "regression"
    data_file = table = None
    if entry.cached:
        x, y, classes, source, (train, val, test) = _drawn(entry, cfg, seed, regression)
    else:
        if cfg.name in FILE_SETS:
            x, y, classes, source, data_file = entry.load(cfg, seed, preprocessing, content)
        else:
            x, y, classes, source = entry.load(cfg, seed)
        if cfg.name in images.IMAGE_SETS:  # the published test set: the last images
            rest, test = np.arange(images.MNIST_N_TRAIN), np.arange(images.MNIST_N_TRAIN, len(y))
            # NumPy alone: importing scikit-learn's model_selection would take a second of MNIST's load
            train, val = stratified_split(rest, y, cfg.val_fraction, np.random.default_rng([seed, 2]), "val_fraction")
        else:
            train, val, test = _split(y, cfg, seed, regression)
    names, notes, record = None, [], None
    if isinstance(x, Prepared):  # a CSV: its columns are fitted on the training rows, then encoded
        table = x
        if not table.legacy:
            record = preprocessing["table"] if preprocessing is not None else table.fit(train)
        x, names, found = table.encode(record)
        names = names if cfg.header else None  # a headerless file's columns are read by position
        notes = encoding.notes(found, record["columns"], str(cfg.path)) if record is not None else []
    # Values too large for the scaling or for `dtype` overflow to inf: found by the checks below,
    # which name the column, rather than by NumPy's warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        if preprocessing is None:
            preprocessing = fit_preprocessing(x[train], cfg.scaling or info.default_scaling)
            check_fitted(x[train], preprocessing, source)
            preprocessing["inputs"] = inputs.fit(x[train], names)
            if table is not None:
                encoding.leave_codes_unscaled(preprocessing, record["columns"])
                preprocessing["table"] = record
            if regression:
                preprocessing["target"] = fit_target_scaling(y[train], cfg.target_scaling)
        xs = {name: apply_preprocessing(x[rows], preprocessing, dtype) for name,
              rows in zip(SPLITS, (train, val, test))}
    for name, rows in zip(SPLITS, (train, val, test)):
        check_scaled(x, rows, xs[name], source, dtype)
    if regression:
        ys = {name: scale_target(y[rows], preprocessing, dtype) for name, rows in zip(SPLITS, (train, val, test))}
    else:
        ys = {name: y[rows].astype(np.int64) for name, rows in zip(SPLITS, (train, val, test))}
    report = table.report(record, found) if record is not None else None
    return Dataset(cfg.name, info.task, classes, xs["train"], ys["train"], xs["val"], ys["val"], xs["test"], ys["test"],
                   preprocessing, info.image_shape, source, report, notes, data_file)
