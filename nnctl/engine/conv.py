"""Conv2D: a 2-D convolution of images, channels last (Keras' Conv2D, PyTorch's Conv2d).

With x: (N, H, W, C) padded to xp, W: (kh, kw, C, F) and b: (F,)::

    z[n, i, j, f] = b[f] + sum over taps (a, e) and channels c of xp[n, i*sh + a*dh, j*sw + e*dw, c] * W[a, e, c, f]

computed as im2col: each window's values become a row of `cols` (N * Ho * Wo, kh * kw * C)
(windows.patches), and one BLAS product cols @ W (W viewed as (kh * kw * C, F)) gives z as
(N * Ho * Wo, F), which is (N, Ho, Wo, F) as it lies in memory. Backward is two more products,
dW = cols^T dz and dcols = dz W^T, and col2im (windows.add_patches) adds dcols back into dx. In
training the patches, the output and the gradients go into arrays kept in `work` and reused batch
after batch, as Dense's; an inference forward takes the rows a slice at a time, so its patches
stay under INFERENCE_VALUES whatever the batch.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .activations import ACTIVATIONS
from .layers import ACTIVATION, INITIALIZER, L1, L2, default_initializer, initialize, weight_penalties
from .protocol import PAIR, GraphNode, Key, Layer, ShapeError, pair, shown
from .windows import add_patches, pad, patches, unpad, window
from .work import reusable

INFERENCE_VALUES = 1 << 22  # values of the patches an inference forward holds at once (16 MB in float32)

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
        """Besides the default four outputs: the patches and their gradient, the padded input and its gradient."""
        w = self.geometry(input_shape)
        h, width, c = input_shape
        padded = (h + w.top + w.bottom) * (width + w.left + w.right) * c if w.padded else 0
        return super().work_values(input_shape) + 2 * w.height * w.width * w.taps * c + 2 * padded

    def inference_values(self, input_shape, rows):
        w = self.geometry(input_shape)
        per_row = w.height * w.width * w.taps * input_shape[2]
        return min(rows, max(1, INFERENCE_VALUES // per_row)) * per_row

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
        self.x_shape = self.cols = None
        self.work = {}

    def graph_node(self):
        w = self.w
        return GraphNode("conv2d", dict(self.params), {"strides": [w.sh, w.sw], "dilation": [w.dh, w.dw],
                                                        "pads": [w.top, w.left, w.bottom, w.right]})

    def forward(self, x, training=False):
        if not training:
            self.x_shape = self.cols = None
            return self._inference(x)
        z = self.product(x)
        z += self.params["b"]
        return z.reshape(self.batch_shape(len(x)))

    def batch_shape(self, n: int) -> tuple:
        """The output's shape for n images."""
        return (n, self.w.height, self.w.width, self.params["b"].shape[0])

    def product(self, x):
        """Training: the patches of x into `cols` (kept for backward), and cols @ W into a reused
        (N * Ho * Wo, F) array, the bias not yet added (ConvEpilogue adds it with the activation)."""
        W = self.params["W"]
        W2, n, w = W.reshape(-1, W.shape[3]), len(x), self.w
        self.x_shape = x.shape
        xp = pad(x, w, self.work, "xp")
        cols = reusable(self.work, "cols", (n * w.height * w.width, W2.shape[0]), x.dtype)
        self.cols = patches(xp, w, cols.reshape(n, w.height, w.width, w.kh, w.kw, x.shape[3])).reshape(cols.shape)
        return np.matmul(self.cols, W2, out=reusable(self.work, "z", (len(cols), W2.shape[1]), x.dtype))

    def _inference(self, x):
        """A fresh output, the rows a slice at a time: the patches of a large batch never held at once."""
        W, b = self.params["W"], self.params["b"]
        W2, w, c = W.reshape(-1, W.shape[3]), self.w, x.shape[3]
        out = np.empty(self.batch_shape(len(x)), x.dtype)
        rows = max(1, INFERENCE_VALUES // (w.height * w.width * W2.shape[0]))
        work = {}
        for start in range(0, len(x), rows):
            part = x[start:start + rows]
            cols = np.empty((len(part), w.height, w.width, w.kh, w.kw, c), x.dtype)
            z = out[start:start + rows].reshape(-1, W2.shape[1])
            np.matmul(patches(pad(part, w, work, "xp"), w, cols).reshape(len(z), -1), W2, out=z)
            z += b
        return out

    def backward(self, dz, need_dx=True):
        """db = dz summed over every row and position, then product_backward."""
        dz2 = dz.reshape(-1, dz.shape[-1])
        np.add.reduce(dz2, axis=0, out=self.grads["b"])  # row by row, as the fused epilogue sums it
        return self.product_backward(dz2, need_dx)

    def product_backward(self, dz2, need_dx=True):
        """dW = cols^T dz into the kept grads, from dz as (N * Ho * Wo, F); returns dx, col2im of dz W^T
        (None with need_dx=False: the network's first layer)."""
        W = self.params["W"]
        W2 = W.reshape(-1, W.shape[3])
        np.matmul(self.cols.T, dz2, out=self.grads["W"].reshape(W2.shape))
        if not need_dx:
            return None
        w, (n, h, width, c) = self.w, self.x_shape
        dcols = np.matmul(dz2, W2.T, out=reusable(self.work, "dcols", self.cols.shape, dz2.dtype))
        dxp = reusable(self.work, "dxp", (n, h + w.top + w.bottom, width + w.left + w.right, c), dz2.dtype)
        dxp.fill(0)
        add_patches(dcols.reshape(n, w.height, w.width, w.kh, w.kw, c), w, dxp)
        if not w.padded:
            return dxp
        dx = reusable(self.work, "dx", self.x_shape, dz2.dtype)
        dx[...] = unpad(dxp, w)
        return dx


class ConvEpilogue:
    """A Conv2D and the activation after it, run as one step where the activation has compiled
    epilogue kernels (relu's), as layers.DenseEpilogue runs a Dense layer and its activation: the
    product by BLAS, then one pass for the bias and the activation over (N * Ho * Wo, F); backward
    one pass for the activation's derivative and the bias gradient, then the products and col2im.
    The same bits as the two layers one after the other, which run instead in inference, with
    NNCTL_JIT=0 and below the kernels' threshold."""

    def __init__(self, conv: Conv2D, activation):
        self.conv, self.activation = conv, activation
        self.params = conv.params  # what the model asks of a step: whether it trains anything
        self.epilogue = ACTIVATIONS[activation.name].epilogue
        self.jit = None  # the kernels the last training forward used; None: the two layers ran

    def forward(self, x, training=False):
        conv = self.conv
        W = conv.params["W"]
        jit = self.jit = kernels.for_output(len(x) * conv.w.height * conv.w.width * W.shape[3]) \
            if training and x.dtype == W.dtype else None
        if jit is None:
            return self.activation.forward(conv.forward(x, training), training)
        z = conv.product(x)
        y = self.activation.y = reusable(self.activation.work, "y", z.shape, z.dtype)
        getattr(jit, self.epilogue[0])(z, conv.params["b"], y, z.dtype.type(0))
        return y.reshape(conv.batch_shape(len(x)))

    def backward(self, dy, need_dx=True):
        if self.jit is None:
            return self.conv.backward(self.activation.backward(dy), need_dx)
        dy2, kind = dy.reshape(-1, dy.shape[-1]), dy.dtype.type
        dz = reusable(self.activation.work, "dz", dy2.shape, dy.dtype)
        getattr(self.jit, self.epilogue[1])(dy2, self.activation.y, dz, self.conv.grads["b"], kind(0), kind(1))
        return self.conv.product_backward(dz, need_dx)


Conv2D.fused_with_activation = ConvEpilogue
