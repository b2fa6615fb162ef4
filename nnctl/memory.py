"""How much memory a config needs, estimated from the config alone, against what the machine has.

The estimate adds up, in bytes of training.dtype: the parameters, their gradients, the
optimizer's slots and work arrays (per optimizer and options); the activations training keeps
for backward at training.batch_size, and those of evaluation at its batch of 8192 rows; and the
data set (its rows as loaded, float64 or uint8, plus the scaled copy), when the config or the
catalog says how many rows and features it has. It is rough — NumPy's short-lived temporaries
are not counted one by one — and errs low: it refuses what cannot fit, not what might be tight.

The memory available is $NNCTL_MEMORY_LIMIT when set (bytes, or with a unit: 512M, 2G, 1.5GiB),
else /proc/meminfo's MemAvailable, else the free pages the C library reports.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

from .errors import ConfigError

ENV = "NNCTL_MEMORY_LIMIT"
EVAL_BATCH = 8192  # the batch of train.evaluate and Sequential.predict
# Rows of the data sets whose size the catalog knows (the generated ones say n_samples).
ROWS = {"iris": 150, "wine": 178, "breast_cancer": 569, "digits": 1797, "diabetes": 442, "mnist": 70_000,
        "fashion_mnist": 70_000}
RAW_ITEMSIZE = {"mnist": 1, "fashion_mnist": 1}  # uint8 images; every other set loads as float64
# Arrays the size of the parameters an optimizer's step uses besides its slots: reused work
# arrays (sgd, adam, adamw) or the temporaries of its expressions (the rest).
WORK = {"sgd": 1, "adam": 2, "adamw": 2, "rmsprop": 3, "adagrad": 3, "adadelta": 4, "adamax": 3, "nadam": 4}
# Arrays of a layer's width a training batch keeps per configured layer: the layer's output, its
# activation's output, the gradient flowing back and the activation's mask or work array.
PER_LAYER = 4
UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
         "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


def estimate(cfg, n_features: int | None = None, n_rows: int | None = None, *, dtype: str | None = None,
             batch_size: int | None = None, data: bool = True) -> dict:
    """The bytes training `cfg` needs, by part: {"bytes", "parts", "lower_bound"}.

    n_features and n_rows default to what is known before loading (the config, the catalog);
    when the width is unknown (a user's file), a width of 1 gives a lower bound. `data=False`
    leaves out the data set (already loaded). dtype and batch_size default to the config's.
    """
    from .data import spec
    from .model import summary_rows
    from .optimizers import build

    known = spec(cfg.data).n_features
    n_features = n_features or known
    lower_bound = n_features is None
    n_features = n_features or 1
    if n_rows is None and data:
        n_rows = getattr(cfg.data, "n_samples", None) or ROWS.get(cfg.data.name)
    itemsize = np.dtype(dtype or cfg.training.dtype).itemsize
    batch = batch_size or cfg.training.batch_size
    if n_rows is not None:
        batch = min(batch, n_rows)
    rows = summary_rows(cfg.model.layers, n_features)
    n_params = sum(r["params"] for r in rows)
    n_trainable = n_params - sum(r["non_trainable_params"] for r in rows)
    widths = [r["output_shape"][1] for r in rows]
    optimizer = build(cfg.optimizer)
    eval_rows = EVAL_BATCH if n_rows is None else min(EVAL_BATCH, n_rows)
    parts = {
        "parameters": n_params * itemsize,
        "gradients": n_trainable * itemsize,
        "optimizer": (len(optimizer.slot_names()) + WORK[cfg.optimizer.name]) * n_trainable * itemsize,
        "activations": batch * (n_features + PER_LAYER * sum(widths)) * itemsize,
        # inference keeps two layers' outputs at a time (input and output of the one running)
        "evaluation": eval_rows * (n_features + 2 * max(widths)) * itemsize,
        "data": 0 if n_rows is None or not data else
        n_rows * n_features * (RAW_ITEMSIZE.get(cfg.data.name, 8) + itemsize),
    }
    return {"bytes": sum(parts.values()), "parts": parts, "lower_bound": lower_bound}


def available() -> tuple[int | None, str]:
    """(bytes of memory available, where that number comes from); None when nothing says."""
    value = os.environ.get(ENV)
    if value:
        return parse_size(value), ENV
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free pages"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def parse_size(text: str) -> int:
    """Bytes from '123', '512M', '2G', '1.5GiB' (binary units); ConfigError for anything else."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise ConfigError(f"{ENV}={text!r}: expected a number of bytes, optionally with a unit (512M, 2G, 1.5GiB)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def size(n: int) -> str:
    """A byte count as people read it: 812 B, 3.4 MiB, 7.3 TiB."""
    if n < 1024:
        return f"{n} B"
    exponent = min(int(math.log(n, 1024)), 5)
    return f"{n / 1024**exponent:.1f} {['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'][exponent]}"


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
