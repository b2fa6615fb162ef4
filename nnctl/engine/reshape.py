"""Flatten: images (N, H, W, C) as rows (N, H * W * C), the order they lie in memory (channels last,
as Keras' Flatten gives them; PyTorch's nn.Flatten of (N, C, H, W) orders them channel first)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from .protocol import Array, GraphNode, Layer, Shape


class Flatten(Layer):
    """Each row's values as one row of features: what a dense layer after images takes."""

    type, title = "flatten", "Flatten"

    x_shape: tuple[int, ...] | None = None  # the batch's shape, kept by a training forward

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)

    def work_values(self, input_shape: Shape) -> int:
        return 0  # a view of its input, and its gradient a view of the one flowing back

    def build(self, input_shape: Shape, rng: np.random.Generator | None, dtype: DTypeLike) -> None:
        self.x_shape = None

    def graph_node(self) -> GraphNode:
        return GraphNode("flatten", {}, {})

    def forward(self, x: Array, training: bool = False) -> Array:
        self.x_shape = x.shape if training else None
        return x.reshape(len(x), -1)

    def backward(self, dy: Array, need_dx: bool = True) -> Array | None:
        return dy.reshape(self.x_shape) if need_dx else None
