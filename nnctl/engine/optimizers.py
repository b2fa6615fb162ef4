"""Optimizers: small classes with `step(params, grads)` that update the arrays in place.

State is kept per parameter name, so it can be saved with a checkpoint and restored.
Constructors take exactly the YAML keys: building is `OPTIMIZERS[name](**options)`.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from . import kernels
from .packing import views
from .protocol import Array

ALL = ""  # the name under which a model's packed parameters are updated as one array


class Optimizer(ABC):
    """The update rules' shared state; subclasses implement `_update(name, p, g)`.

    Every update rule is elementwise. A model's params() and grads() each fill one buffer in the
    same order (their `flat`): `step` then makes a single `_update(ALL, ...)` call over the two
    buffers, the state arrays live in buffers of their own, and `state` keeps per-name views of
    them. Plain dicts of arrays are updated array by array, to the same numbers.

    WORK is how many arrays the size of the parameters a step uses besides the slots: reused
    work arrays, or the temporaries of the update's expressions (memory estimates count them).

    A large model's packed buffers are updated by the rule's compiled kernel instead (`_fused`,
    kernels.py): one pass doing the same operations in the same order on the same dtype, so the
    same bits, used only while every hyperparameter is a plain Python number (a NumPy float64
    scalar would make NumPy compute a float32 update in float64, which the kernel does not copy).
    """

    WORK = 0

    def __init__(self, lr: float):
        self.lr = lr
        self.initial_lr = lr  # what a learning-rate schedule scales
        self.t = 0  # steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._scratch: dict[str, dict[str, np.ndarray]] = {}
        # ((name, shape), ...) of the packed parameters the flat state follows
        self._layout: tuple[tuple[str, tuple[int, ...]], ...] | None = None
        self._flat_state: dict[str, np.ndarray] = {}

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """One update of every parameter from its gradient."""
        self.t += 1
        flat_p, flat_g = getattr(params, "flat", None), getattr(grads, "flat", None)
        if flat_p is not None and flat_g is not None:
            layout = getattr(params, "layout", None)
            if layout != getattr(grads, "layout", None) or flat_p.dtype != flat_g.dtype:
                raise ValueError("the parameters and gradients are not packed alike")
            if layout != self._layout:  # another model: its state buffers are made afresh
                self._layout, self._flat_state = layout, {}
            jit = kernels.for_params(flat_p.size)
            if jit is None or not self._fused(jit, flat_p, flat_g):
                self._update(ALL, flat_p, flat_g)
            return
        for name, p in params.items():
            self._update(name, p, grads[name])

    @abstractmethod
    def _update(self, name: str, p: Array, g: Array) -> None:
        """The update rule: parameter `p` (and its slots) from its gradient `g`, in place. `name` keys
        the state (ALL: the packed buffers of a whole model)."""

    def _fused(self, jit: ModuleType, p: Array, g: Array) -> bool:
        """The update of the packed buffers p and g by a compiled kernel of module `jit`, giving
        _update's bits; False (nothing done) where there is none for these options."""
        return False

    def slots(self, name: str, p: np.ndarray, *keys: str, fill: float = 0.0) -> list[np.ndarray]:
        """The per-parameter state arrays, created filled with `fill` (zeros) on first use."""
        if name == ALL:
            return [self._flat_slot(p, k, fill) for k in keys]
        s = self.state.setdefault(name, {})
        for k in keys:
            if k not in s:  # not s.setdefault(k, np.full_like(...)): that would allocate at every step
                s[k] = np.full_like(p, fill)
        return [s[k] for k in keys]

    def _flat_slot(self, p: np.ndarray, key: str, fill: float) -> np.ndarray:
        """State `key` of all the packed parameters as one buffer; `state` gets a view per name,
        taking over the values of any per-name array already there (a loaded state_dict)."""
        buffer = self._flat_state.get(key)
        if buffer is None:
            buffer = self._flat_state[key] = np.full_like(p, fill)
            names, shapes = zip(*self._layout) if self._layout else ((), ())
            for name, view in zip(names, views(buffer, list(shapes))):
                s = self.state.setdefault(name, {})
                if key in s:
                    view[...] = s[key]
                s[key] = view
        return buffer

    def scratch(self, name: str, p: np.ndarray, *keys: str) -> list[np.ndarray]:
        """Work arrays shaped like `p`, reused at every step and never saved (unlike slots)."""
        s = self._scratch.setdefault(name, {})
        for k in keys:
            if k not in s or s[k].shape != p.shape or s[k].dtype != p.dtype:
                s[k] = np.empty_like(p)
        return [s[k] for k in keys]

    def slot_names(self) -> tuple[str, ...]:
        """The slots `step` keeps for every parameter with these options: what a saved state must
        hold once the first step is taken."""
        return ()

    def state_dict(self) -> dict[str, Any]:
        """Step count and per-parameter state arrays by dotted name (`layers.0.W.m`)."""
        arrays = {f"{name}.{k}": v for name, s in self.state.items() for k, v in s.items()}
        return {"t": self.t, "arrays": arrays}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        self.t = int(state["t"])
        self.state, self._flat_state = {}, {}
        for key, value in state["arrays"].items():
            name, slot = key.rsplit(".", 1)
            self.state.setdefault(name, {})[slot] = np.array(value, copy=True)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as PyTorch writes it::

        v = momentum * v + g
        p -= lr * (g + momentum * v if nesterov else v)      # plain SGD when momentum == 0
    """

    WORK = 1

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False):
        super().__init__(lr)
        self.momentum, self.nesterov = momentum, nesterov

    def slot_names(self):
        return ("v",) if self.momentum != 0.0 else ()

    def _update(self, name, p, g):
        # In place into a reused work array (`out=`): no allocation per step, the formula's bits.
        (step,) = self.scratch(name, p, "step")
        lr = float(self.lr)  # a NumPy float64 scalar would make NumPy compute the step in float64
        if self.momentum == 0.0:
            p -= np.multiply(g, lr, out=step)
            return
        (v,) = self.slots(name, p, "v")
        v *= self.momentum
        v += g
        if self.nesterov:
            np.multiply(v, self.momentum, out=step)
            step += g
            step *= lr
        else:
            np.multiply(v, lr, out=step)
        p -= step

    def _fused(self, jit, p, g):
        if not plain(self.momentum):
            return False
        c, lr = p.dtype.type, float(self.lr)
        if self.momentum == 0.0:
            jit.sgd(p, g, c(lr))
        else:
            (v,) = self.slots(ALL, p, "v")
            jit.sgd_momentum(p, g, v, c(self.momentum), c(lr), bool(self.nesterov))
        return True


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), and AMSGrad (Reddi et al., 2018) with amsgrad: true::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        if amsgrad:
            v_max = max(v_max, v)                            # the step size never grows back
            v = v_max
        p -= lr * (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
    """

    WORK = 2

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False):
        super().__init__(lr)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def slot_names(self):
        return ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    def _update(self, name, p, g):
        # The hot path: every operation writes into m, v or two reused work arrays (`out=`), so no
        # step allocates. The operations and their order are those of the plain expression
        # `p -= (lr * m_hat_scale) * m / (np.sqrt(v * v_hat_scale) + epsilon)`, so are its bits.
        m, v = self.slots(name, p, "m", "v")
        step, denom = self.scratch(name, p, "step", "denom")
        m *= self.beta_1
        m += np.multiply(g, 1 - self.beta_1, out=step)
        v *= self.beta_2
        np.multiply(g, g, out=denom)
        v += np.multiply(denom, 1 - self.beta_2, out=denom)
        if self.amsgrad:
            (v_max,) = self.slots(name, p, "v_max")
            np.maximum(v_max, v, out=v_max)
            v = v_max
        m_hat_scale = 1 / (1 - self.beta_1 ** self.t)
        v_hat_scale = 1 / (1 - self.beta_2 ** self.t)
        np.multiply(m, float(self.lr) * m_hat_scale, out=step)
        np.multiply(v, v_hat_scale, out=denom)
        np.sqrt(denom, out=denom)
        denom += self.epsilon
        step /= denom
        p -= step

    def _fused(self, jit, p, g):
        return self._adam_kernel(jit, p, g, 1)

    def _adam_kernel(self, jit, p, g, decay) -> bool:
        """AdamW's `p *= decay` (1 for Adam: no change), then the Adam step, in one pass."""
        if not plain(self.lr, self.beta_1, self.beta_2, self.epsilon, decay):
            return False
        c = p.dtype.type
        m, v = self.slots(ALL, p, "m", "v")
        v_max = self.slots(ALL, p, "v_max")[0] if self.amsgrad else np.empty(0, p.dtype)
        m_hat_scale = 1 / (1 - self.beta_1 ** self.t)
        v_hat_scale = 1 / (1 - self.beta_2 ** self.t)
        jit.adam(p, g, m, v, v_max, bool(self.amsgrad), c(decay), c(1 - self.beta_1), c(self.beta_1),
                 c(1 - self.beta_2), c(self.beta_2), c(float(self.lr) * m_hat_scale), c(v_hat_scale), c(self.epsilon))
        return True


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), with optional momentum and the centered variant, as PyTorch writes it::

        s = rho * s + (1 - rho) * g**2                       # running mean of g**2
        if centered:
            a = rho * a + (1 - rho) * g                      # running mean of g
            d = sqrt(s - a**2) + epsilon
        else:
            d = sqrt(s) + epsilon
        if momentum > 0:
            v = momentum * v + g / d
            p -= lr * v
        else:
            p -= lr * g / d
    """

    WORK = 3

    def __init__(self, lr=0.01, rho=0.99, momentum=0.0, centered=False, epsilon=1e-8):
        super().__init__(lr)
        self.rho, self.momentum, self.centered, self.epsilon = rho, momentum, centered, epsilon

    def slot_names(self):
        return ("s",) + (("a",) if self.centered else ()) + (("v",) if self.momentum > 0 else ())

    def _update(self, name, p, g):
        (s,) = self.slots(name, p, "s")
        s *= self.rho
        s += (1 - self.rho) * (g * g)
        if self.centered:
            (a,) = self.slots(name, p, "a")
            a *= self.rho
            a += (1 - self.rho) * g
            d = np.sqrt(s - a * a) + self.epsilon
        else:
            d = np.sqrt(s) + self.epsilon
        if self.momentum > 0:
            (v,) = self.slots(name, p, "v")
            v *= self.momentum
            v += g / d
            p -= self.lr * v
        else:
            p -= self.lr * g / d

    def _fused(self, jit, p, g):
        if not plain(self.lr, self.rho, self.momentum, self.epsilon):
            return False
        c, empty = p.dtype.type, np.empty(0, p.dtype)
        (s,) = self.slots(ALL, p, "s")
        a = self.slots(ALL, p, "a")[0] if self.centered else empty
        v = self.slots(ALL, p, "v")[0] if self.momentum > 0 else empty
        jit.rmsprop(p, g, s, a, v, bool(self.centered), bool(self.momentum > 0), c(self.rho), c(1 - self.rho),
                    c(self.momentum), c(self.lr), c(self.epsilon))
        return True


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011)::

        s = s + g**2                                         # s starts at initial_accumulator_value
        p -= lr * g / (sqrt(s) + epsilon)
    """

    WORK = 3

    def __init__(self, lr=0.01, initial_accumulator_value=0.0, epsilon=1e-10):
        super().__init__(lr)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def slot_names(self):
        return ("s",)

    def _update(self, name, p, g):
        (s,) = self.slots(name, p, "s", fill=self.initial_accumulator_value)
        s += g * g
        p -= self.lr * g / (np.sqrt(s) + self.epsilon)

    def _fused(self, jit, p, g):
        if not plain(self.lr, self.epsilon, self.initial_accumulator_value):
            return False
        c = p.dtype.type
        (s,) = self.slots(ALL, p, "s", fill=self.initial_accumulator_value)
        jit.adagrad(p, g, s, c(self.lr), c(self.epsilon))
        return True


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012); lr scales the step, 1.0 being the paper's rule::

        s = rho * s + (1 - rho) * g**2
        delta = sqrt(u + epsilon) / sqrt(s + epsilon) * g
        u = rho * u + (1 - rho) * delta**2
        p -= lr * delta
    """

    WORK = 4

    def __init__(self, lr=1.0, rho=0.9, epsilon=1e-6):
        super().__init__(lr)
        self.rho, self.epsilon = rho, epsilon

    def slot_names(self):
        return ("s", "u")

    def _update(self, name, p, g):
        s, u = self.slots(name, p, "s", "u")
        s *= self.rho
        s += (1 - self.rho) * (g * g)
        delta = np.sqrt(u + self.epsilon) / np.sqrt(s + self.epsilon) * g
        u *= self.rho
        u += (1 - self.rho) * (delta * delta)
        p -= self.lr * delta

    def _fused(self, jit, p, g):
        if not plain(self.lr, self.rho, self.epsilon):
            return False
        c = p.dtype.type
        s, u = self.slots(ALL, p, "s", "u")
        jit.adadelta(p, g, s, u, c(self.rho), c(1 - self.rho), c(self.lr), c(self.epsilon))
        return True


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): the decay shrinks the
    weights directly instead of joining the gradient, so the moments never see it::

        p -= lr * weight_decay * p
        ... then the Adam step (with amsgrad if asked)
    """

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False, weight_decay=0.01):
        super().__init__(lr, beta_1, beta_2, epsilon, amsgrad)
        self.weight_decay = weight_decay

    def _update(self, name, p, g):
        p *= 1 - self.lr * self.weight_decay
        super()._update(name, p, g)

    def _fused(self, jit, p, g):
        return plain(self.weight_decay) and self._adam_kernel(jit, p, g, 1 - self.lr * self.weight_decay)


class Adamax(Optimizer):
    """Adamax, Adam's infinity-norm variant (Kingma & Ba, 2015), as PyTorch writes it::

        m = beta_1 * m + (1 - beta_1) * g
        u = max(beta_2 * u, |g| + epsilon)
        p -= lr / (1 - beta_1**t) * m / u
    """

    WORK = 3

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__(lr)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def slot_names(self):
        return ("m", "u")

    def _update(self, name, p, g):
        m, u = self.slots(name, p, "m", "u")
        m *= self.beta_1
        m += (1 - self.beta_1) * g
        np.maximum(self.beta_2 * u, np.abs(g) + self.epsilon, out=u)
        p -= self.lr / (1 - self.beta_1 ** self.t) * m / u

    def _fused(self, jit, p, g):
        if not plain(self.lr, self.beta_1, self.beta_2, self.epsilon):
            return False
        c = p.dtype.type
        m, u = self.slots(ALL, p, "m", "u")
        jit.adamax(p, g, m, u, c(self.beta_1), c(1 - self.beta_1), c(self.beta_2), c(self.epsilon),
                   c(self.lr / (1 - self.beta_1 ** self.t)))
        return True


class Nadam(Optimizer):
    """Nadam, Adam with Nesterov momentum (Dozat, 2016), with PyTorch's momentum schedule::

        mu_t = beta_1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))     # and mu_{t+1} likewise
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        d = sqrt(v / (1 - beta_2**t)) + epsilon
        p -= lr * (1 - mu_t) / (1 - mu_1 ... mu_t) * g / d
        p -= lr * mu_{t+1} / (1 - mu_1 ... mu_{t+1}) * m / d
    """

    WORK = 4

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum_decay=0.004):
        super().__init__(lr)
        self.beta_1, self.beta_2, self.epsilon, self.momentum_decay = beta_1, beta_2, epsilon, momentum_decay
        self._products = (0, 1.0)  # (t, mu_1 * ... * mu_t), so a step costs O(1)

    def slot_names(self):
        return ("m", "v")

    def _mu(self, t: int) -> float:
        return self.beta_1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def _mu_product(self, t: int) -> float:
        done, product = self._products
        if done > t:  # a restored state_dict went back in time: start again from step 0
            done, product = 0, 1.0
        for i in range(done + 1, t + 1):
            product *= self._mu(i)
        self._products = (t, product)
        return product

    def step(self, params, grads) -> None:
        # the momentum schedule depends on the step only: computed once for all parameters
        mu, mu_next = self._mu(self.t + 1), self._mu(self.t + 2)
        product = self._mu_product(self.t + 1)
        self._g_scale = self.lr * (1 - mu) / (1 - product)
        self._m_scale = self.lr * mu_next / (1 - product * mu_next)
        super().step(params, grads)

    def _update(self, name, p, g):
        m, v = self.slots(name, p, "m", "v")
        m *= self.beta_1
        m += (1 - self.beta_1) * g
        v *= self.beta_2
        v += (1 - self.beta_2) * (g * g)
        d = np.sqrt(v / (1 - self.beta_2 ** self.t)) + self.epsilon
        p -= self._g_scale * g / d
        p -= self._m_scale * m / d

    def _fused(self, jit, p, g):
        if not plain(self.lr, self.beta_1, self.beta_2, self.epsilon, self._g_scale, self._m_scale):
            return False
        c = p.dtype.type
        m, v = self.slots(ALL, p, "m", "v")
        jit.nadam(p, g, m, v, c(self.beta_1), c(1 - self.beta_1), c(self.beta_2), c(1 - self.beta_2),
                  c(1 - self.beta_2 ** self.t), c(self.epsilon), c(self._g_scale), c(self._m_scale))
        return True


def plain(*values) -> bool:
    """Every value a Python int or float (bool included), which NumPy 2 casts to an array's dtype."""
    return all(type(value) in (int, float, bool) for value in values)


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta, "adam": Adam, "adamw": AdamW,
              "adamax": Adamax, "nadam": Nadam}


def build(options: dict) -> Optimizer:
    """The optimizer a config's `optimizer` section names, from its YAML keys (name and options)."""
    options = dict(options)
    return OPTIMIZERS[options.pop("name")](**options)
