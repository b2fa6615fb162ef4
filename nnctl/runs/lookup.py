"""Which run folder or checkpoint a command reads, and the runs of a folder, newest first.

    resolve("runs/latest")            # the newest run folder in runs/ (a name that exists wins)
    resolve("runs/moons-latest/last.json")   # last.json of the newest run named moons
    checkpoint_path("runs/latest")    # its checkpoint.json
    list_runs("runs")                 # the table of `nnctl runs`, newest first

Newest is the latest start: run.json's `started` (whole seconds), then the time config.yaml was
written (once, as the run started), so two runs started in the same second keep their order.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

from ..engine import metric_names
from ..errors import CheckpointError, NnctlError
from .folder import read_member, read_metrics

# which checkpoint of a run folder a command reads: `best` (checkpoint.json, what training.checkpoint kept) or `last`
CHECKPOINT_FILES = {"best": "checkpoint.json", "last": "last.json"}
# a path component that names the newest run (of a name) in the folder before it, when nothing has that name
LATEST = re.compile(r"(?:(?P<name>.+)-)?latest")
STAMP = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")  # what folder.create adds to a run's name


def resolve(source: str | Path) -> Path:
    """`source`, with its first component that names nothing and reads `latest` (or `NAME-latest`)
    replaced by the newest run folder (named NAME) in the folder before it: `runs/latest`. A path
    that exists is returned as it is. CheckpointError (exit 4) when that folder holds no such run."""
    path = Path(source)
    if os.path.lexists(path):
        return path
    parts = path.parts
    for i, part in enumerate(parts):
        if os.path.lexists(Path(*parts[:i + 1])):
            continue
        match = LATEST.fullmatch(part)
        if match is None:
            return path  # missing: the command says so, as for any missing file
        folder = Path(*parts[:i]) if i else Path(".")
        found = [run for run in _runs(folder) if match["name"] is None or _named(run.name, match["name"])]
        if not found:
            named = f" named {match['name']}" if match["name"] else ""
            raise CheckpointError(f"{source}: {folder} holds no run{named} to be the latest")
        return resolve(Path(max(found, key=started), *parts[i + 1:]))
    return path


def _named(folder_name: str, name: str) -> bool:
    """Whether a run folder's name is `<name>-<date>-<time>-<id>` (folder.create's)."""
    return folder_name.startswith(f"{name}-") and STAMP.fullmatch(folder_name[len(name) + 1:]) is not None


def _runs(folder: Path) -> list[Path]:
    """The run folders in `folder`: its folders holding a run.json."""
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_dir() and os.path.lexists(Path(e.path, "run.json"))]
    except OSError:
        return []


def started(run: Path) -> tuple[str, int]:
    """When the run folder `run` started, as a key that sorts oldest first: run.json's `started`
    ("" when unreadable), then config.yaml's time of writing."""
    try:
        status = json.loads(read_member(run, "run.json"))
        at = status.get("started") if isinstance(status, dict) and isinstance(status.get("started"), str) else ""
    except (NnctlError, ValueError, RecursionError):
        at = ""
    try:
        written = os.lstat(run / "config.yaml").st_mtime_ns
    except OSError:
        written = 0
    return at, written


def newest(paths) -> str:
    """Of several checkpoints or run folders, the one of the run that started last."""
    return max(paths, key=lambda p: started(Path(p) if Path(p).is_dir() else Path(p).parent))


def latest_spelling(path: str | Path) -> Path | None:
    """How `resolve` names the run of `path` (a run folder or a file in one) while it is its name's
    newest: runs/moons-latest (its checkpoint.json), runs/moons-latest/last.json; None for a folder
    not named by folder.create."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    match = re.fullmatch(r"(?P<name>.+)-" + STAMP.pattern, folder.name)
    if match is None:
        return None
    latest = folder.parent / f"{match['name']}-latest"
    return latest if path == folder or path.name == CHECKPOINT_FILES["best"] else latest / path.name


def checkpoint_path(source: str | Path, which: str = "best") -> Path:
    """A checkpoint file, or a run folder's checkpoint.json (`which` last: its last.json), after
    `resolve` (runs/latest). A missing file or folder is a missing checkpoint: CheckpointError
    (exit 4), the same for every command; `which` last with a file rather than a run folder raises
    ValueError (a usage error)."""
    path = resolve(source)
    if path.is_dir():
        path = path / CHECKPOINT_FILES[which]
        if not os.path.lexists(path):
            raise CheckpointError(f"{source}: a run folder without a {path.name} (no epoch finished?)")
    elif which != "best":
        raise ValueError(f"{source} is a checkpoint file: --which {which} chooses a file of a run folder; give the "
                         "folder")
    elif not path.exists():
        raise CheckpointError(f"{source}: no such file")
    return path


def list_runs(folder: str | Path) -> list[dict]:
    """Every run folder in `folder` (or `folder` itself, if it is a run), newest first, from its run.json."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such folder of runs")
    paths = [folder] if (folder / "run.json").is_file() else sorted(_runs(folder))
    return [_describe_run(path) for path in sorted(paths, key=started, reverse=True)]


def _describe_run(path: Path) -> dict:
    """One row of `nnctl runs`: what run.json says, and the validation scores of the best epoch;
    status `unreadable` when run.json or metrics.jsonl is not what nnctl writes (one odd folder
    must not hide the others)."""
    row = {"name": path.name, "path": str(path), "started": None, "finished": None, "duration_seconds": None,
           "status": "unreadable", "task": None, "epochs": None, "best_epoch": None, "best": None, "test": None}
    try:
        status = json.loads(read_member(path, "run.json").decode("utf-8"))
        history = read_metrics(path, missing_ok=True)
    except (NnctlError, ValueError, RecursionError):
        return row
    found = {k: status.get(k) for k in ("started", "finished", "status", "epochs", "best_epoch", "test")} \
        if isinstance(status, dict) else None
    if found is None or not _looks_written_by_nnctl(found):
        return row
    row.update(found)
    row["duration_seconds"] = _duration(row["started"], row["finished"])
    if history:
        if row["best_epoch"] is None:  # still running, or stopped: the best epoch so far
            row["best_epoch"] = min(history, key=_monitor)["epoch"]
        best = next((r for r in history if r.get("epoch") == row["best_epoch"]), None)
        if best is not None:
            row["best"] = {k: v for k, v in best.items() if k in BEST_KEYS}  # in the record's order
    row["task"] = _task(row)
    return row


# the scores of the best epoch that `nnctl runs` reports: every epoch score of either task
BEST_KEYS = metric_names.epoch_names()


def _task(row: dict) -> str | None:
    """classification or regression, from the scores the run logged (None before any)."""
    return metric_names.task_of({**(row["best"] or {}), **(row["test"] or {})})


def _duration(started, finished) -> int | None:
    """Seconds from start to end, from run.json's times (None while running, or when a time is unreadable)."""
    try:
        return int((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds())
    except (TypeError, ValueError):
        return None


def _number(value) -> bool:
    return value is None or type(value) in (int, float)


def _looks_written_by_nnctl(found: dict) -> bool:
    """The types nnctl writes in run.json: text times and status, whole epochs, numbers (or null) as
    scores (read_metrics checks the rows of metrics.jsonl)."""
    return (all(found[k] is None or isinstance(found[k], str) for k in ("started", "finished", "status"))
            and all(found[k] is None or type(found[k]) is int for k in ("epochs", "best_epoch"))
            and (found["test"] is None or (isinstance(found["test"],
                                                      dict) and all(map(_number, found["test"].values())))))


def _monitor(record: dict) -> float:
    value = record.get(metric_names.default_monitor(record.get("val_loss") is not None))
    return float("inf") if value is None else value
