"""How much memory a config needs, estimated from the config alone, against what the machine has.

The estimate adds up, in bytes of training.dtype: the parameters, their gradients, the
optimizer's slots and work arrays (per optimizer and options); the activations training keeps
for backward at training.batch_size, and those of evaluation at its batch of 8192 rows; and the
data set (its rows as loaded, float64 or uint8, plus the scaled copy), when the config or the
catalog says how many rows and features it has. It is rough — NumPy's short-lived temporaries
are not counted one by one — and errs low: it refuses what cannot fit, not what might be tight.

The memory available is what nnctl.machine.available says.
"""

from __future__ import annotations


import numpy as np

from ..errors import ConfigError
from ..machine import ENV, available, parse_size, size  # noqa: F401  (parse_size: part of this module's face)

EVAL_BATCH = 8192  # the batch of train.evaluate and Sequential.predict
# Arrays of a layer's width a training batch keeps per configured layer: the layer's output, its
# activation's output, the gradient flowing back and the activation's mask or work array.
PER_LAYER = 4


def estimate(cfg, n_features: int | None = None, n_rows: int | None = None, *, dtype: str | None = None,
             batch_size: int | None = None, data: bool = True) -> dict:
    """The bytes training `cfg` needs, by part: {"bytes", "parts", "lower_bound"}.

    n_features and n_rows default to what is known before loading (the config, the catalog);
    when the width is unknown (a user's file), a width of 1 gives a lower bound. `data=False`
    leaves out the data set (already loaded). dtype and batch_size default to the config's.
    """
    from ..data import spec
    from ..engine.model import summary_rows
    from ..engine.optimizers import build
    from . import plain

    known = spec(cfg.data)  # the catalog's features, rows (or the config's n_samples) and raw item size
    n_features = n_features or known.n_features
    lower_bound = n_features is None
    n_features = n_features or 1
    if n_rows is None and data:
        n_rows = known.rows
    itemsize = np.dtype(dtype or cfg.training.dtype).itemsize
    batch = batch_size or cfg.training.batch_size
    if n_rows is not None:
        batch = min(batch, n_rows)
    rows = summary_rows(plain(cfg.model.layers), n_features)
    n_params = sum(r["params"] for r in rows)
    n_trainable = n_params - sum(r["non_trainable_params"] for r in rows)
    widths = [r["output_shape"][1] for r in rows]
    optimizer = build(plain(cfg.optimizer))
    eval_rows = EVAL_BATCH if n_rows is None else min(EVAL_BATCH, n_rows)
    parts = {
        "parameters": n_params * itemsize,
        "gradients": n_trainable * itemsize,
        "optimizer": (len(optimizer.slot_names()) + optimizer.WORK) * n_trainable * itemsize,
        "activations": batch * (n_features + PER_LAYER * sum(widths)) * itemsize,
        # inference keeps two layers' outputs at a time (input and output of the one running)
        "evaluation": eval_rows * (n_features + 2 * max(widths)) * itemsize,
        "data": 0 if n_rows is None or not data else
        n_rows * n_features * (known.raw_itemsize + itemsize),
    }
    return {"bytes": sum(parts.values()), "parts": parts, "lower_bound": lower_bound}


WHY = {"parameters": "the layers' parameters (model.layers units)", "gradients": "the gradients (model.layers units)",
       "optimizer": "the optimizer's state (model.layers units)",
       "activations": "a training batch's activations (training.batch_size, model.layers units)",
       "evaluation": "an evaluation batch's activations (model.layers units)",
       "data": "the data set (data.n_samples and n_features)"}


def require(cfg, n_features: int | None = None, n_rows: int | None = None, *, source: str = "the config",
            **options) -> dict:
    """The estimate (see `estimate`), or ConfigError when it exceeds the memory available."""
    need = estimate(cfg, n_features, n_rows, **options)
    have, where = available()
    need["available"], need["available_source"] = have, where
    if have is not None and need["bytes"] > have:
        biggest = max(need["parts"], key=need["parts"].get)
        at_least = "at least " if need["lower_bound"] else ""
        raise ConfigError(f"{source}: training needs {at_least}about {size(need['bytes'])} of memory, this machine has "
                          f"{size(have)} available ({where}); most of it is {WHY[biggest]}: "
                          f"{size(need['parts'][biggest])}")
    return need
