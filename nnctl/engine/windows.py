"""Windows sliding over images: where a kernel or a pool goes, and the image's values under it.

A window of kh x kw taps, `dilation` apart, steps `strides` over an image (N, H, W, C) padded by
`padding`, PyTorch's arithmetic (torch/nn/modules/conv.py): each side's output is
floor((H + pad_top + pad_bottom - dilation * (kh - 1) - 1) / stride) + 1. `same` pads so that the
output is ceil(H / stride), the odd pixel at the bottom and right (Keras', TensorFlow's rule).

`patches` copies each window's values into a row of a matrix (im2col), `add_patches` sums such
rows back into the image they came from (col2im); both go tap by tap over the window, (0, 0) first,
and the compiled kernels (kernels_images.py), which the caller passes as `jit` (None: NumPy), do
the same additions in the same order, so the same bits. `patches_by_tap` and `add_patches_by_tap`
do the same for images of one channel with the matrix transposed, a row per tap, where a window
row would be too short a run to copy.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .protocol import ShapeError, pair, shown


class Window(NamedTuple):
    """A window's geometry on one image size: taps, steps, spacing, padding, the output's size."""

    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    top: int
    bottom: int
    left: int
    right: int
    height: int  # of the output
    width: int

    @property
    def taps(self) -> int:
        return self.kh * self.kw

    @property
    def padded(self) -> bool:
        return bool(self.top or self.bottom or self.left or self.right)

    def offsets(self):
        """(row, column) of each tap in the padded image, relative to the window's corner, row by row."""
        return [(a * self.dh, b * self.dw) for a in range(self.kh) for b in range(self.kw)]

    def taps_of(self, xp: np.ndarray, a: int, b: int) -> np.ndarray:
        """The (N, height, width, C) view of padded images xp under tap (a, b) of every window."""
        return xp[:, a:a + self.sh * (self.height - 1) + 1:self.sh, b:b + self.sw * (self.width - 1) + 1:self.sw]


def window(input_shape: tuple, size, strides, padding, dilation=1, size_key: str = "kernel_size") -> Window:
    """The geometry of a window of `size` over images of `input_shape` (H, W, C); ShapeError when
    the input is no image, or when the window (its taps spread by `dilation`) is larger than the
    padded image."""
    if len(input_shape) != 3:
        raise ShapeError(f"takes images, (None, height, width, channels), and its input is {shown(input_shape)}")
    (h, w), (kh, kw), (sh, sw), (dh, dw) = input_shape[:2], pair(size, size_key), pair(strides, "strides"), \
        pair(dilation, "dilation")
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if padding == "same":
        (top, bottom), (left, right) = _same(h, span_h, sh), _same(w, span_w, sw)
    elif padding == "valid":
        top = bottom = left = right = 0
    else:
        (top, left) = pair(padding, "padding")
        bottom, right = top, left
    if span_h > h + top + bottom or span_w > w + left + right:
        spread = f" (its taps spread over {span_h} x {span_w} by dilation {dh if dh == dw else [dh, dw]})" \
            if (dh, dw) != (1, 1) else ""
        raise ShapeError(f"{size_key} {_word(size)}{spread} is larger than its input {shown(input_shape)}, {h} x {w}"
                         + (f" padded to {h + top + bottom} x {w + left + right}" if top or left else "")
                         + f" per channel; use a smaller {size_key} or padding: same", size_key)
    height, width = (h + top + bottom - span_h) // sh + 1, (w + left + right - span_w) // sw + 1
    return Window(kh, kw, sh, sw, dh, dw, top, bottom, left, right, height, width)


def _same(n: int, span: int, stride: int) -> tuple[int, int]:
    """Keras' `same` padding of one side: the output is ceil(n / stride), the odd pixel after."""
    total = max((math.ceil(n / stride) - 1) * stride + span - n, 0)
    return total // 2, total - total // 2


def _word(value) -> str:
    return str(value) if isinstance(value, int) else f"[{value[0]}, {value[1]}]"


def pad(x: np.ndarray, w: Window, work: dict, key: str, fill: float = 0.0) -> np.ndarray:
    """x (N, H, W, C) inside a border of `fill` as the window pads it: x itself without padding, else
    an array kept in `work` (its border written once, its inside at every call)."""
    if not w.padded:
        return x
    n, h, width, c = x.shape
    shape = (n, h + w.top + w.bottom, width + w.left + w.right, c)
    buf = work.get(key)
    if buf is None or buf.shape[0] < n or buf.shape[1:] != shape[1:] or buf.dtype != x.dtype:
        buf = work[key] = np.full(shape, fill, x.dtype)
    xp = buf[:n]
    xp[:, w.top:w.top + h, w.left:w.left + width] = x
    return xp


def unpad(xp: np.ndarray, w: Window) -> np.ndarray:
    """The image inside the padding of xp (a view)."""
    return xp[:, w.top:xp.shape[1] - w.bottom, w.left:xp.shape[2] - w.right]


def patches(xp: np.ndarray, w: Window, cols: np.ndarray, jit=None) -> np.ndarray:
    """im2col: cols (N, height, width, kh, kw, C) holds each window's values of the padded images xp."""
    if jit is not None and w.dw == 1 and xp.flags.c_contiguous and cols.flags.c_contiguous:
        n, hp, wp, c = xp.shape  # a window row's taps lie next to each other: copied as runs
        jit.im2col_runs(xp.reshape(n, hp, wp * c), cols.reshape(*cols.shape[:4], -1), w.sh, w.sw, w.dh, c)
        return cols
    if jit is not None:
        jit.im2col(xp, cols, w.sh, w.sw, w.dh, w.dw)
        return cols
    for a in range(w.kh):
        for b in range(w.kw):
            cols[:, :, :, a, b] = w.taps_of(xp, a * w.dh, b * w.dw)
    return cols


def patches_by_tap(xp: np.ndarray, w: Window, cols: np.ndarray, jit=None) -> np.ndarray:
    """im2col for images of one channel, tap by tap: cols (kh, kw, N, height, width) holds each tap's
    values over every window of the padded images xp (N, Hp, Wp, 1), so that an image row's
    values are copied at once (a window row of one channel is only kw values)."""
    if jit is not None:
        jit.im2col_taps(xp[..., 0], cols, w.sh, w.sw, w.dh, w.dw)
        return cols
    for a in range(w.kh):
        for b in range(w.kw):
            cols[a, b] = w.taps_of(xp, a * w.dh, b * w.dw)[..., 0]
    return cols


def add_patches(cols: np.ndarray, w: Window, xp: np.ndarray, jit=None) -> np.ndarray:
    """col2im: add each window's row of cols (N, height, width, kh, kw, C) into the zeroed padded
    images xp where its values came from, tap by tap."""
    if jit is not None and w.dw == 1 and xp.flags.c_contiguous and cols.flags.c_contiguous:
        n, hp, wp, c = xp.shape  # as patches: a window row's run at a time
        jit.col2im_runs(cols.reshape(*cols.shape[:4], -1), xp.reshape(n, hp, wp * c), w.sh, w.sw, w.dh, c)
        return xp
    if jit is not None:
        jit.col2im(cols, xp, w.sh, w.sw, w.dh, w.dw)
        return xp
    for a in range(w.kh):
        for b in range(w.kw):
            view = w.taps_of(xp, a * w.dh, b * w.dw)
            view += cols[:, :, :, a, b]
    return xp


def add_patches_by_tap(cols: np.ndarray, w: Window, xp: np.ndarray, jit=None) -> np.ndarray:
    """col2im of patches_by_tap's layout: cols (kh, kw, N, height, width) added into the zeroed padded
    images xp (N, Hp, Wp, 1), tap by tap."""
    if jit is not None:
        jit.col2im_taps(cols, xp[..., 0], w.sh, w.sw, w.dh, w.dw)
        return xp
    for a in range(w.kh):
        for b in range(w.kw):
            view = w.taps_of(xp, a * w.dh, b * w.dw)[..., 0]
            view += cols[a, b]
    return xp
