"""A checkpoint's network at inference, as the plain steps both export formats write out.

Each layer of the checkpoint's model describes itself (engine.protocol.Layer.graph_node: its
kind, arrays and attributes); dropout is the identity at inference and leaves no step. A model
that takes images (docs/images.md) starts with an `images` step: its flat rows (N, H*W*C) viewed
as images (N, H, W, C), channels last, as nnctl's Sequential.as_input views them. A format writes
the kinds in WRITTEN; a model holding any other is refused before anything is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ConfigError

# the kinds of step both formats write: the layers' (graph_node's), and `images`, the rows viewed as images
WRITTEN = ("dense", "batchnorm", "activation", "images", "conv2d", "maxpool2d", "avgpool2d", "global_avgpool2d",
           "flatten")


@dataclass(frozen=True)
class Step:
    """One inference step: kind dense (W, b), batchnorm (gamma, beta, running_mean, running_var,
    epsilon), activation (name), images (attributes: shape), conv2d (W, b; strides, dilation, pads),
    maxpool2d / avgpool2d (pool_size, strides, pads), global_avgpool2d or flatten. `arrays` by the
    state dict's short names, `attributes` what else the layer said of itself; `input_shape` the
    shape it takes, without the batch ((n,) or (H, W, C), channels last)."""

    kind: str
    name: str  # the state dict prefix (`layers.0`), or the activation's word
    arrays: dict
    epsilon: float = 0.0
    attributes: dict = field(default_factory=dict)
    input_shape: tuple = ()


def steps(ckpt) -> list[Step]:
    """The network of a loaded checkpoint, layer by layer, dropout left out; ConfigError (exit 3)
    naming the first layer an export cannot write."""
    shape = tuple(ckpt.input_shape)
    out = [Step("images", "input", {}, attributes={"shape": list(shape)}, input_shape=(math.prod(shape),))] \
        if len(shape) > 1 else []
    for prefix, layer in ckpt.model.named_layers:
        node = layer.graph_node()
        taken, shape = shape, layer.output_shape(shape)
        if node is None:
            continue
        if node.kind not in WRITTEN:
            index = int(prefix.split(".")[1])
            raise ConfigError(f"{ckpt.path}: model.layers[{index}].type: a {node.kind} layer cannot be exported yet "
                              f"(export writes {', '.join(k for k in WRITTEN if k != 'images')} layers): "
                              f"nothing was written")
        name = node.attributes["activation"] if node.kind == "activation" else prefix
        out.append(Step(node.kind, name, dict(node.arrays), float(node.attributes.get("epsilon", 0.0)),
                        node.attributes, taken))
    return out


def task(ckpt) -> str:
    """classification or regression, as the checkpoint's data set says."""
    from ..data import spec

    return spec(ckpt.config.data).task
