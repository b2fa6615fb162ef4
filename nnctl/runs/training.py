"""A training run in its folder: fresh or resumed, trained through callbacks, and how it ends.

    train(cfg, run_dir=None, callbacks=[...], stop=stop)    # a new run folder
    resume(run_dir, callbacks=[...], stop=stop)             # continue one from its last.json

`Training` holds the model, optimizer and callbacks of one run with every saved state restored;
`MetricsLogger` and `Checkpointer` are the callbacks that write the folder. Whatever escapes once
the folder exists leaves run.json saying how the run ended: finished, interrupted, diverged or
failed.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import time
from typing import NamedTuple

import numpy as np

from . import checkpoint as checkpoint_module, folder as runs, lock as folder_lock, lookup, report, resume as resume_module, tracking
from .. import config as config_module, data as data_module
from ..config import memory
from ..data import arrays
from ..engine import divergence, optimizers, schedules
from ..engine.callbacks import (BestWeights, Callback, DropoutGenerators, EarlyStopping, LearningRateScheduler, LossLimit,
                                Monitor, StopOnRequest)
from ..engine.losses import LOSSES
from ..engine.diagnostics import Diagnostics
from ..engine.model import build
from ..engine.train import Position, evaluate, fit
from ..errors import CheckpointError, ConfigError, DataError, Interrupted, NnctlError, TrainingDiverged


def train(cfg, *, run_dir=None, callbacks=(), stop=None, plots: bool = True, model_writer=None, dataset=None,
          warm_start=None) -> dict:
    """Train the network `cfg` describes into a new run folder (or `run_dir`); the run's summary.
    `model_writer`: how a tracker writes the trained model in its own format (see tracking.start).
    `dataset`: the data trained on, when it is not the config's data set loaded (the model API's
    arrays); `warm_start`: see Training."""
    memory.require(cfg)  # before the data set is loaded: ConfigError when it cannot fit in memory
    dataset = load_data(cfg) if dataset is None else dataset
    check_fits(cfg, dataset)
    if run_dir is not None:
        path, lock, created = runs.claim(run_dir)
    else:  # a new folder, named at random: only this process knows it, and it locks it at once
        path, created = runs.create(cfg.run.output_dir, cfg.run.name), True
        lock = folder_lock.acquire(path)
    with lock:  # held until the run ends: a --resume of this folder meanwhile is refused
        run = runs.Run(path, config_module.dump(cfg), created=created)
        with ended(run):
            return Training(cfg, dataset, warm_start=warm_start).run(run, callbacks, stop, plots, model_writer)


def resume(run_dir, cfg=None, *, callbacks=(), stop=None, plots: bool = True, model_writer=None) -> dict:
    """Continue the run in `run_dir` from its last.json, exactly where it stopped. The folder is
    locked throughout, and everything in it is checked before any file changes. `run_dir` may be
    runs/latest: the newest run (lookup.resolve)."""
    run_dir = lookup.resolve(run_dir)
    resume_module.check_folder(run_dir)
    with folder_lock.acquire(run_dir):
        point = resume_module.prepare(run_dir, cfg)
        dataset = load_data(point.cfg)
        check_fits(point.cfg, dataset)
        if point.last is not None and _without_inputs(dataset.preprocessing, point.last.preprocessing) \
                != point.last.preprocessing:
            raise DataError(f"the data set's fitted scaling differs from the one in {point.last.path}: "
                            f"the data changed since the run started, so it cannot continue")
        if point.last is not None and point.last.data_file not in (None, dataset.data_file):
            raise DataError(f"{point.cfg.data.path}: the file's content differs from the one the run started on "
                            f"(SHA-256 in {point.last.path}), so the run cannot continue")
        rows_done = point.last.training["rows_done"] if point.last is not None else 0
        n_rows, batch_size = len(dataset.x_train), point.cfg.training.batch_size
        if rows_done and (rows_done >= n_rows or rows_done % batch_size or point.last.epoch == point.cfg.training.epochs):
            raise CheckpointError(f"{point.last.path}: training.rows_done: {rows_done} is not a batch boundary inside "
                                  f"an epoch of {n_rows} rows in batches of {batch_size}")
        training = Training(point.cfg, dataset, point)  # restores every saved state: the last checks
        run = runs.Run.reopen(point.path, point.history, point.status, rows_done)
        with ended(run):
            if point.rewrite_best:
                Checkpointer(run, training).save_best(training.monitor.best_epoch, without_seconds(run.history[-1]))
            return training.run(run, callbacks, stop, plots, model_writer)


def _without_inputs(preprocessing: dict, saved: dict) -> dict:
    """The fitted preprocessing as a last.json written before nnctl recorded the inputs' names and
    ranges ("inputs") or a CSV's column records ("table") holds it, so that such a run still resumes."""
    return {k: v for k, v in preprocessing.items() if k in saved or k not in ("inputs", "table")}


def load_data(cfg, preprocessing: dict | None = None) -> data_module.Dataset:
    """The config's data set, split and scaled (raises DataError), with the seed and dtype of
    `cfg`; with `preprocessing` (a checkpoint's), scaled as it was rather than fitted anew."""
    if arrays.in_memory(cfg.data):
        raise DataError(f"data.path: {arrays.IN_MEMORY} names the arrays a model was fit on in memory (the model "
                        f"API's fit(x, y), a scikit-learn estimator), which no file holds: save them with "
                        f"numpy.savez(FILE, x=x, y=y) and name FILE in data.path")
    return data_module.load(cfg.data, cfg.seed, cfg.training.dtype, preprocessing=preprocessing)


def input_shape(cfg, dataset) -> tuple:
    """The shape the model of `cfg` takes from `dataset`: its rows, or its images (config.shapes)."""
    return config_module.shapes.input_shape(cfg, dataset.x_train.shape[1], dataset.image_shape)


def check_fits(cfg, dataset) -> None:
    """A file's or an OpenML set's classes and width are known once loaded: the output layer and
    the layers' shapes must fit them (ConfigError otherwise, as for the built-in sets); and the
    model at the data's real width must fit in memory (the data itself is loaded already)."""
    known = data_module.spec(cfg.data)
    if known.n_classes is None or known.n_features is None:  # the layers' shapes against the data's, too
        config_module.check_meaning(cfg, source=f"the config (data from {dataset.source})", spec=dataset.spec())
    memory.require(cfg, dataset.x_train.shape[1], data=False, image_shape=dataset.image_shape,
                   source=f"the config (data from {dataset.source})")


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

    def __init__(self, run, training: Training):
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


class Frozen:
    """A model's state() (and input shape) as it was when made: copies, which training goes on without touching."""

    def __init__(self, model):
        self.arrays = {name: array.copy() for name, array in model.state().items()}
        self.input_shape = tuple(model.input_shape)

    def state(self) -> dict:
        return self.arrays


class WarmStart(NamedTuple):
    """Where a new run starts instead of the seed's weights (a model API model trained further, as
    Keras' fit continues): the arrays of a model's state(), and an optimizer's state_dict() (None:
    a fresh optimizer)."""

    state: dict
    optimizer: dict | None = None


class Training:
    """The model, loss, optimizer and callbacks of a fresh (point None) or resumed run, with every
    state last.json and checkpoint.json hold restored: built before a resume changes any file. A
    fresh run starts from the seed's weights, or from `warm_start` (a WarmStart)."""

    def __init__(self, cfg, dataset, point: resume_module.ResumePoint | None = None, warm_start: WarmStart | None = None):
        self.cfg, self.dataset = cfg, dataset
        self.config_doc = cfg.model_dump(mode="json")  # what every checkpoint holds: the config is immutable
        self.n_inputs = dataset.x_train.shape[1]
        self.input_shape = input_shape(cfg, dataset)
        try:
            self.model = build(config_module.plain(cfg.model.layers), self.input_shape, np.random.default_rng(cfg.seed), cfg.training.dtype)
        except MemoryError as e:
            raise ConfigError(f"the model does not fit in this machine's memory ({e}): "
                              "make model.layers smaller") from None
        self.loss = LOSSES[cfg.loss]
        self.optimizer = optimizers.build(config_module.plain(cfg.optimizer))
        if warm_start is not None:
            self.model.load_state(warm_start.state)
            if warm_start.optimizer is not None:
                self.optimizer.load_state_dict(warm_start.optimizer)
        stopping = cfg.training.early_stopping
        self.stopper = None if stopping is None else EarlyStopping(**config_module.plain(stopping))
        # what 'best epoch' means: early stopping's monitor when configured, else the lowest
        # validation loss (training loss when there is no validation split)
        self.monitor = self.stopper or Monitor("val_loss" if cfg.data.val_fraction > 0 else "train_loss", "min")
        # checkpoint.json (and the test scores) of the best epoch, unless the config asks for the last
        self.restore_best = cfg.training.checkpoint == "best" and (self.stopper is None or self.stopper.restore_best)
        self.best_weights = BestWeights(self.model, self.monitor) if self.restore_best else None
        self.schedule = LearningRateScheduler(schedules.build(config_module.plain(cfg.training.schedule)), self.optimizer)
        # per-layer norms, update ratios, dead and saturated units into each epoch's record (doctor reads them)
        self.diagnostics = Diagnostics(self.model)
        self.stateful = {**stateful(self.model, self.schedule, self.monitor), "diagnostics": self.diagnostics}
        # from the untrained weights, so before restore: a resumed run gets the same limit
        limit = divergence.loss_limit(divergence.reference_loss(self.model, self.loss, dataset.x_train, dataset.y_train))
        self.loss_limit = LossLimit(limit, self.optimizer, dataset.x_train)
        self.start = Position()
        if point is not None:
            self.start = resume_module.restore(point, self.model, self.optimizer, self.stateful)
            if self.best_weights is not None:
                self.best_weights.weights = resume_module.best_state(point, self.monitor)

    def state(self, position: Position) -> dict:
        """last.json's training state: the position in the epoch, the best epoch, the callbacks'
        states (`correct` is the position's score_sum: its name in the file format); an optional
        state (the diagnostics') only when it holds something, so that between epochs the file is as before."""
        score = position.score_sum
        return {"rows_done": position.rows_done, "loss_sum": float(position.loss_sum),
                "correct": float(score) if isinstance(score, float) else int(score),
                "best_value": self.monitor.best, "best_epoch": self.monitor.best_epoch,
                "callbacks": {name: state for name, c in self.stateful.items()
                              if (state := c.state_dict()) or not getattr(c, "state_optional", False)}}

    def checkpoint(self, epoch: int, metrics: dict, position: Position | None, model=None):
        """A function making the text of a checkpoint of the model as it is now (`model`: a Frozen
        copy of it, to share between checkpoints); with a position, also the optimizer and training
        state (last.json). What it needs is copied now, the text made when it is called."""
        model = model or Frozen(self.model)
        optimizer = training = None
        if position is not None:
            state = self.optimizer.state_dict()
            optimizer = {"t": state["t"], "arrays": {k: v.copy() for k, v in state["arrays"].items()}}
            training = self.state(position)
        return functools.partial(checkpoint_module.text, config=self.config_doc, model=model,
                                 preprocessing=self.dataset.preprocessing, classes=self.dataset.classes,
                                 epoch=epoch, metrics=metrics, optimizer=optimizer, training=training,
                                 data_file=self.dataset.data_file)

    def callbacks(self, checkpointer: Checkpointer, run, stop) -> list[Callback]:
        """nnctl's own callbacks, in the order the loop must call them: the diagnostics first (they
        count a batch before a stop request ends training, and add to the record before it is logged); a stop request before the
        schedule sets the rate; the divergence check before anything logs or saves the epoch;
        the monitor before the best weights and the checkpoints that ask it."""
        own = [StopOnRequest(stop)] if stop is not None else []
        logger = [MetricsLogger(run)] if run is not None else []  # none for a run without a folder (fit_in_memory)
        return [self.diagnostics, *own, self.loss_limit, self.schedule, *logger, self.monitor,
                *([self.best_weights] if self.best_weights is not None else []), *([checkpointer] if checkpointer else [])]

    def fit_in_memory(self, callbacks=(), stop=None) -> list[dict]:
        """Train without a run folder (the model API's fit): nnctl's callbacks but those that write a
        folder, then `callbacks`; the model then holds the weights training.checkpoint keeps (the
        best epoch's or the last). The epochs' records, as metrics.jsonl would hold them."""
        cfg = self.cfg
        every = [*self.callbacks(None, None, stop), *callbacks]
        info = self.describe(None, cfg.training.epochs)
        for callback in every:
            callback.on_train_begin(info)
        history = fit(self.model, self.loss, self.optimizer, self.dataset, epochs=cfg.training.epochs,
                      batch_size=cfg.training.batch_size, shuffle=cfg.training.shuffle, seed=cfg.seed,
                      clip_norm=cfg.training.clip_norm, callbacks=every)
        if self.best_weights is not None:
            self.best_weights.restore()
        return history

    def kept_epoch(self, history: list[dict]) -> int | None:
        """The epoch whose weights the model holds once training ended: the best, or the last."""
        return self.monitor.best_epoch if self.restore_best else (history[-1]["epoch"] if history else None)

    def run(self, run, callbacks=(), stop=None, plots: bool = True, model_writer=None) -> dict:
        """Train into `run`'s folder (nnctl's callbacks, the trackers run.tracking asks for, then
        `callbacks`); score the kept weights on the test split, draw the report; the run's summary.
        A tracker that cannot be used fails the run before its first epoch."""
        run.status["data"] = self.data_status()  # written with the first epoch's files, or how the run ended
        trackers = tracking.start(self.cfg, run, self.model, model_writer)
        try:
            return self._run(run, [*trackers, *callbacks], stop, plots)
        finally:
            tracking.end(trackers, run)

    def _run(self, run, callbacks, stop, plots: bool) -> dict:
        cfg, dataset = self.cfg, self.dataset
        checkpointer = Checkpointer(run, self)
        epochs = self.start.epoch if self.stopper is not None and self.stopper.stop else cfg.training.epochs  # stopped early already
        every = [*self.callbacks(checkpointer, run, stop), *callbacks]
        try:
            info = self.describe(run.path, epochs)
            for callback in every:
                callback.on_train_begin(info)
            fit(self.model, self.loss, self.optimizer, dataset, epochs=epochs, batch_size=cfg.training.batch_size,
                shuffle=cfg.training.shuffle, seed=cfg.seed, clip_norm=cfg.training.clip_norm,
                callbacks=every, start=self.start)
            checkpointer.flush()
        except TrainingDiverged as e:
            checkpointer.flush()  # the last good epoch's files
            run.finish("diverged", error=str(e))
            kept = "last.json holds the last good epoch" if run.history else "no epoch finished, so no checkpoint was written"
            raise TrainingDiverged(f"{e}. Run folder {run.path}: {kept}") from None
        except Interrupted as e:
            raise interrupted(e, run, checkpointer, len(dataset.x_train)) from None
        except KeyboardInterrupt as e:  # a second signal: stopped at once, last.json holds the last save
            run.stop_writing()
            run.finish("interrupted", signal=signal_name(getattr(e, "signal", signal.SIGINT)))
            raise
        except BaseException as e:
            with contextlib.suppress(Exception):  # a write that failed stays failed
                checkpointer.flush()
            run.finish("failed", error=f"{type(e).__name__}: {e}")
            raise
        return self.finish(run, plots)

    def data_status(self) -> dict:
        """What run.json says of the data: where it came from, the file's SHA-256 and size, and a
        CSV's columns as read (types, inputs, cells filled in, rows dropped)."""
        dataset = self.dataset
        return {"source": dataset.source, "file": dataset.data_file, "table": dataset.table}

    def describe(self, path, epochs: int) -> dict:
        """What this run trains, for Callback.on_train_begin (the header of nnctl train): run folder
        (None: none), data set and split sizes, parameters, optimizer, epochs, and where training starts."""
        cfg, dataset = self.cfg, self.dataset
        data = dataset.source if arrays.in_memory(cfg.data) else cfg.data.name  # fit(x, y)'s arrays are no data set
        return {"run_dir": None if path is None else str(path), "data": data, "source": dataset.source, "task": dataset.task,
                "n_features": self.n_inputs, "n_classes": None if dataset.task == "regression" else len(dataset.classes),
                "sizes": {s: int(len(getattr(dataset, f"y_{s}"))) for s in ("train", "val", "test")},
                "params": int(sum(a.size for a in self.model.params().values())), "dtype": cfg.training.dtype,
                "optimizer": cfg.optimizer.name, "lr": self.optimizer.lr, "epochs": epochs,
                "batch_size": cfg.training.batch_size, "checkpoint": cfg.training.checkpoint,
                "target_scale": dataset.target_scale if dataset.task == "regression" else 1.0, "table": dataset.table,
                "start": {"epoch": self.start.epoch, "rows_done": self.start.rows_done}}

    def finish(self, run, plots: bool) -> dict:
        """The kept weights' scores on the test split into run.json, and the report's plots."""
        path, dataset, history = run.path, self.dataset, run.history
        if self.best_weights is not None:
            if self.best_weights.weights is None and self.monitor.best_epoch is not None:
                # resume.best_state counted on this run training again to the epoch of a checkpoint.json
                # written ahead of its last.json: only a run that does not replay the same bits misses it
                raise CheckpointError(f"{path / 'checkpoint.json'}: the weights of the best epoch "
                                      f"({self.monitor.best_epoch}) were not trained again on resuming: this machine "
                                      f"gives other bits than the one that started the run; start a new run")
            self.best_weights.restore()
        best_epoch = self.monitor.best_epoch
        checkpoint_epoch = self.kept_epoch(history)
        test = evaluate(self.model, self.loss, dataset.x_test, dataset.y_test, task=dataset.task,
                        target_scale=dataset.target_scale)
        test = {k: v for k, v in test.items() if k != "out"} | {"n": int(len(dataset.y_test))}
        if test["loss"] is not None and not np.isfinite(test["loss"]):
            run.finish("diverged", error=f"the test loss is {test['loss']}")
            raise TrainingDiverged(f"the trained model's loss on the test split is {test['loss']}: its weights are too large "
                                   f"(optimizer.lr is {self.optimizer.lr:g}: try a tenth of it). Run folder {path}")
        early = self.stopper.report() | {"restored_best": self.restore_best} if self.stopper is not None else None
        run.finish("finished", best_epoch=best_epoch, checkpoint_epoch=checkpoint_epoch, test=test, early_stopping=early)
        drawn = report.draw(path, history, best_epoch, self.model, self.cfg.loss, dataset, dataset.classes) if plots else []
        return {"run_dir": str(path), "checkpoint": str(path / "checkpoint.json"), "last_checkpoint": str(path / "last.json"),
                "best_epoch": best_epoch, "checkpoint_epoch": checkpoint_epoch, "epochs": len(history),
                "final": history[-1] if history else None, "test": test, "early_stopping": early, "history": history,
                "plots": drawn}


def stateful(model, schedule: LearningRateScheduler, monitor: Monitor) -> dict[str, Callback]:
    """The run's callbacks whose state a resumed run needs, by name: last.json keeps each state
    under its name (these names are the file format's) and a resumed run restores it."""
    callbacks = {"monitor": monitor, "schedule": schedule}
    dropout = DropoutGenerators(model)
    if dropout.generators:
        callbacks["dropout"] = dropout
    return callbacks


@contextlib.contextmanager
def ended(run):
    """Whatever escapes once the run folder exists leaves run.json saying how the run ended, never
    `running`; when even that write failed, nnctl's error says so."""
    try:
        yield
    except BaseException as e:
        if run.status["status"] == "running":
            if isinstance(e, KeyboardInterrupt):
                run.stop_writing()
                run.finish("interrupted", signal=signal_name(getattr(e, "signal", signal.SIGINT)))
            else:
                run.finish("failed", error=str(e) if isinstance(e, NnctlError) else f"{type(e).__name__}: {e}")
        if run.status_error is not None and isinstance(e, NnctlError):
            e.args = (f"{e} (and {run.status_error}: it still says {run.written or 'nothing'})",)
        raise


def interrupted(e: Interrupted, run, checkpointer: Checkpointer, n_rows: int) -> Interrupted:
    """Save where training stopped into last.json, mark the run interrupted, and say how to go on."""
    name, at = signal_name(e.signal), e.position
    try:
        checkpointer.flush()  # the epochs that ended since the last save, then where it stopped
        checkpointer.save_last(at, without_seconds(run.history[-1]) if run.history else {})
        run.writer.wait()
    except KeyboardInterrupt as again:  # a second signal during the save: last.json is still the previous one
        run.stop_writing()
        run.finish("interrupted", signal=signal_name(getattr(again, "signal", e.signal)))
        raise
    except BaseException:
        run.finish("failed", error=f"interrupted by {name}, and last.json could not be written")
        raise
    run.finish("interrupted", signal=name, interrupted_at={"epoch": at.epoch + 1, "rows_done": at.rows_done, "rows": n_rows})
    where = (f"in epoch {at.epoch + 1} ({at.rows_done} of {n_rows} rows done)" if at.rows_done else
             f"after epoch {at.epoch}" if at.epoch else "before the first batch")
    return Interrupted(e.signal, at, message=f"interrupted by {name} {where}: {run.path / 'last.json'} saved; "
                                             f"continue with: nnctl train --resume {run.path}")


def signal_name(number: int) -> str:
    """SIGINT, SIGTERM, ... or `signal N` for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def without_seconds(record: dict) -> dict:
    """An epoch's record without its timing: the same run must give the same checkpoint bytes."""
    return {k: v for k, v in record.items() if k != "seconds"}
