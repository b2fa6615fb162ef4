"""Layers: small classes with `params` and `grads` dicts under the same keys, each a layer type of
the protocol (protocol.py: its YAML keys, shapes and summary row); conv.py, pooling.py and
reshape.py hold the image layers.

`forward(x, training)` keeps what `backward` needs; `backward(dy, need_dx)` writes into `grads` and
returns dx (None may be returned when need_dx is False: the network's first layer, whose input
gradient nobody uses). A model moves every layer's arrays into its flat buffers and replaces the dicts by read-only
mappings of views (packing.py): a layer writes into its arrays, never binds new ones.

Training runs hundreds of thousands of batches, so in training mode Dense writes its output and
dx, and relu its output, into arrays they keep in `work` and reuse (NumPy's `out=`, work.py)
instead of allocating new ones each batch: those arrays stay valid until the layer's next
training forward. Inference (training=False) always returns fresh arrays, so what `predict`
hands to a user is never overwritten. (`work` is scratch; `buffers` is state a checkpoint saves, like batchnorm's.)
"""

import numpy as np

from . import kernels
from .activations import ACTIVATIONS
from .protocol import GraphNode, Key, Layer, ShapeError, shown
from .regularizers import Penalty
from .work import reusable


def default_initializer(activation: str) -> str:
    """The initialiser of a dense layer that names none: its activation's (ACTIVATIONS), He for the
    relu-like ones (relu, leaky_relu, elu, gelu, silu), Glorot for the rest."""
    return ACTIVATIONS[activation].initializer

INITIALIZERS = ("he_normal", "he_uniform", "glorot_normal", "glorot_uniform")  # the names `initialize` draws by


def initialize(name: str, n_in: int, n_out: int, rng: np.random.Generator, dtype,
               shape: tuple | None = None) -> np.ndarray:
    """Weights of `shape` (default (n_in, n_out)) drawn by He (relu-like) or Glorot (the rest) rules
    from the fan-in n_in and fan-out n_out (a convolution's: in_channels * kh * kw and filters * kh *
    kw, as Keras and PyTorch count them); with rng None, left unset for weights about to be loaded
    (no draw, and no memory touched until written)."""
    shape = (n_in, n_out) if shape is None else shape
    if rng is None:
        return np.empty(shape, dtype=dtype)
    if name == "he_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=shape)
    elif name == "he_uniform":
        limit = np.sqrt(6.0 / n_in)
        w = rng.uniform(-limit, limit, size=shape)
    elif name == "glorot_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=shape)
    elif name == "glorot_uniform":
        limit = np.sqrt(6.0 / (n_in + n_out))
        w = rng.uniform(-limit, limit, size=shape)
    else:
        raise ValueError(f"unknown initializer {name!r}")
    return w.astype(dtype)


# The keys several layer types share, each written once here.
ACTIVATION = Key("activation", (tuple(ACTIVATIONS),), "activation applied to the outputs", "linear")
INITIALIZER = Key("initializer", (INITIALIZERS, None), "weight initialiser; default he_uniform for relu-like "
                  "activations, glorot_uniform otherwise", None, aliases=("kernel_initializer",))
L1 = Key("l1", (float,), "L1 penalty on the weights: l1 * sum|W| added to each batch's mean loss", 0.0, ge=0.0)
L2 = Key("l2", (float,), "L2 penalty on the weights: l2 * sum W^2 added to each batch's mean loss", 0.0, ge=0.0)


def weight_penalties(layer) -> list:
    """A layer's l1 / l2 keys as its penalty on W (none when both are 0)."""
    return [("W", Penalty(l1=layer.l1, l2=layer.l2))] if layer.l1 or layer.l2 else []


class Dense(Layer):
    """z = x W + b, with x: (batch, n_in), W: (n_in, n_out), b: (n_out,)."""

    type, title, aliases, positional = "dense", "Dense", ("Linear",), 2
    keys = (Key("units", (int,), "number of outputs", ge=1, le=1_000_000, aliases=("out_features",)),
            ACTIVATION, INITIALIZER, L1, L2)

    def output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ShapeError(f"takes rows of features, (None, n), and its input is {shown(input_shape)}: "
                             f"put {{type: flatten}} (or global_avgpool2d) before it")
        return (self.units,)

    def param_shapes(self, input_shape):
        return {"W": (input_shape[0], self.units), "b": (self.units,)}

    def penalties(self):
        return weight_penalties(self)

    def build(self, input_shape, rng, dtype):
        n_in, n_out = input_shape[0], self.units
        initializer = self.initializer or default_initializer(self.activation)
        self.params = {"W": initialize(initializer, n_in, n_out, rng, dtype), "b": np.zeros(n_out, dtype=dtype)}
        # np.zeros, not zeros_like: fresh zero pages, so a model built to be loaded costs no memory twice
        self.grads = {k: np.zeros(v.shape, v.dtype) for k, v in self.params.items()}
        self.x = None
        self.work = {}

    def forward(self, x, training=False):
        W, b = self.params["W"], self.params["b"]
        if not training:
            self.x = None
            z = x @ W
            z += b  # in place: z is a fresh array
            return z
        self.x = x
        z = np.matmul(x, W, out=reusable(self.work, "z", (len(x), W.shape[1]), x.dtype))
        z += b
        return z

    def backward(self, dz, need_dx=True):
        """dW = x^T dz, db = sum over the batch of dz, written into the kept grads; returns dx = dz W^T.

        need_dx=False skips dx (None is returned): the first layer's input gradient is never used,
        and it costs as much as dW.
        """
        np.matmul(self.x.T, dz, out=self.grads["W"])
        np.add.reduce(dz, axis=0, out=self.grads["b"])  # np.sum's own reduction, without its wrapper (per step)
        if not need_dx:
            return None
        W = self.params["W"]
        return np.matmul(dz, W.T, out=reusable(self.work, "dx", (len(dz), W.shape[0]), dz.dtype))


class Activation(Layer):
    """y = f(x) for an activation named in ACTIVATIONS; no parameters. The model runs one after every
    layer whose `activation` is not linear (named `layers.0.relu`); as a layer of its own it is
    Keras' Activation / ReLU and PyTorch's nn.ReLU, nn.Tanh ... (`{type: relu}` is `{type:
    activation, activation: relu}`: config/aliases.py)."""

    type, title = "activation", "Activation"
    keys = (Key("activation", (tuple(ACTIVATIONS),), "the activation applied to the input, elementwise"),)

    def __init__(self, activation: str):
        super().__init__(activation=activation)
        self.name = activation
        rule = ACTIVATIONS[activation]
        self.f, self.df, self.from_input = rule.forward, rule.backward, rule.from_input  # from_input: backward needs x
        self.f_into = rule.forward_into  # training: the same bits into reused arrays (relu's)
        self.df_into = rule.backward_into  # the same for backward, which only training calls
        self.y = None

    def activation_after(self):
        return "linear"  # it is the activation

    def summary_row(self, name: str, input_shape: tuple) -> dict:
        return {**super().summary_row(name, input_shape), "activation": self.name}

    def graph_node(self):
        return GraphNode("activation", {}, {"activation": self.name})

    def forward(self, x, training=False):
        y = self.f_into(x, self.work) if training and self.f_into is not None else self.f(x)
        self.y = (x if self.from_input else y) if training else None
        return y

    def backward(self, dy, need_dx=True):
        if self.df_into is not None:
            return self.df_into(self.y, dy, self.work)
        return self.df(self.y, dy)


class DenseEpilogue:
    """A Dense layer and the activation after it, run as one step where the activation has compiled
    epilogue kernels (ACTIVATIONS[name].epilogue: relu's) and the batch is large enough for them to
    pay (kernels.for_output). Training forward: z = x W by BLAS, then one pass for z += b and
    y = f(z); backward: one pass for dz = f'(dy) and db = dz summed over the batch, then dW and dx
    by BLAS. The same bits as the two layers one after the other, which run instead in inference
    (fusing it measured no gain: the products dominate), with NNCTL_JIT=0 and below the threshold.
    The model still lists (and names) the two layers; this only runs them, in their own arrays."""

    def __init__(self, dense: Dense, activation: Activation):
        self.dense, self.activation = dense, activation
        self.params = dense.params  # what the model asks of a step: whether it trains anything
        self.epilogue = ACTIVATIONS[activation.name].epilogue
        self.jit = None  # the kernels the last training forward used; None: the two layers ran

    def forward(self, x, training=False):
        dense, W, b = self.dense, self.dense.params["W"], self.dense.params["b"]
        # a batch of another dtype than the weights' takes the layers' NumPy code, as it always did
        jit = self.jit = kernels.for_output(len(x) * W.shape[1]) if training and x.dtype == W.dtype else None
        if jit is None:
            return self.activation.forward(dense.forward(x, training), training)
        dense.x = x
        # both into the arrays the two layers would have reused: no allocation, no extra memory
        z = np.matmul(x, W, out=reusable(dense.work, "z", (len(x), W.shape[1]), x.dtype))
        y = self.activation.y = reusable(self.activation.work, "y", z.shape, z.dtype)
        getattr(jit, self.epilogue[0])(z, b, y, z.dtype.type(0))
        return y

    def backward(self, dy, need_dx=True):
        """dL/dx from dL/dy (None with need_dx=False, as Dense.backward), filling the dense layer's grads."""
        if self.jit is None:
            return self.dense.backward(self.activation.backward(dy), need_dx)
        dense, kind = self.dense, dy.dtype.type
        dz = reusable(self.activation.work, "dz", dy.shape, dy.dtype)
        getattr(self.jit, self.epilogue[1])(dy, self.activation.y, dz, dense.grads["b"], kind(0), kind(1))
        np.matmul(dense.x.T, dz, out=dense.grads["W"])
        if not need_dx:
            return None
        W = dense.params["W"]
        return np.matmul(dz, W.T, out=reusable(dense.work, "dx", (len(dz), W.shape[0]), dz.dtype))


Dense.fused_with_activation = DenseEpilogue


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability `rate` and scale the rest
    by 1 / (1 - rate), so inference is the identity and needs no rescaling. Elementwise, so after
    a convolution each value is dropped on its own.

    Training draws the mask's uniforms `u` into an array it keeps and reuses (the generator's
    stream as `rng.random(x.shape, dtype)` draws it, so the same units drop); forward is then
    y = x * m and backward dx = dy * m, with m = 1 / (1 - rate) where u >= rate and 0 elsewhere.
    Where the kernels pay (kernels.for_output) each way is one compiled pass; otherwise NumPy
    makes the mask once and multiplies by it, each into a reused array. The same bits either way;
    the arrays stay valid until the next training forward."""

    type, title = "dropout", "Dropout"
    keys = (Key("rate", (float,), "share of the inputs zeroed in training (inverted dropout)", ge=0.0, lt=1.0,
                aliases=("p",)),)

    def build(self, input_shape, rng, dtype):
        # its own generator, drawn from the seed, so masks never shift the weights' draws
        seed = 0 if rng is None else rng.integers(2**63)
        self.rng = np.random.default_rng(seed)
        self.u = None  # the last training forward's uniforms; None: nothing dropped
        self.mask = None  # m, where NumPy made it (not the kernels, which never store it)
        self.jit = None  # the kernels the last training forward used; None: NumPy's passes
        self.dtype = None  # the last training forward's input dtype: the mask's

    def graph_node(self):
        return None  # the identity at inference

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self.u = self.mask = None
            return x
        drawn = np.float64 if x.dtype == np.float64 else np.float32
        self.u = self.rng.random(dtype=drawn, out=reusable(self.work, "u", x.shape, drawn))
        self.jit, self.dtype = kernels.for_output(x.size), x.dtype
        if self._compiled(x):
            self.mask = None
            return self._apply_compiled(x, "y")
        self.mask = self._mask(x.dtype)
        return np.multiply(x, self.mask, out=reusable(self.work, "y", x.shape, x.dtype))

    def backward(self, dy, need_dx=True):
        if self.u is None:
            return dy
        if self._compiled(dy):
            return self._apply_compiled(dy, "dx")
        mask = self.mask if self.mask is not None else self._mask(self.dtype)  # the mask forward used, as NumPy made it
        return np.multiply(dy, mask, out=reusable(self.work, "dx", dy.shape, np.result_type(dy, mask)))

    def _compiled(self, x) -> bool:
        """Whether the kernel takes x: the uniforms' dtype, and one contiguous block it walks as 1-D."""
        return self.jit is not None and x.dtype == self.u.dtype and x.flags.c_contiguous

    def _apply_compiled(self, x, key):
        out = reusable(self.work, key, x.shape, x.dtype)
        kind = x.dtype.type
        self.jit.dropout_apply(x.reshape(-1), self.u.reshape(-1), kind(self.rate), kind(1) / kind(1 - self.rate),
                               kind(0), out.reshape(-1))
        return out

    def _mask(self, dtype):
        """m as NumPy writes it: `(u >= rate).astype(dtype) / dtype(1 - rate)`, into reused arrays."""
        keep = np.greater_equal(self.u, self.rate, out=reusable(self.work, "keep", self.u.shape, bool))
        return np.divide(keep, np.dtype(dtype).type(1 - self.rate),
                         out=reusable(self.work, "mask", self.u.shape, dtype))


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy, 2015) of x: (batch, n) per feature, or of images
    (batch, H, W, C) per channel (over the batch and every position, as Keras and PyTorch do)::

        training:  x_hat = (x - mean(x)) / sqrt(var(x) + epsilon)       # the batch's statistics
                   running = momentum * running + (1 - momentum) * batch statistic
        inference: x_hat = (x - running_mean) / sqrt(running_var + epsilon)
        y = gamma * x_hat + beta

    The running statistics are `buffers`: saved in checkpoints, never touched by an optimizer.
    """

    type, title, aliases = "batchnorm", "BatchNormalization", ("BatchNormalization", "BatchNorm1d", "BatchNorm2d")
    keys = (Key("momentum", (float,), "decay of the running mean and variance", 0.99, ge=0.0, lt=1.0),
            Key("epsilon", (float,), "added to the variance for stability", 1e-3, gt=0.0, aliases=("eps",)),
            Key("activation", (tuple(ACTIVATIONS),), "activation applied after normalising", "linear"))

    def param_shapes(self, input_shape):
        return {"gamma": (input_shape[-1],), "beta": (input_shape[-1],)}

    def buffer_shapes(self, input_shape):
        return {"running_mean": (input_shape[-1],), "running_var": (input_shape[-1],)}

    def build(self, input_shape, rng, dtype):
        n = input_shape[-1]
        self.params = {"gamma": np.ones(n, dtype=dtype), "beta": np.zeros(n, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {"running_mean": np.zeros(n, dtype=dtype), "running_var": np.ones(n, dtype=dtype)}
        self.x_hat = self.inv_std = None

    def graph_node(self):
        return GraphNode("batchnorm", {**self.params, **self.buffers}, {"epsilon": self.epsilon})

    def forward(self, x, training=False):
        shape = x.shape
        x = x.reshape(-1, shape[-1])  # images: a row per position, so the statistics are per channel
        if training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            for key, batch in (("running_mean", mean), ("running_var", var)):
                running = self.buffers[key]
                running *= self.momentum
                running += (1 - self.momentum) * batch
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1 / np.sqrt(var + self.epsilon)
        x_hat = (x - mean) * inv_std
        if training:
            self.x_hat, self.inv_std = x_hat, inv_std
        return (x_hat * self.params["gamma"] + self.params["beta"]).reshape(shape)

    def backward(self, dy, need_dx=True):
        # the batch mean and variance depend on every row, hence the two sums over the batch
        shape = dy.shape
        dy = dy.reshape(-1, shape[-1])
        x_hat, n = self.x_hat, len(dy)
        self.grads["gamma"][...] = (dy * x_hat).sum(axis=0)
        self.grads["beta"][...] = dy.sum(axis=0)
        if not need_dx:
            return None
        d_hat = dy * self.params["gamma"]
        dx = (self.inv_std / n) * (n * d_hat - d_hat.sum(axis=0) - x_hat * (d_hat * x_hat).sum(axis=0))
        return dx.reshape(shape)
