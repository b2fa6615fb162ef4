"""The callbacks that write a run's folder, and the order of their writes: each epoch's save
(MetricsLogger, Checkpointer: SAVE_ORDER) and the run's end (one event, `end`: the Checkpointer's
last files, then RunStatus's run.json, then the trackers and the caller's callbacks).
"""

from __future__ import annotations

import contextlib
import signal
import time

from ..engine.callbacks import Callback
from ..engine.train import Position
from ..errors import Interrupted, NnctlError, TrainingDiverged

# The order of a save's writes, each file atomic. Whatever prefix of them lands before the process
# dies (kill -9, a full disk), --resume continues to the bytes of the run left alone:
# - the metrics logs first: last.json must find its epochs in them (the rows after its epoch are
#   dropped on resume), and so must a checkpoint.json written ahead of last.json;
# - run.json says how far the run got (a resume reads its history and status, never its epochs);
# - checkpoint.json before last.json: the best epoch's weights are on disk before a last.json names
#   that epoch the best. Alone, it is a checkpoint.json later than last.json: checked against the
#   rows of metrics.jsonl, and the resumed run trains to that epoch again, to the same weights,
#   before it needs them (resume.best_state);
# - last.json last: it commits the save, and a resume continues from it.
SAVE_ORDER = ("metrics.jsonl", "metrics.csv", "run.json", "checkpoint.json", "last.json")


# How a run ends: one event, Callback.on_train_end(status, error), called on the run's callbacks in
# their list order (training.Training.callbacks, then the trackers, then the caller's) whatever ended it:
# finished, interrupted (a stop request, or a second signal), diverged or failed. The writes land in
# this order:
# 1. the Checkpointer: the epochs' files kept in memory, in SAVE_ORDER; after a stop request also
#    last.json at the position reached, waited for (a save that fails makes the run `failed`);
# 2. the RunStatus: run.json says how the run ended, once the files it describes are on disk (a
#    second signal first drops the writes not started yet: whatever landed is whole);
# 3. the trackers (MLflow, TensorBoard): they publish run.json's status and the test scores;
# 4. the caller's callbacks.
# A callback that raises in on_train_end makes its error the run's: those after it see that one.


class MetricsLogger(Callback):
    """Each epoch's record into the run's history (the Checkpointer writes it to the logs)."""

    def __init__(self, run):
        self.run = run

    def on_epoch_end(self, record):
        self.run.log(record)
        return False


class Checkpointer(Callback):
    """The run folder's files of each epoch, written in the order of SAVE_ORDER: metrics.jsonl,
    metrics.csv and run.json; checkpoint.json when the epoch is the best (every epoch with
    training.checkpoint `last` or without early stopping's restore_best: the checkpoint is then the
    last); last.json (weights, optimizer, training state) last, as the save's commit.

    Each epoch's files are made at its end, and written at most every `training.save_interval`
    seconds: an epoch that ends sooner after the last write is kept in memory, and written by the
    next one due or by `flush` (when training ends, is interrupted, diverges or fails). Writing four
    or five files took most of an epoch of moons. A checkpoint is kept as a copy of its arrays (a
    copy is ~10x cheaper than the JSON) and made into text only when written, so an epoch that a
    later one replaces before the write costs no JSON at all. The files are the same bytes whenever
    they are written, and a process that dies after any of them leaves a folder --resume continues
    (see SAVE_ORDER)."""

    def __init__(self, run, training):
        self.run, self.path, self.training = run, run.path, training
        self.interval = training.cfg.training.save_interval
        # path -> the text of a file not written yet, or the function that makes it, in write order
        self.pending: dict = {}
        self.saved_at = time.monotonic()

    def on_epoch_end(self, record):
        epoch, metrics = record["epoch"], without_seconds(record)  # the same run must give the same bytes
        self.run.save_logs(self._keep)
        model = Frozen(self.training.model)
        if not self.training.restore_best or self.training.monitor.best_epoch == epoch:
            self._keep(self.path / "checkpoint.json", self.training.checkpoint(epoch, metrics, None, model))
        self._keep(self.path / "last.json", self.training.checkpoint(epoch, metrics, Position(epoch), model))
        if time.monotonic() - self.saved_at >= self.interval:
            self.flush()
        return False

    def on_train_end(self, status, error):
        if status == "failed":
            with contextlib.suppress(Exception):  # a write that failed stays failed
                self.flush()
        elif isinstance(error, Interrupted):  # the epochs that ended since the last save, then where it stopped
            self.flush()
            self.save_last(error.position, without_seconds(self.run.history[-1]) if self.run.history else {})
            self.run.writer.wait()
        elif status != "interrupted":  # finished or diverged: the last (good) epochs' files
            self.flush()
        # a second signal (KeyboardInterrupt): nothing more; RunStatus drops the writes not started

    def _keep(self, path, text) -> None:
        self.pending[path] = text  # a later epoch's file replaces an earlier one's

    def flush(self) -> None:
        """Write the files kept in memory, in SAVE_ORDER (the run's writer writes them in the background)."""
        pending, self.pending = self.pending, {}
        for path in sorted(pending, key=lambda p: SAVE_ORDER.index(p.name)):
            text = pending[path]
            self.run.writer.write(path, text() if callable(text) else text)
        self.saved_at = time.monotonic()

    def save_last(self, position: Position, metrics: dict) -> None:
        """last.json now: everything a resumed run needs to continue from `position`."""
        self.run.writer.write(self.path / "last.json", self.training.checkpoint(position.epoch, metrics, position)())

    def save_best(self, epoch: int, metrics: dict) -> None:
        """checkpoint.json now: the model alone, for eval and predict."""
        self.run.writer.write(self.path / "checkpoint.json", self.training.checkpoint(epoch, metrics, None)())


class RunStatus(Callback):
    """run.json's last word: how the run ended, written after the files it describes (see the end
    order above). `training`: the Training whose test scores a finished run reports."""

    def __init__(self, run, training=None):
        self.run, self.training = run, training

    def on_train_end(self, status, error):
        if isinstance(error, KeyboardInterrupt):  # a second signal: stop at once, last.json holds the last save
            self.run.stop_writing()
        self.run.finish(status, **self.details(status, error))

    def details(self, status: str, error: BaseException | None) -> dict:
        """What run.json says of the ending besides its status."""
        if status == "finished":
            return self.training.result
        if isinstance(error, Interrupted):
            at, rows = error.position, len(self.training.dataset.x_train)
            return {"signal": signal_name(error.signal),
                    "interrupted_at": {"epoch": at.epoch + 1, "rows_done": at.rows_done, "rows": rows}}
        if isinstance(error, KeyboardInterrupt):
            return {"signal": signal_name(getattr(error, "signal", signal.SIGINT))}
        if error is not None and isinstance(error.__context__, Interrupted) and status == "failed":
            return {"error": f"interrupted by {signal_name(error.__context__.signal)}, and last.json could not be "
                             f"written: {error}"}
        return {"error": str(error) if isinstance(error, NnctlError) else f"{type(error).__name__}: {error}"}


def outcome(error: BaseException | None) -> str:
    """How a run ended, from what ended it (one of engine.callbacks.ENDINGS)."""
    if error is None:
        return "finished"
    if isinstance(error, (Interrupted, KeyboardInterrupt)):
        return "interrupted"
    return "diverged" if isinstance(error, TrainingDiverged) else "failed"


def end(callbacks, error: BaseException | None) -> BaseException | None:
    """The run's end as one event: on_train_end(status, error) on every callback in list order. A
    callback that raises (its last save failed, a second signal came meanwhile) makes its error
    the one the run ended with, chained to the first; the error the run ends with, or None."""
    for callback in callbacks:
        try:
            callback.on_train_end(outcome(error), error)
        except BaseException as again:  # noqa: BLE001 (the end event sees every error, then it is raised)
            if again is not error and again.__context__ is None:
                again.__context__ = error
            error = again
    return error


class Frozen:
    """A model's state() (and input shape) as it was when made: copies, which training goes on without touching."""

    def __init__(self, model):
        self.arrays = {name: array.copy() for name, array in model.state().items()}
        self.input_shape = tuple(model.input_shape)

    def state(self) -> dict:
        return self.arrays


@contextlib.contextmanager
def ended(run):
    """Whatever escapes once the run folder exists leaves run.json saying how the run ended, never
    `running` (an error before training began: its callbacks never ended it); when even that write
    failed, nnctl's error says so."""
    try:
        yield
    except BaseException as e:
        if run.status["status"] == "running":
            end([RunStatus(run)], e)
        if run.status_error is not None and isinstance(e, NnctlError):
            e.args = (f"{e} (and {run.status_error}: it still says {run.written or 'nothing'})",)
        raise


def signal_name(number: int) -> str:
    """SIGINT, SIGTERM, ... or `signal N` for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def without_seconds(record: dict) -> dict:
    """An epoch's record without its timing: the same run must give the same checkpoint bytes."""
    return {k: v for k, v in record.items() if k != "seconds"}
