"""Optimizers: small classes with `step(params, grads)` that update the arrays in place.

State is kept per parameter name, so it can be saved with a checkpoint and restored.
Constructors take exactly the YAML keys: building is `OPTIMIZERS[name](**options)`.
"""

import numpy as np


class Optimizer:
    """Shared state handling; subclasses implement `_update(name, p, g)`."""

    def __init__(self, lr: float):
        self.lr = lr
        self.t = 0  # steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, params: dict, grads: dict) -> None:
        """One update of every parameter from its gradient."""
        self.t += 1
        for name, p in params.items():
            self._update(name, p, grads[name])

    def slots(self, name: str, p: np.ndarray, *keys: str) -> list[np.ndarray]:
        """The per-parameter state arrays, created as zeros on first use."""
        s = self.state.setdefault(name, {})
        return [s.setdefault(k, np.zeros_like(p)) for k in keys]

    def state_dict(self) -> dict:
        """Step count and per-parameter state arrays by dotted name (`layers.0.W.m`)."""
        arrays = {f"{name}.{k}": v for name, s in self.state.items() for k, v in s.items()}
        return {"t": self.t, "arrays": arrays}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""
        self.t = int(state["t"])
        self.state = {}
        for key, value in state["arrays"].items():
            name, slot = key.rsplit(".", 1)
            self.state.setdefault(name, {})[slot] = np.array(value, copy=True)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as PyTorch writes it::

        v = momentum * v + g
        p -= lr * (g + momentum * v if nesterov else v)      # plain SGD when momentum == 0
    """

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False):
        super().__init__(lr)
        self.momentum, self.nesterov = momentum, nesterov

    def _update(self, name, p, g):
        if self.momentum == 0.0:
            p -= self.lr * g
            return
        (v,) = self.slots(name, p, "v")
        v *= self.momentum
        v += g
        if self.nesterov:
            p -= self.lr * (g + self.momentum * v)
        else:
            p -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015)::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        p -= lr * (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
    """

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__(lr)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _update(self, name, p, g):
        m, v = self.slots(name, p, "m", "v")
        m *= self.beta_1
        m += (1 - self.beta_1) * g
        v *= self.beta_2
        v += (1 - self.beta_2) * (g * g)
        m_hat_scale = 1 / (1 - self.beta_1 ** self.t)
        v_hat_scale = 1 / (1 - self.beta_2 ** self.t)
        p -= (self.lr * m_hat_scale) * m / (np.sqrt(v * v_hat_scale) + self.epsilon)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def build(cfg) -> Optimizer:
    """The optimizer a config's `optimizer` section names, with its options."""
    options = cfg.model_dump()
    return OPTIMIZERS[options.pop("name")](**options)
