"""What a Sequential model's fit returns: Keras' History, with nnctl's per-epoch records."""

from __future__ import annotations

from ..engine.metric_names import split_scores

# nnctl's names in an epoch's record -> Keras' names in History.history: a training score goes by its
# own name (loss, accuracy, mae), a validation one keeps its val_ prefix, as in Keras
KERAS_NAMES = {f"train_{s.name}": s.name for s in split_scores("train")} | {"lr": "learning_rate"}


class History:
    """The epochs of one fit, as Keras' History: `history` maps each metric, under Keras' names
    (loss, accuracy or mae, val_loss, val_accuracy ..., learning_rate), to its value at every
    epoch, and `epoch` lists the epochs (from 0, as Keras counts them). `records` holds nnctl's
    records of the epochs, as metrics.jsonl holds them (train_loss, val_loss, lr, seconds, the
    per-layer diagnostics ...); `run` is the run's summary (as api.train returns it) when fit
    wrote a run folder, else None; `params` the fit's epochs, steps and batch size."""

    def __init__(self, records: list[dict], params: dict, run: dict | None = None):
        self.records, self.params, self.run = records, params, run
        self.epoch = [record["epoch"] - 1 for record in records]
        names = [key for key in records[0] if key != "epoch" and "." not in key and key != "seconds"] if records else []
        # no val_* without validation
        kept = [key for key in names if any(record.get(key) is not None for record in records)]
        self.history = {KERAS_NAMES.get(key, key): [record.get(key) for record in records] for key in kept}

    def __repr__(self):
        return f"History(epochs={len(self.records)}, metrics={list(self.history)})"
