"""Where the epochs of `nnctl train` go: the command itself, timed piece by piece, in this process.

    python benchmarks/epoch_breakdown.py                        # the benchmark network, batch 128
    python benchmarks/epoch_breakdown.py --batch 32 --batch 64  # one run per batch size, one table
    python benchmarks/epoch_breakdown.py --config configs/mnist_best.yaml
    python benchmarks/epoch_breakdown.py --threads 1 --cpu      # CPU time: steadier on a busy machine
    python benchmarks/epoch_breakdown.py --synthetic            # random rows of MNIST's shape: no data set needed
    python benchmarks/epoch_breakdown.py --compare ../before --rounds 3   # another checkout, alternated

It runs `nnctl train CONFIG --run-dir TMP -q --no-plots` in this process (the click command, with
every callback, the run folder's writes and the background writer), with clocks around the
functions an epoch calls. Each piece is charged its own time (a piece called inside another stops
the outer one's clock):

    products     the training step's matrix products (np.matmul in nnctl/engine/layers.py)
    epilogues    the layers' own work in training around them (model.forward and model.backward
                 less their products and dropout): bias, relu, the bias gradient, the calls
    loss         the loss's value and gradient
    optimizer    the optimizer's step
    dropout      the dropout layers, both ways
    gather       the batch's rows and targets (np.take in the loop)
    metrics      the running training accuracy (or mae)
    validation   the validation pass, its own products included
    diagnostics  the per-layer diagnostics' hooks (nnctl/engine/diagnostics.py)
    callbacks    every other callback's hooks: divergence check, schedule, logs, best weights, the
                 run folder's files, the progress screen
    rest         the epoch's time less all of the above: the loop itself

Clocking ~20 calls a step costs time of its own, so the epochs alternate: one clocked, one not.
The pieces are the clocked epochs' medians; the epoch's time and the rest come from the epochs
without clocks (whose difference with the clocked ones is shown: the pieces carry that cost).
After every epoch the same process times that epoch's matrix products alone (the same shapes and
batches, on reused arrays): the bound, measured right next to the epoch it is compared with. The
first epoch (which loads the compiled kernels) is not counted.

--compare TREE runs the same measurement with the nnctl of another checkout (`git worktree add
TREE COMMIT`) and with this one, each in a child process, alternated for --rounds rounds, and
prints both side by side: the medians of the rounds' medians, and the range of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
# the nnctl to time: this checkout's, or (--tree, as --compare runs it) another's
TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv[:-1] else str(REPO)
sys.path.insert(0, TREE)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mnist import CONFIG, host_load  # the benchmark network's config, as bench_mnist trains it

PIECES = ("products", "epilogues", "loss", "optimizer", "dropout", "gather", "metrics", "validation", "diagnostics",
          "callbacks", "rest")
AROUND = ("metrics", "validation", "diagnostics", "callbacks", "rest")  # the overhead around the step's work
OWNING = frozenset({"validation", "diagnostics", "callbacks"})  # pieces charged with everything called inside them
MAIN = threading.get_ident()


class Clock:
    """Self time per piece: entering a piece stops the clock of the one it was called from. `now`
    is the wall clock, or this thread's CPU time (--cpu: with one BLAS thread the products run in
    it, and the time other processes take the core from it is not counted). Off, it only passes
    the calls on."""

    def __init__(self):
        self.now = time.perf_counter
        self.on = False
        self.seconds: dict[str, float] = defaultdict(float)
        self.stack = ["rest"]
        self.mark = 0.0

    def start(self, on: bool) -> None:
        self.on, self.stack = on, ["rest"]
        self.seconds.clear()
        self.mark = self.now()

    def enter(self, piece: str) -> bool:
        if not self.on or self.stack[-1] in OWNING or threading.get_ident() != MAIN:
            return False
        now = self.now()
        self.seconds[self.stack[-1]] += now - self.mark
        self.stack.append(piece)
        self.mark = now
        return True

    def leave(self) -> None:
        now = self.now()
        self.seconds[self.stack.pop()] += now - self.mark
        self.mark = now


CLOCK = Clock()


def timed(piece: str, function):
    def clocked(*args, **kwargs):
        if not CLOCK.enter(piece):
            return function(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        finally:
            CLOCK.leave()

    clocked.__wrapped__ = function
    return clocked


class NumpyWith:
    """NumPy, with some of its functions clocked: put in a module's `np` for the run."""

    def __init__(self, pieces: dict[str, str]):
        for name, piece in pieces.items():
            setattr(self, name, timed(piece, getattr(np, name)))

    def __getattr__(self, name):
        return getattr(np, name)


class Patches:
    """Attributes replaced for the run and put back after."""

    def __init__(self):
        self.undo = []

    def set(self, owner, name: str, value) -> None:
        self.undo.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, value)

    def clock(self, owner, name: str, piece: str) -> None:
        if hasattr(owner, name):  # an older nnctl (the "before" of a comparison) may not have it
            self.set(owner, name, timed(piece, getattr(owner, name)))

    def restore(self) -> None:
        for owner, name, value in reversed(self.undo):
            setattr(owner, name, value)
        self.undo.clear()


class Epochs:
    """The first and last callbacks fit is given: they start and end each epoch's clocks
    (every other epoch clocked), then time that epoch's products alone before the next begins."""

    def __init__(self, products_alone):
        self.products_alone = products_alone
        self.records: list[dict] = []
        self.started = 0.0
        self.writer_at_start = 0.0

    def begin(self, epoch):
        self.writer_at_start = WRITER["seconds"]
        CLOCK.start(on=epoch % 2 == 0)  # epoch 1 (kernels loading) and every other one run without clocks
        self.started = CLOCK.mark

    def end(self, record):
        if CLOCK.on:
            CLOCK.leave()  # charge the rest up to now
        seconds = CLOCK.now() - self.started
        clocked = CLOCK.on
        CLOCK.on = False
        self.records.append({"epoch": record["epoch"], "clocked": clocked, "seconds": seconds,
                             **({p: CLOCK.seconds.get(p, 0.0) for p in PIECES} if clocked else {}),
                             "bound_s": self.products_alone(), "writer_s": WRITER["seconds"] - self.writer_at_start,
                             "val_accuracy": record.get("val_accuracy")})
        return False


WRITER = {"seconds": 0.0}  # the background writer's busy time (another thread: not on the epoch's clock)


def instrument(patches: Patches, epochs: Epochs) -> None:
    """Clock the functions an epoch of nnctl train calls."""
    from nnctl import files
    from nnctl.engine import layers, losses, model, optimizers, train
    from nnctl.engine.diagnostics import Diagnostics
    from nnctl.runs import training

    patches.set(layers, "np", NumpyWith({"matmul": "products"}))
    patches.set(train, "np", NumpyWith({"take": "gather", "argmax": "metrics", "equal": "metrics",
                                        "count_nonzero": "metrics", "abs": "metrics"}))
    patches.clock(train, "count_correct", "metrics")  # the loop's own count, before the scorers
    for scorer in getattr(train, "SCORERS", {}).values():  # the task's scorer (engine.metrics): the running score
        patches.clock(scorer, "update", "metrics")
    for name in ("forward", "backward"):
        patches.clock(model.Sequential, name, "epilogues")
        patches.clock(layers.Dropout, name, "dropout")
    patches.set(train, "evaluate", timed("validation", train.evaluate))
    patches.set(losses, "LOSSES",
                {k: losses.Loss(timed("loss", v.value_and_grad), v.fused) for k, v in losses.LOSSES.items()})
    patches.set(training, "LOSSES", losses.LOSSES)
    build_optimizer = optimizers.build

    def build(options):
        optimizer = build_optimizer(options)
        optimizer.step = timed("optimizer", optimizer.step)
        return optimizer

    patches.set(optimizers, "build", build)
    write = files.atomic_write

    def atomic_write(path, data):
        started = time.perf_counter()
        try:
            return write(path, data)
        finally:
            if threading.get_ident() != MAIN:
                WRITER["seconds"] += time.perf_counter() - started

    patches.set(files, "atomic_write", atomic_write)
    fit = training.fit

    def clocked_fit(model, loss, optimizer, data, *, callbacks=(), **options):
        for callback in callbacks:
            piece = "diagnostics" if isinstance(callback, Diagnostics) else "callbacks"
            for hook in ("on_epoch_begin", "on_batch_end", "on_epoch_end"):
                setattr(callback, hook, timed(piece, getattr(callback, hook)))
        first, last = train.Callback(), train.Callback()
        first.on_epoch_begin, last.on_epoch_end = epochs.begin, epochs.end
        return fit(model, loss, optimizer, data, callbacks=[first, *callbacks, last], **options)

    patches.set(training, "fit", clocked_fit)


def products_alone(weights: list[tuple[int, int]], batch: int, n_rows: int, dtype):
    """A function timing one epoch's matrix products alone, the training step's shapes and order:
    forward x W of each layer, then backward dW of each and dx of all but the first."""
    rng = np.random.default_rng(1)
    W = [rng.uniform(-0.05, 0.05, shape).astype(dtype) for shape in weights]
    x = rng.random((batch, weights[0][0]), dtype=dtype)
    outs = [np.empty((batch, n), dtype) for _, n in weights]
    dxs = [np.empty((batch, n), dtype) for n, _ in weights]
    dW = [np.empty_like(w) for w in W]
    sizes = [batch] * (n_rows // batch) + ([n_rows % batch] if n_rows % batch else [])

    def run() -> float:
        started = CLOCK.now()
        for m in sizes:
            h, inputs = x[:m], []
            for w, out in zip(W, outs):
                inputs.append(h)
                h = np.matmul(h, w, out=out[:m])
            d = h
            for k in range(len(W) - 1, -1, -1):
                np.matmul(inputs[k].T, d, out=dW[k])
                if k:
                    d = np.matmul(d, W[k].T, out=dxs[k][:m])
        return CLOCK.now() - started

    return run


def synthetic_config(tmp: Path, epochs: int, rows: int) -> Path:
    """The benchmark network on random rows of MNIST's shape, from an .npz file."""
    rng = np.random.default_rng(0)
    np.savez(tmp / "synthetic.npz", x=rng.random((rows, 784), dtype=np.float32), y=rng.integers(0, 10, rows))
    path = tmp / "synthetic.yaml"
    path.write_text(CONFIG.format(epochs=epochs).replace(
        "{name: mnist, val_fraction: 0.1}",
        f"{{name: npz, path: {tmp / 'synthetic.npz'}, val_fraction: 0.1, test_fraction: 0.1, scaling: none}}"))
    return path


def run_one(config: Path, overrides: list[str], tmp: Path) -> tuple[list[dict], dict]:
    """`nnctl train config` in this process with the clocks in; every epoch's record, and the shapes."""
    from nnctl import api
    from nnctl.cli import main
    from nnctl.config import plain
    from nnctl.engine.model import state_shapes
    from nnctl.runs.training import load_data

    cfg = api.load_config(config, overrides)
    dataset = load_data(cfg)
    n_in = dataset.x_train.shape[1]
    shapes = [s for k, s in state_shapes(plain(cfg.model.layers), n_in)[0].items() if k.endswith(".W")]
    epochs = Epochs(products_alone(shapes, cfg.training.batch_size, len(dataset.x_train), np.dtype(cfg.training.dtype)))
    patches = Patches()
    instrument(patches, epochs)
    args = ["train", str(config), "--run-dir", str(tmp / f"run-{time.monotonic_ns()}"), "-q", "--no-plots"]
    for override in overrides:
        args += ["--set", override]
    try:
        main(args, standalone_mode=False)
    finally:
        patches.restore()
    macs = sum(a * b for a, b in shapes)  # a validation row's products: the forward's multiply-adds
    train_macs = len(dataset.x_train) * (2 * macs + sum(a * b for a, b in shapes[1:]))
    return epochs.records, {"val_share_of_products": len(dataset.x_val) * macs / train_macs}


def summarize(records: list[dict], shape: dict) -> dict:
    """Medians: the pieces over the clocked epochs, the epoch's time over the others (the first left out)."""
    clocked = [r for r in records[1:] if r["clocked"]]
    plain = [r for r in records[1:] if not r["clocked"]] or clocked
    median = {p: statistics.median(r[p] for r in clocked) for p in PIECES}
    epoch = statistics.median(r["seconds"] for r in plain)
    median["rest"] = max(0.0, epoch - sum(v for k, v in median.items() if k != "rest"))
    shares = [r["bound_s"] / r["seconds"] for r in plain]
    around = sum(median[k] for k in AROUND)
    return {"median": median, "epoch_s": epoch, "clocked_s": statistics.median(r["seconds"] for r in clocked),
            "epoch_range": (min(r["seconds"] for r in plain), max(r["seconds"] for r in plain)),
            "bound_s": statistics.median(r["bound_s"] for r in plain), "bound_share": statistics.median(shares),
            "bound_share_range": (min(shares), max(shares)), "around": around, "around_share": around / epoch,
            # the validation rows' own products, at the epoch's rate: what a validation pass cannot go below
            "val_products_s": median["products"] * shape["val_share_of_products"],
            "writer_s": statistics.median(r["writer_s"] for r in plain), "epochs": (len(clocked), len(plain))}


def table(columns: dict[str, dict], ranges: bool = False) -> str:
    """Markdown: one column per run, seconds (share of the epoch); with `ranges`, the epoch's and the
    shares' ranges are over rounds rather than epochs."""
    names = list(columns)
    lines = ["| piece | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for piece in PIECES:
        cells = [f"{s['median'][piece]:.3f} ({s['median'][piece] / s['epoch_s']:.1%})" for s in columns.values()]
        lines.append(f"| {piece} | " + " | ".join(cells) + " |")
    over = "rounds" if ranges else "epochs"
    rows = [(f"epoch (min-max over the {over})",
             lambda s: f"**{s['epoch_s']:.3f}** ({s['epoch_range'][0]:.3f}-{s['epoch_range'][1]:.3f})"),
            ("matrix products alone (the bound)", lambda s: f"{s['bound_s']:.3f}"),
            (f"epoch at this share of the bound (min-max over the {over})", lambda s: f"**{s['bound_share']:.0%}** "
                                                                     f"({s['bound_share_range'][0]:.0%}-{s['bound_share_range'][1]:.0%})"),
            ("around the step: metrics, validation, diagnostics, callbacks, rest",
             lambda s: f"**{s['around_share']:.1%}** ({s['around']:.3f})" + (
                 f", {s['around_range'][0]:.1%}-{s['around_range'][1]:.1%}" if "around_range" in s else "")),
            ("of which the validation rows' own products (at the epoch's rate)",
             lambda s: f"{s['val_products_s'] / s['epoch_s']:.1%} ({s['val_products_s']:.3f})"),
            ("background writer, busy in its own thread", lambda s: f"{s['writer_s']:.3f}"),
            ("a clocked epoch (the clocks' cost is in the pieces)", lambda s: f"{s['clocked_s']:.3f}")]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(columns[n]) for n in names) + " |")
    return "\n".join(lines)


def compare(args, argv: list[str]) -> None:
    """Alternate the measurement between another checkout's nnctl and this one's, round by round."""
    import subprocess

    trees = {"before": str(Path(args.compare).resolve()), "after": str(REPO)}
    passed, skip = [], False
    for arg in argv:  # this command's own options, less --compare, --rounds and --json
        if skip:
            skip = False
        elif arg in ("--compare", "--rounds", "--json"):
            skip = True
        elif not arg.startswith(("--compare=", "--rounds=", "--json=")):
            passed.append(arg)
    rounds: dict[str, list[dict]] = {name: [] for name in trees}
    load_before = host_load()
    with tempfile.TemporaryDirectory(prefix="nnctl-compare-") as tmp:
        for r in range(args.rounds):
            for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                out = Path(tmp) / f"{name}-{r}.json"
                subprocess.run([sys.executable, __file__, *passed, "--tree", trees[name], "--json", str(out)],
                               check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": trees[name]})
                summary = json.loads(out.read_text())["summary"]
                rounds[name].append(next(iter(summary.values())))
                print(f"  round {r + 1} {name}: epoch {rounds[name][-1]['epoch_s']:.3f} s", file=sys.stderr, flush=True)
    columns = {f"{name} ({Path(tree).name})": over_rounds(rounds[name]) for name, tree in trees.items()}
    print(f"`python benchmarks/epoch_breakdown.py {' '.join(argv)}`: {args.rounds} rounds alternated, each a "
          f"run of {1 + 2 * args.epochs} epochs; medians of the rounds' medians; load average {load_before} before, "
          f"{host_load()} after")
    print()
    print(table(columns, ranges=True))
    if args.json:
        Path(args.json).write_text(json.dumps({"rounds": rounds, "argv": argv}, indent=2))


def over_rounds(runs: list[dict]) -> dict:
    """Several runs' summaries as one: the medians of their values, and their epoch and share ranges."""
    median = {p: statistics.median(r["median"][p] for r in runs) for p in PIECES}
    out = {key: statistics.median(r[key] for r in runs)
           for key in ("epoch_s", "clocked_s", "bound_s", "bound_share", "around", "around_share", "val_products_s",
                       "writer_s")}
    out.update(median=median, epoch_range=(min(r["epoch_s"] for r in runs), max(r["epoch_s"] for r in runs)),
               bound_share_range=(min(r["bound_share"] for r in runs), max(r["bound_share"] for r in runs)),
               around_range=(min(r["around_share"] for r in runs), max(r["around_share"] for r in runs)))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="a config to train instead of the benchmark network")
    parser.add_argument("--batch", type=int, action="append", help="batch size (repeatable: one run each; "
                        "default the config's, 128 for the benchmark network)")
    parser.add_argument("--epochs", type=int, default=3, help="clocked epochs per run, each followed by one without "
                        "clocks, after a first one not counted (default 3: 7 epochs)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE, as nnctl train --set")
    parser.add_argument("--cpu", action="store_true", help="this thread's CPU time instead of the wall clock "
                        "(with --threads 1: the time other processes take the core is not counted)")
    parser.add_argument("--synthetic", action="store_true", help="random rows of MNIST's shape instead of MNIST")
    parser.add_argument("--rows", type=int, default=60_000, help="rows of synthetic data (default 60000)")
    parser.add_argument("--json", metavar="PATH", help="also write every epoch's pieces to PATH")
    parser.add_argument("--compare", metavar="TREE", help="another checkout of nnctl: time it and this one, alternated")
    parser.add_argument("--rounds", type=int, default=3, help="with --compare: runs of each, alternated (default 3)")
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compare:
        return compare(args, sys.argv[1:] if argv is None else list(argv))
    if args.cpu and args.threads != 1:
        parser.error("--cpu needs --threads 1: the other BLAS threads' time is not on this thread's clock")
    CLOCK.now = time.thread_time if args.cpu else time.perf_counter
    load_before, epochs = host_load(), 1 + 2 * args.epochs
    columns, dump = {}, {}
    with tempfile.TemporaryDirectory(prefix="nnctl-breakdown-") as name, threadpool_limits(args.threads):
        tmp = Path(name)
        for batch in args.batch or [None]:
            if args.synthetic:
                config = synthetic_config(tmp, epochs, args.rows)
            elif args.config:
                config = Path(args.config)
            else:
                config = tmp / "bench.yaml"
                config.write_text(CONFIG.format(epochs=epochs))
            overrides = [*args.overrides, f"training.epochs={epochs}", "training.early_stopping=null"]
            if batch is not None:
                overrides.append(f"training.batch_size={batch}")
            records, shape = run_one(config, overrides, tmp)
            label = f"batch {batch}" if batch is not None else config.stem
            columns[label], dump[label] = summarize(records, shape), records
            print(f"  {label}: " + ", ".join(f"{r['seconds']:.3f}{'*' if r['clocked'] else ''}" for r in records),
                  file=sys.stderr, flush=True)
    jit = os.environ.get("NNCTL_JIT", "") or "default"
    print(f"`nnctl train` of {args.config or 'the benchmark network (784-256-128-10, Adam lr 1e-3)'}, {args.threads} "
          f"BLAS thread(s), {'CPU' if args.cpu else 'wall'} seconds, NNCTL_JIT={jit}; pieces: medians of "
          f"{args.epochs} clocked epochs, the epoch's time of the {args.epochs} between them; load average "
          f"{load_before} before, {host_load()} after")
    print()
    print(table(columns))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": dump, "summary": columns, "argv": sys.argv[1:]}, indent=2))


if __name__ == "__main__":
    main()
