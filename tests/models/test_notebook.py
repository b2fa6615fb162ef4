"""docs/notebook.md runs: its Python cells in order, in a fresh folder, and what its text says holds
(under twenty lines from data to an export, the summary shown, the YAML shown, nnctl train's
weights equal to the notebook's)."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.runs import checkpoint

PAGE = Path(__file__).resolve().parents[2] / "docs" / "notebook.md"


def blocks(kind: str) -> list[str]:
    """The page's fenced blocks of `kind` (python, text, yaml), in order."""
    return re.findall(rf"^```{kind}\n(.*?)^```$", PAGE.read_text(), re.MULTILINE | re.DOTALL)


def test_the_notebook_runs_and_says_what_happens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cells = blocks("python")
    assert len([line for line in cells[0].splitlines() if line.strip()]) < 20
    namespace, printed = {}, []
    for cell in cells:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(cell, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's cells, run as a reader would
        printed.append(out.getvalue())
    summary = blocks("text")[1]
    assert printed[1] == summary  # the summary the page shows is the one printed
    assert printed[2] == blocks("yaml")[0] + "\n"  # and so is the YAML
    assert (tmp_path / "cancer.json").is_file() and (tmp_path / "cancer.onnx").is_file()
    result = CliRunner().invoke(main, ["train", "cancer.yaml", "--run-dir", "run", "-q", "--no-plots"])
    assert result.exit_code == 0, result.output
    trained = checkpoint.load(tmp_path / "run" / "checkpoint.json").model.state()
    assert all(np.array_equal(trained[k], w) for k, w in namespace["model"].weights.items())
    result = CliRunner().invoke(main, ["eval", "cancer.json", "--data", "cancer_test.npz", "--json"])
    assert result.exit_code == 0 and '"split": "all"' in result.stdout
