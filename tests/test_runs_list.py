"""nnctl runs: the table of run folders, newest first, from run.json and metrics.jsonl."""

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from nnctl.cli import main


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def fake_run(folder: Path, name: str, status: dict, history: list[dict]) -> None:
    run = folder / name
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(status))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))


def record(epoch, val_loss, val_accuracy):
    return {"epoch": epoch, "train_loss": 1.0, "train_accuracy": 0.5, "val_loss": val_loss, "val_accuracy": val_accuracy}


def test_runs_table_newest_first_with_best_and_test_scores(moons_run, tmp_path):
    shutil.copytree(moons_run["run_dir"], tmp_path / "real")
    fake_run(tmp_path, "going", {"status": "running", "started": "2999-01-01T10:00:00+00:00", "epochs": 2},
             [record(1, 0.5, 0.8), record(2, 0.7, 0.85)])
    fake_run(tmp_path, "wild", {"status": "diverged", "started": "2000-01-01T10:00:00+00:00", "epochs": 1},
             [record(1, 0.9, 0.6)])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    (tmp_path / "not-a-run").mkdir()

    out = json.loads(invoke("runs", tmp_path, "--json").stdout)
    runs = {r["name"]: r for r in out["runs"]}
    assert [r["name"] for r in out["runs"]][:3] == ["going", "real", "wild"] and set(runs) == {"going", "real", "wild", "broken"}
    assert runs["going"]["best_epoch"] == 1 and runs["going"]["best"]["val_accuracy"] == 0.8  # best so far: lowest val_loss
    real = runs["real"]
    assert real["status"] == "finished" and real["epochs"] == 12 and real["best_epoch"] == moons_run["best_epoch"]
    assert real["test"]["accuracy"] == moons_run["test"]["accuracy"]
    assert runs["broken"]["status"] == "unreadable"

    text = invoke("runs", tmp_path).stdout.splitlines()
    assert text[0].split()[:4] == ["run", "started", "status", "epochs"]
    assert text[1].startswith("going") and "running" in text[1] and "0.8000" in text[1]
    line = next(t for t in text if t.startswith("real"))
    assert "finished" in line and f"{moons_run['test']['accuracy']:.4f}" in line and f"(best {moons_run['best_epoch']})" in line
    assert "diverged" in next(t for t in text if t.startswith("wild"))


def test_runs_of_one_run_folder_and_of_nothing(moons_run, tmp_path):
    out = json.loads(invoke("runs", moons_run["run_dir"], "--json").stdout)
    assert [r["path"] for r in out["runs"]] == [moons_run["run_dir"]]
    empty = invoke("runs", tmp_path)
    assert empty.exit_code == 0 and "no runs" in empty.stderr
    assert invoke("runs", tmp_path / "nowhere").exit_code == 5
