"""Where one training step of issue 21's CNN goes in nnctl, part by part, in this process.

    python benchmarks/cnn_breakdown.py                  # MNIST, 60 steps after a warm-up, 2 threads
    python benchmarks/cnn_breakdown.py --threads 1 --synthetic

The network and settings are bench_cnn.py's. The steps are train._epoch's (gather, forward, loss,
backward, optimizer step, accuracy count), and inside them the convolutions' pieces are timed by
wrapping, for this process only, the functions nnctl calls for them: the patches (im2col) and
their adding back (col2im) in conv.py's namespace, its matrix products (its `np.matmul`), the
compiled relu and max-pooling epilogues, and each step of the model. What a convolution's step
spends besides those (padding, the input gradient's copy, the dW sums, Python between the
chunks) is its "rest". Each part's time is its median over the steps; the clock is the wall
clock (--cpu: this process's CPU time, every thread's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nnctl.engine import conv, kernels, train
from nnctl.engine.conv_steps import ConvEpilogue, ConvReluPool

PARTS = ("gather", "im2col", "conv products", "col2im", "relu + max pool", "conv rest", "dense", "loss",
         "optimizer", "accuracy", "the rest")
WHAT = {"gather": "the batch's rows gathered", "im2col": "the patches (im2col), forward and again in backward",
        "conv products": "the convolutions' BLAS products (forward, dW, dcols)",
        "col2im": "dcols added back into dx (col2im)",
        "relu + max pool": "the fused bias, relu and max pooling, forward and backward (with db)",
        "conv rest": "the rest of the conv steps: padding, dx's copy, the dW sums, Python between chunks",
        "dense": "the dense layers (products, bias and relu), and flatten",
        "loss": "softmax cross-entropy", "optimizer": "the Adam step", "accuracy": "the accuracy count",
        "the rest": "the loop itself"}


class Clock:
    """Seconds added up by part within one step."""

    def __init__(self, cpu: bool):
        self.now = time.process_time if cpu else time.perf_counter
        self.parts: dict = {}

    def wrap(self, part: str, function):
        def timed(*args, **kwargs):
            start = self.now()
            try:
                return function(*args, **kwargs)
            finally:
                self.parts[part] = self.parts.get(part, 0.0) + self.now() - start
        return timed


def instrument(model, clock: Clock) -> None:
    """Wrap what nnctl calls for each part (this process only)."""
    for name in ("patches", "patches_by_tap"):
        setattr(conv, name, clock.wrap("im2col", getattr(conv, name)))
    for name in ("add_patches", "add_patches_by_tap"):
        setattr(conv, name, clock.wrap("col2im", getattr(conv, name)))
    products = types.ModuleType("numpy_with_timed_matmul")  # conv.py's `np`, its matmul timed
    products.__dict__.update(np.__dict__)
    products.matmul = clock.wrap("conv products", np.matmul)
    conv.np = products
    images = kernels.load_images()
    if images is not None:
        for name in ("bias_relu_maxpool", "maxpool_relu_backward_bias", "maxpool", "maxpool_backward"):
            setattr(images, name, clock.wrap("relu + max pool", getattr(images, name)))
    for step in model._forward[True]:
        part = "conv step" if isinstance(step, (ConvEpilogue, ConvReluPool, conv.Conv2D)) else "dense"
        step.forward, step.backward = clock.wrap(part, step.forward), clock.wrap(part, step.backward)


def measure(batches: int, threads: int, synthetic: bool, cpu: bool) -> dict:
    from bench_cnn import BATCH, WARMUP_BATCHES, nnctl_model

    with threadpool_limits(threads):
        x, y = dataset(synthetic, (batches + WARMUP_BATCHES) * BATCH)
        model, loss, optimizer = nnctl_model()
        params, grads = model.params(), model.grads()
        clock = Clock(cpu)
        batch = np.empty((BATCH, x.shape[1]), x.dtype)
        order = train.epoch_rng(0, 1).permutation(len(x))
        steps = []
        for i in range(0, len(x) - BATCH + 1, BATCH):
            if i == WARMUP_BATCHES * BATCH:
                instrument(model, clock)  # after the warm-up: the kernels compiled, the arrays allocated
            clock.parts = {}
            started = last = clock.now()

            def tick(part):
                nonlocal last
                now = clock.now()
                clock.parts[part] = clock.parts.get(part, 0.0) + now - last
                last = now

            idx = order[i:i + BATCH]
            xb, yb = np.take(x, idx, axis=0, out=batch, mode="clip"), y[idx]
            tick("gather")
            z = model.forward(xb, training=True, logits=True)
            tick("forward")
            _, dz = loss.value_and_grad(z, yb, model.kernels)  # as the training loop calls it
            tick("loss")
            model.backward(dz, logits=True)
            tick("backward")
            optimizer.step(params, grads)
            tick("optimizer")
            int(np.count_nonzero(np.argmax(z, axis=1) == yb))
            tick("accuracy")
            if i >= WARMUP_BATCHES * BATCH:
                steps.append({**clock.parts, "step": clock.now() - started})
    parts = [split(s) for s in steps]
    return {"median": {k: statistics.median(p[k] for p in parts) for k in (*PARTS, "step")},
            "fastest_step": min(p["step"] for p in parts), "steps": len(parts), "threads": threads, "cpu_clock": cpu,
            "jit": kernels.load_images() is not None}


def split(step: dict) -> dict:
    """One step's clocks as PARTS: the conv steps less their timed pieces is their rest; forward and
    backward less the layers' steps is the loop's."""
    inner = sum(step.get(k, 0.0) for k in ("im2col", "conv products", "col2im", "relu + max pool"))
    layers = step.get("conv step", 0.0) + step.get("dense", 0.0)
    out = {k: step.get(k, 0.0) for k in ("gather", "im2col", "conv products", "col2im", "relu + max pool", "dense",
                                        "loss", "optimizer", "accuracy")}
    out["conv rest"] = step.get("conv step", 0.0) - inner
    out["the rest"] = step["forward"] + step["backward"] - layers
    out["step"] = step["step"]
    return out


def dataset(synthetic: bool, rows: int):
    if synthetic:
        rng = np.random.default_rng(0)
        return rng.random((rows, 784), dtype=np.float32), rng.integers(0, 10, rows)
    from bench_mnist import load_mnist

    ds = load_mnist()
    return ds.x_train[:rows], ds.y_train[:rows]


def table(result: dict) -> str:
    """The breakdown as the README shows it."""
    median, step = result["median"], result["median"]["step"]
    clock = "CPU time of every thread" if result["cpu_clock"] else "wall clock"
    lines = [(f"nnctl's training step part by part: medians of {result['steps']} steps, {result['threads']} thread(s), "
              f"{clock} (fastest step {1e3 * result['fastest_step']:.1f} ms)"), "",
             "| part | what | ms per step | share |", "| --- | --- | ---: | ---: |"]
    for part in PARTS:
        lines.append(f"| {part} | {WHAT[part]} | {1e3 * median[part]:.2f} | {median[part] / step:.0%} |")
    lines.append(f"| step | the median step (the parts' medians need not add up to it) | {1e3 * step:.2f} | |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=60, help="steps to time after the warm-up (default 60)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    parser.add_argument("--synthetic", action="store_true", help="random images of MNIST's shape instead of MNIST")
    parser.add_argument("--cpu", action="store_true", help="time by this process's CPU time instead of the wall clock")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    result = measure(args.batches, args.threads, args.synthetic, args.cpu)
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
