"""A convolution and the layers after it as one step: with its relu (ConvEpilogue), and with
its relu and a max pooling (ConvReluPool), as layers.DenseEpilogue runs a dense layer and its relu.

Each runs the product chunk by chunk (conv.Conv2D.products) and the layers after it on each
chunk's product while it is in the cache, in compiled kernels that give the bits of the layers
run one after the other; which the step runs instead with NNCTL_JIT=0, below the kernels'
threshold (kernels.MIN_ELEMENTS) and for a batch of another dtype than the weights'. Inference
too goes chunk by chunk, into fresh arrays: a validation batch of 8,192 MNIST images would
otherwise hold the first convolution's whole output (400 MB in float32) and its relu's.
The model still lists (and names) the layers; a step only runs them, in their own arrays.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .activations import ACTIVATIONS
from .conv import Conv2D
from .pooling import MaxPool2D
from .work import reusable


class ConvEpilogue:
    """A Conv2D and the activation after it, where the activation has compiled epilogue kernels
    (relu's): forward, each chunk's product then one pass for the bias and the activation into the
    activation's output; backward, one pass for the activation's derivative and the bias gradient
    over the whole output (db sums the rows as NumPy's reduction does: ``relu_backward_bias``),
    then the conv's products and col2im chunk by chunk."""

    with_pool: type[ConvReluPool]  # set below: the step that takes the max pooling after it too

    def __init__(self, conv: Conv2D, activation):
        self.conv, self.activation = conv, activation
        self.params = conv.params  # what the model asks of a step: whether it trains anything
        self.epilogue = ACTIVATIONS[activation.name].epilogue
        self.jit = None  # the kernels the last training forward used; None: the two layers ran

    def forward(self, x, training=False):
        conv = self.conv
        jit = _kernels(kernels.for_output, conv, x)
        if training:
            self.jit = jit
        if jit is None:
            return self.activation.forward(conv.forward(x, training), training)
        per_image, b = conv.w.height * conv.w.width, conv.params["b"]
        shape = (len(x) * per_image, conv.filters)
        y = reusable(self.activation.work, "y", shape, x.dtype) if training else np.empty(shape, x.dtype)
        bias_activation, zero = getattr(jit, self.epilogue[0]), x.dtype.type(0)
        for start, stop, z in conv.products(x, training):
            bias_activation(z, b, y[start * per_image:stop * per_image], zero)
        if training:
            self.activation.y = y
        return y.reshape(conv.batch_shape(len(x)))

    def backward(self, dy, need_dx=True):
        if self.jit is None:
            return self.conv.backward(self.activation.backward(dy), need_dx)
        dy2, kind = dy.reshape(-1, dy.shape[-1]), dy.dtype.type
        dz = reusable(self.activation.work, "dz", dy2.shape, dy.dtype)
        getattr(self.jit, self.epilogue[1])(dy2, self.activation.y, dz, self.conv.grads["b"], kind(0), kind(1))
        per_image = self.conv.w.height * self.conv.w.width
        return self.conv.product_backward(lambda start, stop: dz[start * per_image:stop * per_image], need_dx)


class ConvReluPool:
    """A Conv2D, its relu and the max pooling after it (windows side by side, unpadded), run as one
    step: forward, each chunk's product then one pass for the bias, the relu and the pooling
    (kernels_images.bias_relu_maxpool), the product and the relu's output never written out;
    backward, a chunk at a time, one pass for the pooling's and the relu's gradients and the bias
    gradient (the pooling's windows do not overlap: each value of the product takes at most one
    gradient), then the conv's products and col2im."""

    def __init__(self, conv: Conv2D, activation, pool: MaxPool2D):
        self.conv, self.activation, self.pool = conv, activation, pool
        self.params = conv.params
        self.epilogue = ACTIVATIONS[activation.name].pool_epilogue
        self.jit = None

    @staticmethod
    def takes(conv: Conv2D, activation, pool) -> bool:
        """Whether the three can run as one: an activation with pool epilogue kernels (relu), then a max
        pooling whose windows neither overlap nor pad, after a convolution of more than one filter
        (the bias gradient of a single filter is NumPy's pairwise sum over every row, not a row at a time)."""
        if not isinstance(pool, MaxPool2D) or not ACTIVATIONS[activation.name].pool_epilogue:
            return False
        w = pool.w
        return (w.sh, w.sw) == (w.kh, w.kw) and not w.padded and conv.filters > 1

    def forward(self, x, training=False):
        conv, pool = self.conv, self.pool
        jit = _kernels(kernels.for_images, conv, x)
        if training:
            self.jit = jit
        if jit is None:
            return pool.forward(self.activation.forward(conv.forward(x, training), training), training)
        w, f = pool.w, conv.filters
        shape = (len(x), w.height, w.width, f)
        if training:
            out = self.out = reusable(pool.work, "y", shape, x.dtype)
            tap = self.tap = reusable(pool.work, "tap", shape, np.int32)
        else:  # a fresh output; the taps, which only backward reads, a chunk at a time
            out, tap = np.empty(shape, x.dtype), np.empty((min(len(x), conv.chunk), *shape[1:]), np.int32)
        epilogue, b, zero = getattr(jit, self.epilogue[0]), conv.params["b"], x.dtype.type(0)
        for start, stop, z in conv.products(x, training):
            epilogue(z.reshape(conv.batch_shape(stop - start)), b, out[start:stop],
                     tap[start:stop] if training else tap[:stop - start], w.kh, w.kw, zero)
        if training:
            pool.y = out  # as the pooling's own forward keeps it: what the diagnostics count
        return out

    def backward(self, dy, need_dx=True):
        conv, w = self.conv, self.pool.w
        if self.jit is None:
            return conv.backward(self.activation.backward(self.pool.backward(dy)), need_dx)
        db, kind, per_image = conv.grads["b"], dy.dtype.type, conv.w.height * conv.w.width
        db.fill(0)
        gradient = getattr(self.jit, self.epilogue[1])
        rows = reusable(self.activation.work, "dz", (conv.chunk * per_image, conv.filters), dy.dtype)

        def dz_of(start, stop):
            dz = rows[:(stop - start) * per_image]
            gradient(dy[start:stop], self.out[start:stop], self.tap[start:stop],
                     dz.reshape(conv.batch_shape(stop - start)),
                     db, w.kh, w.kw, kind(0), kind(1))
            return dz

        return conv.product_backward(dz_of, need_dx)


def _kernels(threshold, conv: Conv2D, x):
    """The kernels a forward of x uses (`threshold` of the conv's output size), or None: no kernels,
    or a batch of another dtype than the weights', which the layers' NumPy code takes."""
    if x.dtype != conv.params["W"].dtype:
        return None
    return threshold(len(x) * conv.w.height * conv.w.width * conv.filters)


ConvEpilogue.with_pool = ConvReluPool
Conv2D.fused_with_activation = ConvEpilogue
