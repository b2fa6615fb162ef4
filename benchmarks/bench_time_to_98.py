"""Time to 98% MNIST test accuracy: nnctl, PyTorch and scikit-learn, each with its best shipped or documented settings.

    python benchmarks/bench_time_to_98.py                      # every contestant once, up to 20 epochs
    python benchmarks/bench_time_to_98.py --rounds 3 --json t98.json

Every contestant trains epoch by epoch on nnctl's MNIST (`nnctl train`'s split and scaling: 54,000
training rows, pixels / 255, float32); after each epoch it scores the 10,000 test images, a pass
timed apart and not counted, and it stops at the first epoch whose test accuracy reaches 98% (or at
--max-epochs). The time is the wall time of the training epochs until then. Each contestant runs
in its own child process with the same thread count; with several rounds the order rotates round
by round and the table shows medians.

- nnctl with configs/mnist_best.yaml and with configs/mnist.yaml, trained by runs.training's
  `Training` (model, optimizer, schedule, early stopping, diagnostics: nnctl's own callbacks,
  through engine.train.fit), as `nnctl train` runs it, without the run folder's writes;
- PyTorch with mnist_best's network and settings (dropout, SGD with Nesterov momentum, cosine
  with warm-up through LambdaLR, batch 64), and with Adam at lr 1e-3, batch 128 on that network;
- scikit-learn's MLPClassifier as its MNIST example sets it ((40,), sgd, learning_rate_init 0.2,
  alpha 1e-4) and (256, 128) with its adam defaults, one partial_fit per epoch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mnist import blas_info, child_env, peak_rss_mb  # one way to pin threads for every benchmark

REPO = Path(__file__).resolve().parents[1]
BEST, PLAIN = REPO / "configs" / "mnist_best.yaml", REPO / "configs" / "mnist.yaml"
LABELS = {
    "nnctl-best": "nnctl, configs/mnist_best.yaml",
    "nnctl": "nnctl, configs/mnist.yaml",
    "torch-best": "PyTorch, mnist_best's network and settings",
    "torch-adam": "PyTorch, mnist_best's network, Adam lr 1e-3, batch 128",
    "sklearn-sgd": "MLPClassifier (40,), sgd lr 0.2 (scikit-learn's MNIST example)",
    "sklearn-adam": "MLPClassifier (256, 128), adam defaults",
}


# ---------------------------------------------------------------- the data


def mnist(rows: int | None, synthetic: bool):
    """nnctl's MNIST as `nnctl train configs/mnist_best.yaml` loads it (configs/mnist.yaml's split is
    the same), or random rows of its shape whose class is easy to read off; the first `rows`
    training rows only when given (for trying the script out)."""
    import dataclasses

    import numpy as np

    from nnctl import config, data
    from nnctl.runs.training import load_data

    if synthetic:
        n = rows or 2000
        rng = np.random.default_rng(0)
        y = rng.integers(0, 10, n + 1000)
        x = rng.random((len(y), 784), dtype=np.float32) * 0.5
        x[(np.arange(len(y))[:, None], y[:, None] * 78 + np.arange(78))] += 1.0  # a bright band per class: easy to learn
        cut = n * 9 // 10
        return data.Dataset("mnist", "classification", list(range(10)), x[:cut], y[:cut], x[cut:n], y[cut:n],
                            x[n:], y[n:], {}, (28, 28), "synthetic")
    ds = load_data(config.load(BEST))
    if rows:
        ds = dataclasses.replace(ds, x_train=ds.x_train[:rows], y_train=ds.y_train[:rows])
    return ds


# ---------------------------------------------------------------- the contestants
# Each returns (one_epoch, test_accuracy, info): one_epoch() trains one epoch and returns True when
# the contestant's own rules end training there (nnctl's early stopping); test_accuracy() scores
# the test split.


def nnctl_run(path: Path):
    def setup(ds, threads, max_epochs):
        import nnctl
        from nnctl import config
        from nnctl.engine.train import Position, evaluate, fit
        from nnctl.runs.training import Checkpointer, MetricsLogger, Training

        cfg = config.load(path)
        training = Training(cfg, ds)
        # nnctl's callbacks in nnctl train's order, less the two that write the run folder
        callbacks = [c for c in training.callbacks(None, None, None) if c is not None
                     and not isinstance(c, (MetricsLogger, Checkpointer))]
        epochs = min(max_epochs, cfg.training.epochs)
        for callback in callbacks:
            callback.on_train_begin(training.describe("(no run folder)", epochs))
        done = [0]

        def one_epoch():
            fit(training.model, training.loss, training.optimizer, ds, epochs=done[0] + 1, start=Position(done[0]),
                batch_size=cfg.training.batch_size, shuffle=cfg.training.shuffle, seed=cfg.seed,
                clip_norm=cfg.training.clip_norm, callbacks=callbacks)
            done[0] += 1
            return training.stopper is not None and training.stopper.stop

        def test_accuracy():
            return evaluate(training.model, training.loss, ds.x_test, ds.y_test)["accuracy"]

        return one_epoch, test_accuracy, {"version": nnctl.__version__, "max_epochs": epochs,
                                          "callbacks": [type(c).__name__ for c in callbacks]}

    return setup


def torch_run(adam: bool):
    def setup(ds, threads, max_epochs):
        import torch

        from nnctl import config

        cfg = config.load(BEST)
        torch.set_num_threads(threads)
        torch.manual_seed(cfg.seed)
        layers, n_in = [], ds.x_train.shape[1]
        for layer in config.plain(cfg.model.layers):  # mnist_best's network, layer by layer
            if layer["type"] == "dropout":
                layers.append(torch.nn.Dropout(layer["rate"]))
            else:
                layers.append(torch.nn.Linear(n_in, layer["units"]))
                n_in = layer["units"]
                if layer["activation"] == "relu":
                    layers.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)  # the softmax is in CrossEntropyLoss
        if adam:
            optimizer, batch, scheduler = torch.optim.Adam(net.parameters(), lr=1e-3), 128, None
        else:
            opt, schedule = cfg.optimizer, cfg.training.schedule
            optimizer = torch.optim.SGD(net.parameters(), lr=opt.lr, momentum=opt.momentum, nesterov=opt.nesterov)
            batch = cfg.training.batch_size
            warmup, epochs = schedule.warmup_epochs, schedule.epochs

            def factor(i):  # LambdaLR counts epochs from 0: mnist_best's cosine with warm-up
                epoch = i + 1
                if epoch <= warmup:
                    return epoch / (warmup + 1)
                t = min(1.0, (epoch - warmup - 1) / max(1, epochs - warmup))
                return (1 + math.cos(math.pi * t)) / 2

            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        loss_fn = torch.nn.CrossEntropyLoss()
        x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
        x_test = torch.from_numpy(ds.x_test)
        generator = torch.Generator().manual_seed(cfg.seed)

        def one_epoch():  # the usual loop over shuffled index batches
            net.train()
            order = torch.randperm(len(x), generator=generator)
            for i in range(0, len(x), batch):
                idx = order[i:i + batch]
                optimizer.zero_grad(set_to_none=True)
                loss_fn(net(x[idx]), y[idx]).backward()
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
            return False

        def test_accuracy():
            net.eval()
            with torch.no_grad():
                predicted = net(x_test).argmax(1).numpy()
            return float((predicted == ds.y_test).mean())

        return one_epoch, test_accuracy, {"version": torch.__version__, "torch_threads": torch.get_num_threads(),
                                          "max_epochs": max_epochs}

    return setup


def sklearn_run(options: dict):
    def setup(ds, threads, max_epochs):
        import warnings

        import numpy as np
        import sklearn
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(**options)
        classes = np.arange(10)

        def one_epoch():  # partial_fit: one shuffled pass over the rows
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.partial_fit(ds.x_train, ds.y_train, classes=classes)
            return False

        return one_epoch, lambda: float(clf.score(ds.x_test, ds.y_test)), {"version": sklearn.__version__,
                                                                            "max_epochs": max_epochs}

    return setup


CONTESTANTS = {
    "nnctl-best": nnctl_run(BEST),
    "nnctl": nnctl_run(PLAIN),
    "torch-best": torch_run(adam=False),
    "torch-adam": torch_run(adam=True),
    # scikit-learn's example "Visualization of MLP weights on MNIST" (which stops at max_iter=8)
    "sklearn-sgd": sklearn_run({"hidden_layer_sizes": (40,), "solver": "sgd", "learning_rate_init": 0.2, "alpha": 1e-4,
                                "random_state": 1}),
    "sklearn-adam": sklearn_run({"hidden_layer_sizes": (256, 128), "random_state": 0}),
}


def train_to_target(name: str, ds, threads: int, max_epochs: int, target: float, progress=None) -> dict:
    """Train contestant `name` epoch by epoch until its test accuracy reaches `target`, its own
    rules stop it, or max_epochs; every epoch's training and scoring times, apart."""
    started = time.perf_counter()
    one_epoch, test_accuracy, info = CONTESTANTS[name](ds, threads, max_epochs)
    result = {**info, "setup_s": time.perf_counter() - started, "epochs": [], "reached": False, "stopped_early": False}
    for epoch in range(1, info["max_epochs"] + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        stop = one_epoch()
        train_s, train_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        wall = time.perf_counter()
        accuracy = test_accuracy()
        record = {"epoch": epoch, "train_s": train_s, "train_cpu_s": train_cpu_s,
                  "score_s": time.perf_counter() - wall, "test_accuracy": accuracy}
        result["epochs"].append(record)
        if progress is not None:
            progress(f"  {name:12s} epoch {epoch:2d}: {train_s:7.2f} s, test accuracy {accuracy:.4f}")
        if accuracy >= target:
            result["reached"] = True
            break
        if stop:
            result["stopped_early"] = True
            break
    return result


def child(name: str, threads: int, max_epochs: int, target: float, rows: int | None, synthetic: bool) -> None:
    """A child process: load the data, train `name` to the target, print one JSON line."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        ds = mnist(rows, synthetic)
        result = train_to_target(name, ds, threads, max_epochs, target,
                                 progress=lambda line: print(line, file=sys.stderr, flush=True))
        print(json.dumps({**result, "n_train": len(ds.y_train), "n_test": len(ds.y_test), "peak_rss_mb": peak_rss_mb(),
                          "blas": blas_info()}), flush=True)


# ---------------------------------------------------------------- the parent


def run_rounds(names: list[str], args) -> dict[str, list[dict]]:
    """Each contestant once per round, in its own child, the order rotating round by round."""
    results = {name: [] for name in names}
    extra = ["--synthetic"] * args.synthetic + (["--rows", str(args.rows)] if args.rows else [])
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            cmd = [sys.executable, __file__, "--worker", name, "--threads", str(args.threads), "--max-epochs",
                   str(args.max_epochs), "--target", str(args.target), *extra]
            out = subprocess.run(cmd, env=child_env(args.threads, False), stdout=subprocess.PIPE, text=True,
                                 check=False)
            if out.returncode != 0:
                raise SystemExit(f"the {name} child failed (exit code {out.returncode}); its errors are above")
            results[name].append(json.loads(out.stdout.splitlines()[-1]))
    return results


def summarize(runs: list[dict]) -> dict:
    """One contestant's rounds: medians of the time to the last epoch trained, of the epochs and of
    the accuracy there; the scoring time apart."""
    last = [r["epochs"][-1] for r in runs]
    return {"reached": sum(r["reached"] for r in runs), "rounds": len(runs),
            "stopped_early": sum(r["stopped_early"] for r in runs),
            "epochs": statistics.median(len(r["epochs"]) for r in runs),
            "train_s": statistics.median(sum(e["train_s"] for e in r["epochs"]) for r in runs),
            "train_cpu_s": statistics.median(sum(e["train_cpu_s"] for e in r["epochs"]) for r in runs),
            "epoch_s": statistics.median(e["train_s"] for r in runs for e in r["epochs"]),
            "score_s": statistics.median(e["score_s"] for r in runs for e in r["epochs"]),
            "test_accuracy": statistics.median(e["test_accuracy"] for e in last),
            "version": runs[0]["version"]}


def report(results: dict[str, list[dict]], args, notes=()) -> str:
    """The Markdown table the README shows."""
    target = f"{100 * args.target:g}%"
    n_train = next(iter(results.values()))[0]["n_train"] if results else 0
    title = (f"Time to {target} MNIST test accuracy, {args.threads} threads, at most {args.max_epochs} epochs, "
             f"{args.rounds} round(s){' (medians)' if args.rounds > 1 else ''}; {n_train:,} training rows")
    header = (f"| contestant | version | time to {target} (s) | CPU s | epochs | test accuracy there | s per epoch "
              "| test scoring s per epoch (not counted) |")
    lines = [title, "", header, "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |"]
    for name, runs in results.items():
        s = summarize(runs)
        if s["reached"] == s["rounds"]:
            epochs, time_s = f"{s['epochs']:g}", f"{s['train_s']:.1f}"
        else:
            why = "stopped early at" if s["stopped_early"] else "in"
            epochs = f"not reached {why} {s['epochs']:g} epochs"
            if s["reached"]:
                epochs += f" ({s['reached']} of {s['rounds']} rounds reached it)"
            time_s = f"({s['train_s']:.1f})"
        lines.append(f"| {LABELS[name]} | {s['version']} | {time_s} | {s['train_cpu_s']:.1f} | {epochs} "
                     f"| {100 * s['test_accuracy']:.2f}% | {s['epoch_s']:.2f} | {s['score_s']:.2f} |")
    lines += ["", ("A time in parentheses is the whole run's: the target was not reached. nnctl's epochs include "
                   "its validation pass and its per-epoch callbacks, as in `nnctl train`.")]
    if args.rows or args.synthetic:
        lines.append(f"Not MNIST's full training split ({'synthetic rows' if args.synthetic else f'--rows {args.rows}'}): "
                     "for trying the script out, not for comparing.")
    lines += list(notes)
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-epochs", type=int, default=20, help="epochs at most per contestant (default 20; nnctl "
                        "also stops at its config's training.epochs and early stopping)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / OpenMP / torch threads for every contestant (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every contestant, the order rotating (default 1)")
    parser.add_argument("--only", default=None, help=f"comma-separated contestants among {', '.join(CONTESTANTS)}")
    parser.add_argument("--target", type=float, default=0.98, help="the test accuracy to reach (default 0.98)")
    parser.add_argument("--rows", type=int, default=None, help="train on the first N rows only (for trying it out)")
    parser.add_argument("--synthetic", action="store_true", help="random rows of MNIST's shape instead of MNIST (for tests)")
    parser.add_argument("--json", metavar="PATH", help="also write every epoch's measurements to PATH as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker:
        child(args.worker, args.threads, args.max_epochs, args.target, args.rows, args.synthetic)
        return
    names = args.only.split(",") if args.only else list(CONTESTANTS)
    unknown = set(names) - set(CONTESTANTS)
    if unknown:
        parser.error(f"unknown contestants {sorted(unknown)}; expected some of {', '.join(CONTESTANTS)}")
    notes = []
    if importlib.util.find_spec("torch") is None and any(n.startswith("torch") for n in names):
        notes.append("PyTorch is not installed (pip install -e '.[bench]'): its rows are left out.")
        names = [n for n in names if not n.startswith("torch")]
    results = run_rounds(names, args)
    print(report(results, args, notes))
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "argv": sys.argv[1:] if argv is None else argv},
                                              indent=2))


if __name__ == "__main__":
    main()
