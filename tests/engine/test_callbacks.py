"""The training loop and its callbacks: the order of the hooks, stopping, and a Position that
continues an interrupted epoch bit for bit, all in memory (no run folder)."""

import signal

import numpy as np
import pytest
import yaml
from helpers.moons import MOONS

from nnctl import config
from nnctl.engine.callbacks import BestWeights, Callback, LearningRateScheduler, Monitor, StopOnRequest
from nnctl.engine.schedules import Step
from nnctl.engine.train import Position, fit
from nnctl.errors import Interrupted
from nnctl.runs import training


def setup(**training_options):
    """A fresh model, loss and optimizer for the shared moons config, and its data set."""
    raw = yaml.safe_load(MOONS)
    raw["training"].update(training_options)
    cfg = config.from_dict(raw)
    dataset = training.load_data(cfg)
    run = training.Training(cfg, dataset)
    return run, dataset, cfg


def train(run, dataset, cfg, epochs, callbacks=(), start=None):
    return fit(run.model, run.loss, run.optimizer, dataset, epochs=epochs, batch_size=cfg.training.batch_size,
               shuffle=True, seed=cfg.seed, callbacks=callbacks, start=Position() if start is None else start)


class Recorder(Callback):
    def __init__(self, calls, name="recorder"):
        self.calls, self.name = calls, name

    def on_epoch_begin(self, epoch):
        self.calls.append((self.name, "begin", epoch))

    def on_batch_end(self, epoch, rows_done, n_rows, position=None):
        self.calls.append((self.name, "batch", epoch, rows_done, n_rows))

    def on_epoch_end(self, record):
        self.calls.append((self.name, "end", record["epoch"]))
        return False


def test_hooks_are_called_at_their_points_in_list_order():
    run, dataset, cfg = setup()
    calls = []
    train(run, dataset, cfg, 2, [Recorder(calls, "a"), Recorder(calls, "b")])
    n = len(dataset.x_train)
    batches = -(-n // cfg.training.batch_size)
    one_epoch = ([("a", "begin", 1), ("b", "begin", 1)]
                 + [(name, "batch", 1, min((i + 1) * 32, n), n) for i in range(batches) for name in "ab"]
                 + [("a", "end", 1), ("b", "end", 1)])
    assert calls[:len(one_epoch)] == one_epoch and len(calls) == 2 * len(one_epoch)


def test_batch_end_gets_the_running_sums_that_make_the_epoch_record():
    class Running(Callback):
        def __init__(self):
            self.positions = []

        def on_batch_end(self, epoch, rows_done, n_rows, position=None):
            self.positions.append(position)

    run, dataset, cfg = setup()
    running = Running()
    record = train(run, dataset, cfg, 1, [running])[0]
    last, n = running.positions[-1], len(dataset.x_train)
    assert last.epoch == 0 and last.rows_done == n and [p.rows_done for p in running.positions][:2] == [32, 64]
    assert last.loss_sum / n == record["train_loss"] and last.score_sum / n == record["train_accuracy"]


def test_a_true_epoch_end_stops_after_every_callback_saw_the_record():
    class StopAt(Callback):
        def on_epoch_end(self, record):
            return record["epoch"] == 2

    run, dataset, cfg = setup()
    calls = []
    history = train(run, dataset, cfg, 10, [StopAt(), Recorder(calls)])
    assert [r["epoch"] for r in history] == [1, 2] and calls[-1] == ("recorder", "end", 2)


def test_an_interrupted_epoch_continues_from_its_position_bit_for_bit():
    ref, dataset, cfg = setup()
    reference = train(ref, dataset, cfg, 3)
    run, _, _ = setup()
    batches = -(-len(dataset.x_train) // cfg.training.batch_size)
    asked = iter(range(1000))  # before each epoch, and after each batch but an epoch's last
    stop = StopOnRequest(lambda: signal.SIGTERM if next(asked) == batches + 3 else 0)
    with pytest.raises(Interrupted) as info:  # after the third batch of epoch 2
        train(run, dataset, cfg, 3, [stop])
    at = info.value.position
    assert isinstance(at, Position) and (at.epoch, at.rows_done) == (1, 3 * 32) and info.value.signal == signal.SIGTERM
    assert isinstance(at.score_sum, int) and 0 < at.score_sum <= at.rows_done  # right classes so far
    history = train(run, dataset, cfg, 3, start=at)
    assert [r["epoch"] for r in history] == [2, 3]
    assert [r["train_loss"] for r in history] == [r["train_loss"] for r in reference[1:]]
    for name, array in ref.model.state().items():
        assert np.array_equal(array, run.model.state()[name]), name


def test_schedule_monitor_and_best_weights_as_callbacks():
    run, dataset, cfg = setup()
    monitor = Monitor("val_loss", "min")
    best = BestWeights(run.model, monitor)
    history = train(run, dataset, cfg, 4,
                    [LearningRateScheduler(Step(step_size=2, gamma=0.5), run.optimizer), monitor, best])
    assert [r["lr"] for r in history] == [0.02, 0.02, 0.01, 0.01]
    assert monitor.best == min(r["val_loss"] for r in history)
    kept = best.weights
    best.restore()
    assert all(np.array_equal(kept[k], v) for k, v in run.model.state().items())
