"""Hypothesis profiles: `ci` (the default) is derandomized, so every run of the suite tries the
same examples and a failure reproduces; HYPOTHESIS_PROFILE=dev explores new random examples."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# The standard small moons config, and a small trained run of it shared by the tests that need a checkpoint
# (predict, plot, eval gates, runs).

import copy

import pytest
import yaml

from nnctl import api, config

STANDARD_MOONS = {
    "seed": 0,
    "data": {"name": "moons", "n_samples": 300, "noise": 0.1},
    "model": {"layers": [{"units": 16, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 0.02},
    "training": {"epochs": 12, "batch_size": 32},
}


def moons_yaml(**changes) -> str:
    """The standard small moons config as YAML text, each top-level key in CHANGES merged into it.

    A mapping is merged key by key (a value of None removes the key), anything else replaces:
    `moons_yaml(seed=4, data={"noise": None}, training={"epochs": 5})`. Leaf mappings are written in
    flow style (`optimizer: {name: adam, lr: 0.02}`), so tests may still `.replace()` in the text.
    """
    cfg = copy.deepcopy(STANDARD_MOONS)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
            cfg[key] = {k: v for k, v in cfg[key].items() if v is not None}
        elif value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None, width=1000)


@pytest.fixture()
def moons_config(tmp_path):
    """A function writing the standard moons config (with `moons_yaml`'s changes) to tmp_path; returns its path."""
    def write(name="moons.yaml", **changes):
        path = tmp_path / name
        path.write_text(moons_yaml(**changes))
        return path
    return write


MOONS = moons_yaml()


@pytest.fixture(scope="session")
def moons_run(tmp_path_factory):
    """The api.train result of a 12-epoch moons run with its plots."""
    folder = tmp_path_factory.mktemp("moons-run")
    path = folder / "moons.yaml"
    path.write_text(MOONS)
    return api.train(config.load(path), run_dir=folder / "run")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory, empty_store):
    """A real `mlflow server` on a free loopback port, its runs in SQLite and its artifacts served
    over HTTP (MLflow's default): one per test session. Its URI. Kept cheap: its store starts as a
    copy of the empty one (no migrations), and without MLflow's job runner (nnctl starts no jobs)."""
    import shutil

    from mlflow_helpers import free_port, process

    folder = tmp_path_factory.mktemp("mlflow-server")
    shutil.copyfile(empty_store, folder / "store.db")
    port = free_port()
    with open(folder / "server.log", "w") as log, process(
            ["server", "--host", "127.0.0.1", "--port", port, "--workers", 1,
             "--backend-store-uri", f"sqlite:///{folder / 'store.db'}", "--artifacts-destination",
             folder / "artifacts"],
            f"http://127.0.0.1:{port}/health", folder, log, env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory):
    """An empty MLflow SQLite store, made once (making one runs MLflow's migrations: seconds); tests copy it."""
    pytest.importorskip("mlflow")
    from mlflow_helpers import client

    path = tmp_path_factory.mktemp("mlflow-store") / "empty.db"
    client(f"sqlite:///{path}").search_experiments()
    return path
