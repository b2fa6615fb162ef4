"""One trial in its folder (nnctl.sweep.trials through runner.run_trial): a killed or interrupted
trial continues from its last.json, a failed one starts again, and a folder another process still
writes is never touched."""

import functools
import json
import signal

import pytest
import yaml
from helpers.moons import moons_yaml

from nnctl import api, config
from nnctl.runs import lock as folder_lock
from nnctl.sweep.runner import run_trial

TRIAL = config.from_dict(yaml.safe_load(moons_yaml(data={"n_samples": 100},
                                                   training={"epochs": 4, "save_interval": 0})))


def trial_config(folder) -> dict:
    return {**TRIAL.model_dump(mode="json"), "run": {"name": "t", "output_dir": str(folder)}}


@pytest.fixture(autouse=True)
def no_plots(monkeypatch):
    """Trials draw their plots; these tests need none (matplotlib costs a second)."""
    monkeypatch.setattr(api, "train", functools.partial(api.train, plots=False))
    monkeypatch.setattr(api, "resume", functools.partial(api.resume, plots=False))


def stop_in_epoch_3():
    """A stop() that asks for SIGINT in the third epoch: it is asked before each epoch and after
    each of its 3 batches (72 training rows in batches of 32)."""
    asked = []

    def stop() -> int:
        asked.append(1)
        return int(signal.SIGINT) if len(asked) > 9 else 0
    return stop


def test_an_interrupted_trial_continues_from_its_last_json_to_the_same_bits(tmp_path):
    path = tmp_path / "trial"
    first = run_trial("t", trial_config(tmp_path), str(path), stop=stop_in_epoch_3())
    assert first["status"] == "interrupted" and first["exit_code"] == 130
    assert json.loads((path / "last.json").read_text())["epoch"] < 4  # stopped part-way, its position saved
    again = run_trial("t", trial_config(tmp_path), str(path))
    assert again["status"] == "finished" and again["resumed"] and not again["reused"]
    assert json.loads((path / "run.json").read_text())["resumes"][0]["previous_status"] == "interrupted"
    alone = api.train(config.from_dict(trial_config(tmp_path / "alone")), run_dir=tmp_path / "alone", plots=False)
    state = json.loads((path / "checkpoint.json").read_text())["state"]
    assert state == json.loads((tmp_path / "alone" / "checkpoint.json").read_text())["state"]
    assert alone["epochs"] == again["epochs"] == 4


def test_a_failed_trial_starts_again_from_nothing(tmp_path):
    path = tmp_path / "trial"
    path.mkdir()
    (path / "run.json").write_text(json.dumps({"status": "failed"}))
    (path / "leftover.txt").write_text("from the failed run")
    result = run_trial("t", trial_config(tmp_path), str(path))
    assert result["status"] == "finished" and not result["resumed"]
    assert not (path / "leftover.txt").exists()


def test_a_folder_another_process_writes_is_left_alone(tmp_path):
    """A rerun of a trial whose folder is still locked (Dask gave up on a worker that still
    trains it) records the trial as failed and changes nothing in the folder."""
    path = tmp_path / "trial"
    path.mkdir()
    (path / "run.json").write_text(json.dumps({"status": "running"}))
    (path / "metrics.jsonl").write_text("the live writer's\n")
    with folder_lock.acquire(path):  # as the live writer holds it (another open file: refused here too)
        result = run_trial("t", trial_config(tmp_path), str(path))
        assert result["status"] == "failed" and "another nnctl process" in result["error"]
        assert sorted(p.name for p in path.iterdir()) == [".lock", "metrics.jsonl", "run.json"]
        assert (path / "metrics.jsonl").read_text() == "the live writer's\n"
