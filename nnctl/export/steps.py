"""A checkpoint's network at inference, as the plain steps both export formats write out.

Read from the config's layers and the state dict's dotted names (`layers.0.W`), the surfaces a
checkpoint keeps whatever the engine does inside: dropout is the identity at inference and
leaves no step.
"""

from __future__ import annotations

from dataclasses import dataclass



@dataclass(frozen=True)
class Step:
    """One inference step: kind dense (W, b), batchnorm (gamma, beta, running_mean, running_var,
    epsilon) or activation (name); `arrays` by the state dict's short names."""

    kind: str
    name: str  # the state dict prefix (`layers.0`), or the activation's word
    arrays: dict
    epsilon: float = 0.0


def steps(ckpt) -> list[Step]:
    """The network of a loaded checkpoint, layer by layer, dropout left out."""
    state = ckpt.model.state()
    out = []
    for i, layer in enumerate(ckpt.config.model.layers):
        kind, prefix = getattr(layer, "type", "dense"), f"layers.{i}"
        if kind == "dense":
            out.append(Step("dense", prefix, {k: state[f"{prefix}.{k}"] for k in ("W", "b")}))
        elif kind == "batchnorm":
            keys = ("gamma", "beta", "running_mean", "running_var")
            out.append(Step("batchnorm", prefix, {k: state[f"{prefix}.{k}"] for k in keys}, float(layer.epsilon)))
        activation = getattr(layer, "activation", "linear")
        if activation != "linear":
            out.append(Step("activation", activation, {}))
    return out


def task(ckpt) -> str:
    """classification or regression, as the checkpoint's data set says."""
    from ..data import spec

    return spec(ckpt.config.data).task

