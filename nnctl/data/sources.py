"""The loaders of the catalog: each takes a data config and the seed and returns the raw rows
(x, y), the class labels ([] for regression) and where the rows came from; a CSV's also the names of
its feature columns. scikit-learn is
imported inside them only, so `import nnctl` stays fast."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..printable import quoted
from . import images as image_sets
from .cache import cache_dir
from .splits import random_state


def moons(cfg, seed: int):
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=random_state(seed, 0))
    return x, y, [0, 1], "sklearn.make_moons"


def breast_cancer(cfg, seed: int):
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()  # shipped inside scikit-learn: no download
    return bunch.data, bunch.target, [str(name) for name in bunch.target_names], "sklearn.load_breast_cancer"


def circles(cfg, seed: int):
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=cfg.n_samples, noise=cfg.noise, factor=cfg.factor, random_state=random_state(seed, 0))
    return x, y, [0, 1], "sklearn.make_circles"


def blobs(cfg, seed: int):
    from sklearn.datasets import make_blobs

    from ..machine import available, size

    # make_blobs allocates n_samples x n_features float64 at once (and scaling a copy): refused
    # here when that cannot fit (nnctl check and train already refuse it from the config)
    need, (have, source) = cfg.n_samples * cfg.n_features * 8 * 2, available()
    if have is not None and need > have:
        raise DataError(f"blobs of {cfg.n_samples:,} samples of {cfg.n_features:,} features need about {size(need)}, "
                        f"this machine has {size(have)} available ({source}): lower data.n_samples or n_features")

    x, y = make_blobs(n_samples=cfg.n_samples, centers=cfg.centers, n_features=cfg.n_features,
                      cluster_std=cfg.cluster_std, random_state=random_state(seed, 0))
    return x, y, list(range(cfg.centers)), "sklearn.make_blobs"


def bundled(loader: str):
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


def csv(cfg, seed: int, preprocessing: dict | None = None, content: bytes | None = None):
    """A CSV file's rows prepared for encoding (nnctl.data.prepare): typed by the config, or by the
    checkpoint's `preprocessing` when given; `content`: the file's bytes, read already."""
    from . import csvtext, prepare, tabular

    raw = csvtext.read_bytes(cfg.path) if content is None else content
    table = tabular.read_csv(cfg.path, cfg.target, cfg.features, cfg.header, cfg.delimiter, cfg.encoding, raw)
    settings = {"delimiter": table.delimiter, "decimal": cfg.decimal, "encoding": cfg.encoding,
                "missing_values": list(cfg.missing_values), "columns": cfg.columns}
    record = (preprocessing or {}).get("table")
    legacy = ((preprocessing.get("inputs") or {}).get("names") or table.names if preprocessing and record is None
              else None)
    prepared = prepare.Prepared.of(table, settings, record, legacy)
    y, classes = tabular.targets(prepared.table.y, cfg.task, f"{cfg.path}: target column {quoted(table.target)}")
    return prepared, y, classes, f"csv:{cfg.path}", file_record(raw)


def npz(cfg, seed: int, preprocessing: dict | None = None, content: bytes | None = None):
    from . import csvtext, tabular

    raw = csvtext.read_bytes(cfg.path, "a .npz") if content is None else content
    x, raw_y = tabular.read_npz(cfg.path, cfg.x_key, cfg.y_key, raw)
    y, classes = tabular.targets(raw_y, cfg.task, f"{cfg.path}: {quoted(cfg.y_key)}")
    return x, y, classes, f"npz:{cfg.path}", file_record(raw)


def file_record(raw: bytes) -> dict:
    """What a checkpoint keeps of the data file it was trained on: its SHA-256 and size."""
    import hashlib

    return {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}


def openml(cfg, seed: int):
    from . import tabular

    x, raw, source = tabular.fetch_openml(cfg.dataset, cfg.version, cfg.target, cache_dir())
    y, classes = tabular.targets(raw, cfg.task, f"{source}: the target")
    return x, y, classes, source



def images(cfg, seed: int):
    """MNIST or Fashion-MNIST: its 70,000 images, test images last (see nnctl.data.images)."""
    x, y, source = image_sets.load_mnist_raw(cfg.path, cfg.name)
    return x, y, list(image_sets.IMAGE_SETS[cfg.name].labels), source
