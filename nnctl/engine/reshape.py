"""Flatten: images (N, H, W, C) as rows (N, H * W * C), the order they lie in memory (channels last,
as Keras' Flatten gives them; PyTorch's nn.Flatten of (N, C, H, W) orders them channel first)."""

from __future__ import annotations

import math

from .protocol import GraphNode, Layer


class Flatten(Layer):
    """Each row's values as one row of features: what a dense layer after images takes."""

    type, title = "flatten", "Flatten"

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def work_values(self, input_shape):
        return 0  # a view of its input, and its gradient a view of the one flowing back

    def build(self, input_shape, rng, dtype):
        self.x_shape = None

    def graph_node(self):
        return GraphNode("flatten", {}, {})

    def forward(self, x, training=False):
        self.x_shape = x.shape if training else None
        return x.reshape(len(x), -1)

    def backward(self, dy, need_dx=True):
        return dy.reshape(self.x_shape) if need_dx else None
