"""Seeded splits of a data set's rows: stratified for classification, so each class keeps its share.

The tabular sets keep scikit-learn's train_test_split (the shipped configs' marks were measured
on it); the image sets are split by NumPy alone, which imports nothing.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError

SPLITS = ("train", "val", "test")


def random_state(seed: int, stream: int) -> int:
    """A 32-bit random_state for scikit-learn, one independent stream per use of the seed."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def stratified_split(rows: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator, key: str):
    """Split `rows` into (kept, held out), both in their original order: ceil(fraction * n) rows are
    held out, shared among the classes in proportion (largest remainders), each class's drawn at
    random by `rng`. Fraction 0 holds out nothing.

    Written with NumPy alone: scikit-learn's train_test_split would cost a second of imports.
    """
    if fraction == 0:
        return rows, rows[:0]
    n = len(rows)
    classes, inverse, counts = np.unique(y[rows], return_inverse=True, return_counts=True)
    n_held = math.ceil(round(fraction * n, 9))  # round first: 0.1 * 800 must be 80, not 80.00000000000001
    quota = n_held * counts / n
    held_counts = np.floor(quota).astype(np.int64)
    by_remainder = np.argsort(-(quota - held_counts), kind="stable")
    held_counts[by_remainder[:n_held - held_counts.sum()]] += 1
    short = [(c, k, h) for c, k, h in zip(classes.tolist(), counts.tolist(), held_counts.tolist()) if not 0 < h < k]
    if short:
        c, k, h = short[0]
        raise DataError(f"cannot split {n} rows with {key}={fraction} and every class on both sides: "
                        f"class {c} has {k} rows, of which {h} would be held out")
    order = rng.permutation(n)
    order = order[np.argsort(inverse[order], kind="stable")]  # grouped by class, random within each class
    rank = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)  # position within its class
    held = np.zeros(n, dtype=bool)
    held[order[rank < np.repeat(held_counts, counts)]] = True
    return rows[~held], rows[held]


def sklearn_split(rows: np.ndarray, y: np.ndarray, fraction: float, random_state: int, key: str, stratify=True):
    """Split `rows` into (kept, held out) with class proportions kept (unless stratify is false:
    regression), by scikit-learn's train_test_split; fraction 0 holds out nothing.

    The tabular sets load through scikit-learn (or files) and keep its splits, on which the shipped
    configs' marks were measured; the image sets use stratified_split, which imports nothing.
    """
    if fraction == 0:
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(rows, test_size=fraction, stratify=y[rows] if stratify else None,
                                random_state=random_state)
    except ValueError as e:  # too few rows (for every class to appear on both sides)
        both = " and every class on both sides" if stratify else ""
        raise DataError(f"cannot split {len(rows)} rows with {key}={fraction}{both}: {e}") from None

