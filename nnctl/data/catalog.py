"""The data sets nnctl knows, where each one is, and filling the cache before an offline run."""

from __future__ import annotations

from pathlib import Path

from .. import data

ROWS = {"moons": "n_samples (default 1000)", "circles": "n_samples (default 1000)", "breast_cancer": 569, "iris": 150,
        "wine": 178, "digits": 1797, "diabetes": 442, "mnist": 70_000, "fashion_mnist": 70_000}
ORIGINS = {"moons": "generated (scikit-learn make_moons)", "circles": "generated (scikit-learn make_circles)"}
# Data sets that come from files or a download, and the function that loads them into the cache.
FETCHERS = {name: (lambda name=name: data.load_mnist_raw(name=name)[2]) for name in ("mnist", "fashion_mnist")}


def cache_files(name: str) -> list[Path]:
    """The files of the cache that hold the data set `name` (e.g. mnist.npz)."""
    folder = data.cache_dir()
    return sorted(p for p in folder.glob(f"{name}.*") if p.is_file()) if folder.is_dir() else []


def describe() -> list[dict]:
    """One entry per data set: shape, task, where it comes from and what the cache holds of it."""
    out = []
    for name, spec in data.SPECS.items():
        files = cache_files(name)
        entry = {"name": name, "features": spec.n_features, "classes": spec.n_classes, "task": spec.task,
                 "rows": ROWS.get(name), "image_shape": list(spec.image_shape) if spec.image_shape else None,
                 "cache": [str(p) for p in files], "cache_bytes": sum(p.stat().st_size for p in files)}
        if name not in FETCHERS:
            entry["status"], entry["origin"] = "built in", ORIGINS.get(name, "bundled with scikit-learn")
        elif files:
            entry["status"], entry["origin"] = "cached", str(files[0])
        elif data.data_dir() is not None and (data.data_dir() / name).is_dir():
            entry["status"], entry["origin"] = "local", str(data.data_dir() / name)
        else:
            entry["status"], entry["origin"] = "not fetched", "OpenML on first use (needs the internet once)"
        out.append(entry)
    return out


def other_cache() -> list[dict]:
    """What else the cache folder holds (e.g. scikit-learn's OpenML downloads), with sizes."""
    folder = data.cache_dir()
    if not folder.is_dir():
        return []
    known = {p for name in data.SPECS for p in cache_files(name)}
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
            "cache_bytes": sum(p.stat().st_size for p in files), "cache_dir": str(data.cache_dir())}
