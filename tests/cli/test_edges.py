"""One rule at the edges of every command: a missing config exits 3, a missing checkpoint (or run
folder) 4, missing data 5; eval and summary take a run folder; check --json on an invalid config;
training.checkpoint best | last; nnctl runs shows regression's scores and the run time."""

import json
import shutil

import pytest
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import api, config
from nnctl.cli import main


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


MISSING_CONFIG = [("train", "{config}"), ("check", "{config}"), ("summary", "{config}"), ("gradcheck", "{config}"),
                  ("lr-find", "{config}"), ("sweep", "{config}")]
MISSING_CHECKPOINT = [("eval", "{checkpoint}"), ("eval", "{folder}"), ("summary", "{checkpoint}"),
                      ("summary", "{folder}"),
                      ("predict", "{checkpoint}", "{data}"),
                      ("export", "{checkpoint}", "--format", "numpy", "-o", "{out}"),
                      ("export", "{folder}", "--format", "numpy", "-o", "{out}"), ("plot", "{folder}"),
                      ("doctor", "{folder}"), ("train", "--resume", "{folder}"), ("runs", "{folder}")]
MISSING_DATA = [("train", "{nodata}"), ("summary", "{nodata}"), ("gradcheck", "{nodata}"), ("lr-find", "{nodata}"),
                ("predict", "{run}/checkpoint.json", "{data}")]


@pytest.mark.parametrize("code,args", [(3, a) for a in MISSING_CONFIG] + [(4, a) for a in MISSING_CHECKPOINT]
                         + [(5, a) for a in MISSING_DATA], ids=lambda v: v if isinstance(v, int) else " ".join(v))
def test_a_missing_file_exits_by_its_kind(code, args, tmp_path, moons_run):
    nodata = tmp_path / "nodata.yaml"
    nodata.write_text(moons_yaml(data={"name": "csv", "path": str(tmp_path / "none.csv"), "target": "y",
                                       "n_samples": None,
                                       "noise": None}))
    names = {"config": tmp_path / "nope.yaml", "checkpoint": tmp_path / "nope.json", "folder": tmp_path / "nope",
             "data": tmp_path / "nope.csv", "out": tmp_path / "out", "nodata": nodata, "run": moons_run["run_dir"]}
    result = invoke(*[a.format(**names) for a in args])
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("error: ") and "nope" in result.stderr or "none.csv" in result.stderr


def test_eval_and_summary_take_a_run_folder_and_eval_is_quiet(moons_run):
    folder = moons_run["run_dir"]
    by_folder = json.loads(invoke("eval", folder, "--json").stdout)
    by_file = json.loads(invoke("eval", moons_run["checkpoint"], "--json").stdout)
    assert by_folder["accuracy"] == by_file["accuracy"] and by_folder["epoch"] == moons_run["checkpoint_epoch"]
    assert by_folder["checkpoint"].endswith("checkpoint.json")
    assert invoke("summary", folder).stdout == invoke("summary", moons_run["checkpoint"]).stdout

    quiet = invoke("eval", folder, "-q", "--assert", "accuracy>0")
    assert quiet.exit_code == 0 and quiet.output == ""
    failed = invoke("eval", folder, "--quiet", "--assert", "accuracy>1")
    assert failed.exit_code == 7 and failed.stdout == "" and failed.stderr.startswith("error: 1 of 1 assertions failed")


def test_eval_which_last_reads_last_json(moons_run):
    last = json.loads(invoke("eval", moons_run["run_dir"], "--which", "last", "--json").stdout)
    assert last["checkpoint"].endswith("last.json") and last["epoch"] == moons_run["epochs"]
    refused = invoke("eval", moons_run["checkpoint"], "--which", "last")
    assert refused.exit_code == 2 and "give the folder" in refused.stderr


def test_check_json_lists_the_errors_of_an_invalid_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(moons_yaml(loss="cross_entropi"))
    result = invoke("check", bad, "--json")
    assert result.exit_code == 3
    out = json.loads(result.stdout)
    assert out["valid"] is False and out["config"] == str(bad)
    error = out["errors"][0]
    assert set(error) == {"file", "line", "key", "message"}
    line = bad.read_text().splitlines().index("loss: cross_entropi") + 1
    assert (error["file"], error["line"], error["key"]) == (str(bad), line, "loss")
    assert "cross_entropy" in error["message"]
    assert invoke("check", tmp_path / "nope.yaml", "--json").exit_code == 3


def test_checkpoint_last_keeps_the_final_epoch(tmp_path):
    path = tmp_path / "moons.yaml"
    path.write_text(moons_yaml(training={"epochs": 6, "checkpoint": "last"}, optimizer={"lr": 0.5}))
    result = json.loads(invoke("train", path, "--run-dir", tmp_path / "run", "--json", "-q", "--no-plots").stdout)
    assert result["checkpoint_epoch"] == 6
    assert api.load_checkpoint(result["checkpoint"]).epoch == 6
    default = config.load(path, ["training.checkpoint=best"])
    assert default.training.checkpoint == "best"
    assert config.load(tmp_path / "run" / "config.yaml").training.checkpoint == "last"
    bad = invoke("check", path, "--set", "training.checkpoint=final")
    assert bad.exit_code == 3 and "training.checkpoint" in bad.stderr


def test_runs_shows_regression_scores_and_run_time(moons_run, tmp_path):
    shutil.copytree(moons_run["run_dir"], tmp_path / "moons")
    run = tmp_path / "diabetes"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "finished", "started": "2026-01-01T10:00:00+00:00",
                                              "finished": "2026-01-01T10:02:05+00:00", "epochs": 2, "best_epoch": 2,
                                              "test": {"loss": 0.5, "mae": 43.1, "rmse": 55.0, "r2": 0.4512, "n": 89}}))
    (run / "metrics.jsonl").write_text("".join(json.dumps({"epoch": e, "train_loss": 1.0, "train_mae": 50.0,
                                                           "val_loss": 0.6,
                                                           "val_mae": 45.0, "val_rmse": 57.0, "val_r2": 0.4}) + "\n"
                                               for e in (1, 2)))
    text = invoke("runs", tmp_path).stdout.splitlines()
    assert text[0].split() == ["run", "started", "status", "epochs", "time", "best", "val_loss", "best", "val", "test"]
    line = next(t for t in text if t.startswith("diabetes"))
    assert "2m05s" in line and "mae 45.0000  r2 0.4000" in line and "mae 43.1000  r2 0.4512" in line
    assert "acc " in next(t for t in text if t.startswith("moons"))
    found = {r["name"]: r for r in json.loads(invoke("runs", tmp_path, "--json").stdout)["runs"]}
    assert found["diabetes"]["task"] == "regression" and found["diabetes"]["duration_seconds"] == 125
    assert found["diabetes"]["best"]["val_r2"] == 0.4 and found["moons"]["task"] == "classification"
