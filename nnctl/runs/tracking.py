"""Experiment trackers as training callbacks: MLflow and TensorBoard (optional extras).

    trackers = start(cfg, run, model)   # before training: MissingDependency / DataError (exit 5) when unusable
    ... fit(callbacks=[..., *trackers]) ...
    end(trackers, run)           # test scores, status, artifacts

The run folder stays the source of truth: a tracker that fails once training has started reports
it once on stderr and is silent afterwards; training goes on.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from ..engine.callbacks import Callback
from ..errors import DataError, MissingDependency, WriteError
from ..files import NO_LINK

# run.json's status -> MLflow's run status
MLFLOW_STATUS = {"finished": "FINISHED", "interrupted": "KILLED", "diverged": "FAILED", "failed": "FAILED"}
ARTIFACTS = ("config.yaml", "run.json", "checkpoint.json", "metrics.csv")


def start(cfg, run, model=None) -> list[Callback]:
    """The trackers `cfg.run.tracking` asks for, each connected (raises before training starts).
    `model`: TensorBoard draws its weights and gradients once per epoch."""
    tracking = cfg.run.tracking
    trackers: list[Callback] = []
    if tracking.mlflow is not None:
        trackers.append(MlflowTracker(cfg, run, tracking.mlflow.uri, tracking.mlflow.experiment,
                                      tracking.mlflow.parent_run_id))
    if tracking.tensorboard:
        trackers.append(TensorBoardTracker(run, model))
    return trackers


def end(trackers, run) -> None:
    """Close every tracker with the run's outcome (run.json's status and test scores)."""
    for tracker in trackers:
        tracker.end(run)


def _numbers(record: dict) -> dict[str, float]:
    """An epoch record's finite numbers (the epoch itself is the step)."""
    return {k: float(v) for k, v in record.items() if k != "epoch" and isinstance(v, (int, float))
            and not isinstance(v, bool) and math.isfinite(v)}


def flatten(value, prefix: str = "") -> dict[str, str]:
    """A nested config as dotted keys (list items by index): MLflow's params."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(value, (list, tuple)):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}{i}."))
        return out
    return {prefix[:-1]: str(value)}


class _Guarded(Callback):
    """A tracker's hooks: once one fails mid-run, say so once on stderr and do nothing more."""

    label = "tracker"

    def __init__(self):
        self.broken = False

    @contextlib.contextmanager
    def guarded(self):
        if self.broken:
            yield False
            return
        try:
            yield True
        except Exception as e:  # noqa: BLE001 - a tracker never stops training
            self.broken = True
            print(f"nnctl: {self.label} failed ({type(e).__name__}: {e}); training goes on without it "
                  f"(the run folder has everything)", file=sys.stderr)


@contextlib.contextmanager
def _quiet():
    """MLflow's own dependencies warn (SQLAlchemy deprecations): not nnctl's warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def default_mlflow_uri() -> str:
    """MLFLOW_TRACKING_URI, else a SQLite store in the working folder (MLflow 3 refuses a plain
    ./mlruns file store by default)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlruns.db'}"


class MlflowTracker(_Guarded):
    """One MLflow run per nnctl run (a resumed run continues it: its id is in run.json)."""

    label = "MLflow tracking"

    def __init__(self, cfg, run, uri: str | None, experiment: str, parent_run_id: str | None = None):
        super().__init__()
        try:
            with _quiet():
                from mlflow import MlflowClient
                from mlflow.entities import Metric, Param, RunTag
        except ImportError:
            raise MissingDependency("run.tracking.mlflow needs MLflow: pip install 'nnctl[mlflow]'") from None
        self.Metric, self.Param, self.RunTag = Metric, Param, RunTag
        self.uri = uri or default_mlflow_uri()
        saved = (run.status.get("tracking") or {}).get("mlflow") or {}
        try:
            with _quiet(), _fail_fast():
                self.client = MlflowClient(tracking_uri=self.uri)
                found = self.client.get_experiment_by_name(experiment)
                experiment_id = found.experiment_id if found is not None else self.client.create_experiment(experiment)
                if saved.get("run_id") and saved.get("uri") == self.uri:
                    self.run_id = saved["run_id"]
                    self.client.update_run(self.run_id, status="RUNNING")
                else:
                    tags = {"nnctl.version": __version__, "nnctl.run_dir": str(run.path.absolute())}
                    if parent_run_id:
                        tags["mlflow.parentRunId"] = parent_run_id  # how MLflow nests a run under another
                    created = self.client.create_run(experiment_id, run_name=run.path.name, tags=tags)
                    self.run_id = created.info.run_id
                    self._params(cfg)
        except Exception as e:  # noqa: BLE001 - whatever MLflow raises: the store is not usable
            raise DataError(f"the MLflow tracking store {self.uri} cannot be used ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}): start it, fix run.tracking.mlflow.uri, "
                            f"or train without --mlflow") from None
        run.status["tracking"] = {**(run.status.get("tracking") or {}),
                                  "mlflow": {"uri": self.uri, "experiment": experiment, "run_id": self.run_id}}

    def _params(self, cfg) -> None:
        params = [self.Param(k[:250], v[:6000]) for k, v in flatten(cfg.model_dump(mode="json")).items()]
        for i in range(0, len(params), 100):
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def on_epoch_end(self, record):
        with self.guarded() as ok, _quiet():
            if ok:
                now = int(time.time() * 1000)
                metrics = [self.Metric(k, v, now, int(record["epoch"])) for k, v in _numbers(record).items()]
                for i in range(0, len(metrics), 1000):
                    self.client.log_batch(self.run_id, metrics=metrics[i:i + 1000])
        return False

    def end(self, run) -> None:
        status = run.status.get("status", "failed")
        with self.guarded() as ok, _quiet():
            if ok:
                test = run.status.get("test") or {}
                now = int(time.time() * 1000)
                step = int(run.status.get("epochs") or 0)
                metrics = [self.Metric(f"test_{k}", v, now, step) for k, v in _numbers(test).items() if k != "n"]
                self.client.log_batch(self.run_id, metrics=metrics,
                                      tags=[self.RunTag("nnctl.status", status), self.RunTag("nnctl.version", __version__)])
                for name in ARTIFACTS:
                    if _regular(run.path / name):
                        self.client.log_artifact(self.run_id, str(run.path / name))
                for png in sorted(run.path.glob("*.png")):
                    if _regular(png):
                        self.client.log_artifact(self.run_id, str(png), "plots")
                self.client.set_terminated(self.run_id, MLFLOW_STATUS.get(status, "FAILED"))


def _regular(path: Path) -> bool:
    """A run folder's file MLflow may copy: a regular file, never a symbolic link (MLflow would
    upload whatever it points to)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class MlflowParent:
    """A sweep's parent MLflow run: its trials' runs are nested under it (tag mlflow.parentRunId)."""

    def __init__(self, uri: str | None, experiment: str, name: str, params: dict):
        try:
            with _quiet():
                from mlflow import MlflowClient
                from mlflow.entities import Param
        except ImportError:
            raise MissingDependency("run.tracking.mlflow needs MLflow: pip install 'nnctl[mlflow]'") from None
        self.uri = uri or default_mlflow_uri()
        try:
            with _quiet(), _fail_fast():
                self.client = MlflowClient(tracking_uri=self.uri)
                found = self.client.get_experiment_by_name(experiment)
                experiment_id = found.experiment_id if found is not None else self.client.create_experiment(experiment)
                self.run_id = self.client.create_run(experiment_id, run_name=name,
                                                     tags={"nnctl.version": __version__, "nnctl.sweep": name}).info.run_id
                flat = [Param(k[:250], v[:6000]) for k, v in flatten(params).items()]
                for i in range(0, len(flat), 100):
                    self.client.log_batch(self.run_id, params=flat[i:i + 100])
        except Exception as e:  # noqa: BLE001 - whatever MLflow raises: the store is not usable
            raise DataError(f"the MLflow tracking store {self.uri} cannot be used ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}): start it, fix the base config's "
                            f"run.tracking.mlflow.uri, or remove it") from None

    def end(self, status: str) -> None:
        """FINISHED, FAILED or KILLED; an error here is reported, never raised (the sweep folder has it all)."""
        try:
            with _quiet():
                self.client.set_terminated(self.run_id, status)
        except Exception as e:  # noqa: BLE001
            print(f"nnctl: MLflow tracking failed ({type(e).__name__}: {e}); the sweep folder has everything",
                  file=sys.stderr)


@contextlib.contextmanager
def _fail_fast():
    """An unreachable server answers at once rather than after MLflow's minutes of retries."""
    keys = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    before = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _events_folder(run_dir: Path) -> Path:
    """RUN_DIR/tensorboard, made here when missing; a symbolic link (or a file) in its place is
    refused before training: the event files would be written wherever it points."""
    folder = run_dir / "tensorboard"
    try:
        os.mkdir(folder)
    except FileExistsError:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            raise WriteError(f"{folder}: is not a folder ({NO_LINK}): remove it, or train without "
                             f"--tensorboard") from None
    except OSError as e:
        raise WriteError(f"{folder}: cannot be created: {e.strerror or e}") from None
    return folder


HISTOGRAM_BINS = 30


def histogram(values: np.ndarray, proto):
    """`values` (their finite ones) as a TensorBoard HistogramProto; None when none is finite."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    counts, edges = np.histogram(v, bins=HISTOGRAM_BINS)
    return proto(min=float(v.min()), max=float(v.max()), num=float(v.size), sum=float(v.sum()),
                 sum_squares=float(np.dot(v, v)), bucket_limit=edges[1:].tolist(), bucket=counts.astype(float).tolist())


class TensorBoardTracker(_Guarded):
    """Event files in RUN_DIR/tensorboard/: every number of each epoch's record as a scalar (step:
    the epoch), and per dense layer histograms of its weights (`layers.N.W`) and of their gradient
    (`layers.N.W/grad`: the epoch's last step's), written with tensorboard's own event writer (no
    TensorFlow, no tensorboardX). Reads the model only: the weights are the same with it as without."""

    label = "TensorBoard logging"

    def __init__(self, run, model=None):
        super().__init__()
        try:
            with _quiet():
                from tensorboard.compat.proto import event_pb2, summary_pb2
                from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            raise MissingDependency("run.tracking.tensorboard needs TensorBoard: pip install 'nnctl[tensorboard]'") from None
        self.event_pb2, self.summary_pb2 = event_pb2, summary_pb2
        self.writer = EventFileWriter(str(_events_folder(run.path)))
        self.model = model

    def _histograms(self) -> list:
        if self.model is None:
            return []
        params, grads = self.model.params(), self.model.grads()
        out = []
        for name, weights in params.items():
            if not name.endswith(".W"):
                continue
            for tag, values in ((name, weights), (f"{name}/grad", grads.get(name))):
                h = histogram(values, self.summary_pb2.HistogramProto) if values is not None else None
                if h is not None:
                    out.append(self.summary_pb2.Summary.Value(tag=tag, histo=h))
        return out

    def on_epoch_end(self, record):
        with self.guarded() as ok:
            if ok:
                values = [self.summary_pb2.Summary.Value(tag=k, simple_value=v) for k, v in _numbers(record).items()]
                values += self._histograms()
                self.writer.add_event(self.event_pb2.Event(wall_time=time.time(), step=int(record["epoch"]),
                                                           summary=self.summary_pb2.Summary(value=values)))
                self.writer.flush()
        return False

    def end(self, run) -> None:
        with self.guarded() as ok:
            if ok:
                self.writer.close()
