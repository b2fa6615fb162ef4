"""Start-up stays light: `nnctl --help` must answer in well under 0.2 s, so the CLI module imports
no heavy library until a command needs it (issue 4's target). Checked in a fresh interpreter,
since this test process has long imported everything."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("sklearn", "pydantic", "matplotlib", "torch", "numpy", "scipy", "yaml", "numba")


def modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    return json.loads(out.stdout.splitlines()[-1])


def test_importing_the_cli_imports_nothing_heavy():
    assert modules_after("import nnctl.cli") == []


def test_the_model_api_is_imported_on_first_use_only():
    assert modules_after("import nnctl") == []
    assert "pydantic" in modules_after("import nnctl\nnnctl.Sequential")


def test_help_and_version_import_nothing_heavy():
    calls = [["--help"], ["--version"], ["train", "--help"], ["eval", "--help"], ["summary", "--help"]]
    code = (f"from nnctl.cli import main\nfor args in {calls!r}:\n    try:\n        main(args)\n"
            f"    except SystemExit as e:\n        assert e.code == 0, (args, e.code)")
    assert modules_after(code) == []


@pytest.mark.slow
def test_summary_imports_neither_scikit_learn_nor_the_training_code():
    """`nnctl summary` has a 0.5 s budget: it needs the config and the layer arithmetic only."""
    probe = ("from nnctl.cli import main\ntry:\n    main(['summary', 'configs/mnist.yaml'])\nexcept SystemExit as e:\n"
             "    assert e.code == 0, e.code\nimport sys\n"
             "print([m for m in ('sklearn', 'numba', 'nnctl.engine.train', 'nnctl.runs.checkpoint', "
             "'nnctl.runs.report', 'nnctl.api') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Total params" in out.stdout
    assert out.stdout.splitlines()[-1] == "[]"


@pytest.mark.slow
def test_training_moons_from_a_warm_cache_imports_no_scikit_learn(tmp_path):
    """A small run costs what its work costs: once the generated set is in the decoded cache,
    `nnctl train` of moons imports neither scikit-learn (~1.3 s) nor scipy, joblib or dask, and
    no matplotlib with --no-plots."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NNCTL_CACHE_DIR": str(tmp_path / "cache")}
    unwanted = ("sklearn", "scipy", "joblib", "dask", "matplotlib", "pandas", "numba")
    runs = []
    for attempt in ("cold", "warm"):
        run_dir = tmp_path / attempt
        probe = ("from nnctl.cli import main\ntry:\n"
                 "    main(['train', 'configs/moons.yaml', '-q', '--no-plots', '--set', 'training.epochs=2', "
                 f"'--run-dir', {str(run_dir)!r}])\n"
                 "except SystemExit as e:\n    assert e.code == 0, e.code\nimport sys\n"
                 f"print([m for m in {unwanted!r} if m in sys.modules])")
        out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True,
                             text=True, env=env)
        runs.append(out.stdout.splitlines()[-1])
        assert (run_dir / "checkpoint.json").is_file()
    assert "sklearn" in runs[0]  # the cold run drew the set: the probe sees what it must see
    assert runs[1] == "[]"
    cold, warm = (json.loads((tmp_path / a / "checkpoint.json").read_text())["state"] for a in ("cold", "warm"))
    assert cold == warm  # the cache gave scikit-learn's arrays: the same weights
