"""The shipped configs: all valid, and the quick ones reach what the README says they reach.

digits.yaml, digits_adamw.yaml, digits_cnn.yaml, mnist_fast.yaml and mnist_best.yaml take longer; .ci/run trains them.
"""

import re
from pathlib import Path

import pytest

from nnctl import api, config

SWEEPS = sorted(Path("configs").glob("sweep_*.yaml"))  # sweep specs, checked in tests/sweep/test_sweep_spec.py
CONFIGS = sorted(set(Path("configs").glob("*.yaml")) - set(SWEEPS))


def test_the_readme_table_lists_exactly_the_shipped_configs():
    """Each config in configs/ has its row in the README's "Shipped configs" table (what it is and
    what it reaches), and each row names a config that is there."""
    readme = Path("README.md").read_text()
    table = readme.split("## Shipped configs", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `configs/([\w.]+)\.yaml` \|", table, re.MULTILINE))
    assert rows == {p.stem for p in CONFIGS} | {p.stem for p in SWEEPS}


def test_the_data_files_are_small_enough_for_the_repository():
    assert Path("configs/data/wine_cultivars.csv").stat().st_size < 50_000
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


@pytest.mark.parametrize("name,metric,floor", [("iris", "accuracy", 0.95), ("diabetes", "r2", 0.45),
                                               ("wine_csv", "accuracy", 0.95), ("churn_csv", "accuracy", 0.7)])
@pytest.mark.slow
def test_quick_shipped_configs_reach_their_mark(tmp_path, name, metric, floor):
    result = api.train(api.load_config(f"configs/{name}.yaml"), run_dir=tmp_path / "run")
    assert result["test"][metric] >= floor, result["test"]
