"""Conv2D: a 2-D convolution of images, channels last (Keras' Conv2D, PyTorch's Conv2d).

With x: (N, H, W, C) padded to xp, W: (kh, kw, C, F) and b: (F,)::

    z[n, i, j, f] = b[f] + sum over taps (a, e) and channels c of xp[n, i*sh + a*dh, j*sw + e*dw, c] * W[a, e, c, f]

computed as im2col: each window's values become a row of `cols` (windows.patches), and one BLAS
product cols @ W (W viewed as (kh * kw * C, F)) gives z as rows (n, i, j) of F values, which is
(N, Ho, Wo, F) as it lies in memory. Backward is two more products, dW = cols^T dz and
dcols = dz W^T, and col2im (windows.add_patches) adds dcols back into dx.

The products go a chunk of images at a time, each chunk's patches at most CHUNK_VALUES values
(whole images; one image when its patches are more), so that the patches, their product and
what reads it next stay in a core's cache instead of streaming through memory: the patches of
issue 21's benchmark network are 40 MB a batch, a chunk's 1 MB. Backward takes each chunk's
patches again from the padded input it keeps (cheaper than reading them back from memory, and
no patches held between forward and backward), adds each chunk's cols^T dz to dW in the chunks'
order, and puts each chunk's dx together while it is in the cache. The chunks depend on the
layer's shapes and the batch's size alone, so the numbers do too. Images of one channel take
their patches a tap at a time (windows.patches_by_tap: the matrix transposed), since a window
row of one channel is too short a run to copy. The fused steps of a convolution with its relu,
and with the max pooling after it, are in conv_steps.py.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .layers import ACTIVATION, INITIALIZER, L1, L2, default_initializer, initialize, weight_penalties
from .protocol import PAIR, GraphNode, Key, Layer, ShapeError, pair, shown
from .windows import add_patches, add_patches_by_tap, pad, patches, patches_by_tap, unpad, window
from .work import reusable

CHUNK_VALUES = 1 << 18  # values of the patches a product takes at once: 1 MB in float32 (see the module's text)

PADDING = ("valid", "same")
STRIDES = Key("strides", (int, PAIR), "step between two windows: an integer, or [vertical, horizontal]", 1,
              ge=1, le=10_000, aliases=("stride",))


def padding_key(what: str) -> Key:
    """The padding key of a layer whose windows are `what`."""
    return Key("padding", (PADDING, int, PAIR), f"valid: no padding; same: {what} so that the output is the input's "
               "size over strides (rounded up); an integer or [vertical, horizontal]: that many on each side", "valid",
               ge=0, le=10_000)


class Conv2D(Layer):
    """A 2-D convolution of images (N, H, W, C): `filters` kernels of kernel_size, each over every channel."""

    type, title, aliases, positional = "conv2d", "Conv2D", ("Conv2D", "Conv2d", "Convolution2D"), 4
    takes_images = True
    filters: int  # set from the keys below, as every key
    keys = (Key("filters", (int,), "number of filters: the output's channels", ge=1, le=100_000,
                aliases=("out_channels",)),
            Key("kernel_size", (int, PAIR), "height and width of each filter: an integer, or [height, width]",
                ge=1, le=10_000),
            STRIDES,
            padding_key("zeros around the input"),
            Key("dilation", (int, PAIR), "spacing of a filter's taps (1: next to each other)", 1, ge=1, le=10_000,
                aliases=("dilation_rate",)),
            ACTIVATION, INITIALIZER, L1, L2,
            Key("in_channels", (int, None), "the input's channels, as PyTorch's Conv2d names them; checked against "
                "the input; default: the input's", None, ge=1, le=100_000))

    def geometry(self, input_shape):
        w = window(input_shape, self.kernel_size, self.strides, self.padding, self.dilation)
        if self.in_channels is not None and self.in_channels != input_shape[2]:
            raise ShapeError(f"in_channels is {self.in_channels}, and its input {shown(input_shape)} has "
                             f"{input_shape[2]} channel{'s' if input_shape[2] > 1 else ''}", "in_channels")
        return w

    def output_shape(self, input_shape):
        w = self.geometry(input_shape)
        return (w.height, w.width, self.filters)

    def param_shapes(self, input_shape):
        kh, kw = pair(self.kernel_size, "kernel_size")
        return {"W": (kh, kw, input_shape[2], self.filters), "b": (self.filters,)}

    def work_values(self, input_shape):
        """Besides the default four outputs: the padded input backward takes the patches from again,
        and the input's gradient."""
        w = self.geometry(input_shape)
        h, width, c = input_shape
        padded = (h + w.top + w.bottom) * (width + w.left + w.right) * c if w.padded else 0
        return super().work_values(input_shape) + padded + h * width * c

    def scratch_values(self, input_shape, rows):
        """A chunk's patches (their gradient in the same array), its product and its padded images."""
        w = self.geometry(input_shape)
        h, width, c = input_shape
        images = min(rows, _chunk_images(w, c))
        padded = (h + w.top + w.bottom) * (width + w.left + w.right) * c
        return images * (w.height * w.width * (w.taps * c + self.filters) + padded)

    def penalties(self):
        return weight_penalties(self)

    def build(self, input_shape, rng, dtype):
        self.w = self.geometry(input_shape)
        kh, kw, c, f = self.param_shapes(input_shape)["W"]
        initializer = self.initializer or default_initializer(self.activation)
        # fan-in and fan-out as Keras and PyTorch count them for a convolution
        self.params = {"W": initialize(initializer, kh * kw * c, kh * kw * f, rng, dtype, shape=(kh, kw, c, f)),
                       "b": np.zeros(f, dtype=dtype)}
        self.grads = {k: np.zeros(v.shape, v.dtype) for k, v in self.params.items()}
        self.chunk = _chunk_images(self.w, c)
        self.x_shape = self.xp = self.jit = None  # training: the input's shape, its padded images, the kernels used
        self.work = {}

    def graph_node(self):
        w = self.w
        return GraphNode("conv2d", dict(self.params), {"strides": [w.sh, w.sw], "dilation": [w.dh, w.dw],
                                                        "pads": [w.top, w.left, w.bottom, w.right]})

    def forward(self, x, training=False):
        z = np.empty((len(x) * self.w.height * self.w.width, self.filters), x.dtype) if not training else \
            reusable(self.work, "z", (len(x) * self.w.height * self.w.width, self.filters), x.dtype)
        for _ in self.products(x, training, z):
            pass
        z += self.params["b"]
        return z.reshape(self.batch_shape(len(x)))

    def batch_shape(self, n: int) -> tuple:
        """The output's shape for n images."""
        return (n, self.w.height, self.w.width, self.filters)

    def products(self, x, training=False, out=None):
        """For each chunk of images, (start, stop, z): their patches @ W, the bias not yet added, into
        z, rows of `out` (N * Ho * Wo, F) or else an array reused chunk after chunk (read it before the
        next). Training keeps the padded input for backward; inference pads a chunk at a time and
        keeps nothing."""
        W, w = self.params["W"], self.w
        W2, per_image = W.reshape(-1, self.filters), w.height * w.width
        jit = kernels.for_images(len(x) * per_image * W2.shape[0])  # once a pass: its patches' size
        if training:
            self.x_shape, xp = x.shape, pad(x, w, self.work, "xp")
            self.xp, self.jit, work = xp, jit, self.work
        else:
            self.x_shape = self.xp = None
            work = {}
        for start in range(0, len(x), self.chunk):
            stop = min(len(x), start + self.chunk)
            cols = self._patches(xp[start:stop] if training else pad(x[start:stop], w, work, "xp"), work, jit)
            z = reusable(work, "z", (len(cols), W2.shape[1]), x.dtype) if out is None else \
                out[start * per_image:stop * per_image]
            np.matmul(cols, W2, out=z)
            yield start, stop, z

    def _patches(self, xp, work, jit):
        """The patches of the padded images xp as a (windows, kh * kw * C) matrix, in an array kept in work."""
        w, (n, c) = self.w, (len(xp), xp.shape[3])
        rows, k = n * w.height * w.width, w.taps * c
        flat = reusable(work, "cols", (min(n, self.chunk) * w.height * w.width * k,), xp.dtype)[:rows * k]
        if c == 1:
            return patches_by_tap(xp, w, flat.reshape(w.kh, w.kw, n, w.height, w.width), jit).reshape(k, rows).T
        return patches(xp, w, flat.reshape(n, w.height, w.width, w.kh, w.kw, c), jit).reshape(rows, k)

    def backward(self, dz, need_dx=True):
        """db = dz summed over every row and position, then product_backward."""
        dz2 = dz.reshape(-1, dz.shape[-1])
        np.add.reduce(dz2, axis=0, out=self.grads["b"])  # row by row, as the fused epilogue sums it
        per_image = self.w.height * self.w.width
        return self.product_backward(lambda start, stop: dz2[start * per_image:stop * per_image], need_dx)

    def product_backward(self, dz_of, need_dx=True):
        """dW = the sum of each chunk's patches^T dz, chunk after chunk, into the kept grads; returns dx,
        col2im of dz W^T (None with need_dx=False: the network's first layer). dz_of(start, stop):
        dz's rows (windows, F) of images start to stop, called once per chunk in order."""
        W = self.params["W"]
        W2 = W.reshape(-1, W.shape[3])
        dW, n = self.grads["W"].reshape(W2.shape), self.x_shape[0]
        dx = reusable(self.work, "dx", self.x_shape, self.xp.dtype) if need_dx else None
        for start in range(0, n, self.chunk):
            stop = min(n, start + self.chunk)
            dz = dz_of(start, stop)
            cols = self._patches(self.xp[start:stop], self.work, self.jit)
            if start == 0:
                np.matmul(cols.T, dz, out=dW)
            else:
                dW += np.matmul(cols.T, dz, out=reusable(self.work, "dW", dW.shape, dW.dtype))
            if need_dx:
                self._add_back(dz, W2, cols, dx[start:stop])
        return dx

    def _add_back(self, dz, W2, cols, dx):
        """dx of a chunk's images: col2im of dz W^T, computed into the patches' array (already used)."""
        w, (n, h, width, c) = self.w, dx.shape
        dxp = reusable(self.work, "dxp", (n, h + w.top + w.bottom, width + w.left + w.right, c), dx.dtype) \
            if w.padded else dx
        dxp.fill(0)
        if c == 1:  # cols is the transposed view of a (taps, windows) array
            dcols = np.matmul(W2, dz.T, out=cols.T)
            add_patches_by_tap(dcols.reshape(w.kh, w.kw, n, w.height, w.width), w, dxp, self.jit)
        else:
            dcols = np.matmul(dz, W2.T, out=cols)
            add_patches(dcols.reshape(n, w.height, w.width, w.kh, w.kw, c), w, dxp, self.jit)
        if w.padded:
            dx[...] = unpad(dxp, w)


def _chunk_images(w, channels: int) -> int:
    """Images per product: as many as keep their patches within CHUNK_VALUES, at least one."""
    return max(1, CHUNK_VALUES // (w.height * w.width * w.taps * channels))
