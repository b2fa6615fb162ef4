"""A run's end is one callback event: on_train_end(status, error) on every callback, in list order,
however the run ended; a callback failing there makes its error the run's."""

import json
import signal

import pytest

from nnctl import api, config
from nnctl.engine.callbacks import Callback
from nnctl.errors import Interrupted, TrainingDiverged, WriteError
from nnctl.runs import saving


class Ending(Callback):
    """Records the end it was told of, into a shared list."""

    def __init__(self, seen, name, fail=None):
        self.seen, self.name, self.fail = seen, name, fail

    def on_train_end(self, status, error):
        self.seen.append((self.name, status, type(error).__name__ if error is not None else None))
        if self.fail is not None:
            raise self.fail


def test_every_callback_hears_the_end_in_list_order():
    seen = []
    error = TrainingDiverged("boom")
    assert saving.end([Ending(seen, "a"), Ending(seen, "b")], error) is error
    assert seen == [("a", "diverged", "TrainingDiverged"), ("b", "diverged", "TrainingDiverged")]
    assert [saving.outcome(e) for e in (None, Interrupted(15), KeyboardInterrupt(), ValueError())] == \
        ["finished", "interrupted", "interrupted", "failed"]


def test_a_callback_failing_at_the_end_fails_the_run_for_those_after_it():
    seen, first = [], Interrupted(signal.SIGTERM)
    failed = WriteError("last.json: cannot be written")
    error = saving.end([Ending(seen, "save", fail=failed), Ending(seen, "status")], first)
    assert error is failed and error.__context__ is first  # chained: the traceback shows both
    assert seen == [("save", "interrupted", "Interrupted"), ("status", "failed", "WriteError")]


def test_a_run_tells_its_callbacks_how_it_ended(tmp_path, moons_config):
    cfg = config.load(moons_config(training={"epochs": 3}))
    seen = []
    api.train(cfg, run_dir=tmp_path / "done", callbacks=[Ending(seen, "mine")], plots=False)
    calls = {"n": 0}

    def stop():  # SIGTERM after the fourth batch of the first epoch (moons: 7 batches an epoch)
        calls["n"] += 1
        return signal.SIGTERM if calls["n"] > 4 else 0

    with pytest.raises(Interrupted, match="continue with: nnctl train --resume"):
        api.train(cfg, run_dir=tmp_path / "stopped", callbacks=[Ending(seen, "mine")], stop=stop, plots=False)
    assert seen == [("mine", "finished", None), ("mine", "interrupted", "Interrupted")]
    status = json.loads((tmp_path / "stopped" / "run.json").read_text())
    assert status["status"] == "interrupted" and status["interrupted_at"]["rows_done"] == 4 * 32
    assert (tmp_path / "stopped" / "last.json").exists()  # written before run.json says so
