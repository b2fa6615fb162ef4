"""The standard small moons config, which the tests change key by key rather than paste."""

import copy

import yaml

STANDARD_MOONS = {
    "seed": 0,
    "data": {"name": "moons", "n_samples": 300, "noise": 0.1},
    "model": {"layers": [{"units": 16, "activation": "relu"}, {"units": 2, "activation": "softmax"}]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 0.02},
    "training": {"epochs": 12, "batch_size": 32},
}


def moons_yaml(**changes) -> str:
    """The standard small moons config as YAML text, each top-level key in CHANGES merged into it.

    A mapping is merged key by key (a value of None removes the key), anything else replaces:
    `moons_yaml(seed=4, data={"noise": None}, training={"epochs": 5})`. Leaf mappings are written in
    flow style (`optimizer: {name: adam, lr: 0.02}`), so tests may still `.replace()` in the text.
    """
    cfg = copy.deepcopy(STANDARD_MOONS)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
            cfg[key] = {k: v for k, v in cfg[key].items() if v is not None}
        elif value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None, width=1000)




MOONS = moons_yaml()  # the standard config itself, as YAML text
