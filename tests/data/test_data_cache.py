"""The decoded cache of the generated and bundled sets (nnctl.data.cache): a second load with the
same parameters reads scikit-learn's own arrays back, bit for bit, without calling scikit-learn."""

import dataclasses

import numpy as np
import pytest

from nnctl import data
from nnctl.config import schema
from nnctl.data import catalog


def _cfg(name, **options):
    kind = {"moons": schema.MoonsData, "iris": schema.IrisData, "diabetes": schema.DiabetesData}[name]
    return kind(name=name, **options)


@pytest.mark.parametrize("name", ["moons", "iris", "diabetes"])
def test_a_cache_hit_gives_the_drawn_arrays_without_scikit_learn(name, tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path))
    cfg = _cfg(name)
    drawn = data.load(cfg, seed=3)
    assert [p.name.split(".")[0] for p in tmp_path.glob("*.npz")] == [name]

    def refuse(*args):
        raise AssertionError("a cache hit must not draw the set again")

    monkeypatch.setitem(catalog.CATALOG, name, dataclasses.replace(catalog.CATALOG[name], load=refuse))
    monkeypatch.setattr(data, "sklearn_split", refuse)
    kept = data.load(cfg, seed=3)
    for split in ("train", "val", "test"):
        for a, b in zip(drawn.split(split), kept.split(split)):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert (kept.classes, kept.source, kept.preprocessing) == (drawn.classes, drawn.source, drawn.preprocessing)


def test_other_parameters_or_seeds_are_drawn_anew(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path))
    a = data.load(_cfg("moons"), seed=0)
    b = data.load(_cfg("moons", noise=0.3), seed=0)
    c = data.load(_cfg("moons"), seed=1)
    assert len(list(tmp_path.glob("moons.*.npz"))) == 3
    assert not np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.x_train, c.x_train)


def test_a_damaged_cache_file_is_drawn_again(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path))
    first = data.load(_cfg("moons"), seed=0)
    (path,) = tmp_path.glob("moons.*.npz")
    path.write_bytes(b"not a zip file")
    again = data.load(_cfg("moons"), seed=0)
    assert again.x_train.tobytes() == first.x_train.tobytes()
    assert path.stat().st_size > 100  # rewritten


def test_a_read_only_cache_still_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path / "missing" / "file"))
    (tmp_path / "missing").write_text("a file where the cache folder would be")
    assert len(data.load(_cfg("moons"), seed=0).x_train) == 720
