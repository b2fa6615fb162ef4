"""Continuing a run from its folder: what `nnctl train --resume RUN_DIR` checks and restores.

The folder's last.json holds the weights, the optimizer's state and the training state (rows of
the next epoch done, best value and epoch, stateful callbacks). The shuffling order of an epoch
depends on (seed, epoch) only, so no generator state needs saving: a resumed run draws exactly
the batches the uninterrupted one would have.
"""

from __future__ import annotations

import copy
import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .. import config as config_module
from ..engine.train import Position
from ..errors import CheckpointError, ConfigError, NnctlError, RunBusy
from . import checkpoint as checkpoint_module, folder as runs, lock as folder_lock


@dataclass
class ResumePoint:
    """Everything a resumed run starts from; `last` is None when no epoch or batch was saved yet."""

    path: Path
    cfg: object
    last: checkpoint_module.Checkpoint | None
    history: list[dict]
    status: dict
    rewrite_best: bool = False  # checkpoint.json must be written again from last.json's weights


def prepare(run_dir, cfg=None) -> ResumePoint:
    """Check RUN_DIR and read what resuming it needs. `cfg`, if given, must match the run's
    config (the `run` section aside)."""
    path = Path(run_dir)
    status = _read_status(path)
    _refuse_if_running(path, status)
    last_path = path / "last.json"
    last = checkpoint_module.load(last_path) if os.path.lexists(last_path) else None
    if last is not None and last.training is None:
        raise CheckpointError(f"{last_path}: holds no training state (a best checkpoint copied here?); cannot resume")
    # a run folder's config.yaml holds an absolute data.path; one written before that is relative
    # to the folder nnctl ran in, as it always was
    written = path / "config.yaml"
    reference = last.config if last is not None else config_module.load(written, relative_to=Path.cwd(), follow=False)
    given = cfg if cfg is not None else config_module.load(written, relative_to=Path.cwd(), follow=False)
    differences = config_diff(reference, given)
    if differences:
        what = "the config given" if cfg is not None else f"{path / 'config.yaml'}"
        raise ConfigError(f"{what} no longer matches the run in {path} ({last_path if last else 'config.yaml'}): "
                          + "; ".join(differences) + ". Resume with the run's own config, or start a new run")
    epoch = last.epoch if last is not None else 0
    history = runs.read_history(path, epoch)
    return ResumePoint(path=path, cfg=reference, last=last, history=history, status=status)


def check_folder(run_dir) -> None:
    """Refuse (CheckpointError) what is not a run folder, before resume locks and so writes in it."""
    _read_status(Path(run_dir))


def restore(point: ResumePoint, model, optimizer, callbacks: dict) -> Position:
    """Load the weights, optimizer and callback states (callbacks by their name in last.json);
    return the position training continues from."""
    last = point.last
    if last is None:
        return Position()
    model.load_state(last.model.state())
    optimizer.load_state_dict(last.optimizer)
    saved = last.training["callbacks"]
    if last.version == 1:
        # format 1 saved only at the end of an epoch and had no callbacks: their state is what
        # the epochs' records make of them, replayed in order
        for callback in callbacks.values():
            for record in point.history:
                callback.on_epoch_end(record)
    elif set(saved) != set(callbacks) - optional_missing(saved, callbacks):
        raise CheckpointError(f"{last.path}: training.callbacks: holds states for {sorted(saved)}, "
                              f"this config has stateful callbacks {sorted(callbacks)}")
    else:
        for name, callback in callbacks.items():
            try:
                callback.load_state_dict(saved.get(name, {}) if name in optional_missing(saved,
                                                                                         callbacks) else saved[name])
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise CheckpointError(f"{last.path}: training.callbacks.{name}: not a valid state ({e})") from None
    t = last.training  # `correct` is the file format's name for the score sum
    return Position(last.epoch, t["rows_done"], t["loss_sum"], t["correct"])


def optional_missing(saved: dict, callbacks: dict) -> set:
    """The callbacks a last.json may lack, having been written before they existed: those whose
    empty state is a fresh one (`state_optional`, e.g. the diagnostics)."""
    return {name for name, c in callbacks.items() if name not in saved and getattr(c, "state_optional", False)}


def config_diff(run_cfg, cfg) -> list[str]:
    """The dotted keys whose values differ, as `key: the run has X, now Y`; the `run` section
    (folder name and place) does not change training, so it is left out."""
    before, after = _flatten(run_cfg.model_dump(mode="json")), _flatten(cfg.model_dump(mode="json"))
    # a run from before paths were anchored holds data.path relative to the current folder
    for values in (before, after):
        if isinstance(values.get("data.path"), str):
            values["data.path"] = os.path.abspath(values["data.path"])
    keys = [k for k in dict.fromkeys([*before,
                                      *after]) if not k.startswith("run.") and before.get(k, "-") != after.get(k, "-")]
    lines = [f"{k}: the run has {_show(before, k)}, now {_show(after, k)}" for k in keys[:6]]
    return lines + ([f"and {len(keys) - 6} more"] if len(keys) > 6 else [])


def _flatten(value, prefix="") -> dict:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k,
                v in _flatten(item, f"{prefix}.{key}" if prefix else key).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k,
                v in _flatten(item, f"{prefix}[{i}]").items()} or {prefix: []}
    return {prefix: value}


def _show(values: dict, key: str) -> str:
    return json.dumps(values[key]) if key in values else "nothing"


def _read_status(path: Path) -> dict:
    """run.json's object; {} for its empty placeholder (folder.claim) in a folder that holds the
    run's config.yaml: a run stopped before its first status starts over."""
    if not os.path.lexists(path / "run.json"):
        what = "no such folder" if not path.exists() else "not a run folder (no run.json)"
        raise CheckpointError(f"{path}: {what}: --resume takes a folder that nnctl train wrote")
    raw = runs.read_member(path, "run.json", CheckpointError)
    if not raw and os.path.lexists(path / "config.yaml"):
        return {}
    if not raw:
        raise CheckpointError(f"{path}: the run stopped before it saved anything (no config.yaml yet): start it "
                              f"again with nnctl train CONFIG --run-dir {path}")
    try:
        status = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path / 'run.json'}: cannot be read: {e}") from None
    if not isinstance(status, dict):
        raise CheckpointError(f"{path / 'run.json'}: not a run status object")
    return status


def _refuse_if_running(path: Path, status: dict) -> None:
    """Two processes writing one folder would interleave their files. The folder's lock keeps out
    every nnctl that takes it; this catches a writer that does not (an nnctl from before the lock),
    from the identity run.json records."""
    pid = status.get("pid")
    if (status.get("status") != "running" or status.get("host") != platform.node() or type(pid) is not int
            or pid == os.getpid()):
        return
    if _is_its_writer(path, status, pid):
        raise RunBusy(f"{path}: the run is still being trained by process {pid} on this machine; "
                      f"stop it first (Ctrl-C or kill {pid}: it saves last.json and exits)")


def _is_its_writer(path: Path, status: dict, pid: int) -> bool:
    """Whether the live process `pid` is the one that wrote run.json: the same pid, start time,
    boot and folder. A pid alone is not enough: it is reused by other programs once the run died."""
    folder = status.get("run_dir")
    if isinstance(folder, str) and not _same_folder(Path(folder), path):
        return False  # a copy of the run's folder: its process writes the original
    if not folder_lock.same_process(status):
        return False  # it died without saying so (killed, power cut): resuming is exactly right
    if type(status.get("pid_start")) is int:
        return True  # the same start time, or no /proc to tell: assume it is
    # an older run.json, without the start time: pids are unique among live processes, so one
    # that started before the run (re)started is its writer, and one started after is not
    started = _process_started(pid)
    last = _last_start(status)
    return started is None or last is None or started <= last + 2  # run.json's times are whole seconds


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _process_started(pid: int) -> float | None:
    """The process's start, in seconds since the epoch (from /proc), or None."""
    ticks = folder_lock.start_ticks(pid)
    try:
        btime = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                     if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return None if ticks is None else btime + ticks / os.sysconf("SC_CLK_TCK")


def _last_start(status: dict) -> float | None:
    """When run.json's writer started writing: the last resume, or the run's start."""
    resumes = status.get("resumes")
    last = resumes[-1] if isinstance(resumes, list) and resumes else None
    at = last.get("at") if isinstance(last, dict) else status.get("started")
    try:
        return datetime.fromisoformat(at).timestamp()
    except (TypeError, ValueError):
        return None


def best_state(point: ResumePoint, monitor) -> dict | None:
    """The weights of the best epoch so far (`monitor`'s, restored from last.json): from
    checkpoint.json, or from last.json when it is that very epoch (checkpoint.json may not have
    been rewritten when the process stopped). None when checkpoint.json holds a later epoch: a save
    wrote it and stopped before its last.json (training.SAVE_ORDER), so the resumed run trains to
    that epoch again, to the same weights, before it needs the best ones (once training ends)."""
    last, epoch = point.last, monitor.best_epoch
    if last is None or epoch is None:
        return None
    if epoch == last.epoch and last.training["rows_done"] == 0:
        point.rewrite_best = True  # the same bytes when checkpoint.json was already written
        return {k: v.copy() for k, v in last.model.state().items()}
    best_path = point.path / "checkpoint.json"
    if not os.path.lexists(best_path):
        raise CheckpointError(f"{best_path}: missing, but last.json says the best epoch is {epoch}, whose weights "
                              f"only checkpoint.json holds: the run cannot end as it would have; start a new run")
    best = checkpoint_module.load(best_path)
    if best.config != last.config:
        raise CheckpointError(f"{best_path}: holds another run's config than last.json")
    if best.epoch > last.epoch:
        _check_ahead(point, best, monitor)
        return None
    if best.epoch != epoch:
        raise CheckpointError(f"{best_path}: holds epoch {best.epoch}, but last.json says the best epoch is {epoch}")
    return best.model.state()


def _check_ahead(point: ResumePoint, best, monitor) -> None:
    """A checkpoint.json later than last.json is one that a save wrote after its epochs' rows of
    metrics.jsonl (SAVE_ORDER): that row holds its metrics, and the monitor, taking the rows after
    last.json's epoch, finds its epoch the best. Anything else is refused before a file changes."""
    where = f"{point.path / 'checkpoint.json'}: holds epoch {best.epoch}, after last.json's {point.last.epoch}"
    rows = {r["epoch"]: r for r in runs.read_metrics(point.path, CheckpointError)}
    ahead = [rows.get(e) for e in range(point.last.epoch + 1, best.epoch + 1)]
    if any(row is None for row in ahead) or {k: v for k, v in ahead[-1].items() if k != "seconds"} != best.metrics:
        raise CheckpointError(f"{where}, but metrics.jsonl has no row of that epoch with its metrics: not a save "
                              f"cut short")
    replay = copy.deepcopy(monitor)
    try:
        for row in ahead:
            replay.update(row)
    except NnctlError as e:
        raise CheckpointError(f"{where}, but metrics.jsonl's rows after it are not a run's: {e}") from None
    if replay.best_epoch != best.epoch:
        raise CheckpointError(f"{where}, but by metrics.jsonl the best epoch up to it is {replay.best_epoch}")
