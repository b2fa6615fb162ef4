"""An optimizer step over MNIST's 784-256-128-10 parameters (235,146 float32), by its compiled
kernel and by its NumPy rule, alternated round by round (who goes first rotates), for every rule
that has a kernel: the medians, the ratio, and the host's load average before and after.

    python benchmarks/optimizer_kernels.py [--rounds 7] [--steps 200]
"""

import argparse
import os
import time

import numpy as np

from nnctl.engine import kernels
from nnctl.engine.optimizers import OPTIMIZERS
from nnctl.engine.packing import Packed

N_PARAMS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
CASES = {"sgd": ("sgd", {}), "sgd momentum": ("sgd", {"momentum": 0.9}),
         "sgd nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
         "adam": ("adam", {}), "adamw": ("adamw", {})}


def step_time(name: str, options: dict, compiled: bool, steps: int, rng) -> float:
    """Seconds a step, over `steps` steps of a fresh optimizer on one packed buffer."""
    p = rng.standard_normal(N_PARAMS).astype(np.float32)
    g = (rng.standard_normal(N_PARAMS) * 0.01).astype(np.float32)
    params, grads = (Packed({"w": a}, a, what, compiled) for a, what in ((p, "params"), (g, "grads")))
    optimizer = OPTIMIZERS[name](**options)
    optimizer.step(params, grads)  # the state's buffers are made at the first step
    started = time.perf_counter()
    for _ in range(steps):
        optimizer.step(params, grads)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    if kernels.load() is None:
        raise SystemExit("numba is not importable (or NNCTL_JIT=0): nothing to compare")
    print(f"load average before: {os.getloadavg()}")
    rng = np.random.default_rng(0)
    for case, (name, options) in CASES.items():
        times = {True: [], False: []}
        for round_ in range(args.rounds):
            for compiled in ((True, False) if round_ % 2 == 0 else (False, True)):
                times[compiled].append(step_time(name, options, compiled, args.steps, rng))
        numpy_ms, kernel_ms = (1e3 * float(np.median(times[c])) for c in (False, True))
        print(f"{case:14s} NumPy {numpy_ms:6.2f} ms  kernel {kernel_ms:6.2f} ms  "
              f"NumPy / kernel {numpy_ms / kernel_ms:4.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
