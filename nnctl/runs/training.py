"""A training run in its folder: fresh or resumed, trained through callbacks, and how it ends.

    train(cfg, run_dir=None, callbacks=[...], stop=stop)    # a new run folder
    resume(run_dir, callbacks=[...], stop=stop)             # continue one from its last.json

`Training` holds the model, optimizer and callbacks of one run with every saved state restored;
the callbacks that write the folder, and the order of their writes, are in saving.py. Whatever
escapes once the folder exists leaves run.json saying how the run ended: finished, interrupted,
diverged or failed.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import config as config_module, data as data_module
from ..config import memory
from ..data import arrays
from ..engine import divergence, metric_names, optimizers, schedules
from ..engine.callbacks import (
    BestWeights,
    Callback,
    DropoutGenerators,
    EarlyStopping,
    LearningRateScheduler,
    LossLimit,
    Monitor,
    StopOnRequest,
)
from ..engine.diagnostics import Diagnostics
from ..engine.losses import LOSSES
from ..engine.model import build
from ..engine.train import Position, evaluate, fit
from ..errors import CheckpointError, ConfigError, DataError, Interrupted, TrainingDiverged
from . import (
    checkpoint as checkpoint_module,
    folder as runs,
    lock as folder_lock,
    lookup,
    report,
    resume as resume_module,
    tracking,
)
from .saving import Checkpointer, Frozen, MetricsLogger, RunStatus, end, ended, signal_name, without_seconds


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
        if rows_done and (rows_done >= n_rows or rows_done % batch_size
                          or point.last.epoch == point.cfg.training.epochs):
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

    def __init__(self, cfg, dataset, point: resume_module.ResumePoint | None = None,
                 warm_start: WarmStart | None = None):
        self.cfg, self.dataset = cfg, dataset
        self.config_doc = cfg.model_dump(mode="json")  # what every checkpoint holds: the config is immutable
        self.n_inputs = dataset.x_train.shape[1]
        self.input_shape = input_shape(cfg, dataset)
        try:
            self.model = build(config_module.plain(cfg.model.layers), self.input_shape, np.random.default_rng(cfg.seed),
                               cfg.training.dtype)
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
        self.monitor = self.stopper or Monitor(metric_names.default_monitor(cfg.data.val_fraction > 0), "min")
        # checkpoint.json (and the test scores) of the best epoch, unless the config asks for the last
        self.restore_best = cfg.training.checkpoint == "best" and (self.stopper is None or self.stopper.restore_best)
        self.best_weights = BestWeights(self.model, self.monitor) if self.restore_best else None
        rule = schedules.build(config_module.plain(cfg.training.schedule))
        self.schedule = LearningRateScheduler(rule, self.optimizer)
        # per-layer norms, update ratios, dead and saturated units into each epoch's record (doctor reads them)
        self.diagnostics = Diagnostics(self.model)
        self.stateful = stateful([self.monitor, self.schedule, DropoutGenerators(self.model), self.diagnostics])
        # from the untrained weights, so before restore: a resumed run gets the same limit
        untrained = divergence.reference_loss(self.model, self.loss, dataset.x_train, dataset.y_train)
        limit = divergence.loss_limit(untrained)
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

    @property
    def epochs(self) -> int:
        """The last epoch this run trains: the config's, or where early stopping ended it already."""
        return self.start.epoch if self.stopper is not None and self.stopper.stop else self.cfg.training.epochs

    def callbacks(self, run=None, stop=None) -> list[Callback]:
        """nnctl's own callbacks, in the order the loop must call them and the run's end flushes
        them: the diagnostics first (they count a batch before a stop request ends training, and
        add to the record before it is logged); a stop request before the schedule sets the rate;
        the divergence check before anything logs or saves the epoch; the monitor before the best
        weights and the checkpoints that ask it; the run folder's files, then its status, last.
        Without a run folder (`run` None: fit_in_memory), all but those that write one."""
        stopper = [StopOnRequest(stop)] if stop is not None else []
        best = [self.best_weights] if self.best_weights is not None else []
        if run is None:
            return [self.diagnostics, *stopper, self.loss_limit, self.schedule, self.monitor, *best]
        return [self.diagnostics, *stopper, self.loss_limit, self.schedule, MetricsLogger(run), self.monitor, *best,
                Checkpointer(run, self), RunStatus(run, self)]

    def train(self, callbacks) -> list[dict]:
        """Train from where this run starts to its last epoch, calling `callbacks`; the epochs' records."""
        plan = self.cfg.training
        return fit(self.model, self.loss, self.optimizer, self.dataset, epochs=self.epochs, batch_size=plan.batch_size,
                   shuffle=plan.shuffle, seed=self.cfg.seed, clip_norm=plan.clip_norm, callbacks=callbacks,
                   start=self.start)

    def fit_in_memory(self, callbacks=(), stop=None) -> list[dict]:
        """Train without a run folder (the model API's fit, a scikit-learn estimator's): nnctl's
        callbacks but those that write a folder, then `callbacks`, which hear the end too; the model
        then holds the weights a checkpoint keeps (the best epoch's or the last). The epochs'
        records, as metrics.jsonl would hold them."""
        every, error, history = [*self.callbacks(None, stop), *callbacks], None, []
        try:
            info = self.describe(None)
            for callback in every:
                callback.on_train_begin(info)
            history = self.train(every)
            if self.best_weights is not None:
                self.best_weights.restore()
        except BaseException as e:  # noqa: BLE001 (ended as an event, then raised again)
            error = e
        if (error := end(every, error)) is not None:
            raise error
        return history

    def kept_epoch(self, history: list[dict]) -> int | None:
        """The epoch whose weights the model holds once training ended: the best, or the last."""
        return self.monitor.best_epoch if self.restore_best else (history[-1]["epoch"] if history else None)

    def run(self, run, callbacks=(), stop=None, plots: bool = True, model_writer=None) -> dict:
        """Train into `run`'s folder (nnctl's callbacks, the trackers run.tracking asks for, then
        `callbacks`); score the kept weights on the test split, end the run (one event, see the
        end order above), draw the report; the run's summary. A tracker that cannot be used fails
        the run before its first epoch."""
        run.status["data"] = self.data_status()  # written with the first epoch's files, or how the run ended
        every = [*self.callbacks(run, stop), *tracking.start(self.cfg, run, self.model, model_writer), *callbacks]
        error = None
        try:
            info = self.describe(run.path)
            for callback in every:
                callback.on_train_begin(info)
            self.train(every)
            self.conclude(run)
        except BaseException as e:  # noqa: BLE001 (ended as an event, then raised again)
            error = e
        error = end(every, error)
        if isinstance(error, TrainingDiverged):
            kept = ("last.json holds the last good epoch" if run.history
                    else "no epoch finished, so no checkpoint was written")
            raise TrainingDiverged(f"{error}. Run folder {run.path}: {kept}") from None
        if isinstance(error, Interrupted):
            raise resume_hint(error, run.path, len(self.dataset.x_train)) from None
        if error is not None:
            raise error
        drawn = report.draw(run.path, run.history, self.monitor.best_epoch, self.model, self.cfg.loss, self.dataset,
                            self.dataset.classes) if plots else []
        result, history = self.result, run.history
        return {"run_dir": str(run.path), "checkpoint": str(run.path / "checkpoint.json"),
                "last_checkpoint": str(run.path / "last.json"), "best_epoch": result["best_epoch"],
                "checkpoint_epoch": result["checkpoint_epoch"], "epochs": len(history),
                "final": history[-1] if history else None, "test": result["test"],
                "early_stopping": result["early_stopping"], "history": history, "plots": drawn}

    def data_status(self) -> dict:
        """What run.json says of the data: where it came from, the file's SHA-256 and size, and a
        CSV's columns as read (types, inputs, cells filled in, rows dropped)."""
        dataset = self.dataset
        return {"source": dataset.source, "file": dataset.data_file, "table": dataset.table}

    def describe(self, path) -> dict:
        """What this run trains, for Callback.on_train_begin (the header of nnctl train): run folder
        (None: none), data set and split sizes, parameters, optimizer, epochs, and where training starts."""
        cfg, dataset = self.cfg, self.dataset
        data = dataset.source if arrays.in_memory(cfg.data) else cfg.data.name  # fit(x, y)'s arrays are no data set
        n_classes = None if dataset.task == "regression" else len(dataset.classes)
        return {"run_dir": None if path is None else str(path), "data": data, "source": dataset.source,
                "task": dataset.task, "n_features": self.n_inputs, "n_classes": n_classes,
                "sizes": {s: len(getattr(dataset, f"y_{s}")) for s in ("train", "val", "test")},
                "params": int(sum(a.size for a in self.model.params().values())), "dtype": cfg.training.dtype,
                "optimizer": cfg.optimizer.name, "lr": self.optimizer.lr, "epochs": self.epochs,
                "batch_size": cfg.training.batch_size, "checkpoint": cfg.training.checkpoint,
                "target_scale": dataset.target_scale if dataset.task == "regression" else 1.0, "table": dataset.table,
                "start": {"epoch": self.start.epoch, "rows_done": self.start.rows_done}}

    def conclude(self, run) -> None:
        """The kept weights back in the model and scored on the test split: `result`, what run.json
        says of a finished run (TrainingDiverged when the test loss is not finite)."""
        if self.best_weights is not None:
            if self.best_weights.weights is None and self.monitor.best_epoch is not None:
                # resume.best_state counted on this run training again to the epoch of a checkpoint.json
                # written ahead of its last.json: only a run that does not replay the same bits misses it
                raise CheckpointError(f"{run.path / 'checkpoint.json'}: the weights of the best epoch "
                                      f"({self.monitor.best_epoch}) were not trained again on resuming: this machine "
                                      f"gives other bits than the one that started the run; start a new run")
            self.best_weights.restore()
        dataset, best_epoch, history = self.dataset, self.monitor.best_epoch, run.history
        checkpoint_epoch = self.kept_epoch(history)
        test = evaluate(self.model, self.loss, dataset.x_test, dataset.y_test, task=dataset.task,
                        target_scale=dataset.target_scale)
        test = {k: v for k, v in test.items() if k != "out"} | {"n": len(dataset.y_test)}
        divergence.check(divergence.non_finite({"the test loss": test["loss"]}), checkpoint_epoch or len(history),
                         self.optimizer.lr, dataset.x_train)
        early = self.stopper.report() | {"restored_best": self.restore_best} if self.stopper is not None else None
        self.result = {"best_epoch": best_epoch, "checkpoint_epoch": checkpoint_epoch, "test": test,
                       "early_stopping": early}


def stateful(callbacks) -> dict[str, Callback]:
    """The callbacks whose state a resumed run needs, by their state_key: last.json keeps each
    state under it (in this order), and a resumed run restores it."""
    return {c.state_key: c for c in callbacks if c.state_key is not None}


def resume_hint(e: Interrupted, path, n_rows: int) -> Interrupted:
    """The stop request's error as the user reads it: where training stopped, and how to go on."""
    at = e.position
    where = (f"in epoch {at.epoch + 1} ({at.rows_done} of {n_rows} rows done)" if at.rows_done else
             f"after epoch {at.epoch}" if at.epoch else "before the first batch")
    return Interrupted(e.signal, at, message=f"interrupted by {signal_name(e.signal)} {where}: {path / 'last.json'} "
                                             f"saved; continue with: nnctl train --resume {path}")
