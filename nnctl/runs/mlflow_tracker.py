"""MLflow tracking: one MLflow run per run folder, logged as training goes and replayed afterwards.

`MlflowTracker` is a training callback: params and system tags when the run starts; each epoch's
numbers kept and sent together, in one request at most every FLUSH_SECONDS (less often when the
store is slow: FLUSH_SHARE) rather than one per epoch; at the end the summary metrics, the
files, the model and the status. A store that fails once
training runs costs one short request: the tracker says so once and is silent afterwards, the
run folder has everything, and `nnctl track RUN_DIR` (replay.py) puts it into MLflow later.
`publish` is that end, shared with the replay; `MlflowParent` is a sweep's parent run.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from datetime import datetime
from pathlib import Path

from .. import __version__
from ..errors import DataError
from ..files import read_limited
from . import mlflow_store
from .mlflow_store import CONNECT_SECONDS, LOGGING_SECONDS, Store, first_line, session
from .tracker import Guarded, flatten, numbers

# run.json's status -> MLflow's run status
MLFLOW_STATUS = {"finished": "FINISHED", "interrupted": "KILLED", "diverged": "FAILED", "failed": "FAILED"}
ARTIFACTS = ("config.yaml", "run.json", "checkpoint.json", "metrics.csv")
MODEL_NAME = "model"  # runs:/<run id>/model
CHECKPOINT_TAG = "nnctl.checkpoint_sha256"
FLUSH_SECONDS = 2.0
# a slow store waits longer between requests: sending takes at most a twentieth of the training time
FLUSH_SHARE = 20
RETRY_SECONDS = 1  # each request ending a run whose store failed: a server that is back answers at once


def run_key(path: Path, status: dict) -> str:
    """What tells this run folder's MLflow run from every other: its name and when it started."""
    return f"{Path(path).name}@{status.get('started')}"


def params_of(config: dict) -> dict[str, str]:
    """The resolved config as MLflow params (`optimizer.lr`, `model.layers.0.units`, ...)."""
    return {mlflow_store.mlflow_key(k): v for k, v in flatten(config).items()}


def epoch_metrics(store: Store, record: dict, timestamp: int, skip=frozenset()) -> list:
    """An epoch's numbers as MLflow metrics at step = the epoch, less the (key, step) in `skip`."""
    step = int(record["epoch"])
    return [store.Metric(mlflow_store.mlflow_key(k), v, timestamp, step) for k, v in numbers(record).items()
            if (mlflow_store.mlflow_key(k), step) not in skip]


def summary(status: dict, history: list[dict]) -> dict[str, float]:
    """The numbers a run is sorted by in the MLflow UI, as `nnctl runs` and the sweep leaderboard
    rank it: the best epoch and its scores (best_val_loss, ...), the epoch checkpoint.json holds and
    its scores (checkpoint_val_loss, ...: the leaderboard's), the test scores (test_accuracy, ...)."""
    out: dict[str, float] = {}
    by_epoch = {r["epoch"]: r for r in history}
    for prefix in ("best", "checkpoint"):
        epoch = status.get(f"{prefix}_epoch")
        if isinstance(epoch, int):
            out[f"{prefix}_epoch"] = epoch
            record = by_epoch.get(epoch, {})
            out.update({f"{prefix}_{k}": v for k, v in numbers(record).items()
                        if k.startswith(("val_", "train_"))})
    out.update({f"test_{k}": v for k, v in numbers(status.get("test") or {}).items() if k != "n"})
    return out


def mlflow_status(status: dict) -> str:
    return MLFLOW_STATUS.get(status.get("status"), "FAILED")


def publish(store: Store, run_id: str, path: Path, status: dict, history: list[dict], model_writer=None) -> None:
    """A run's end in MLflow: summary metrics and tags, the files, the model (a finished run's),
    then the status. Every part can be sent again: it replaces what was there."""
    step = int(history[-1]["epoch"]) if history else 0
    now = int(time.time() * 1000)
    store.log_metrics(run_id, [store.Metric(k, float(v), now, step) for k, v in summary(status, history).items()])
    store.set_tags(run_id, {"nnctl.status": status.get("status"), "nnctl.version": __version__})
    for name in ARTIFACTS:
        if (path / name).is_file() and not (path / name).is_symlink():
            store.client.log_artifact(run_id, str(path / name))
    for png in sorted(path.glob("*.png")):
        if not png.is_symlink():
            store.client.log_artifact(run_id, str(png), "plots")
    if status.get("status") == "finished" and model_writer is not None:
        log_model(store, run_id, path, model_writer, step)
    store.client.set_terminated(run_id, mlflow_status(status), end_time=_millis(status.get("finished")))


def log_model(store: Store, run_id: str, path: Path, model_writer, step: int) -> None:
    """checkpoint.json as the run's MLflow model `model` (a LoggedModel: runs:/<id>/model, the Model
    Registry and `mlflow models serve` find it). `model_writer(checkpoint, folder, mlflow_model)`
    writes the model's folder. One model per checkpoint: logged again only when the checkpoint changed."""
    import hashlib

    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.models import Model

    checkpoint = path / "checkpoint.json"
    sha256 = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    client = store.client
    for old in client.search_logged_models([store.experiment_id], filter_string=f"name = '{MODEL_NAME}'"):
        if old.source_run_id == run_id:
            if old.tags.get(CHECKPOINT_TAG) == sha256 and str(old.status) == str(LoggedModelStatus.READY):
                return
            client.delete_logged_model(old.model_id)  # another checkpoint's (a resumed run's earlier one)
    model = client.create_logged_model(store.experiment_id, name=MODEL_NAME, source_run_id=run_id,
                                       tags={CHECKPOINT_TAG: sha256}, model_type="nnctl")
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step)])
    with tempfile.TemporaryDirectory(prefix="nnctl-mlflow-") as tmp:
        folder = Path(tmp) / MODEL_NAME
        model_writer(checkpoint, folder, Model(artifact_path=model.artifact_location, model_uuid=model.model_id,
                                               run_id=run_id, model_id=model.model_id))
        client.log_model_artifacts(model.model_id, str(folder))
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)


def _millis(iso: str | None) -> int | None:
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


class MlflowTracker(Guarded):
    """One MLflow run per run folder (a resumed run continues it: its id is in run.json)."""

    label = "MLflow tracking"
    afterwards = "; once the store is back, `nnctl track RUN_DIR` logs what is missing"

    def __init__(self, cfg, run, settings, model_writer=None):
        super().__init__(run)
        self.model_writer = model_writer if settings.log_model else None
        self.pending, self.logged = [], set()
        with session(CONNECT_SECONDS):
            self.store = Store.open(settings.uri, settings.experiment)
            self.run_id = self._run(cfg, run, settings.parent_run_id)
        self.flushed, self.interval = time.monotonic(), FLUSH_SECONDS
        run.status["tracking"] = {**(run.status.get("tracking") or {}), "mlflow": {
            "uri": self.store.uri, "experiment": self.store.experiment_name,
            "experiment_id": self.store.experiment_id, "run_id": self.run_id}}

    def _run(self, cfg, run, parent_run_id) -> str:
        """The run's MLflow run: the one run.json names, or the one tagged with the folder's key, else a
        new one; with the params, and with the epochs already in the folder (a resumed run) that it lacks."""
        store, key = self.store, run_key(run.path, run.status)
        saved = (run.status.get("tracking") or {}).get("mlflow") or {}
        try:
            run_id = saved.get("run_id") if saved.get("uri") == store.uri else None
            run_id = run_id if store.run_exists(run_id) else store.find_run(key)
            if run_id is None:
                tags = mlflow_store.system_tags(run.status.get("command"))
                tags["nnctl.run_dir"] = str(run.path.absolute())
                if parent_run_id:
                    tags["mlflow.parentRunId"] = parent_run_id  # how MLflow nests a run under another
                run_id = store.create_run(run.path.name, key, tags)
            else:
                store.client.update_run(run_id, status="RUNNING")
                self.logged = store.logged_steps(run_id)
        except Exception as e:  # noqa: BLE001 - whatever MLflow raises: the store is not usable
            raise DataError(f"the MLflow tracking store {store.uri} cannot be used ({first_line(e)}): "
                            f"start it, fix run.tracking.mlflow.uri, or train without --mlflow") from None
        try:
            store.log_params(run_id, params_of(cfg.model_dump(mode="json")))
            if run.history:
                now = int(time.time() * 1000)
                store.log_metrics(run_id, [m for r in run.history for m in epoch_metrics(store, r, now, self.logged)])
        except BaseException as e:  # the MLflow run exists: it ends FAILED, never left RUNNING
            try:
                store.client.set_terminated(run_id, "FAILED")
            except Exception:  # noqa: BLE001, S110 - the store failed already: its error is the one to say
                pass
            if isinstance(e, Exception) and not isinstance(e, DataError):
                raise DataError(f"the MLflow tracking store {store.uri} cannot be used ({first_line(e)})") from None
            raise
        return run_id

    def on_epoch_end(self, record):
        if not self.broken:
            self.pending += epoch_metrics(self.store, record, int(time.time() * 1000), self.logged)
            if time.monotonic() - self.flushed >= self.interval:
                self.flush()
        return False

    def flush(self) -> None:
        """Send the epochs kept since the last request, in one log_batch (MLflow's 1000 metrics each)."""
        started = time.monotonic()
        with session(LOGGING_SECONDS), self.guarded() as ok:
            if ok and self.pending:
                self.store.log_metrics(self.run_id, self.pending)
        self.pending, self.flushed = [], time.monotonic()
        self.interval = max(FLUSH_SECONDS, FLUSH_SHARE * (self.flushed - started))

    def describe(self, error: Exception) -> str:
        return f"{self.store.uri}: {first_line(error)}"

    def end(self, run) -> None:
        self.flush()
        with session(LOGGING_SECONDS), self.guarded() as ok:
            if ok:
                publish(self.store, self.run_id, run.path, run.status, run.history, self.model_writer)
                return
        # the store failed earlier: end the run FAILED if it is back by now; still unreachable: said once already
        with session(RETRY_SECONDS), contextlib.suppress(Exception):
            self.store.set_tags(self.run_id, {"nnctl.status": run.status.get("status"),
                                              "nnctl.tracking": "incomplete: nnctl track RUN_DIR completes it"})
            self.store.client.set_terminated(self.run_id, "KILLED" if run.status.get("status") == "interrupted"
                                             else "FAILED")


class MlflowParent:
    """A sweep's parent MLflow run: its trials' runs are nested under it (tag mlflow.parentRunId)."""

    def __init__(self, uri: str | None, experiment: str | None, name: str, params: dict):
        with session(CONNECT_SECONDS):
            self.store = Store.open(uri, experiment, what="the base config's run.tracking.mlflow.uri")
            try:
                self.run_id = self.store.create_run(name, f"sweep:{name}@{datetime.now().isoformat()}",
                                                    {**mlflow_store.system_tags(None), "nnctl.sweep": name})
            except Exception as e:  # noqa: BLE001
                raise DataError(f"the MLflow tracking store {self.store.uri} cannot be used "
                                             f"({first_line(e)}): start it, fix the base config's "
                                             f"run.tracking.mlflow.uri, or remove it") from None
            self.uri = self.store.uri
            try:
                self.store.log_params(self.run_id, {mlflow_store.mlflow_key(k): v for k, v in flatten(params).items()})
            except BaseException:
                self.end("FAILED")
                raise

    def end(self, status: str, board: dict | None = None) -> None:
        """FINISHED, FAILED or KILLED, with the best trial and its value (`best_<metric>`, tags
        nnctl.best_trial, nnctl.best_run_id); an error here is reported, never raised."""
        import sys

        with session(LOGGING_SECONDS):
            try:
                best = (board or {}).get("best")
                if best is not None:
                    metric = board["metric"]
                    self.store.log_metrics(self.run_id, [self.store.Metric(
                        f"best_{metric}", float(best[metric]), int(time.time() * 1000), 0)])
                    self.store.set_tags(self.run_id, {"nnctl.best_trial": best["trial"],
                                                      **_trial_run_id(best.get("run_dir"), self.uri)})
                if board is not None:
                    self.store.set_tags(self.run_id, {"nnctl.trials": board["trials"],
                                                      "nnctl.trials_finished": board["finished"]})
                self.store.client.set_terminated(self.run_id, status)
            except Exception as e:  # noqa: BLE001
                print(f"nnctl: MLflow tracking failed ({first_line(e)}); the sweep folder has everything",
                      file=sys.stderr)


def _trial_run_id(run_dir: str | None, uri: str) -> dict[str, str]:
    """{"nnctl.best_run_id": id} of a trial's MLflow run, from its run.json (nothing if it has none)."""
    import json

    try:
        text = read_limited(Path(run_dir) / "run.json", 1 << 20, DataError, "a trial's run.json", "too big")
        saved = json.loads(text)["tracking"]["mlflow"]
        return {"nnctl.best_run_id": saved["run_id"]} if saved.get("uri") == uri else {}
    except (DataError, ValueError, KeyError, TypeError):
        return {}
