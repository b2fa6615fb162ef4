"""What the sweep tests share: specs, running `nnctl sweep`, and a real Dask cluster on loopback."""

import contextlib
import json
import os
import subprocess
import sys
import time

from click.testing import CliRunner

from nnctl.cli import main

BASE = """\
base:
  seed: 0
  data: {name: moons, n_samples: 200, noise: 0.1}
  model:
    layers:
      - {units: 8, activation: relu}
      - {units: 2, activation: softmax}
  loss: cross_entropy
  optimizer: {name: adam, lr: 0.01}
  training: {epochs: 3, batch_size: 32}
"""

RANDOM = BASE + """\
method: random
trials: 4
seed: 1
metric: val_accuracy
parameters:
  optimizer.lr: {distribution: log_uniform, low: 1.0e-3, high: 0.1}
  model.layers[0].units: {distribution: integer, low: 2, high: 16}
  seed: [0, 1]
output_dir: OUT
"""

def write(tmp_path, text, name="sweep.yaml", out="out"):
    path = tmp_path / name
    path.write_text(text.replace("OUT", str(tmp_path / out)))
    return path


def sweep(*args):
    result = CliRunner().invoke(main, ["sweep", *[str(a) for a in args]])
    assert "Traceback" not in result.output, result.output
    return result


SAME = ("trial", "params", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "checkpoint_epoch", "epochs")


def same_numbers(board):
    return [{k: r[k] for k in SAME} for r in board["leaderboard"]]




@contextlib.contextmanager
def cluster(folder, dashboard=False):
    """A scheduler and two single-threaded worker processes on 127.0.0.1, started as a user would;
    yields (address, {worker pid: its Popen}, dashboard link or None)."""
    dask = [sys.executable, "-m", "dask"]  # the `dask` command, wherever this Python's scripts are
    scheduler_file = folder / "scheduler.json"
    board = ["--dashboard-address", "127.0.0.1:0"] if dashboard else ["--no-dashboard"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", *board,
                               "--scheduler-file", str(scheduler_file)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        address = _scheduler_address(scheduler_file, procs[0])
        for _ in range(2):
            procs.append(subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                           "--host", "127.0.0.1"], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            pids = set(client.run(os.getpid).values())
            link = client.dashboard_link if dashboard else None
        yield address, {proc.pid: proc for proc in procs[1:] if proc.pid in pids}, link
    finally:
        for proc in reversed(procs):
            if proc is procs[0]:
                proc.terminate()
            else:
                proc.kill()  # a worker holds nothing to save: no need to wait for its shutdown
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _scheduler_address(scheduler_file, scheduler, seconds: float = 60) -> str:
    """The address the scheduler writes into its file: the file appears before its JSON is whole,
    so it is read until it parses (or the scheduler exits, or time runs out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and scheduler.poll() is None:
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)
    raise RuntimeError(f"the Dask scheduler wrote no address into {scheduler_file} "
                       f"({'it exited ' + str(scheduler.returncode) if scheduler.poll() is not None else 'timed out'})")
