"""Sweeps on a real Dask cluster (a scheduler and two worker processes on loopback): a trial of a
killed worker continues from its last.json, Ctrl-C stops every running trial, the dashboard runs."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import tomllib
from helpers.sweeps import RANDOM, cluster, same_numbers, sweep, write
from threadpoolctl import threadpool_limits

from nnctl import api, config
from nnctl.runs import lock as folder_lock
from nnctl.sweep import cluster as sweep_cluster

pytestmark = pytest.mark.slow  # real processes: not in the fast tier

ROOT = Path(__file__).resolve().parents[2]
# two trials long enough to be caught mid-run, saving every epoch (a last.json to continue from)
LONG = """\
base:
  seed: 0
  data: {name: moons, n_samples: SAMPLES, noise: 0.1}
  model:
    layers:
      - {units: 8, activation: relu}
      - {units: 2, activation: softmax}
  loss: cross_entropy
  optimizer: {name: adam, lr: 0.01}
  training: {epochs: EPOCHS, batch_size: 32, save_interval: 0}
parameters:
  optimizer.lr: [0.003, 0.03]
output_dir: OUT
"""


def start_sweep(tmp_path, address, epochs: int, samples: int = 200):
    """`nnctl sweep --scheduler` as a user starts it, in its own process; (process, sweep folder)."""
    spec = tmp_path / "long.yaml"
    text = LONG.replace("EPOCHS", str(epochs)).replace("SAMPLES", str(samples))
    spec.write_text(text.replace("OUT", str(tmp_path / "out")))
    process = subprocess.Popen([sys.executable, "-m", "nnctl.cli", "sweep", str(spec), "--scheduler", address, "--json",
                                "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, tmp_path / "out" / "long"


def wait_for_epochs(folder: Path, epoch: int, count: int, process, timeout: float = 120) -> list[Path]:
    """The first `count` trial folders whose last.json holds `epoch` or later."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for last in folder.glob("*/last.json"):
            try:
                if json.loads(last.read_text())["epoch"] >= epoch:
                    found.append(last.parent)
            except (OSError, ValueError, KeyError):
                pass
        if len(found) >= count:
            return sorted(found)
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {count} trials reached epoch {epoch} in {timeout} s")


def weights(run: Path) -> dict:
    return json.loads((run / "checkpoint.json").read_text())["state"]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """One loopback cluster, with its dashboard, for the tests that leave its workers alive."""
    with cluster(tmp_path_factory.mktemp("dask"), dashboard=importlib.util.find_spec("bokeh") is not None) as found:
        yield found


def test_a_dask_cluster_runs_the_sweep_and_matches_the_local_run(dask_cluster, tmp_path):
    address, workers, _ = dask_cluster
    assert address.startswith("tcp://127.0.0.1:") and len(workers) == 2
    result = sweep(write(tmp_path, RANDOM, out="dask"), "--scheduler", address, "--json", "-q")
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    local = json.loads(sweep(write(tmp_path, RANDOM, name="local.yaml", out="local"), "--json", "-q").stdout)
    assert board["finished"] == board["ran"] == local["finished"]
    # the same trials (same ids) with the same numbers, to the last bit
    assert same_numbers(board) == same_numbers(local)
    # and they ran on the workers, not here
    ran_on = {json.loads((Path(r["run_dir"]) / "run.json").read_text())["pid"] for r in board["leaderboard"]}
    assert ran_on <= set(workers) and os.getpid() not in ran_on
    # each task was named after its trial: the dashboard groups them as `<sweep>-trial`
    from distributed import Client

    with Client(address, timeout="30s") as client:
        def transitioned(dask_scheduler):
            return sorted({str(t[0]) for t in dask_scheduler.transition_log})
        keys = client.run_on_scheduler(transitioned)
    for row in board["leaderboard"]:
        assert sum(k.startswith(f"sweep-trial-{row['trial']}-") for k in keys) == 1, keys


def test_a_trial_on_a_killed_worker_continues_from_its_last_json(tmp_path):
    with cluster(tmp_path) as (address, workers, _):
        process, folder = start_sweep(tmp_path, address, epochs=40, samples=50_000)  # not over before the kill
        try:
            victim = wait_for_epochs(folder, 3, 1, process)[0]
            pid = json.loads((victim / "run.json").read_text())["pid"]
            assert pid in workers  # a worker process trains it
            workers[pid].kill()  # SIGKILL
            workers[pid].wait()  # reaped, as its parent (a shell, a nanny) would: no zombie left to look alive
            out, err = process.communicate(timeout=300)
        finally:
            process.kill()
    assert process.returncode == 0, err
    board = json.loads(out)
    assert board["finished"] == board["trials"] == 2
    rows = {row["trial"]: row for row in board["leaderboard"]}
    assert rows[victim.name]["resumed"] and not any(r["resumed"] for t, r in rows.items() if t != victim.name)
    status = json.loads((victim / "run.json").read_text())
    assert len(status["resumes"]) == 1 and status["resumes"][0]["previous_status"] == "running"
    assert status["pid"] != pid and status["pid"] in workers  # continued by the other worker
    epochs = [json.loads(line)["epoch"] for line in (victim / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 41))
    # the same weights as the trial left alone, to the last bit
    cfg = config.load(victim / "config.yaml")
    with threadpool_limits(limits=1, user_api="blas"):
        api.train(cfg, run_dir=tmp_path / "alone", plots=False)
    assert weights(victim) == weights(tmp_path / "alone")


def test_ctrl_c_stops_every_running_trial_and_the_next_run_continues_them(dask_cluster, tmp_path):
    address, _workers, _ = dask_cluster
    # epochs long enough (~0.2 s each, 60 of them) that the trials are still running when Ctrl-C reaches them
    process, folder = start_sweep(tmp_path, address, epochs=60, samples=100_000)
    try:
        running = wait_for_epochs(folder, 2, 2, process)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    for run in running:
        status = json.loads((run / "run.json").read_text())
        assert status["status"] == "interrupted", status  # stopped after a batch, its last.json saved
        before = (run / "last.json").stat().st_mtime_ns
        folder_lock.acquire(run).release()  # and no worker holds its folder any more
        assert json.loads((run / "last.json").read_text())["epoch"] < 60
        time.sleep(0.2)  # a trial still running would save its last.json every epoch meanwhile
        assert (run / "last.json").stat().st_mtime_ns == before
    board = json.loads((folder / "leaderboard.json").read_text())
    assert {r["status"] for r in board["leaderboard"]} == {"interrupted"}
    again = subprocess.run([sys.executable, "-m", "nnctl.cli", "sweep", str(tmp_path / "long.yaml"), "--scheduler",
                            address, "--json", "-q"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert rerun["finished"] == 2 and all(r["resumed"] for r in rerun["leaderboard"])


def test_the_dashboard_runs_with_what_nnctl_dask_installs(dask_cluster):
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any("diagnostics" in r for r in extras["dask"]) and any("diagnostics" in r for r in extras["test"])
    if importlib.util.find_spec("bokeh") is None:
        pytest.skip("bokeh is not installed here: pip install -e '.[dask]'")
    _, _, link = dask_cluster
    with urllib.request.urlopen(link, timeout=30) as page:
        assert page.status == 200 and b"Dask" in page.read()


def test_task_keys_name_the_trial_and_group_by_sweep():
    from dask.utils import key_split

    key = sweep_cluster.task_key("sweep_moons", "3fa2c1d9e0b4", "1a2b3c4d")
    assert key == "sweep_moons-trial-3fa2c1d9e0b4-1a2b3c4d" and key_split(key) == "sweep_moons-trial"
