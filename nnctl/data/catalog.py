"""The data sets nnctl knows: one table, CATALOG, with one entry per data set, from which the rest
derives (SPECS and `spec`, the loaders `load` calls, `nnctl data list` and `fetch`, the memory
estimate's row counts, the schema's defaults of the generated sets).

Built in: moons, circles, blobs (generated), breast_cancer, iris, wine, digits, diabetes
(regression) (bundled with scikit-learn), and the image sets MNIST and Fashion-MNIST (from IDX
files or OpenML, as nnctl.data.images.IMAGE_SETS says). A user's CSV or .npz file, or any OpenML
data set, goes through nnctl.data.tabular.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import sources
from .cache import cache_dir, cache_files, data_dir
from .images import IMAGE_SETS, load_mnist_raw


@dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a data set before loading it."""

    n_features: int
    n_classes: int
    task: str
    default_scaling: str
    image_shape: tuple | None = None  # (height, width, channels) of an image data set, channels last
    rows: int | None = None  # None: only the data can tell
    raw_itemsize: int = 8  # bytes of one raw value as loaded: float64, or uint8 for images


@dataclass(frozen=True)
class Entry:
    """One data set. n_features, n_classes and rows are a number, the name of the data config's
    key that gives it (a str), or None when only the data can tell; task None: the config's `task`."""

    load: Callable  # (data config, seed) -> (x, y, class labels, where the rows came from)
    origin: str  # where it comes from, for `nnctl data list`
    task: str | None = "classification"
    n_features: int | str | None = None
    n_classes: int | str | None = None
    rows: int | str | None = None
    defaults: dict = field(default_factory=dict)  # the data config's options and their defaults
    default_scaling: str = "standard"
    image_shape: tuple | None = None
    # Drawn by scikit-learn from `defaults` and the seed alone: the rows and their split are kept
    # in the decoded cache (cache.split_cache_path), so a second run imports no scikit-learn.
    cached: bool = False


BUNDLED = "bundled with scikit-learn"
FROM_THE_FILE = "the config's file"
IDX_OR_OPENML = "IDX files, or OpenML once"

CATALOG = {
    "moons": Entry(sources.moons, "generated (scikit-learn make_moons)", n_features=2, n_classes=2, rows="n_samples",
                   defaults={"n_samples": 1000, "noise": 0.2}, cached=True),
    "breast_cancer": Entry(sources.breast_cancer, BUNDLED, n_features=30, n_classes=2, rows=569, cached=True),
    "mnist": Entry(sources.images, IDX_OR_OPENML, n_features=784, n_classes=10, rows=70_000, default_scaling="pixels",
                   image_shape=(28, 28, 1)),
    "circles": Entry(sources.circles, "generated (scikit-learn make_circles)", n_features=2, n_classes=2,
                     rows="n_samples", defaults={"n_samples": 1000, "noise": 0.1, "factor": 0.5}, cached=True),
    "blobs": Entry(sources.blobs, "generated (scikit-learn make_blobs)", n_features="n_features", n_classes="centers",
                   rows="n_samples", defaults={"n_samples": 1000, "centers": 3, "n_features": 2, "cluster_std": 1.0},
                   cached=True),
    "iris": Entry(sources.bundled("load_iris"), BUNDLED, n_features=4, n_classes=3, rows=150, cached=True),
    "wine": Entry(sources.bundled("load_wine"), BUNDLED, n_features=13, n_classes=3, rows=178, cached=True),
    "digits": Entry(sources.bundled("load_digits"), BUNDLED, n_features=64, n_classes=10, rows=1797,
                    image_shape=(8, 8, 1),
                    cached=True),
    "diabetes": Entry(sources.bundled("load_diabetes"), BUNDLED, task="regression", n_features=10, n_classes=0,
                      rows=442, cached=True),
    "fashion_mnist": Entry(sources.images, IDX_OR_OPENML, n_features=784, n_classes=10, rows=70_000,
                           default_scaling="pixels",
                           image_shape=(28, 28, 1)),
    "openml": Entry(sources.openml, "OpenML", task=None),
    "csv": Entry(sources.csv, FROM_THE_FILE, task=None),
    "npz": Entry(sources.npz, FROM_THE_FILE, task=None),
}


def spec(cfg) -> DatasetSpec:
    """What is known about the data set `cfg` (a data config) before loading it; None where only
    the data can tell (the features and classes of a user's file or an OpenML set)."""
    return _spec(cfg.name, cfg)


def _spec(name: str, cfg=None) -> DatasetSpec:
    entry = CATALOG[name]

    def known(value):  # a number, or the config's key that gives it (None without a config)
        return (getattr(cfg, value) if cfg is not None else None) if isinstance(value, str) else value

    task = entry.task or cfg.task
    n_classes = 0 if task == "regression" else known(entry.n_classes)
    return DatasetSpec(known(entry.n_features), n_classes, task, entry.default_scaling, entry.image_shape,
                       known(entry.rows), 1 if name in IMAGE_SETS else 8)


# The named data sets whose shape the catalog knows without a config: the ones `nnctl data` lists.
SPECS = {name: _spec(name) for name, e in CATALOG.items() if isinstance(e.n_features, int)}
# Data sets that come from files or a download, and the function that loads them into the cache.
FETCHERS = {name: (lambda name=name: load_mnist_raw(name=name)[2]) for name in IMAGE_SETS}


def _rows(name: str):
    """The rows column of `nnctl data list`: a number, or the key that sets it and its default."""
    rows = CATALOG[name].rows
    return f"{rows} (default {CATALOG[name].defaults[rows]})" if isinstance(rows, str) else rows


def describe() -> list[dict]:
    """One entry per data set: shape, task, where it comes from and what the cache holds of it."""
    out = []
    for name, spec in SPECS.items():
        files = cache_files(name)
        entry = {"name": name, "features": spec.n_features, "classes": spec.n_classes, "task": spec.task,
                 "rows": _rows(name), "image_shape": list(spec.image_shape) if spec.image_shape else None,
                 "cache": [str(p) for p in files], "cache_bytes": sum(p.stat().st_size for p in files)}
        if name not in FETCHERS:
            entry["status"], entry["origin"] = "built in", CATALOG[name].origin
        elif files:
            entry["status"], entry["origin"] = "cached", str(files[0])
        elif data_dir() is not None and (data_dir() / name).is_dir():
            entry["status"], entry["origin"] = "local", str(data_dir() / name)
        else:
            entry["status"], entry["origin"] = "not fetched", "OpenML on first use (needs the internet once)"
        out.append(entry)
    return out


def other_cache() -> list[dict]:
    """What else the cache folder holds (e.g. scikit-learn's OpenML downloads), with sizes."""
    folder = cache_dir()
    if not folder.is_dir():
        return []
    known = {p for name in SPECS for p in cache_files(name)}
    out = []
    for path in sorted(folder.iterdir()):
        if path in known or path.name.startswith("."):
            continue
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        out.append({"path": str(path), "bytes": sum(p.stat().st_size for p in files)})
    return out


def fetch(name: str) -> dict:
    """Load `name` from wherever it is, filling the cache; what was done, for the report."""
    if name not in FETCHERS:
        return {"name": name, "fetched": False, "reason": f"{name} is built in: there is nothing to fetch"}
    source = FETCHERS[name]()
    files = cache_files(name)
    return {"name": name, "fetched": True, "source": source, "cache": [str(p) for p in files],
            "cache_bytes": sum(p.stat().st_size for p in files), "cache_dir": str(cache_dir())}
