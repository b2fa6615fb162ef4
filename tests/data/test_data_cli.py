"""nnctl data list / fetch, offline, on the tiny MNIST of tests/data/conftest.py."""

import json

import pytest
from click.testing import CliRunner

from nnctl import data
from nnctl.cli import main

pytestmark = pytest.mark.usefixtures("offline")  # no network, an empty cache, no data folder

def invoke(*args):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


def entries():
    result = invoke("data", "list", "--json")
    assert result.exit_code == 0, result.output
    return {e["name"]: e for e in json.loads(result.stdout)["datasets"]}


def test_list_shows_every_data_set_and_where_it_is(offline):
    found = entries()
    assert set(data.SPECS) <= set(found)
    assert found["moons"]["status"] == "built in" and found["breast_cancer"]["rows"] == 569
    assert found["mnist"]["status"] == "not fetched" and found["mnist"]["features"] == 784
    text = invoke("data", "list").stdout
    assert text.splitlines()[0].split()[:4] == ["name", "rows", "features", "classes"]
    assert "70,000" in text and "not fetched" in text


def test_fetch_fills_the_cache_from_the_data_folder(data_dir):
    assert entries()["mnist"]["status"] == "local"
    result = invoke("data", "fetch", "mnist")
    assert result.exit_code == 0, result.output
    assert f"idx:{data_dir}" in result.stdout and "fetching mnist" in result.stderr
    mnist = entries()["mnist"]
    assert mnist["status"] == "cached" and mnist["cache"] == [str(data.cache_dir() / "mnist.npz")]
    assert mnist["cache_bytes"] == (data.cache_dir() / "mnist.npz").stat().st_size > 0
    again = json.loads(invoke("data", "fetch", "mnist", "--json", "-q").stdout)
    assert again["source"].startswith("cache:") and again["fetched"] is True


def test_list_shows_the_rest_of_the_cache_with_sizes(offline):
    extra = data.cache_dir() / "openml" / "mnist_784"
    extra.mkdir(parents=True)
    (extra / "data.arff.gz").write_bytes(b"x" * 3000)
    out = json.loads(invoke("data", "list", "--json").stdout)
    assert out["other_cache"] == [{"path": str(data.cache_dir() / "openml"), "bytes": 3000}]
    assert f"the cache also holds {data.cache_dir() / 'openml'} (2.9 KB)" in invoke("data", "list").stdout


def test_fetch_without_a_source_exits_5(offline):
    result = invoke("data", "fetch", "mnist")
    assert result.exit_code == 5 and "NNCTL_DATA_DIR" in result.stderr


def test_fetch_of_a_built_in_set_or_an_unknown_name():
    result = invoke("data", "fetch", "moons")
    assert result.exit_code == 0 and "nothing to fetch" in result.stdout
    result = invoke("data", "fetch", "mnst")
    assert result.exit_code == 2 and "did you mean 'mnist'" in result.output
