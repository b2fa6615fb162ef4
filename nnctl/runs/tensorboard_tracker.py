"""TensorBoard event files in RUN_DIR/tensorboard/, laid out as Keras' TensorBoard callback lays them.

    tensorboard/            the run's hparams (the HParams tab: one session per run, or per sweep trial)
    tensorboard/train/      epoch_loss, epoch_accuracy (or epoch_mae), epoch_learning_rate, the
                            per-layer diagnostics, and the weights' and gradients' histograms
    tensorboard/validation/ epoch_loss, epoch_accuracy (or epoch_mae, epoch_rmse, epoch_r2)
    tensorboard/test/       the same tags once, at the step of the epoch checkpoint.json holds

Train and validation share their tags, so TensorBoard draws both curves in one chart (two runs).
A resumed run starts its event files with a SessionLog START at its first epoch: TensorBoard then
drops the points a killed run wrote past its last save, as a resumed run trains those epochs again.
Written with tensorboard's own event writer and protos: no TensorFlow, no tensorboardX.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from pathlib import Path

import numpy as np

from ..engine.metric_names import split_scores
from ..errors import MissingDependency, WriteError
from ..files import NO_LINK
from .tracker import Guarded, flatten, numbers

HISTOGRAM_BINS = 30
FOLDER = "tensorboard"
# an epoch record's key -> (run, tag): the shared tags overlay train and validation in one chart
# (Keras' names: a run per split, epoch_<score> tags), for every epoch score of engine.metric_names
SCALARS = {f"{split}_{s.name}": (run, f"epoch_{s.name}") for split, run in (("train", "train"), ("val", "validation"))
           for s in split_scores(split)} | {"lr": ("train", "epoch_learning_rate")}
STATUS = {"finished": "STATUS_SUCCESS", "running": "STATUS_RUNNING"}  # anything else: STATUS_FAILURE


def own_folder(path: Path) -> Path:
    """`path` as a folder of the run's own: made if missing, refused (WriteError) when a symbolic
    link or anything but a folder stands in its place: the event files would go wherever it points."""
    try:
        os.mkdir(path)
    except FileExistsError:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise WriteError(f"{path}: is not a folder ({NO_LINK}): remove it, or train without "
                             "--tensorboard") from None
    except OSError as e:
        raise WriteError(f"{path}: cannot be created: {e.strerror or e}") from None
    return path


def hparams_of(config: dict) -> dict:
    """The config's scalar settings as hparams (the `run` section, where files go, left out)."""
    return {key: _scalar(text) for key, text in flatten({k: v for k, v in config.items() if k != "run"}).items()}


def _scalar(text: str):
    """A flattened config value back as a bool, number or text (flatten wrote str(value))."""
    if text in ("True", "False"):
        return text == "True"
    try:
        number = float(text)
    except ValueError:
        return text
    return number if np.isfinite(number) else text


def histogram(values: np.ndarray, proto):
    """`values` (their finite ones) as a TensorBoard HistogramProto; None when none is finite."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    counts, edges = np.histogram(v, bins=HISTOGRAM_BINS)
    return proto(min=float(v.min()), max=float(v.max()), num=float(v.size), sum=float(v.sum()),
                 sum_squares=float(np.dot(v, v)), bucket_limit=edges[1:].tolist(), bucket=counts.astype(float).tolist())


class TensorBoardTracker(Guarded):
    """The event files of one run (see the module's docstring). Reads the model only: the weights
    are the same with it as without."""

    label = "TensorBoard logging"

    def __init__(self, cfg, run, model=None):
        super().__init__(run)
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.plugins.hparams import summary_v2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            raise MissingDependency("run.tracking.tensorboard needs TensorBoard: pip install "
                                    "'nnctl[tensorboard]'") from None
        self.event_pb2, self.summary_pb2, self.Writer = event_pb2, summary_pb2, EventFileWriter
        self.root = own_folder(Path(run.path) / FOLDER)
        self.writers: dict = {}
        self.model = model
        started = time.time()
        first = len(getattr(run, "history", None) or []) + 1  # a resumed run's first epoch to log
        for name in ("train", "validation"):  # TensorBoard drops the points an earlier run wrote from here on
            self._write(name, first, None, started, session_log=self.event_pb2.SessionLog(
                status=self.event_pb2.SessionLog.START))
        self._write("", 0, summary_v2.hparams_pb(hparams_of(cfg.model_dump(mode="json")), trial_id=Path(run.path).name,
                                                 start_time_secs=started), started)

    def _writer(self, name: str):
        if name not in self.writers:
            self.writers[name] = self.Writer(str(own_folder(self.root / name) if name else self.root))
        return self.writers[name]

    def _write(self, name: str, step: int, summary, when: float | None = None, **event) -> None:
        event = {"summary": summary, **event} if summary is not None else event
        self._writer(name).add_event(self.event_pb2.Event(wall_time=when or time.time(), step=step, **event))

    def _histograms(self) -> list:
        if self.model is None:
            return []
        params, grads = self.model.params(), self.model.grads()
        out = []
        for name, weights in params.items():
            if not name.endswith(".W"):
                continue
            for tag, values in ((name, weights), (f"{name}/grad", grads.get(name))):
                h = histogram(values, self.summary_pb2.HistogramProto) if values is not None else None
                if h is not None:
                    out.append(self.summary_pb2.Summary.Value(tag=tag, histo=h))
        return out

    def _scalars(self, values: dict[str, float]) -> dict[str, list]:
        """The numbers as Summary values by run: the known scores under their shared tags, any other
        number (the per-layer diagnostics) in train/ under its own name."""
        runs: dict[str, list] = {"train": [], "validation": []}
        for key, value in values.items():
            run, tag = SCALARS.get(key, ("train", key))
            runs[run].append(self.summary_pb2.Summary.Value(tag=tag, simple_value=value))
        return runs

    def on_epoch_end(self, record):
        with self.guarded() as ok:
            if ok:
                step = int(record["epoch"])
                runs = self._scalars(numbers({k: v for k, v in record.items() if k != "seconds"}))
                runs["train"] += self._histograms()
                for name, values in runs.items():
                    if values:
                        self._write(name, step, self.summary_pb2.Summary(value=values))
                for writer in self.writers.values():
                    writer.flush()
        return False

    def end(self, run) -> None:
        with self.guarded() as ok:
            if ok:
                status = run.status
                test = {k: v for k, v in numbers(status.get("test") or {}).items() if k != "n"}
                step = status.get("checkpoint_epoch") or status.get("epochs") or 0
                if test:
                    values = [self.summary_pb2.Summary.Value(tag=f"epoch_{k}", simple_value=v) for k, v in test.items()]
                    self._write("test", int(step), self.summary_pb2.Summary(value=values))
                self._write("", 0, self._session_end(status.get("status")))
        for writer in self.writers.values():
            with contextlib.suppress(Exception):  # said once already, if it failed
                writer.close()

    def _session_end(self, status: str | None):
        """The HParams tab's end of the session: succeeded, or failed (diverged, interrupted, failed)."""
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

        info = plugin_data_pb2.SessionEndInfo(status=getattr(api_pb2, STATUS.get(status, "STATUS_FAILURE")),
                                              end_time_secs=time.time())
        summary = self.summary_pb2.Summary()
        summary.value.add(tag=metadata.SESSION_END_INFO_TAG, tensor=metadata.NULL_TENSOR,
                          metadata=metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(session_end_info=info)))
        return summary
