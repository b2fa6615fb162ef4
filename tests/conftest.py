"""Hypothesis profiles: `ci` (the default) is derandomized, so every run of the suite tries the
same examples and a failure reproduces; HYPOTHESIS_PROFILE=dev explores new random examples."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# A small trained moons run, shared by the tests that need a checkpoint (predict, plot, eval gates, runs).

import pytest

from nnctl import api, config

MOONS = """\
seed: 0
data: {name: moons, n_samples: 300, noise: 0.1}
model:
  layers:
    - {units: 16, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.02}
training: {epochs: 12, batch_size: 32}
"""


@pytest.fixture(scope="session")
def moons_run(tmp_path_factory):
    """The api.train result of a 12-epoch moons run with its plots."""
    folder = tmp_path_factory.mktemp("moons-run")
    path = folder / "moons.yaml"
    path.write_text(MOONS)
    return api.train(config.load(path), run_dir=folder / "run")
