"""Where one nnctl epoch's time goes: the training loop timed piece by piece, in this process.

    python benchmarks/epoch_breakdown.py                 # MNIST, issue 4's network, 3 epochs
    python benchmarks/epoch_breakdown.py --synthetic     # random data of MNIST's shape: no data set needed

The network and settings are bench_mnist.py's (784-256-128-10, ReLU, softmax cross-entropy, Adam
lr 1e-3, batch 128, float32, 2 BLAS threads). Each epoch runs the steps of train._epoch one by
one with a clock between them; the last lines time the matrix products alone at the same shapes
and the optimizer step alone, the two floors the rest is measured against. Which compiled kernels
ran (docs/performance.md) is printed too: set NNCTL_JIT=0 to time the NumPy code alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnctl.engine import kernels, optimizers, train  # noqa: E402
from nnctl.engine.losses import LOSSES  # noqa: E402
from nnctl.engine.model import build  # noqa: E402

BATCH, SIZES = 128, (784, 256, 128, 10)
PIECES = ("gather", "forward", "loss", "backward", "optimizer", "accuracy", "validation")


def dataset(synthetic: bool, rows: int):
    if not synthetic:
        from nnctl import data
        from nnctl.config import MnistData

        return data.load(MnistData(name="mnist", val_fraction=0.1), seed=0)
    rng = np.random.default_rng(0)
    x = rng.random((rows, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], rows)
    cut = rows * 9 // 10
    return SimpleNamespace(x_train=x[:cut], y_train=y[:cut], x_val=x[cut:], y_val=y[cut:])


def network():
    layers = [dict(units=n, activation="relu", initializer="he_uniform") for n in SIZES[1:-1]]
    layers.append(dict(units=SIZES[-1], activation="softmax", initializer="glorot_uniform"))
    return build(layers, SIZES[0], np.random.default_rng(0), "float32")


def one_epoch(model, loss, optimizer, ds, epoch: int) -> dict:
    """train._epoch's steps in its order, each with its own clock."""
    seconds = dict.fromkeys(PIECES, 0.0)
    params, grads = model.params(), model.grads()
    x, y = ds.x_train, ds.y_train
    order = train.epoch_rng(0, epoch).permutation(len(x))
    batch = np.empty((BATCH, x.shape[1]), x.dtype)
    started = clock = time.perf_counter()

    def tick(piece):
        nonlocal clock
        now = time.perf_counter()
        seconds[piece] += now - clock
        clock = now

    for i in range(0, len(x), BATCH):
        idx = order[i:i + BATCH]
        xb, yb = np.take(x, idx, axis=0, out=batch[:len(idx)], mode="clip"), y[idx]
        tick("gather")
        z = model.forward(xb, training=True, logits=True)
        tick("forward")
        _, dz = loss.value_and_grad(z, yb)
        tick("loss")
        model.backward(dz, logits=True)
        tick("backward")
        optimizer.step(params, grads)
        tick("optimizer")
        int((z.argmax(axis=1) == yb).sum())
        tick("accuracy")
    train.evaluate(model, loss, ds.x_val, ds.y_val)
    tick("validation")
    return {**seconds, "epoch": time.perf_counter() - started}


def floors(model, n_rows: int) -> dict:
    """The products of an epoch alone (forward, dW, dx but the first layer's) and the optimizer
    step alone, on arrays of the network's shapes: what no amount of care removes."""
    rng = np.random.default_rng(1)
    W = [p for k, p in model.params().items() if k.endswith(".W")]
    h = [rng.random((BATCH, n), dtype=np.float32) for n in SIZES]
    outs = [np.empty((BATCH, n), np.float32) for n in SIZES]
    dW = [np.empty_like(w) for w in W]
    n_batches = -(-n_rows // BATCH)
    start = time.perf_counter()
    for _ in range(n_batches):
        for k, w in enumerate(W):
            np.matmul(h[k], w, out=outs[k + 1])
        for k in range(len(W) - 1, -1, -1):
            np.matmul(h[k].T, h[k + 1], out=dW[k])
            if k:  # dx = dz W^T, skipped for the first layer as nnctl skips it
                np.matmul(h[k + 1], W[k].T, out=outs[k])
    products = time.perf_counter() - start
    fresh = network()
    params, grads = fresh.params(), fresh.grads()
    for g in grads.values():
        g[...] = rng.normal(0, 1e-2, g.shape)
    adam = optimizers.Adam(lr=1e-3)
    adam.step(params, grads)
    start = time.perf_counter()
    for _ in range(n_batches):
        adam.step(params, grads)
    return {"products": products, "adam_step": time.perf_counter() - start,
            "packed": bool(adam._flat_state), "parameters": sum(p.size for p in params.values())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs to time (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    parser.add_argument("--synthetic", action="store_true", help="random data of MNIST's shape instead of MNIST")
    parser.add_argument("--rows", type=int, default=60_000, help="rows of synthetic data (default 60000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        ds = dataset(args.synthetic, args.rows)
        model, loss, optimizer = network(), LOSSES["cross_entropy"], optimizers.Adam(lr=1e-3)
        epochs = [one_epoch(model, loss, optimizer, ds, e) for e in range(1, args.epochs + 1)]
        bounds = floors(model, len(ds.x_train))
    best = min(epochs, key=lambda e: e["epoch"])
    compiled = {"optimizer": kernels.for_params(bounds["parameters"]) is not None,
                "dense epilogues": kernels.for_output(BATCH * min(SIZES[1:-1])) is not None,
                "loss": kernels.if_loaded() is not None}
    if args.json:
        print(json.dumps({"epochs": epochs, "best": best, **bounds, "compiled": compiled}))
        return
    print(f"{len(ds.x_train):,} training rows, batch {BATCH}, {args.threads} threads; the fastest of "
          f"{args.epochs} epochs, piece by piece (compiled: {', '.join(k for k, v in compiled.items() if v) or 'none'}):")
    for piece in (*PIECES, "epoch"):
        print(f"  {piece:<11} {best[piece]:7.3f} s  {best[piece] / best['epoch']:5.0%}")
    print(f"  matrix products alone, same shapes:  {bounds['products']:.3f} s")
    print(f"  Adam step alone ({bounds['parameters']:,} parameters, "
          f"{'one packed buffer' if bounds['packed'] else 'array by array'}):  {bounds['adam_step']:.3f} s")


if __name__ == "__main__":
    main()
