"""The shipped configs: all valid, and the quick ones reach what the README says they reach.

digits.yaml, digits_adamw.yaml, digits_cnn.yaml, mnist_fast.yaml and mnist_best.yaml take longer; .ci/run trains them.
"""

from pathlib import Path

import pytest

from nnctl import api, config

SWEEPS = sorted(Path("configs").glob("sweep_*.yaml"))  # sweep specs, checked in tests/sweep/test_sweep_spec.py
CONFIGS = sorted(set(Path("configs").glob("*.yaml")) - set(SWEEPS))


def test_the_toolbox_examples_are_shipped():
    names = {p.stem for p in CONFIGS}
    assert {"digits", "iris", "diabetes", "mnist_best", "wine_csv", "digits_adamw"} <= names
    assert Path("configs/data/wine_cultivars.csv").stat().st_size < 50_000  # small enough for the repository
    assert Path("configs/data/churn.csv").stat().st_size < 100_000


def test_the_messy_table_is_what_its_recipe_writes(tmp_path, monkeypatch):
    """configs/data/churn.csv is make_churn.py's output, byte for byte (NumPy's seeded generator)."""
    import importlib.util
    import shutil

    shutil.copy("configs/data/make_churn.py", tmp_path / "make_churn.py")
    spec = importlib.util.spec_from_file_location("make_churn", tmp_path / "make_churn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    assert (tmp_path / "churn.csv").read_bytes() == Path("configs/data/churn.csv").read_bytes()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_config_is_valid(path):
    cfg = config.load(path)
    assert cfg.run.name == path.stem


def test_mnist_best_uses_dropout_a_schedule_and_early_stopping():
    cfg = config.load("configs/mnist_best.yaml")
    assert any(layer.type == "dropout" for layer in cfg.model.layers)
    assert cfg.training.schedule.name != "constant" and cfg.training.early_stopping is not None


def test_weight_decay_example_uses_adamw_with_a_schedule():
    cfg = config.load("configs/digits_adamw.yaml")
    assert cfg.optimizer.name == "adamw" and cfg.optimizer.weight_decay > 0 and cfg.training.schedule.name != "constant"


@pytest.mark.parametrize("name,metric,floor", [("iris", "accuracy", 0.95), ("diabetes", "r2", 0.45),
                                               ("wine_csv", "accuracy", 0.95), ("churn_csv", "accuracy", 0.7)])
@pytest.mark.slow
def test_quick_shipped_configs_reach_their_mark(tmp_path, name, metric, floor):
    result = api.train(api.load_config(f"configs/{name}.yaml"), run_dir=tmp_path / "run")
    assert result["test"][metric] >= floor, result["test"]


def test_mnist_fast_fixes_its_epochs_and_is_dense_only():
    """The fastest route to 98%: no early stopping (the time is its config's epochs, decided before
    seeing any score) and nothing but dense layers."""
    cfg = config.load("configs/mnist_fast.yaml")
    assert cfg.training.early_stopping is None and cfg.training.epochs <= 5
    assert all(layer.type == "dense" for layer in cfg.model.layers)
