"""The Python API, and the one the CLI uses: config -> data -> model -> training -> checkpoint.

    cfg = nnctl.api.load_config("configs/moons.yaml")
    result = nnctl.api.train(cfg)                      # writes runs/moons-.../
    ckpt = nnctl.api.load_checkpoint(result["checkpoint"])
    probabilities = nnctl.api.predict(ckpt, x_raw)     # applies the stored preprocessing
"""

from __future__ import annotations

import contextlib
import signal

import numpy as np

from .runs import checkpoint as checkpoint_module
from . import config as config_module
from . import data as data_module
from .engine import divergence, metrics, optimizers, schedules, stopping
from .runs import lock as folder_lock, report, folder as runs
from .config import memory
from .runs import resume as resume_module
from .errors import CheckpointError, ConfigError, DataError, Interrupted, NnctlError, TrainingDiverged
from .engine.losses import LOSSES
from .engine.model import build, summary_rows
from .runs.summary import summary  # noqa: F401  (part of this API; its own module keeps `nnctl summary` light)
from .engine.stopping import Monitor
from .engine.train import evaluate, fit


def load_config(path, overrides=()) -> config_module.Config:
    """Read and validate a YAML config after its `key=value` overrides (raises ConfigError)."""
    return config_module.load(path, overrides)


def check(path, overrides=()) -> dict:
    """Everything `train` validates, without loading a data set: the resolved config and its size.

    For a user's file or an OpenML set, whose width only the data can tell, n_features and
    total_params are None.
    """
    cfg = load_config(path, overrides)
    spec = data_module.spec(cfg.data)
    rows = summary_rows(config_module.plain(cfg.model.layers), spec.n_features) if spec.n_features is not None else None
    need = memory.require(cfg, source=str(path))  # ConfigError when it cannot fit in memory
    return {"config": str(path), "valid": True, "overrides": list(overrides), "resolved": cfg.model_dump(mode="json"),
            "resolved_yaml": config_module.dump(cfg), "data": {"name": cfg.data.name, "n_features": spec.n_features,
                                                                "n_classes": spec.n_classes, "task": spec.task},
            "total_params": None if rows is None else sum(r["params"] for r in rows), "memory": need}


def schema() -> dict:
    """The JSON Schema of a config file (for editors that use yaml-language-server)."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **config_module.json_schema()}
    schema["title"] = "nnctl config"
    return schema


def load_checkpoint(path) -> checkpoint_module.Checkpoint:
    """Read and verify a checkpoint, rebuilding its model (raises CheckpointError)."""
    return checkpoint_module.load(path)


def load_data(cfg, preprocessing: dict | None = None) -> data_module.Dataset:
    """The config's data set, split and scaled (raises DataError)."""
    return data_module.load(cfg.data, cfg.seed, cfg.training.dtype, preprocessing=preprocessing)


def check_fits(cfg, dataset) -> None:
    """A file's or an OpenML set's classes are known once loaded: the output layer must fit them
    (ConfigError otherwise, as for the built-in sets); and the model at the data's real width must
    fit in memory (the data itself is loaded already)."""
    memory.require(cfg, dataset.x_train.shape[1], data=False, source=f"the config (data from {dataset.source})")
    if data_module.spec(cfg.data).n_classes is None:
        n_classes = len(dataset.classes)
        config_module.check_meaning(cfg, source=f"the config (data from {dataset.source})",
                                    spec=data_module.DatasetSpec(dataset.x_train.shape[1], n_classes, dataset.task, "standard"))


def _best_monitor(cfg, stopper):
    """What 'best epoch' means: early stopping's monitor when configured, else the lowest
    validation loss (training loss when there is no validation split)."""
    if stopper is not None:
        return stopper
    return Monitor("val_loss" if cfg.data.val_fraction > 0 else "train_loss", "min")


def train(cfg, *, run_dir=None, on_epoch=None, on_batch=None, stop=None, plots: bool = True) -> dict:
    """Train the network `cfg` describes; write a run folder; return the run's summary.

    The summary has run_dir, checkpoint, last_checkpoint, best_epoch, checkpoint_epoch, epochs,
    final, history, early_stopping (or None) and test (the checkpoint's scores on the test split:
    loss and accuracy, or for regression loss, mae, rmse and r2; and n) and plots (the PNGs
    written, none when `plots` is false). `stop()` is asked after every batch (see nnctl.runs.interrupts); a signal number from it ends training with Interrupted
    after saving last.json, from which `resume` continues.
    """
    memory.require(cfg)  # before the data set is loaded: ConfigError when it cannot fit in memory
    dataset = load_data(cfg)
    check_fits(cfg, dataset)
    if run_dir is not None:
        path, lock, created = runs.claim(run_dir)
    else:  # a new folder, named at random: only this process knows it, and it locks it at once
        path, created = runs.create(cfg.run.output_dir, cfg.run.name), True
        lock = folder_lock.acquire(path)
    with lock:  # held until the run ends: a --resume of this folder meanwhile is refused
        run = runs.Run(path, config_module.dump(cfg), created=created)
        with _ends(run):
            state = _State(cfg, dataset, None)
            return _run(cfg, dataset, run, state, on_epoch, on_batch, stop, plots)


def resume(run_dir, cfg=None, *, on_epoch=None, on_batch=None, stop=None, plots: bool = True) -> dict:
    """Continue the run in `run_dir` from its last.json, exactly where it stopped; returns what
    `train` does. `cfg`, if given, must match the run's config (ConfigError shows the difference).

    The folder is locked for the whole resume (RunBusy if another process holds it), and
    everything in it is checked before any file changes: a refused resume leaves it as it was."""
    resume_module.check_folder(run_dir)
    with folder_lock.acquire(run_dir):
        point = resume_module.prepare(run_dir, cfg)
        dataset = load_data(point.cfg)
        check_fits(point.cfg, dataset)
        if point.last is not None and dataset.preprocessing != point.last.preprocessing:
            raise DataError(f"the data set's fitted scaling differs from the one in {point.last.path}: "
                            f"the data changed since the run started, so it cannot continue")
        rows_done = point.last.training["rows_done"] if point.last is not None else 0
        n_rows, batch_size = len(dataset.x_train), point.cfg.training.batch_size
        if rows_done and (rows_done >= n_rows or rows_done % batch_size or point.last.epoch == point.cfg.training.epochs):
            raise CheckpointError(f"{point.last.path}: training.rows_done: {rows_done} is not a batch boundary inside "
                                  f"an epoch of {n_rows} rows in batches of {batch_size}")
        state = _State(point.cfg, dataset, point)  # restores every saved state: the last checks
        run = runs.Run.reopen(point.path, point.history, point.status, rows_done)
        with _ends(run):
            if point.rewrite_best:
                state.save(run.path, "checkpoint.json", state.best.best_epoch, _without_seconds(run.history[-1]), None)
            return _run(point.cfg, dataset, run, state, on_epoch, on_batch, stop, plots)


@contextlib.contextmanager
def _ends(run):
    """Whatever escapes once the run folder exists leaves run.json saying how the run ended, never
    `running`; when even that write failed, nnctl's error says so."""
    try:
        yield
    except BaseException as e:
        if run.status["status"] == "running":
            if isinstance(e, KeyboardInterrupt):
                run.finish("interrupted", signal=_signal_name(getattr(e, "signal", signal.SIGINT)))
            else:
                run.finish("failed", error=str(e) if isinstance(e, NnctlError) else f"{type(e).__name__}: {e}")
        if run.status_error is not None and isinstance(e, NnctlError):
            e.args = (f"{e} (and {run.status_error}: it still says {run.written or 'nothing'})",)
        raise


class _Generators:
    """The dropout layers' random generators as one stateful callback: their exact state is
    what a resumed run needs to drop the same units."""

    def __init__(self, model):
        self.generators = [layer.rng for layer in model.layers if isinstance(getattr(layer, "rng", None), np.random.Generator)]

    def state_dict(self) -> dict:
        return {"states": [g.bit_generator.state for g in self.generators]}

    def load_state_dict(self, state: dict) -> None:
        if len(state["states"]) != len(self.generators):
            raise ValueError(f"{len(state['states'])} generator states for {len(self.generators)} dropout layers")
        for generator, saved in zip(self.generators, state["states"]):
            generator.bit_generator.state = saved


def _stateful(model, schedule, monitor) -> dict:
    """The run's objects with state_dict() / load_state_dict(), by name: last.json keeps each
    state under its name and a resumed run restores it."""
    callbacks = {"monitor": monitor}
    if schedule is not None:
        callbacks["schedule"] = schedule
    generators = _Generators(model)
    if generators.generators:
        callbacks["dropout"] = generators
    return callbacks


class _State:
    """The model, optimizer and callbacks of a fresh (point None) or resumed run, with every state
    last.json and checkpoint.json hold restored: built before a resume changes any file."""

    def __init__(self, cfg, dataset, point):
        self.cfg, self.dataset = cfg, dataset
        self.n_inputs = dataset.x_train.shape[1]
        try:
            self.model = build(config_module.plain(cfg.model.layers), self.n_inputs, np.random.default_rng(cfg.seed), cfg.training.dtype)
        except MemoryError as e:
            raise ConfigError(f"the model does not fit in this machine's memory ({e}): "
                              "make model.layers smaller") from None
        self.loss = LOSSES[cfg.loss]
        self.optimizer = optimizers.build(config_module.plain(cfg.optimizer))
        self.schedule = schedules.build(config_module.plain(cfg.training.schedule))
        self.stopper = stopping.build(config_module.plain(cfg.training.early_stopping))
        self.best = _best_monitor(cfg, self.stopper)
        self.restore_best = self.stopper is None or self.stopper.restore_best
        self.callbacks = _stateful(self.model, self.schedule, self.best)
        self.kept, self.start_epoch, self.start = None, 0, (0, 0.0, 0)
        # from the untrained weights, so before restore: a resumed run gets the same limit
        self.loss_limit = divergence.loss_limit(divergence.reference_loss(self.model, self.loss, dataset.x_train,
                                                                          dataset.y_train))
        if point is not None:
            self.start_epoch, self.start = resume_module.restore(point, self.model, self.optimizer, self.callbacks)
            if self.restore_best:
                self.kept = resume_module.best_state(point, self.best.best_epoch)

    def training(self, rows_done=0, loss_sum=0.0, correct=0) -> dict:
        """last.json's training state: the position in the epoch, the best epoch, the callbacks."""
        return {"rows_done": rows_done, "loss_sum": float(loss_sum),
                "correct": float(correct) if isinstance(correct, float) else int(correct),
                "best_value": self.best.best, "best_epoch": self.best.best_epoch,
                "callbacks": {name: c.state_dict() for name, c in self.callbacks.items()}}

    def save(self, path, name: str, epoch: int, metrics: dict, training: dict | None) -> None:
        checkpoint_module.save(path / name, config=self.cfg, model=self.model, preprocessing=self.dataset.preprocessing,
                               classes=self.dataset.classes, n_inputs=self.n_inputs, epoch=epoch, metrics=metrics,
                               optimizer=self.optimizer.state_dict() if training is not None else None,
                               training=training)


def _run(cfg, dataset, run, state, on_epoch, on_batch, stop, plots: bool = True) -> dict:
    """The training of a fresh or resumed run (`state`) into `run`'s folder."""
    model, loss, optimizer, schedule = state.model, state.loss, state.optimizer, state.schedule
    stopper, best, restore_best = state.stopper, state.best, state.restore_best
    path = run.path
    kept = {"state": state.kept}
    start_epoch, start = state.start_epoch, state.start
    training_state = state.training

    def save(name: str, epoch: int, metrics: dict, training: dict | None) -> None:
        state.save(path, name, epoch, metrics, training)

    def after_epoch(record: dict) -> bool:
        run.log(record)
        metrics = _without_seconds(record)  # the same run must give the same checkpoint bytes
        improved = best.update(record)
        if improved and restore_best:
            kept["state"] = {k: v.copy() for k, v in model.state().items()}
        # last.json first: if the process dies between the two writes, resuming finds the best
        # epoch's weights in last.json itself (see resume.best_state)
        save("last.json", record["epoch"], metrics, training_state())
        if improved or not restore_best:  # without restore_best the checkpoint is the last epoch
            save("checkpoint.json", record["epoch"], metrics, None)
        if on_epoch is not None:
            on_epoch(record)
        return stopper is not None and stopper.stop

    epochs = start_epoch if stopper is not None and stopper.stop else cfg.training.epochs  # stopped early already
    try:
        fit(model, loss, optimizer, dataset, epochs=epochs, batch_size=cfg.training.batch_size,
            shuffle=cfg.training.shuffle, seed=cfg.seed, on_epoch=after_epoch, on_batch=on_batch,
            schedule=schedule, clip_norm=cfg.training.clip_norm, start_epoch=start_epoch, start=start, stop=stop,
            loss_limit=state.loss_limit)
    except TrainingDiverged as e:
        run.finish("diverged", error=str(e))
        kept_msg = "last.json holds the last good epoch" if run.history else "no epoch finished, so no checkpoint was written"
        raise TrainingDiverged(f"{e}. Run folder {path}: {kept_msg}") from None
    except Interrupted as e:
        raise _interrupted(e, run, save, training_state, len(dataset.x_train)) from None
    except KeyboardInterrupt as e:  # a second signal: stopped at once, last.json holds the last save
        run.finish("interrupted", signal=_signal_name(getattr(e, "signal", signal.SIGINT)))
        raise
    except BaseException as e:
        run.finish("failed", error=f"{type(e).__name__}: {e}")
        raise
    history = run.history
    if restore_best and kept["state"] is not None:
        model.load_state(kept["state"])
    checkpoint_epoch = best.best_epoch if restore_best else (history[-1]["epoch"] if history else None)
    test = evaluate(model, loss, dataset.x_test, dataset.y_test, task=dataset.task, target_scale=dataset.target_scale)
    test = {k: v for k, v in test.items() if k != "out"} | {"n": int(len(dataset.y_test))}
    if test["loss"] is not None and not np.isfinite(test["loss"]):
        run.finish("diverged", error=f"the test loss is {test['loss']}")
        raise TrainingDiverged(f"the trained model's loss on the test split is {test['loss']}: its weights are too large "
                               f"(optimizer.lr is {optimizer.lr:g}: try a tenth of it). Run folder {path}")
    early = stopper.report() if stopper is not None else None
    run.finish("finished", best_epoch=best.best_epoch, checkpoint_epoch=checkpoint_epoch, test=test, early_stopping=early)
    drawn = report.draw(path, run.history, best.best_epoch, model, cfg.loss, dataset, dataset.classes) if plots else []
    return {"run_dir": str(path), "checkpoint": str(path / "checkpoint.json"), "last_checkpoint": str(path / "last.json"),
            "best_epoch": best.best_epoch, "checkpoint_epoch": checkpoint_epoch, "epochs": len(history),
            "final": history[-1] if history else None, "test": test, "early_stopping": early, "history": history,
            "plots": drawn}


def _interrupted(e: Interrupted, run, save, training_state, n_rows: int) -> Interrupted:
    """Save where training stopped into last.json, mark the run interrupted, and say how to go on."""
    name = _signal_name(e.signal)
    try:
        metrics = _without_seconds(run.history[-1]) if run.history else {}
        save("last.json", e.epoch, metrics, training_state(e.rows_done, e.loss_sum, e.correct))
    except KeyboardInterrupt as again:  # a second signal during the save: last.json is still the previous one
        run.finish("interrupted", signal=_signal_name(getattr(again, "signal", e.signal)))
        raise
    except BaseException:
        run.finish("failed", error=f"interrupted by {name}, and last.json could not be written")
        raise
    run.finish("interrupted", signal=name, interrupted_at={"epoch": e.epoch + 1, "rows_done": e.rows_done, "rows": n_rows})
    where = (f"in epoch {e.epoch + 1} ({e.rows_done} of {n_rows} rows done)" if e.rows_done else
             f"after epoch {e.epoch}" if e.epoch else "before the first batch")
    return Interrupted(e.signal, e.epoch, e.rows_done, e.loss_sum, e.correct,
                       message=f"interrupted by {name} {where}: {run.path / 'last.json'} saved; "
                               f"continue with: nnctl train --resume {run.path}")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _without_seconds(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}


def evaluate_checkpoint(path, split: str = "test", data=None) -> dict:
    """Score a checkpoint on a split of its own data set, rebuilt with its seed and preprocessing.

    Classification: loss, accuracy, macro_f1, per-class scores, confusion matrix and, for two
    classes, roc_auc. Regression: loss, mae, rmse and r2 (mae and rmse in the target's units).
    `data`: a file (or MNIST folder) read in place of the checkpoint's, with its data settings.
    A file the checkpoint alone names is opened only inside its run folder (DataError otherwise;
    see nnctl.runs.checkpoint_data); `data` for a data set not read from a file raises ValueError.
    """
    from .runs import checkpoint_data

    ckpt = load_checkpoint(path)
    dataset = checkpoint_data.load(ckpt, data)
    x, y = dataset.split(split)
    scores = evaluate(ckpt.model, LOSSES[ckpt.config.loss], x, y, task=dataset.task, target_scale=dataset.target_scale)
    result = {"checkpoint": str(path), "split": split, "task": dataset.task, "n": int(len(y)),
              **{k: v for k, v in scores.items() if k != "out"}}
    if dataset.task == "regression":
        return result
    result["classes"] = ckpt.classes
    if len(y):
        cm = metrics.confusion_matrix(y, metrics.predicted_classes(scores["out"]), len(ckpt.classes))
        result["macro_f1"] = metrics.macro_f1(cm)
        if len(ckpt.classes) == 2:
            out = scores["out"]
            result["roc_auc"] = metrics.roc_auc(y, out[:, -1])  # the positive class's probability
        result["per_class"] = metrics.per_class(cm)
        result["confusion_matrix"] = cm.tolist()
    return result


def predict(ckpt: checkpoint_module.Checkpoint, x_raw: np.ndarray) -> np.ndarray:
    """Model outputs for raw feature rows, after the checkpoint's preprocessing: class
    probabilities, or for regression the predicted values in the target's own units."""
    x = data_module.apply_preprocessing(np.asarray(x_raw), ckpt.preprocessing, ckpt.config.training.dtype)
    out = ckpt.model.predict(x)
    if "target" in ckpt.preprocessing:
        return data_module.unscale_target(out, ckpt.preprocessing)
    return out


def gradcheck(path, overrides=(), *, samples: int | None = 100, tolerance: float | None = None,
              batch_size: int = 8, seed: int | None = None) -> dict:
    """Backprop against central differences for the network `path` configures, in float64.

    The batch is synthetic (standard normal features of the data set's width, random labels),
    so no data set is loaded, except a user's file or an OpenML set whose width or classes only
    the data can tell. At most `samples` entries per parameter tensor are checked.
    """
    from threadpoolctl import threadpool_limits

    from .engine import gradcheck as gradcheck_module

    cfg = load_config(path, overrides)
    spec = data_module.spec(cfg.data)
    n_features, n_classes = spec.n_features, spec.n_classes
    if n_features is None or n_classes is None:
        dataset = load_data(cfg)
        n_features, n_classes = dataset.x_train.shape[1], len(dataset.classes or [])
    tolerance = gradcheck_module.TOLERANCE if tolerance is None else tolerance
    memory.require(cfg, n_features, data=False, dtype="float64", batch_size=batch_size, source=str(path))
    rng = np.random.default_rng(cfg.seed if seed is None else seed)
    model = build(config_module.plain(cfg.model.layers), n_features, rng, "float64")
    x = rng.standard_normal((batch_size, n_features))
    y = rng.standard_normal(batch_size) if spec.task == "regression" else rng.integers(0, n_classes, batch_size)
    # Thousands of products of a batch of 8: BLAS threads only add waiting (13 s instead of 0.5 s
    # for MNIST's network on a busy 2-core machine).
    with threadpool_limits(limits=1, user_api="blas"):
        results = gradcheck_module.check(model, LOSSES[cfg.loss], x, y, samples, rng, tolerance)
    worst = max(r["max_relative_error"] for r in results.values())
    return {"config": str(path), "batch_size": batch_size, "samples": samples, "eps": gradcheck_module.EPS,
            "tolerance": tolerance, "parameters": results, "max_relative_error": worst, "passed": worst <= tolerance}


def predictions(ckpt: checkpoint_module.Checkpoint, x_raw: np.ndarray) -> dict:
    """For raw feature rows: the predicted class index and the class probabilities (or the values, for regression)."""
    out = predict(ckpt, x_raw)
    task = data_module.spec(ckpt.config.data).task
    if task == "regression":
        return {"task": task, "values": out}
    probabilities = np.hstack([1 - out, out]) if out.shape[1] == 1 else out  # one sigmoid unit: p(classes[1])
    return {"task": task, "classes": ckpt.classes, "predicted": metrics.predicted_classes(out),
            "probabilities": probabilities}


def plot_run(run_dir, data=None) -> list[str]:
    """Redraw a run folder's PNGs from its logs and checkpoint; return their paths. `data` as
    for evaluate_checkpoint."""
    return report.plot_run(run_dir, data)
