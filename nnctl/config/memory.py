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

import math

import numpy as np

from ..errors import ConfigError
from ..machine import ENV, available, parse_size, size  # noqa: F401  (parse_size: part of this module's face)

EVAL_BATCH = 8192  # the batch of train.evaluate and Sequential.predict


def estimate(cfg, n_features: int | None = None, n_rows: int | None = None, *, dtype: str | None = None,
             batch_size: int | None = None, data: bool = True, image_shape: tuple | None = None) -> dict:
    """The bytes training `cfg` needs, by part: {"bytes", "parts", "lower_bound"}.

    n_features and n_rows default to what is known before loading (the config, the catalog), and
    image_shape to the catalog's; when the width is unknown (a user's file), a width of 1 gives a
    lower bound. `data=False` leaves out the data set (already loaded). dtype and batch_size
    default to the config's. Each layer says what a training batch keeps of it per row
    (engine.protocol.Layer.work_values: outputs, gradients, a convolution's patches).
    """
    from ..data import spec
    from ..engine.model import plan
    from ..engine.optimizers import build
    from ..engine.protocol import ShapeError
    from . import plain, shapes

    known = spec(cfg.data)  # the catalog's features, rows (or the config's n_samples) and raw item size
    if image_shape is None and n_features in (None, known.n_features):
        image_shape = known.image_shape
    n_features = n_features or known.n_features
    lower_bound = n_features is None
    n_features = n_features or 1
    if n_rows is None and data:
        n_rows = known.rows
    itemsize = np.dtype(dtype or cfg.training.dtype).itemsize
    batch = batch_size or cfg.training.batch_size
    if n_rows is not None:
        batch = min(batch, n_rows)
    try:
        steps = plan(plain(cfg.model.layers), shapes.input_shape(cfg, n_features, image_shape))
    except ShapeError:
        if not lower_bound:
            raise
        steps = []  # a file's layers fit its width once it is loaded (checked then); at least the data
    rows = [step.layer.summary_row("", step.input_shape) for step in steps]
    n_params = sum(r["params"] for r in rows)
    n_trainable = n_params - sum(r["non_trainable_params"] for r in rows)
    outputs = [math.prod(step.output_shape) for step in steps] or [0]
    optimizer = build(plain(cfg.optimizer))
    eval_rows = EVAL_BATCH if n_rows is None else min(EVAL_BATCH, n_rows)
    parts = {
        "parameters": n_params * itemsize,
        "gradients": n_trainable * itemsize,
        "optimizer": (len(optimizer.slot_names()) + optimizer.WORK) * n_trainable * itemsize,
        # training keeps every layer's arrays from batch to batch, its scratch included
        "activations": (batch * (n_features + sum(step.layer.work_values(step.input_shape) for step in steps))
                        + sum(step.layer.scratch_values(step.input_shape, batch) for step in steps)) * itemsize,
        # inference keeps two layers' outputs at a time (input and output of the one running),
        # and the scratch a layer needs beside them (a convolution's patches, a chunk at a time)
        "evaluation": (eval_rows * (n_features + 2 * max(outputs))
                       + max((step.layer.scratch_values(step.input_shape, eval_rows) for step in steps), default=0))
        * itemsize,
        "data": 0 if n_rows is None or not data else
        n_rows * n_features * (known.raw_itemsize + itemsize),
    }
    return {"bytes": sum(parts.values()), "parts": parts, "lower_bound": lower_bound}


WHY = {"parameters": "the layers' parameters (model.layers units)", "gradients": "the gradients (model.layers units)",
       "optimizer": "the optimizer's state (model.layers units)",
       "activations": "a training batch's activations (training.batch_size, model.layers units, filters and kernels)",
       "evaluation": "an evaluation batch's activations (model.layers units, filters and kernels)",
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
