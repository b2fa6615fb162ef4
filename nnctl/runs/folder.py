"""The run folder: resolved config, metrics logs, status and checkpoints, each written atomically
(which folder or checkpoint a command names, and the table of runs: lookup.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import secrets
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path

from ..errors import CheckpointError, DataError, WriteError
from ..files import (
    DATA_TOO_BIG,
    MAX_DATA_BYTES,
    TEMPORARY,
    BackgroundWriter,
    atomic_write,
    read_limited,
    remove_temporaries,
    strict_json,
)
from . import lock as folder_lock


def create(output_dir: str | Path, name: str) -> Path:
    """A new folder `<output_dir>/<name>-<UTC timestamp>-<random id>`, never one that exists,
    holding only run.json's empty placeholder (see claim)."""
    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        while True:
            path = output_dir / f"{name}-{stamp}-{secrets.token_hex(3)}"
            try:
                path.mkdir()  # fails if it exists: two runs never share a folder
            except FileExistsError:
                continue
            _placeholder(path)
            return path
    except OSError as e:
        raise WriteError(f"{output_dir}: cannot create a run folder: {e.strerror or e}") from None


def use(path: str | Path) -> Path:
    """An explicitly named run folder (--run-dir): created, or an existing empty folder."""
    path, lock, _ = claim(path)
    lock.release()
    return path


def claim(path: str | Path) -> tuple[Path, folder_lock.FolderLock, bool]:
    """use(), keeping the folder's lock held for the run that writes it; also says whether the
    folder was created here (a start that fails removes it again). A folder a start left before
    it wrote config.yaml (killed, or a full disk) is taken over: it holds nothing but run.json's
    empty placeholder and temporary files."""
    path = Path(path)
    not_empty = WriteError(f"{path}: the run folder is not empty; name a new one or remove it")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"{path}: cannot create the run folder: {e.strerror or e}") from None
    lock = folder_lock.acquire(path)  # RunBusy: another process trains or resumes in it
    try:
        names = {entry.name for entry in os.scandir(path)} - {folder_lock.NAME}
        if lock.held and abandoned(path, names):
            remove_temporaries(path)
        elif names:
            raise not_empty
        else:  # claim it: of two runs started into one empty folder at once, only one creates run.json
            _placeholder(path)
    except FileExistsError:
        lock.release()
        raise not_empty from None
    except OSError as e:
        lock.release()
        raise WriteError(f"{path}: cannot create the run folder: {e.strerror or e}") from None
    except BaseException:
        lock.release()
        raise
    return path, lock, created


def _placeholder(path: Path) -> None:
    """run.json, empty: the folder is this run's from now on (O_EXCL: never one that exists)."""
    os.close(os.open(path / "run.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o666))


def abandoned(path: Path, names: set[str]) -> bool:
    """Whether the folder holding `names` (besides its lock) is a start that stopped before it
    wrote config.yaml: run.json's empty placeholder, and temporary files at most."""
    if "run.json" not in names or any(n != "run.json" and not TEMPORARY.fullmatch(n) for n in names):
        return False
    try:
        found = os.lstat(path / "run.json")
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and found.st_size == 0


def in_run_folder(path: str | Path) -> bool:
    """Whether the file `path` lies in a run folder (beside a run.json): nnctl then opens it without
    following a symbolic link, however it was named."""
    return os.path.lexists(Path(path).parent / "run.json")


def read_member(folder: str | Path, name: str, error: type = DataError) -> bytes:
    """The bytes of the file `name` of a run folder: capped, and never through a symbolic link
    (nnctl names these files itself: a link planted in a run folder is refused, `error`)."""
    return read_limited(Path(folder) / name, MAX_DATA_BYTES, error, "a run folder's", DATA_TOO_BIG, follow=False)


def environment() -> dict:
    """Versions and threads that explain a difference between two machines."""
    import numpy as np

    info = {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform(),
            "machine": platform.machine(), "cpu_count": os.cpu_count()}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: pool.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                        for pool in threadpool_info() if pool.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = None
    return info


def read_metrics(path: str | Path, error: type = DataError, missing_ok: bool = False) -> list[dict]:
    """The rows of the run folder `path`'s metrics.jsonl, each checked to be what nnctl writes: an
    object of a whole epoch number and metrics that are numbers or null. The one reader of the file
    (resume, plots, the runs table, sweeps); `error` names the file and the line of a bad row. Blank
    lines are skipped; a missing file is no rows when `missing_ok`."""
    source = Path(path) / "metrics.jsonl"
    if missing_ok and not os.path.lexists(source):
        return []
    raw = read_limited(source, MAX_DATA_BYTES, error, "a metrics", DATA_TOO_BIG, follow=False)
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise error(f"{source}: not a UTF-8 text file (byte {e.start})") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row, problem = metrics_row(line)
        if problem is not None:
            raise error(f"{source}:{number}: {problem}")
        rows.append(row)
    return rows


# The largest magnitude of a metric in metrics.jsonl: beyond it the difference of two values (a
# plot's axis span and margins, the doctor's rises) overflows float64. No run logs one: a loss that
# large diverges first, and weights above 1e8 stop training.
METRIC_LIMIT = 1e300


def metrics_row(line: str) -> tuple[dict | None, str | None]:
    """One line of metrics.jsonl as (row, None), or (None, what is wrong with it): a row is an
    object of an integer epoch and metrics that are numbers within ±METRIC_LIMIT, or null."""
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None, "not a JSON row"
    if not isinstance(row, dict) or type(row.get("epoch")) is not int or not all(
            v is None or type(v) in (int, float) for v in row.values()):
        return None, "expected an object of an integer epoch and metrics that are numbers or null"
    beyond = next((k for k, v in row.items() if v is not None and not abs(v) <= METRIC_LIMIT), None)
    if beyond is not None:
        return None, f"{beyond}: {row[beyond]!r} is beyond the ±{METRIC_LIMIT:g} a metric may reach"
    return row, None


def read_history(path: Path, epochs: int) -> list[dict]:
    """The rows of `path`/metrics.jsonl for epochs 1..`epochs`, checked to be exactly those;
    rows after them (written before the process stopped) are dropped."""
    source = Path(path) / "metrics.jsonl"
    if not epochs:
        return []
    if not os.path.lexists(source):
        raise CheckpointError(f"{source}: missing, but last.json is at epoch {epochs}")
    rows = read_metrics(path, CheckpointError)[:epochs]
    for number, row in enumerate(rows, 1):
        if row["epoch"] != number:
            raise CheckpointError(f"{source}:{number}: expected the row of epoch {number}")
    if len(rows) != epochs:
        raise CheckpointError(f"{source}: holds {len(rows)} epochs, but last.json is at epoch {epochs}")
    return rows


class Run:
    """Writes one run folder as training goes."""

    def __init__(self, path: Path, config_yaml: str, created: bool = False):
        """Write config.yaml and run.json (`running`) into the new folder `path`; if either cannot
        be written (a full disk), remove what was written, and the folder too when it was
        `created` for this run, so that nothing is left that claims the folder."""
        self.path = Path(path)
        self.history: list[dict] = []
        self.writer = BackgroundWriter()  # each epoch's files, written while the next epoch trains
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.status = {"status": "running", "started": self.started, "finished": None, "epochs": 0,
                       **self._writer(), "command": sys.argv[1:], "environment": environment()}
        self.written, self.status_error = None, None
        try:
            atomic_write(self.path / "config.yaml", config_yaml)
            self._write_status()
        except BaseException as e:
            self._undo_start(created, e)
            raise

    def _writer(self) -> dict:
        """Who writes the folder now: resume refuses while this very process still lives."""
        return {**folder_lock.identity(), "host": platform.node(), "run_dir": str(self.path.absolute())}

    def _undo_start(self, created: bool, error: BaseException) -> None:
        try:
            for name in ("config.yaml", "run.json"):
                (self.path / name).unlink(missing_ok=True)
            if created:  # the lock file goes with it; the lock itself lasts until it is released
                (self.path / folder_lock.NAME).unlink(missing_ok=True)
                self.path.rmdir()
        except OSError:
            # cannot remove it: then a whole run.json saying why, if at all possible
            self.status.update(status="failed", finished=self.started, error=f"the run could not start: {error}")
            try:
                self._write_status()
            except WriteError:
                pass

    @classmethod
    def reopen(cls, path: Path, history: list[dict], status: dict, rows_done: int = 0) -> Run:
        """A run folder continued by --resume (its lock held, everything in it checked): what
        a killed write left removed, the metrics logs cut back to `history` (rows written after
        the checkpoint are dropped), run.json `running` again, the resume noted."""
        run = cls.__new__(cls)
        run.path, run.history = Path(path), list(history)
        run.writer = BackgroundWriter()
        run.written, run.status_error = status.get("status"), None
        remove_temporaries(run.path)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        run.started = status.get("started", now)
        resumes = status.get("resumes") if isinstance(status.get("resumes"), list) else []
        resumes.append({"at": now, "epoch": len(history), "rows_done": rows_done,
                        "previous_status": status.get("status"),
                        "command": sys.argv[1:], "environment": environment()})
        run.status = {"status": "running", "started": run.started, "finished": None, "epochs": len(history),
                      **run._writer(), "command": status.get("command", sys.argv[1:]),
                      "environment": status.get("environment") or environment(), "resumes": resumes,
                      **({"tracking": status["tracking"]} if isinstance(status.get("tracking"), dict) else {})}
        if history:
            run._write_logs()
        else:  # nothing was saved: the run starts over, as a fresh one has no logs yet
            for name in ("metrics.jsonl", "metrics.csv"):
                (run.path / name).unlink(missing_ok=True)
        run._write_status()
        return run

    def log(self, record: dict) -> None:
        """Add one epoch's metrics to the history; `save_logs` writes them."""
        self.history.append(record)
        self.status["epochs"] = record["epoch"]

    def save_logs(self, write=None) -> None:
        """The history into metrics.jsonl and metrics.csv (rewritten whole, atomically), and run.json:
        by `write(path, text)`, else in the background (`writer`) with the epoch's checkpoints."""
        self._write_logs(write or self.writer.write)
        self._write_status(write or self.writer.write)

    def _write_logs(self, write=None) -> None:
        write = write or atomic_write
        # the columns of the first record: classification and regression log different metrics
        columns = list(self.history[0])
        # The lines of the records already written are kept, so an epoch formats its own record
        # only (formatting every record every epoch made a run's logs cost epochs squared).
        kept = self.__dict__.get("_lines")
        if kept is None or kept[0] != columns or len(kept[1]) > len(self.history) or \
                any(r is not k for r, (k, _, _) in zip(self.history, kept[1])):
            kept = self._lines = (columns, [])
        for r in self.history[len(kept[1]):]:
            kept[1].append((r, strict_json(r) + "\n", _csv_text(columns, [r], header=False)))
        write(self.path / "metrics.jsonl", "".join(line for _, line, _ in kept[1]))
        write(self.path / "metrics.csv", _csv_text(columns, [], header=True) + "".join(row for _, _, row in kept[1]))

    def finish(self, status: str, **extra) -> None:
        """Record how the run ended: finished, diverged, interrupted or failed, once the epochs'
        files are on disk (a run whose last files could not be written has `failed`, and raises
        their WriteError). The write is tried twice; if both fail, `status_error` says why (and a
        `finished` run raises WriteError)."""
        lost = self.wait()
        unfinished = lost is not None and status == "finished"
        if unfinished:
            status, extra = "failed", {"error": str(lost)}
        self.status.update(status=status, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra)
        try:
            self._write_status()
        except WriteError:
            try:  # a transient failure (space freed meanwhile, an interrupted system call)
                self._write_status()
            except WriteError as e:
                self.status_error = str(e)
                if status == "finished":
                    raise
        if unfinished:
            raise lost

    def stop_writing(self) -> None:
        """Stop now (a second signal): the epochs' files not started yet are dropped; whatever
        landed is whole, and a resume continues from the last.json that did."""
        self.writer.cancel()

    def wait(self) -> WriteError | None:
        """Block until the background writes are on disk; the error of the first that failed, if one did."""
        try:
            self.writer.wait()
        except WriteError as e:
            return e
        return None

    def _write_status(self, write=None) -> None:
        (write or atomic_write)(self.path / "run.json", strict_json(self.status, indent=2) + "\n")
        self.written, self.status_error = self.status["status"], None


def _csv_text(columns: list[str], records: list[dict], header: bool) -> str:
    """metrics.csv's lines for `records` (None as an empty cell), after its header if asked."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows({k: ("" if r.get(k) is None else r[k]) for k in columns} for r in records)
    return buffer.getvalue()
