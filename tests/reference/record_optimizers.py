"""Record, once, what PyTorch's torch.optim does for fixed gradients: tests/reference/optimizers.json.

The tests replay the same gradients through nnctl's optimizers and compare with these
trajectories; they do not need torch. Re-record (only when adding a case) with

    pip install torch==2.13.0 && python tests/reference/record_optimizers.py

Each case names an nnctl optimizer with its YAML options, and the torch.optim class and
arguments that mean the same thing. Gradients depend on the parameters (a noisy quadratic
pull towards a target), so the trajectories look like training, and some cases change the
learning rate between steps, as a schedule does.
"""

import json
from pathlib import Path

import numpy as np
import torch

STEPS = 25
OUT = Path(__file__).with_name("optimizers.json")

# (nnctl name, nnctl options, torch class, torch arguments, lr per step or None)
CASES = [
    ("sgd", {"lr": 0.1}, "SGD", {"lr": 0.1}, None),
    ("sgd", {"lr": 0.05, "momentum": 0.9}, "SGD", {"lr": 0.05, "momentum": 0.9}, None),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, "SGD",
     {"lr": 0.05, "momentum": 0.8, "nesterov": True}, None),
    ("rmsprop", {}, "RMSprop", {}, None),
    ("rmsprop", {"lr": 0.003, "rho": 0.9, "epsilon": 1e-6}, "RMSprop", {"lr": 0.003, "alpha": 0.9, "eps": 1e-6}, None),
    ("rmsprop", {"lr": 0.002, "momentum": 0.9}, "RMSprop", {"lr": 0.002, "momentum": 0.9}, None),
    ("rmsprop", {"lr": 0.002, "centered": True}, "RMSprop", {"lr": 0.002, "centered": True}, None),
    ("rmsprop", {"lr": 0.001, "rho": 0.95, "momentum": 0.5, "centered": True},
     "RMSprop", {"lr": 0.001, "alpha": 0.95, "momentum": 0.5, "centered": True}, None),
    ("adagrad", {}, "Adagrad", {}, None),
    ("adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
     "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-7}, None),
    ("adadelta", {}, "Adadelta", {}, None),
    ("adadelta", {"lr": 0.5, "rho": 0.8, "epsilon": 1e-5}, "Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5}, None),
    ("adam", {}, "Adam", {}, None),
    ("adam", {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6},
     "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}, None),
    ("adam", {"lr": 0.01, "amsgrad": True}, "Adam", {"lr": 0.01, "amsgrad": True}, None),
    ("adamw", {}, "AdamW", {}, None),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "beta_2": 0.99},
     "AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "betas": (0.9, 0.99)}, None),
    ("adamax", {}, "Adamax", {}, None),
    ("adamax", {"lr": 0.01, "beta_1": 0.85, "beta_2": 0.95, "epsilon": 1e-6},
     "Adamax", {"lr": 0.01, "betas": (0.85, 0.95), "eps": 1e-6}, None),
    ("nadam", {}, "NAdam", {}, None),
    ("nadam", {"lr": 0.01, "beta_1": 0.95, "momentum_decay": 0.01, "epsilon": 1e-6},
     "NAdam", {"lr": 0.01, "betas": (0.95, 0.999), "momentum_decay": 0.01, "eps": 1e-6}, None),
    # a schedule changes lr between steps: every optimizer must read it afresh each step
    ("sgd", {"lr": 0.1, "momentum": 0.9}, "SGD", {"lr": 0.1, "momentum": 0.9}, "decay"),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True}, "RMSprop",
     {"lr": 0.01, "momentum": 0.9, "centered": True}, "decay"),
    ("adagrad", {"lr": 0.1}, "Adagrad", {"lr": 0.1}, "decay"),
    ("adadelta", {"lr": 1.0}, "Adadelta", {"lr": 1.0}, "decay"),
    ("adam", {"lr": 0.01}, "Adam", {"lr": 0.01}, "decay"),
    ("adamw", {"lr": 0.01, "weight_decay": 0.05}, "AdamW", {"lr": 0.01, "weight_decay": 0.05}, "decay"),
    ("adamax", {"lr": 0.02}, "Adamax", {"lr": 0.02}, "decay"),
    ("nadam", {"lr": 0.02}, "NAdam", {"lr": 0.02}, "decay"),
]


def record(index, name, options, torch_class, torch_args, lr_rule):
    rng = np.random.default_rng(index)
    init = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=3)}
    target = {k: rng.normal(size=v.shape) for k, v in init.items()}
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in init.items()}
    opt = getattr(torch.optim, torch_class)(list(tensors.values()), foreach=False, **torch_args)
    base_lr = opt.param_groups[0]["lr"]
    lrs, grads, trajectory = [], [], []
    for t in range(STEPS):
        lr = base_lr if lr_rule is None else base_lr * 0.5 ** (t // 5)  # halve every 5 steps
        opt.param_groups[0]["lr"] = lr
        g = {k: 2 * (p.detach().numpy() - target[k]) + 0.3 * rng.normal(size=p.shape) for k, p in tensors.items()}
        for k, p in tensors.items():
            p.grad = torch.tensor(g[k], dtype=torch.float64)
        opt.step()
        lrs.append(lr)
        grads.append({k: v.tolist() for k, v in g.items()})
        trajectory.append({k: p.detach().numpy().tolist() for k, p in tensors.items()})
    return {"name": name, "options": options, "torch": f"torch.optim.{torch_class}(**{torch_args!r})",
            "lrs": lrs, "init": {k: v.tolist() for k, v in init.items()}, "grads": grads, "params": trajectory}


def main():
    torch.set_default_dtype(torch.float64)
    cases = [record(i, *case) for i, case in enumerate(CASES)]
    doc = {"recorded_with": f"torch {torch.__version__}", "steps": STEPS, "cases": cases}
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
