"""Pooling of images (N, H, W, C), channel by channel: the largest value of each window
(MaxPool2D), its mean (AvgPool2D), or the mean of the whole image (GlobalAvgPool2D).

Each window's values are visited tap by tap, (0, 0) first, in the NumPy code below and in the
compiled kernels alike (kernels_images.py), so both give the same bits:

- max: a value replaces the one kept when it is larger, or NaN where the kept one is not (the
  first NaN wins, as np.max and np.argmax have it); the tap kept is remembered, and backward adds
  each gradient to that input, windows in row-major order (np.add.at's order);
- average: the sum from zero, tap by tap, divided by the number of the image's own values in the
  window (padding counts for nothing, as in Keras; PyTorch's count_include_pad=False);
  backward adds gradient / count to every tap, tap by tap.

Padding: `same` as Keras, or an integer (PyTorch's), at most half the pool size so that no window
holds padding alone; max pooling pads with -inf, average pooling with zeros.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .conv import STRIDES, padding_key
from .protocol import PAIR, GraphNode, Key, Layer, ShapeError, shown
from .windows import pad, unpad, window
from .work import reusable


class _Pool2D(Layer):
    """What max and average pooling share: their keys, geometry and shapes."""

    takes_images, positional = True, 3  # Keras' MaxPooling2D(pool_size, strides, padding)
    keys = (Key("pool_size", (int, PAIR), "height and width of each window: an integer, or [height, width]", 2,
                ge=1, le=10_000, aliases=("kernel_size",)),
            Key("strides", (int, PAIR, None), "step between two windows: an integer, or [vertical, horizontal]; "
                "default: pool_size", None, ge=1, le=10_000, aliases=STRIDES.aliases),
            padding_key("padding around the input"))

    def geometry(self, input_shape):
        w = window(input_shape, self.pool_size, self.pool_size if self.strides is None else self.strides, self.padding,
                   size_key="pool_size")
        if self.padding not in ("valid", "same") and (2 * w.top > w.kh or 2 * w.left > w.kw):
            raise ShapeError(f"padding {self.padding} is more than half of pool_size {self.pool_size}: a window could "
                             f"hold padding alone", "padding")
        return w

    def output_shape(self, input_shape):
        w = self.geometry(input_shape)
        return (w.height, w.width, input_shape[2])

    def work_values(self, input_shape):
        """Besides the default four outputs: the padded input and the gradient's padded image."""
        w = self.geometry(input_shape)
        h, width, c = input_shape
        return super().work_values(input_shape) + 2 * (h + w.top + w.bottom) * (width + w.left + w.right) * c

    def build(self, input_shape, rng, dtype):
        self.w = self.geometry(input_shape)
        self.x_shape = None

    def graph_node(self):
        w = self.w
        return GraphNode(self.type, {}, {"pool_size": [w.kh, w.kw], "strides": [w.sh, w.sw],
                                         "pads": [w.top, w.left, w.bottom, w.right]})

    def _dx(self, dxp):
        """dx from the gradient of the padded input: dxp itself, or its inside in an array of its own."""
        if not self.w.padded:
            return dxp
        dx = reusable(self.work, "dx", self.x_shape, dxp.dtype)
        dx[...] = unpad(dxp, self.w)
        return dx


class MaxPool2D(_Pool2D):
    """The largest value of each window, channel by channel."""

    type, title, aliases = "maxpool2d", "MaxPooling2D", ("MaxPooling2D", "MaxPool2d", "MaxPool2D")

    def forward(self, x, training=False):
        w, work = self.w, self.work if training else {}
        xp = pad(x, w, work, "xp", fill=-np.inf)
        out = np.empty((len(x), w.height, w.width, x.shape[3]), x.dtype) if not training else \
            reusable(work, "y", (len(x), w.height, w.width, x.shape[3]), x.dtype)
        tap = reusable(work, "tap", out.shape, np.int32)
        jit = kernels.for_images(out.size)
        if jit is not None:
            jit.maxpool(xp, out, tap, w.kh, w.kw, w.sh, w.sw)
        else:
            _maxpool(xp, w, out, tap)
        self.x_shape, self.tap = (x.shape, tap) if training else (None, None)
        self.y = out if training else None  # what the diagnostics count of a relu before it
        return out

    def backward(self, dy, need_dx=True):
        """Each gradient to the input its window kept (None with need_dx=False)."""
        if not need_dx:
            return None
        w, (n, h, width, c) = self.w, self.x_shape
        dxp = reusable(self.work, "dxp", (n, h + w.top + w.bottom, width + w.left + w.right, c), dy.dtype)
        dxp.fill(0)
        jit = kernels.for_images(dy.size)
        if jit is not None:
            jit.maxpool_backward(dy, self.tap, dxp, w.kw, w.sh, w.sw)
        else:
            rows, cols = np.divmod(self.tap, w.kw)
            i, j = np.arange(w.height)[:, None, None] * w.sh, np.arange(w.width)[:, None] * w.sw
            index = ((np.arange(n)[:, None, None, None] * dxp.shape[1] + i + rows) * dxp.shape[2] + j + cols) * c \
                + np.arange(c)
            np.add.at(dxp.reshape(-1), index.reshape(-1), dy.reshape(-1))
        return self._dx(dxp)


def _maxpool(xp, w, out, tap) -> None:
    """The NumPy max pool: out, and in tap each window's tap index (row * kw + column) of it."""
    out[...] = w.taps_of(xp, 0, 0)
    tap.fill(0)
    for k in range(1, w.taps):
        v = w.taps_of(xp, k // w.kw, k % w.kw)
        take = (v > out) | ((v != v) & (out == out))  # larger, or the first NaN
        np.copyto(out, v, where=take)
        tap[take] = k


class AvgPool2D(_Pool2D):
    """The mean of each window, channel by channel (padding left out of the count)."""

    type, title, aliases = "avgpool2d", "AveragePooling2D", ("AveragePooling2D", "AvgPool2d", "AvgPool2D")

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        w, (h, width, _) = self.w, input_shape
        # the image's own values under each window: its span in the padded image, less the padding
        top, left = np.arange(w.height) * w.sh, np.arange(w.width) * w.sw
        rows = np.minimum(top + w.kh, h + w.top) - np.maximum(top, w.top)
        cols = np.minimum(left + w.kw, width + w.left) - np.maximum(left, w.left)
        self.count = (rows[:, None] * cols[None, :]).astype(dtype)[:, :, None]  # (height, width, 1)

    def forward(self, x, training=False):
        w, work = self.w, self.work if training else {}
        xp = pad(x, w, work, "xp")
        shape = (len(x), w.height, w.width, x.shape[3])
        out = reusable(work, "y", shape, x.dtype) if training else np.empty(shape, x.dtype)
        jit = kernels.for_images(out.size)
        if jit is not None:
            jit.avgpool(xp, out, self.count[:, :, 0], w.kh, w.kw, w.sh, w.sw, x.dtype.type(0))
        else:
            out.fill(0)
            for k in range(w.taps):
                out += w.taps_of(xp, k // w.kw, k % w.kw)
            out /= self.count
        self.x_shape = x.shape if training else None
        return out

    def backward(self, dy, need_dx=True):
        """gradient / count added to every tap of its window (None with need_dx=False)."""
        if not need_dx:
            return None
        w, (n, h, width, c) = self.w, self.x_shape
        dxp = reusable(self.work, "dxp", (n, h + w.top + w.bottom, width + w.left + w.right, c), dy.dtype)
        dxp.fill(0)
        g = np.divide(dy, self.count, out=reusable(self.work, "g", dy.shape, dy.dtype))
        jit = kernels.for_images(dy.size)
        if jit is not None:
            jit.avgpool_backward(g, dxp, w.kh, w.kw, w.sh, w.sw)
        else:
            for k in range(w.taps):
                view = w.taps_of(dxp, k // w.kw, k % w.kw)
                view += g
        return self._dx(dxp)


class GlobalAvgPool2D(Layer):
    """The mean of each channel over the whole image: (N, H, W, C) -> (N, C)."""

    type, title, aliases = "global_avgpool2d", "GlobalAveragePooling2D", ("GlobalAveragePooling2D", "GlobalAvgPool2D")
    takes_images = True

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(f"takes images, (None, height, width, channels), and its input is {shown(input_shape)}")
        return (input_shape[2],)

    def build(self, input_shape, rng, dtype):
        self.x_shape = None

    def forward(self, x, training=False):
        n, h, w, c = x.shape
        self.x_shape = x.shape if training else None
        out = np.add.reduce(x.reshape(n, h * w, c), axis=1)
        out /= x.dtype.type(h * w)
        return out

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, h, w, c = self.x_shape
        dx = reusable(self.work, "dx", self.x_shape, dy.dtype)
        np.divide(dy.reshape(n, 1, 1, c), dy.dtype.type(h * w), out=dx)
        return dx

