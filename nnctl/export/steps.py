"""A checkpoint's network at inference, as the plain steps both export formats write out.

Each layer of the checkpoint's model describes itself (engine.protocol.Layer.graph_node: its
kind, arrays and attributes); dropout is the identity at inference and leaves no step. A format
writes the kinds in WRITTEN; a model holding any other is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError

WRITTEN = ("dense", "batchnorm", "activation")  # the kinds of step both formats write


@dataclass(frozen=True)
class Step:
    """One inference step: kind dense (W, b), batchnorm (gamma, beta, running_mean, running_var,
    epsilon) or activation (name); `arrays` by the state dict's short names, `attributes` what
    else the layer said of itself (its YAML keys: strides, padding ...)."""

    kind: str
    name: str  # the state dict prefix (`layers.0`), or the activation's word
    arrays: dict
    epsilon: float = 0.0
    attributes: dict = field(default_factory=dict)


def steps(ckpt) -> list[Step]:
    """The network of a loaded checkpoint, layer by layer, dropout left out; ConfigError (exit 3)
    naming the first layer an export cannot write yet."""
    out = []
    for prefix, layer in ckpt.model.named_layers:
        node = layer.graph_node()
        if node is None:
            continue
        if node.kind not in WRITTEN:
            index = int(prefix.split(".")[1])
            raise ConfigError(f"{ckpt.path}: model.layers[{index}].type: a {node.kind} layer cannot be exported yet "
                              f"(export writes {', '.join(WRITTEN[:-1])} and activation layers): nothing was written")
        name = node.attributes["activation"] if node.kind == "activation" else prefix
        out.append(Step(node.kind, name, dict(node.arrays), float(node.attributes.get("epsilon", 0.0)),
                        node.attributes))
    return out


def task(ckpt) -> str:
    """classification or regression, as the checkpoint's data set says."""
    from ..data import spec

    return spec(ckpt.config.data).task

