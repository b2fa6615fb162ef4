"""`nnctl track RUN_DIR`: a run folder, finished or stopped, put into MLflow afterwards.

The folder is only read. Its MLflow run is the one run.json names (on the same store), else the
one tagged with the folder's key (nnctl.run_id: its name and start time), else a new one; only
what is missing is added (params, and the metric points by (name, step = epoch)), so replaying
twice, or after a live run that lost its server, a kill -9 or a resume, never duplicates a point.
The summary metrics, tags, files and model are then sent as at the end of a run.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .. import config as config_module
from ..errors import CheckpointError, DataError
from ..files import read_limited
from . import folder as run_folder, lock as folder_lock, mlflow_store
from .mlflow_store import CONNECT_SECONDS, Store, first_line, session
from .mlflow_tracker import epoch_metrics, mlflow_status, params_of, publish, run_key

MAX_RUN_JSON = 1 << 20


def read_folder(path: Path) -> tuple[dict, dict, list[dict]]:
    """(run.json, the resolved config as data, metrics.jsonl's rows): CheckpointError (exit 4) when
    the folder is not a run folder nnctl can read."""
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such run folder")
    try:
        status = json.loads(read_limited(path / "run.json", MAX_RUN_JSON, CheckpointError, "a run", "too big"))
    except ValueError:
        raise CheckpointError(f"{path / 'run.json'}: not JSON") from None
    if not isinstance(status, dict) or not isinstance(status.get("started"), str):
        raise CheckpointError(f"{path / 'run.json'}: not a run.json nnctl writes (no start time)")
    cfg = config_module.load(path / "config.yaml", relative_to=Path.cwd())  # as --resume reads it
    return status, cfg, run_folder.read_metrics(path, CheckpointError, missing_ok=True)


def settled(status: dict) -> dict:
    """run.json's status as MLflow should end the run: a `running` run whose process is gone was
    killed (interrupted); one whose process still runs stays running."""
    if status.get("status") == "running" and not folder_lock.same_process(status):
        return {**status, "status": "interrupted"}
    return status


def replay(run_dir, uri: str | None = None, model_writer=None) -> dict:
    """Put the run folder `run_dir` into MLflow at `uri` (default: where the run logged, else its
    config's store, else MLflow's default); what was sent, as a dict."""
    path = Path(run_dir)
    status, cfg, history = read_folder(path)
    saved = (status.get("tracking") or {}).get("mlflow") or {}
    settings = cfg.run.tracking.mlflow
    uri = uri or saved.get("uri") or (settings.uri if settings is not None else None)
    experiment = saved.get("experiment") or (settings.experiment if settings is not None else None)
    with session(CONNECT_SECONDS):
        store = Store.open(uri, experiment, what="--mlflow")
        try:
            run_id, created = _find_or_create(store, path, status, saved, cfg)
            store.log_params(run_id, params_of(cfg.model_dump(mode="json")))
            logged = store.logged_steps(run_id)
            points = []
            started = _millis(status["started"])
            elapsed = 0.0
            for record in history:
                elapsed += record.get("seconds") or 0.0
                points += epoch_metrics(store, record, started + int(elapsed * 1000), logged)
            store.log_metrics(run_id, points)
            ended = settled(status)
            if ended.get("status") == "running":
                store.set_tags(run_id, {"nnctl.status": "running"})
            else:
                publish(store, run_id, path, ended, history, model_writer if settings is None or settings.log_model
                        else None)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever MLflow raises
            raise DataError(f"MLflow at {store.uri} failed while replaying {path} ({first_line(e)}); run "
                            f"`nnctl track` again: it adds only what is missing") from None
    return {"run_dir": str(path), "uri": store.uri, "experiment": store.experiment_name,
            "experiment_id": store.experiment_id, "run_id": run_id, "created": created,
            "points_added": len(points), "points_present": len(logged), "epochs": len(history),
            "status": ended.get("status"), "mlflow_status": None if ended.get("status") == "running"
            else mlflow_status(ended)}


def _find_or_create(store: Store, path: Path, status: dict, saved: dict, cfg) -> tuple[str, bool]:
    key = run_key(path, status)
    run_id = saved.get("run_id") if saved.get("uri") == store.uri else None
    run_id = run_id if store.run_exists(run_id) else store.find_run(key)
    if run_id is not None:
        return run_id, False
    tags = {**mlflow_store.system_tags(status.get("command")), "nnctl.run_dir": str(path.absolute())}
    parent = cfg.run.tracking.mlflow.parent_run_id if cfg.run.tracking.mlflow is not None else None
    if parent and store.run_exists(parent):
        tags["mlflow.parentRunId"] = parent
    return store.create_run(path.name, key, tags, start_time=_millis(status["started"])), True


def _millis(iso: str) -> int:
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except (TypeError, ValueError):
        raise CheckpointError(f"run.json: started: {iso!r} is not a time") from None
