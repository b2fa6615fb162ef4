"""The image steps as ONNX nodes (onnx.py's LAYER_NODES takes NODES from here), channels first.

nnctl's images are channels last, (N, H, W, C); ONNX's Conv and pooling operators take them
channels first, (N, C, H, W). So the graph views the input rows as images and transposes them
once, at the `images` step, and back once, at a flatten, whose features must come in nnctl's
order (row, column, channel) for the dense layer trained on them. A convolution's weights
(kh, kw, C, F) are written as ONNX's (F, C, kh, kw). Padding is explicit: nnctl's `pads`
[top, left, bottom, right] are ONNX's [x1_begin, x2_begin, x1_end, x2_end], so `same` puts its odd
pixel at the bottom and right as nnctl does (auto_pad's SAME_UPPER would too, but explicit pads
say what they are). Max pooling leaves padding out of every max (ONNX's MaxPool ignores its pads,
as nnctl's -inf padding does), average pooling out of the count (count_include_pad=0).

onnxruntime has no float64 kernel for Conv, AveragePool or GlobalAveragePool, so a float64 model
writes them with operators it runs in float64, computing what nnctl computes: each tap of a window
is a strided Slice of the padded images; a convolution is those patches side by side (im2col, the
taps in nnctl's order) times the weights, a MatMul; an average the Sum of the taps over the count
of the image's own values; the global average a ReduceMean.
"""

from __future__ import annotations

import numpy as np

CHANNELS_FIRST, CHANNELS_LAST = [0, 3, 1, 2], [0, 2, 3, 1]  # Transpose's perm each way


def _images(g, x: str, step) -> str:
    """Flat rows (N, H*W*C) as images (N, C, H, W): viewed as (N, H, W, C), then channels first."""
    h, w, c = step.attributes["shape"]
    x = g.op("Reshape", x, g.const([-1, h, w, c], "image_shape", dtype=np.int64))
    return g.op("Transpose", x, perm=CHANNELS_FIRST)


def _conv2d(g, x: str, step) -> str:
    W, b, a = step.arrays["W"], step.arrays["b"], step.attributes
    if g.dtype == np.float32:
        return g.op("Conv", x, g.const(W.transpose(3, 2, 0, 1), f"{step.name}.W"), g.const(b, f"{step.name}.b"),
                    kernel_shape=list(W.shape[:2]), strides=a["strides"], dilations=a["dilation"], pads=a["pads"])
    taps = _taps(g, x, step, W.shape[:2], a["dilation"])
    cols = g.op("Transpose", g.op("Concat", *taps, axis=1), perm=CHANNELS_LAST)  # (N, Ho, Wo, kh * kw * C)
    z = g.op("MatMul", cols, g.const(W.reshape(-1, W.shape[3]), f"{step.name}.W"))
    return g.op("Transpose", g.op("Add", z, g.const(b, f"{step.name}.b")), perm=CHANNELS_FIRST)


def _maxpool2d(g, x: str, step) -> str:
    a = step.attributes
    return g.op("MaxPool", x, kernel_shape=a["pool_size"], strides=a["strides"], pads=a["pads"])


def _avgpool2d(g, x: str, step) -> str:
    a = step.attributes
    if g.dtype == np.float32:
        return g.op("AveragePool", x, kernel_shape=a["pool_size"], strides=a["strides"], pads=a["pads"],
                    count_include_pad=0)
    total = g.op("Sum", *_taps(g, x, step, a["pool_size"], [1, 1]))
    return g.op("Div", total, g.const(_counts(step), f"{step.name}.count"))


def _global_avgpool2d(g, x: str, step) -> str:
    if g.dtype == np.float32:
        return g.op("Flatten", g.op("GlobalAveragePool", x), axis=1)
    return g.op("ReduceMean", x, axes=[2, 3], keepdims=0)


def _flatten(g, x: str, step) -> str:
    # channels last again first: the dense layer after it was trained on nnctl's order of the values
    return g.op("Flatten", g.op("Transpose", x, perm=CHANNELS_LAST), axis=1)


NODES = {"images": _images, "conv2d": _conv2d, "maxpool2d": _maxpool2d, "avgpool2d": _avgpool2d,
         "global_avgpool2d": _global_avgpool2d, "flatten": _flatten}


def _output_size(step, size, dilation) -> tuple[int, int]:
    """The output's height and width: floor((H + pads - dilation (k - 1) - 1) / stride) + 1 per side."""
    (h, w, _), (top, left, bottom, right), (sh, sw) = step.input_shape, step.attributes["pads"], \
        step.attributes["strides"]
    return ((h + top + bottom - dilation[0] * (size[0] - 1) - 1) // sh + 1,
            (w + left + right - dilation[1] * (size[1] - 1) - 1) // sw + 1)


def _taps(g, x: str, step, size, dilation) -> list[str]:
    """The zero-padded images' values under each tap of every window, tap (0, 0) first, then along
    the row: kh * kw strided slices (N, C, Ho, Wo)."""
    top, left, bottom, right = step.attributes["pads"]
    (sh, sw), (dh, dw) = step.attributes["strides"], dilation
    if top or left or bottom or right:
        x = g.op("Pad", x, g.const([0, 0, top, left, 0, 0, bottom, right], "pads", dtype=np.int64))
    height, width = _output_size(step, size, dilation)
    axes, steps = g.const([2, 3], "axes", dtype=np.int64), g.const([sh, sw], "steps", dtype=np.int64)
    taps = []
    for i in range(size[0] * size[1]):
        row, column = i // size[1] * dh, i % size[1] * dw
        starts = g.const([row, column], "starts", dtype=np.int64)
        ends = g.const([row + sh * (height - 1) + 1, column + sw * (width - 1) + 1], "ends", dtype=np.int64)
        taps.append(g.op("Slice", x, starts, ends, axes, steps))
    return taps


def _counts(step) -> np.ndarray:
    """(1, 1, Ho, Wo): how many of the image's own values each pooling window holds, as
    engine.pooling.AvgPool2D counts them (the padding counts for nothing)."""
    (h, w, _), (top, left, _, _), (sh, sw), (kh, kw) = step.input_shape, step.attributes["pads"], \
        step.attributes["strides"], step.attributes["pool_size"]
    height, width = _output_size(step, (kh, kw), (1, 1))
    first_row, first_column = np.arange(height) * sh, np.arange(width) * sw
    rows = np.minimum(first_row + kh, h + top) - np.maximum(first_row, top)
    columns = np.minimum(first_column + kw, w + left) - np.maximum(first_column, left)
    return (rows[:, None] * columns[None, :])[None, None]
