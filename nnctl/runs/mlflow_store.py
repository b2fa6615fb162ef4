"""Talking to an MLflow tracking store: quickly, quietly, and finding nnctl's runs again.

    with session(CONNECT_SECONDS):                   # MLflow quiet, its requests short and not retried
        store = Store.open(uri, experiment)          # DataError (exit 5) at once when it cannot be used
        run_id = store.find_run(key) or store.create_run(...)

Shared by the live tracker (mlflow_tracker.py) and `nnctl track` (replay.py). A run folder's MLflow
run carries the tag `nnctl.run_id` (the folder's name and start time), so a replay finds it again
and adds only the points that are missing: metric steps are epochs.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

from .. import __version__
from ..errors import DataError, MissingDependency

RUN_TAG = "nnctl.run_id"
CONNECT_SECONDS = 10  # each request while a run starts (a server's first answer can be slow)
LOGGING_SECONDS = 3  # each request once training runs: an outage costs this, once
# MLflow's limits (mlflow.utils.validation): keys, values, and entities per log_batch call
MAX_KEY, MAX_PARAM_VALUE, MAX_TAG_VALUE = 250, 6000, 8000
MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH = 1000, 100
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")  # MLflow retries these for minutes
_OURS: dict[str, str] = {}  # the MLFLOW_HTTP_REQUEST_* values session() set (a user's own are kept)


def mlflow_key(key: str) -> str:
    """A dotted config key in the form MLflow accepts on every platform: list indexes as dotted
    numbers (`model.layers[0].units` -> `model.layers.0.units`, as a run's params are named), any
    other character outside letters, digits, `_ - . / space` as `_`, no empty or `..` segment."""
    key = re.sub(r"\[(\d+)\]", r".\1", key)
    key = re.sub(r"[^\w./ -]", "_", key, flags=re.ASCII)
    key = "/".join(part for part in key.split("/") if part not in ("", ".", ".."))
    return key[:MAX_KEY] or "_"


def require_mlflow():
    """The mlflow module (MissingDependency, exit 5, without it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mlflow
    except ImportError:
        raise MissingDependency("run.tracking.mlflow needs MLflow: pip install 'nnctl[mlflow]'") from None
    return mlflow


@contextlib.contextmanager
def session(seconds: int):
    """While nnctl talks to MLflow: each HTTP request times out after `seconds` and is not retried
    (MLflow's defaults, 120 s and 7 retries, make an outage cost minutes; a user's own
    MLFLOW_HTTP_REQUEST_* settings are kept), what MLflow prints goes to stderr (its "View run"
    lines would break --json on stdout), its loggers say errors only (nnctl reports failures in one
    line; NNCTL_DEBUG=1 shows everything), and its dependencies' warnings are not shown."""
    require_mlflow()  # imported first: MLflow sets its loggers' levels as it is imported
    limits = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": str(seconds),
              "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    before = {k: os.environ.get(k) for k in limits}
    ours = {k for k in limits if before[k] is None or _OURS.get(k) == before[k]}  # not the user's own
    for key in ours:
        os.environ[key] = _OURS[key] = limits[key]
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    if not os.environ.get("NNCTL_DEBUG"):
        for logger in loggers:
            logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        for key in ours:  # an enclosing session's values, or none
            if before[key] is None:
                os.environ.pop(key, None)
                _OURS.pop(key, None)
            else:
                os.environ[key] = _OURS[key] = before[key]


def default_uri() -> str:
    """MLflow's own default store: MLFLOW_TRACKING_URI, else what `mlflow ui` reads (sqlite:///mlflow.db here)."""
    return require_mlflow().get_tracking_uri()


def experiment_setting(name: str | None) -> tuple[str | None, str | None]:
    """(experiment id, experiment name) to log in, as MLflow reads its variables: the config's
    name, else MLFLOW_EXPERIMENT_NAME (with MLFLOW_EXPERIMENT_ID, when set, as the id it must
    have), else MLFLOW_EXPERIMENT_ID, else `nnctl`."""
    if name:
        return None, name
    env_id, env_name = os.environ.get("MLFLOW_EXPERIMENT_ID") or None, os.environ.get("MLFLOW_EXPERIMENT_NAME") or None
    if env_id or env_name:
        return env_id, env_name
    return None, "nnctl"


def first_line(error: BaseException) -> str:
    """What went wrong, in a few words: a connection refused or timed out said so, anything else as
    its type and first line (MLflow's HTTP errors quote urllib3's whole paragraph)."""
    text = str(error).strip()
    if "Connection refused" in text or "NewConnectionError" in text or "RemoteDisconnected" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return f"no answer within {os.environ.get('MLFLOW_HTTP_REQUEST_TIMEOUT', '?')} s"
    return f"{type(error).__name__}: {text.splitlines()[0][:300]}" if text else type(error).__name__


def check_database(uri: str) -> None:
    """A database store is tried once, here: MLflow itself retries an engine that cannot connect
    for minutes, printing a warning each time (a sqlite:/// URI naming a folder, a server that is down)."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in DATABASE_SCHEMES:
        return
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if path and path != ":memory:" and Path(path).is_dir():
            raise DataError(f"the MLflow tracking store {uri} cannot be used: {path} is a folder, not a "
                            f"database file (a SQLite store is a file: sqlite:///{Path(path) / 'mlflow.db'})")
        if path and not Path(path).parent.is_dir():
            return  # MLflow creates the parent folders
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(uri)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except Exception as e:  # noqa: BLE001 - whatever the driver raises: the store is not usable
        raise DataError(f"the MLflow tracking store {uri} cannot be used ({first_line(e)}): start it, fix "
                        f"run.tracking.mlflow.uri, or train without --mlflow") from None


def git_commit(folder: Path) -> str | None:
    """The commit checked out in `folder`'s git repository, if it is in one (for MLflow's source tags)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=2,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def system_tags(command: list | None) -> dict[str, str]:
    """MLflow's system tags as its own runs have them: who ran what, from which commit."""
    tags = {"mlflow.source.type": "LOCAL", "mlflow.source.name": "nnctl " + " ".join(map(str, command or []))}
    with contextlib.suppress(Exception):  # no user name in a container: leave it out
        tags["mlflow.user"] = getpass.getuser()
    commit = git_commit(Path.cwd())
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return {k: v[:MAX_TAG_VALUE] for k, v in tags.items()}


class Store:
    """An MLflow client on one store and one experiment."""

    def __init__(self, client, uri: str, experiment_id: str, experiment_name: str):
        self.client, self.uri = client, uri
        self.experiment_id, self.experiment_name = experiment_id, experiment_name
        from mlflow.entities import Metric, Param, RunTag

        self.Metric, self.Param, self.RunTag = Metric, Param, RunTag

    @classmethod
    def open(cls, uri: str | None, experiment: str | None, what: str = "run.tracking.mlflow.uri") -> Store:
        """Connect (call inside session()); DataError with the reason, at once, when the store cannot be used."""
        require_mlflow()
        from mlflow import MlflowClient

        uri = uri or default_uri()
        experiment_id, name = experiment_setting(experiment)
        check_database(uri)
        try:
            client = MlflowClient(tracking_uri=uri)
            if name is None:
                found = client.get_experiment(experiment_id)
            else:
                found = client.get_experiment_by_name(name)
                if found is None:
                    found = client.get_experiment(client.create_experiment(name))
        except Exception as e:  # noqa: BLE001 - whatever MLflow raises: the store is not usable
            raise DataError(f"the MLflow tracking store {uri} cannot be used ({first_line(e)}): start it, fix "
                            f"{what}, or run without MLflow tracking") from None
        if experiment_id is not None and found.experiment_id != experiment_id:  # MLflow refuses it too
            raise DataError(f"MLFLOW_EXPERIMENT_ID is {experiment_id}, but the experiment MLFLOW_EXPERIMENT_NAME names "
                            f"({name}) has the id {found.experiment_id}: set one of them")
        return cls(client, uri, found.experiment_id, found.name)

    def run_exists(self, run_id: str | None) -> bool:
        """Whether `run_id` is a live (not deleted) run of this store."""
        if not run_id:
            return False
        try:
            return self.client.get_run(run_id).info.lifecycle_stage == "active"
        except Exception:  # noqa: BLE001 - not found (or deleted): another run will be made
            return False

    def find_run(self, key: str) -> str | None:
        """The id of the active run tagged `nnctl.run_id` = key in the experiment, if there is one."""
        quoted = key.replace("\\", "\\\\").replace("'", "\\'")
        found = self.client.search_runs([self.experiment_id], f"tags.`{RUN_TAG}` = '{quoted}'", max_results=1)
        return found[0].info.run_id if found else None

    def create_run(self, name: str, key: str, tags: dict[str, str], start_time: int | None = None) -> str:
        created = self.client.create_run(self.experiment_id, run_name=name, start_time=start_time,
                                         tags={RUN_TAG: key, "nnctl.version": __version__, **tags})
        return created.info.run_id

    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        """The params not logged yet (MLflow refuses to change one); DataError naming a key MLflow refuses."""
        have = self.client.get_run(run_id).data.params
        todo = [self.Param(k, v[:MAX_PARAM_VALUE]) for k, v in params.items() if k not in have]
        for i in range(0, len(todo), MAX_PARAMS_PER_BATCH):
            chunk = todo[i:i + MAX_PARAMS_PER_BATCH]
            try:
                self.client.log_batch(run_id, params=chunk)
            except Exception as e:  # noqa: BLE001
                keys = [p.key for p in chunk if p.key in str(e)] or [p.key for p in chunk]
                raise DataError(f"MLflow at {self.uri} refused the param {keys[0]!r} ({first_line(e)})") from None

    def logged_steps(self, run_id: str) -> set[tuple[str, int]]:
        """(metric, step) of every point the run already has."""
        keys = self.client.get_run(run_id).data.metrics
        return {(key, m.step) for key in keys for m in self.client.get_metric_history(run_id, key)}

    def log_metrics(self, run_id: str, metrics: list) -> None:
        for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
            self.client.log_batch(run_id, metrics=metrics[i:i + MAX_METRICS_PER_BATCH])

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        items = [self.RunTag(k, str(v)[:MAX_TAG_VALUE]) for k, v in tags.items()]
        for i in range(0, len(items), MAX_PARAMS_PER_BATCH):
            self.client.log_batch(run_id, tags=items[i:i + MAX_PARAMS_PER_BATCH])
