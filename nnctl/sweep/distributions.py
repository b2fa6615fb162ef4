"""Distributions a random sweep draws from: a registry keyed by the YAML word `distribution`.

Each is a frozen, strict model whose fields are exactly its YAML keys, with `sample(rng)`.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..config import Strict


class Uniform(Strict):
    """A float drawn uniformly in [low, high)."""

    distribution: Literal["uniform"]
    low: float = Field(description="smallest value")
    high: float = Field(description="largest value")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be less than high ({self.high})")
        return self

    def sample(self, rng: np.random.Generator):
        return float(rng.uniform(self.low, self.high))


class LogUniform(Uniform):
    """A float whose logarithm is uniform in [log low, log high): the choice for learning rates."""

    distribution: Literal["log_uniform"]
    low: float = Field(gt=0.0, description="smallest value, > 0")

    def sample(self, rng: np.random.Generator):
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


class Integer(Strict):
    """An integer drawn uniformly from low to high, both included."""

    distribution: Literal["integer"]
    low: int = Field(description="smallest value")
    high: int = Field(description="largest value (included)")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self

    def sample(self, rng: np.random.Generator):
        return int(rng.integers(self.low, self.high, endpoint=True))


class Choice(Strict):
    """One of `values`, each with the same probability."""

    distribution: Literal["choice"]
    values: list[Any] = Field(min_length=1, description="the values, drawn with equal probability")

    def sample(self, rng: np.random.Generator):
        return copy.deepcopy(self.values[int(rng.integers(len(self.values)))])


DISTRIBUTIONS = {"uniform": Uniform, "log_uniform": LogUniform, "integer": Integer, "choice": Choice}
