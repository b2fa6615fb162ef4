"""Start-up stays light: `nnctl --help` must answer in well under 0.2 s, so the CLI module imports
no heavy library until a command needs it (issue 4's target). Checked in a fresh interpreter,
since this test process has long imported everything."""

import pytest
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "pydantic", "matplotlib", "torch", "numpy", "scipy", "yaml", "numba")


def modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    return json.loads(out.stdout.splitlines()[-1])


def test_importing_the_cli_imports_nothing_heavy():
    assert modules_after("import nnctl.cli") == []


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
             "print([m for m in ('sklearn', 'numba', 'nnctl.engine.train', 'nnctl.runs.checkpoint', 'nnctl.runs.report', 'nnctl.api') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Total params" in out.stdout
    assert out.stdout.splitlines()[-1] == "[]"
