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
    return {"epoch": epoch, "train_loss": 1.0, "train_accuracy": 0.5, "val_loss": val_loss,
            "val_accuracy": val_accuracy}


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
    assert [r["name"] for r in out["runs"]][:3] == ["going", "real", "wild"] and set(runs) == {"going", "real",
                                                                                               "wild", "broken"}
    # best so far: lowest val_loss
    assert runs["going"]["best_epoch"] == 1 and runs["going"]["best"]["val_accuracy"] == 0.8
    real = runs["real"]
    assert real["status"] == "finished" and real["epochs"] == 12 and real["best_epoch"] == moons_run["best_epoch"]
    assert real["test"]["accuracy"] == moons_run["test"]["accuracy"]
    assert runs["broken"]["status"] == "unreadable"

    text = invoke("runs", tmp_path).stdout.splitlines()
    assert text[0].split()[:4] == ["run", "started", "status", "epochs"]
    assert text[1].startswith("going") and "running" in text[1] and "0.8000" in text[1]
    line = next(t for t in text if t.startswith("real"))
    assert "finished" in line and f"{moons_run['test']['accuracy']:.4f}" in line
    assert f"(best {moons_run['best_epoch']})" in line
    assert "diverged" in next(t for t in text if t.startswith("wild"))


def test_runs_of_one_run_folder_and_of_nothing(moons_run, tmp_path):
    out = json.loads(invoke("runs", moons_run["run_dir"], "--json").stdout)
    assert [r["path"] for r in out["runs"]] == [moons_run["run_dir"]]
    empty = invoke("runs", tmp_path)
    assert empty.exit_code == 0 and "no runs" in empty.stderr
    assert invoke("runs", tmp_path / "nowhere").exit_code == 4


def test_one_odd_folder_is_listed_unreadable_and_the_others_shown(moons_run, tmp_path):
    shutil.copytree(moons_run["run_dir"], tmp_path / "real")
    good = {"status": "finished", "started": "2001-01-01T10:00:00+00:00", "epochs": 1}
    odd = {"started-number": ({**good, "started": 12345}, [record(1, 0.5, 0.8)]),
           "status-list": ({**good, "status": ["finished"]}, [record(1, 0.5, 0.8)]),
           "accuracy-text": ({**good, "test": {"accuracy": "high"}}, [record(1, 0.5, 0.8)]),
           "test-list": ({**good, "test": [0.9]}, [record(1, 0.5, 0.8)]),
           "val-loss-text": (good, [record(1, "low", 0.8)]),
           "row-list": (good, [[1, 0.5]]),
           "epochs-text": ({**good, "epochs": "one"}, [record(1, 0.5, 0.8)])}
    for name, (status, history) in odd.items():
        fake_run(tmp_path, name, status, history)
    (tmp_path / "row-not-json").mkdir()
    (tmp_path / "row-not-json" / "run.json").write_text(json.dumps(good))
    (tmp_path / "row-not-json" / "metrics.jsonl").write_text("{oops\n")

    out = json.loads(invoke("runs", tmp_path, "--json").stdout)
    runs = {r["name"]: r for r in out["runs"]}
    assert runs["real"]["status"] == "finished"
    assert {name for name, r in runs.items() if r["status"] == "unreadable"} == set(odd) | {"row-not-json"}
    table = invoke("runs", tmp_path)
    assert table.exit_code == 0, table.output
    assert "finished" in next(t for t in table.stdout.splitlines() if t.startswith("real"))
    assert "unreadable" in next(t for t in table.stdout.splitlines() if t.startswith("started-number"))


def test_names_and_statuses_reach_the_terminal_escaped(tmp_path):
    fake_run(tmp_path, "run\x1b[2J", {"status": "finished\x1b]0;pwned\x07", "started": "2001-01-01T10:00:00"}, [])
    text = invoke("runs", tmp_path).stdout
    assert "\x1b" not in text and "run\\x1b[2J" in text and "finished\\x1b]0;pwned\\x07" in text
