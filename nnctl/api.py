"""The Python API, and the one the CLI uses: config -> data -> model -> training -> checkpoint.

    cfg = nnctl.api.load_config("configs/moons.yaml")
    result = nnctl.api.train(cfg)                      # writes runs/moons-.../
    ckpt = nnctl.api.load_checkpoint(result["checkpoint"])
    probabilities = nnctl.api.predict(ckpt, x_raw)     # applies the stored preprocessing
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import checkpoint as checkpoint_module
from . import config as config_module
from . import data as data_module
from . import metrics, optimizers, runs, schedules, stopping
from .errors import DataError, TrainingDiverged
from .losses import LOSSES
from .model import build, summary_rows
from .stopping import Monitor
from .train import evaluate, fit


def load_config(path) -> config_module.Config:
    """Read and validate a YAML config (raises ConfigError)."""
    return config_module.load(path)


def load_checkpoint(path) -> checkpoint_module.Checkpoint:
    """Read and verify a checkpoint, rebuilding its model (raises CheckpointError)."""
    return checkpoint_module.load(path)


def load_data(cfg, preprocessing: dict | None = None) -> data_module.Dataset:
    """The config's data set, split and scaled (raises DataError)."""
    return data_module.load(cfg.data, cfg.seed, cfg.training.dtype, preprocessing=preprocessing)


def check_fits(cfg, dataset) -> None:
    """A file's or an OpenML set's classes are known once loaded: the output layer must fit them
    (ConfigError otherwise, as for the built-in sets)."""
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


def train(cfg, *, run_dir=None, on_epoch=None, on_batch=None) -> dict:
    """Train the network `cfg` describes; write a run folder; return the run's summary.

    The summary has run_dir, checkpoint, last_checkpoint, best_epoch, checkpoint_epoch, epochs,
    final, history, early_stopping (or None) and test (the checkpoint's scores on the test split:
    loss and accuracy, or for regression loss, mae, rmse and r2; and n).
    """
    dtype = cfg.training.dtype
    dataset = load_data(cfg)
    check_fits(cfg, dataset)
    rng = np.random.default_rng(cfg.seed)
    n_inputs = dataset.x_train.shape[1]
    model = build(cfg.model.layers, n_inputs, rng, dtype)
    loss = LOSSES[cfg.loss]
    optimizer = optimizers.build(cfg.optimizer)
    schedule = schedules.build(cfg.training.schedule)
    stopper = stopping.build(cfg.training.early_stopping)
    best = _best_monitor(cfg, stopper)
    restore_best = stopper is None or stopper.restore_best
    path = runs.use(run_dir) if run_dir is not None else runs.create(cfg.run.output_dir, cfg.run.name)
    run = runs.Run(path, config_module.dump(cfg))
    kept = {"state": None}

    def save(name: str, record: dict, with_optimizer: bool) -> None:
        checkpoint_module.save(path / name, config=cfg, model=model, preprocessing=dataset.preprocessing,
                               classes=dataset.classes, n_inputs=n_inputs, epoch=record["epoch"],
                               # no seconds: the same run must give the same checkpoint bytes
                               metrics={k: v for k, v in record.items() if k != "seconds"},
                               optimizer=optimizer.state_dict() if with_optimizer else None)

    def after_epoch(record: dict) -> bool:
        run.log(record)
        save("last.json", record, with_optimizer=True)
        if best.update(record) and restore_best:
            kept["state"] = {k: v.copy() for k, v in model.state().items()}
            save("checkpoint.json", record, with_optimizer=False)
        elif not restore_best:  # the run ends with the last weights, so the checkpoint is the last epoch
            save("checkpoint.json", record, with_optimizer=False)
        if on_epoch is not None:
            on_epoch(record)
        return stopper is not None and stopper.stop

    try:
        history = fit(model, loss, optimizer, dataset, epochs=cfg.training.epochs, batch_size=cfg.training.batch_size,
                      shuffle=cfg.training.shuffle, seed=cfg.seed, on_epoch=after_epoch, on_batch=on_batch,
                      schedule=schedule, clip_norm=cfg.training.clip_norm)
    except TrainingDiverged as e:
        run.finish("diverged", error=str(e))
        kept_msg = "last.json holds the last good epoch" if run.history else "no epoch finished, so no checkpoint was written"
        raise TrainingDiverged(f"{e}. Run folder {path}: {kept_msg}") from None
    except KeyboardInterrupt:
        run.finish("interrupted")
        raise
    except BaseException as e:
        run.finish("failed", error=f"{type(e).__name__}: {e}")
        raise
    if restore_best:
        model.load_state(kept["state"])
    checkpoint_epoch = best.best_epoch if restore_best else history[-1]["epoch"]
    test = evaluate(model, loss, dataset.x_test, dataset.y_test, task=dataset.task, target_scale=dataset.target_scale)
    test = {k: v for k, v in test.items() if k != "out"} | {"n": int(len(dataset.y_test))}
    if test["loss"] is not None and not np.isfinite(test["loss"]):
        run.finish("diverged", error=f"the test loss is {test['loss']}")
        raise TrainingDiverged(f"the trained model's loss on the test split is {test['loss']}: its weights are too large "
                               f"(optimizer.lr is {optimizer.lr:g}: try a tenth of it). Run folder {path}")
    early = stopper.report() if stopper is not None else None
    run.finish("finished", best_epoch=best.best_epoch, checkpoint_epoch=checkpoint_epoch, test=test, early_stopping=early)
    return {"run_dir": str(path), "checkpoint": str(path / "checkpoint.json"), "last_checkpoint": str(path / "last.json"),
            "best_epoch": best.best_epoch, "checkpoint_epoch": checkpoint_epoch, "epochs": len(history),
            "final": history[-1], "test": test, "early_stopping": early, "history": history}


def evaluate_checkpoint(path, split: str = "test") -> dict:
    """Score a checkpoint on a split of its own data set, rebuilt with its seed and preprocessing.

    Classification: loss, accuracy, macro_f1, per-class scores, confusion matrix and, for two
    classes, roc_auc. Regression: loss, mae, rmse and r2 (mae and rmse in the target's units).
    """
    ckpt = load_checkpoint(path)
    dataset = load_data(ckpt.config, preprocessing=ckpt.preprocessing)
    if dataset.x_train.shape[1] != ckpt.n_inputs:
        raise DataError(f"the data set has {dataset.x_train.shape[1]} features; the checkpoint expects {ckpt.n_inputs}")
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


def summary(source) -> dict:
    """The architecture of a config or checkpoint file, without loading any data set (except a
    user's file or an OpenML set, whose width only the data can tell)."""
    source = Path(source)
    if source.suffix == ".json":
        ckpt = load_checkpoint(source)
        cfg, n_inputs = ckpt.config, ckpt.n_inputs
    else:
        cfg = load_config(source)
        n_inputs = data_module.spec(cfg.data).n_features
        if n_inputs is None:
            n_inputs = load_data(cfg).x_train.shape[1]
    rows = summary_rows(cfg.model.layers, n_inputs)
    total = sum(r["params"] for r in rows)
    trainable = sum(r["params"] - r.get("non_trainable_params", 0) for r in rows if r["trainable"])
    return {"name": cfg.run.name, "input_shape": [None, n_inputs], "layers": rows, "total_params": total,
            "trainable_params": trainable, "non_trainable_params": total - trainable,
            "bytes": total * np.dtype(cfg.training.dtype).itemsize, "dtype": cfg.training.dtype}
