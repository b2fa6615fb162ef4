"""Running a sweep: every trial is an ordinary run folder inside the sweep folder.

Trials run one after another (jobs=1), in separate processes through joblib's loky backend
(jobs=N), or on a Dask distributed cluster (scheduler="tcp://host:port"). Each trial is limited
to one BLAS thread, so parallel trials do not fight over cores and give the same numbers
everywhere. A trial whose folder says `finished` is not run again; an interrupted or killed one
continues from its last.json; a failed one is run again from nothing (trials.py).
"""

from __future__ import annotations

import csv
import io
import json
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

from ..engine.metric_names import names
from ..errors import Interrupted, NnctlError, RunBusy, TrainingDiverged, WriteError
from ..files import atomic_write, strict_json
from ..runs import lock as folder_lock
from ..runs.folder import read_member, read_metrics
from . import cluster, spec as sweep_spec, trials as trial_folder  # `trials`: the sweep's list, below

METRICS = [*names("val"), *names("test")]  # a run has the ones of its task
HEAD, TAIL = ["rank", "trial", "status"], ["checkpoint_epoch", "epochs", "seconds", "run_dir", "error"]
LOCK = "sweep.lock"


def run_trial(trial_id: str, config_data: dict, run_dir: str, stop=None) -> dict:
    """Train one trial into `run_dir` (continuing a killed run's last.json), or read its result
    if it finished before. Runs in a worker; `stop()` as api.train takes it.

    Never raises for a failing trial: the error is returned, so one failure does not stop a sweep.
    """
    from threadpoolctl import threadpool_limits

    path = Path(run_dir)
    done = read_result(path)
    if done is not None:
        return {**done, "trial": trial_id, "reused": True}
    from .. import config

    how = None
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            how = trial_folder.train(config.from_dict(config_data, f"trial {trial_id}"), path, stop)
        result = read_result(path)
        if result is None:
            raise WriteError(f"{path}: the trial finished but its run folder cannot be read back")
    except Exception as e:  # noqa: BLE001 - recorded, not raised: one trial's failure does not stop the others
        status = ("diverged" if isinstance(e, TrainingDiverged) else "interrupted" if isinstance(e, Interrupted)
                  else "failed")
        ours = isinstance(e, NnctlError)
        result = {"status": status, "error": str(e) if ours else f"{type(e).__name__}: {e}",
                  "exit_code": e.exit_code if ours else 1, "run_dir": str(path)}
    return {**result, "trial": trial_id, "reused": False, "resumed": how == "resumed"}


def read_result(path: Path) -> dict | None:
    """A finished trial's scores from its run folder: the metrics of its best epoch and its test scores."""
    try:
        status = json.loads(read_member(path, "run.json"))  # capped, never through a link
        if status.get("status") != "finished" or not (path / "checkpoint.json").is_file():
            return None
        history = read_metrics(path)
        epoch = status.get("checkpoint_epoch", status["best_epoch"])  # the epoch checkpoint.json holds
        record = next(r for r in history if r["epoch"] == epoch)
        test = status.get("test") or {}
        scores = {k: record[k] for k in METRICS if k in record} | {f"test_{k}": v for k, v in test.items()
                                                                    if f"test_{k}" in METRICS}
        return {"status": "finished", **scores, "checkpoint_epoch": epoch, "epochs": len(history),
                "seconds": round(sum(r["seconds"] for r in history), 3), "run_dir": str(path), "exit_code": 0}
    except (NnctlError, OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration):
        return None  # not a finished trial's folder: run it again


# ---------------------------------------------------------------- executors


def _serial(tasks):
    for task in tasks:
        yield run_trial(*task)


def _loky(tasks, jobs: int, trial=run_trial):
    from concurrent.futures import BrokenExecutor

    from joblib import Parallel, delayed

    try:
        yield from Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")(
            delayed(trial)(*task) for task in tasks)
    except BrokenExecutor as e:  # a worker killed from outside (out of memory, a signal): the sweep cannot go on
        raise NnctlError(f"a trial's worker process died ({type(e).__name__}); the finished trials are kept: "
                         "run the same sweep again to resume") from None


# ---------------------------------------------------------------- the sweep


def run(sweep: sweep_spec.Sweep, *, jobs: int = 1, scheduler: str | None = None, on_result=None) -> dict:
    """Run every trial not yet finished; write the resolved spec and the leaderboard; return the leaderboard.

    `on_result(row, done, total)` is called as each trial ends. The leaderboard files are rewritten
    after every trial, so a killed sweep leaves a correct one behind.
    """
    trials, invalid = sweep.trials()
    folder = sweep.folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"{folder}: cannot create the sweep folder: {e.strerror or e}") from None
    with _lock(folder):
        atomic_write(folder / "sweep.yaml", yaml.safe_dump(resolved_spec(sweep), sort_keys=False))
        parent = _mlflow_parent(sweep, trials)
        results: dict[str, dict] = {}
        try:
            tasks = [(t.id, _nested(t.config, parent), str(folder / t.id)) for t in trials]
            board = _run(sweep, trials, invalid, tasks, results, jobs, scheduler, on_result)
        except BaseException as e:  # whatever fails once the parent run exists ends it, never left RUNNING
            if parent is not None:
                parent.end("KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED",
                           leaderboard(sweep, trials, invalid, results))
            raise
        if parent is not None:
            parent.end("FINISHED" if board["finished"] else "FAILED", board)
    return board


def _mlflow_parent(sweep: sweep_spec.Sweep, trials: list):
    """The sweep's parent MLflow run when the base config logs to MLflow (else None): named after
    the sweep, with the spec's parameters as params. Raises before any trial when it cannot be used."""
    mlflow = ((trials[0].config.get("run") or {}).get("tracking") or {}).get("mlflow") if trials else None
    if not mlflow:
        return None
    from ..runs.mlflow_tracker import MlflowParent

    params = {key: strict_json(value) for key, value in sweep.spec.parameters.items()}  # optimizer.lr: [0.01, 0.1]
    return MlflowParent(mlflow.get("uri"), mlflow.get("experiment"), sweep.spec.name, params)


def _nested(config_data: dict, parent) -> dict:
    """A trial's config whose MLflow run is nested under the parent run: the id travels with the
    config, so trials in other processes (loky, Dask) nest the same way."""
    if parent is None:
        return config_data
    run = config_data["run"]
    mlflow = {**run["tracking"]["mlflow"], "parent_run_id": parent.run_id}
    return {**config_data, "run": {**run, "tracking": {**run["tracking"], "mlflow": mlflow}}}


def _run(sweep, trials, invalid, tasks, results, jobs, scheduler, on_result) -> dict:
    """Run the tasks, rewriting the leaderboard as each trial ends; the final leaderboard."""
    folder = sweep.folder
    started = time.perf_counter()
    if scheduler:
        stream = cluster.run(tasks, scheduler, run_trial, sweep.spec.name)
    elif jobs > 1 and len(tasks) > 1:
        stream = _loky(tasks, min(jobs, len(tasks)))
    else:
        stream = _serial(tasks)
    board = leaderboard(sweep, trials, invalid, results)
    write_leaderboard(folder, board)
    for result in stream:
        results[result["trial"]] = result
        board = leaderboard(sweep, trials, invalid, results)
        write_leaderboard(folder, board)
        if on_result is not None:
            row = next(r for r in board["leaderboard"] if r["trial"] == result["trial"])
            on_result(row, len(results), len(tasks))
    board["seconds"] = round(time.perf_counter() - started, 3)
    write_leaderboard(folder, board)
    return board


@contextmanager
def _lock(folder: Path):
    """One sweep at a time per folder: a second one would restart the trials the first is running.
    The run folders' flock (nnctl.runs.lock) on `sweep.lock`: the kernel drops it with its process,
    so a sweep killed at any point (even between creating the file and writing it) leaves no lock."""
    try:
        lock = folder_lock.acquire(folder, LOCK)
    except RunBusy as e:
        who = f" ({e.holder})" if getattr(e, "holder", "") else ""
        raise RunBusy(f"{folder / LOCK}: another sweep{who} is running in this folder; wait for it to end, "
                      "or stop it (Ctrl-C)") from None
    with lock:
        yield


def resolved_spec(sweep: sweep_spec.Sweep) -> dict:
    """The spec with every default filled in and the base inlined, so the sweep folder says everything."""
    spec = sweep.spec.model_dump(mode="json")
    spec.update(base=sweep.base, output_dir=str(sweep.folder.parent))
    return spec


def leaderboard(sweep: sweep_spec.Sweep, trials: list, invalid: list, results: dict) -> dict:
    """Finished trials best first by the spec's metric, then failed, invalid and not yet run ones."""
    metric, sign = sweep.spec.metric, (1 if sweep.spec.mode == "min" else -1)
    present = {k for r in results.values() for k, v in r.items() if v is not None}
    metrics = [k for k in METRICS if k in present or k in ("val_loss", metric)]
    rows = []
    for t in trials:
        result = results.get(t.id, {"status": "pending", "run_dir": str(sweep.folder / t.id)})
        rows.append({"rank": None, "trial": t.id, "status": result["status"], "params": t.params,
                     **{k: result.get(k) for k in metrics + TAIL}, "reused": result.get("reused", False),
                     "resumed": result.get("resumed", False), "exit_code": result.get("exit_code"), "_index": t.index})
    rows += [{"rank": None, "trial": None, "status": "invalid", "params": bad["params"],
              **{k: None for k in metrics + TAIL}, "error": bad["error"], "reused": False, "resumed": False,
              "exit_code": 3,
              "_index": len(trials) + i} for i, bad in enumerate(invalid)]
    order = {"finished": 0, "diverged": 1, "failed": 1, "interrupted": 1, "invalid": 2, "pending": 3}

    def rank_key(row):
        value = row[metric] if row["status"] == "finished" else None
        return order[row["status"]], value is None, sign * value if value is not None else 0.0, row["_index"]

    rows.sort(key=rank_key)
    rank = 0
    for row in rows:
        del row["_index"]
        if row["status"] == "finished":
            rank += 1
            row["rank"] = rank
    count = {s: sum(r["status"] == s for r in rows) for s in order}
    return {"sweep_dir": str(sweep.folder), "method": sweep.spec.method, "metric": metric, "mode": sweep.spec.mode,
            "parameters": list(sweep.space), "metrics": metrics, "trials": len(rows), **count,
            "ran": sum(1 for r in results.values() if not r.get("reused")),
            "reused": sum(1 for r in results.values() if r.get("reused")),
            "best": rows[0] if rows and rows[0]["rank"] == 1 else None, "leaderboard": rows}


def write_leaderboard(folder: Path, board: dict) -> None:
    """leaderboard.json (the object `--json` prints) and leaderboard.csv (one column per parameter)."""
    atomic_write(folder / "leaderboard.json", strict_json(board, indent=2) + "\n")
    buffer = io.StringIO()
    columns = HEAD + board["parameters"] + board["metrics"] + TAIL
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in board["leaderboard"]:
        flat = {**{k: row[k] for k in HEAD + board["metrics"] + TAIL},
                **{k: strict_json(v) if isinstance(v, (dict, list)) else v for k, v in row["params"].items()}}
        writer.writerow({k: "" if flat.get(k) is None else flat[k] for k in columns})
    atomic_write(folder / "leaderboard.csv", buffer.getvalue())


def exit_code(board: dict) -> int:
    """0 when at least one trial finished; otherwise the first failure's exit code."""
    if board["finished"]:
        return 0
    failed = [r for r in board["leaderboard"] if r["exit_code"]]
    return failed[0]["exit_code"] if failed else 1
