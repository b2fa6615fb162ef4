"""The finite-difference check of a whole network's gradients, in float64.

Backpropagation gives dL/dp for every parameter; central differences (L(p+eps) - L(p-eps)) / 2eps
give the same number independently. Their relative difference, |a - n| / max(|a| + |n|, floor),
is below 1e-6 when backward is right and of order 1e-2 to 1 when it is wrong. The floor keeps
entries whose true gradient is zero (a dead relu unit) from turning rounding noise into a large
ratio. An entry above the tolerance is tried again with eps / 10: a relu kink between p - eps
and p + eps spoils one difference but not the next, while a wrong backward fails at every eps.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-5  # measured on the shipped configs: 1e-6 lets rounding noise reach 3e-5, 1e-4 meets relu kinks
FLOOR = 1e-6  # far above the ~1e-11 rounding noise of a central difference of a loss of order 1
TOLERANCE = 1e-4


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """|a - n| / max(|a| + |n|, floor), entry by entry."""
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), floor)


def check(model, loss, x: np.ndarray, y: np.ndarray, samples: int | None, rng: np.random.Generator,
          tolerance: float = TOLERANCE) -> dict:
    """Per parameter tensor: the largest relative error between backprop and central differences.

    `model` must be float64. At most `samples` entries per tensor are checked (all when None),
    drawn by `rng`. Returns {name: {"max_relative_error", "checked", "size", "worst": index}}.
    """
    fused = loss.fused is not None
    # Dropout draws a mask at every training forward: each one here starts its generator from the
    # same state, so every evaluation sees the same mask, and the check is of that subnetwork.
    random_layers = [(layer, layer.rng.bit_generator.state) for layer in model.layers if hasattr(layer, "rng")]

    def forward():
        for layer, state in random_layers:
            layer.rng.bit_generator.state = state
        return model.forward(x, training=True, logits=fused)

    def value() -> float:  # the training loss: the batch's mean loss plus the weight penalties (l1, l2)
        return loss.value_and_grad(forward(), y)[0] + model.penalty()

    _, dz = loss.value_and_grad(forward(), y)
    model.backward(dz, logits=fused)
    grads = {name: g.copy() for name, g in model.grads().items()}
    out = {}
    for name, p in model.params().items():
        flat = p.reshape(-1)  # a view: changing it changes the parameter
        if samples is None or p.size <= samples:
            picked = np.arange(p.size)
        else:
            picked = np.sort(rng.choice(p.size, samples, replace=False))
        analytic = grads[name].reshape(-1)[picked]
        errors = relative_error(analytic, _central_differences(value, flat, picked, EPS))
        again = errors > tolerance
        if again.any():
            retry = relative_error(analytic[again], _central_differences(value, flat, picked[again], EPS / 10))
            errors[again] = np.minimum(errors[again], retry)
        worst = int(errors.argmax())
        out[name] = {"max_relative_error": float(errors[worst]), "checked": len(picked), "size": int(p.size),
                     "worst": [int(v) for v in np.unravel_index(picked[worst], p.shape)]}
    return out


def _central_differences(value, flat: np.ndarray, picked: np.ndarray, eps: float) -> np.ndarray:
    """(L(p + eps) - L(p - eps)) / 2eps for each entry `picked` of the flat parameter view."""
    numeric = np.empty(len(picked))
    for n, i in enumerate(picked):
        old = flat[i]
        flat[i] = old + eps
        plus = value()
        flat[i] = old - eps
        minus = value()
        flat[i] = old
        numeric[n] = (plus - minus) / (2 * eps)
    return numeric
