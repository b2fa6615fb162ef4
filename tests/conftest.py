"""Hypothesis profiles: `ci` (the default) is derandomized, so every run of the suite tries the
same examples and a failure reproduces; HYPOTHESIS_PROFILE=dev explores new random examples."""

import os

import pytest
from helpers.moons import MOONS, moons_yaml
from hypothesis import HealthCheck, settings

from nnctl import api, config

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# The standard small moons config (helpers/moons.py), and a small trained run of it shared by the tests
# that need a checkpoint (predict, plot, eval gates, runs).

@pytest.fixture()
def moons_config(tmp_path):
    """A function writing the standard moons config (with `moons_yaml`'s changes) to tmp_path; returns its path."""
    def write(name="moons.yaml", **changes):
        path = tmp_path / name
        path.write_text(moons_yaml(**changes))
        return path
    return write




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

    from helpers.mlflow_server import free_port, process

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
    from helpers.mlflow_server import client

    path = tmp_path_factory.mktemp("mlflow-store") / "empty.db"
    client(f"sqlite:///{path}").search_experiments()
    return path
