"""Time to 98% MNIST test accuracy: nnctl, PyTorch and scikit-learn, each with its best shipped or documented settings.

    python benchmarks/bench_time_to_98.py                      # every contestant once, up to 20 epochs
    python benchmarks/bench_time_to_98.py --rounds 3 --only nnctl-fast,torch-fast,torch-adam,torch-best

Every contestant trains epoch by epoch on nnctl's MNIST (`nnctl train`'s split and scaling: 54,000
training rows, pixels / 255, float32); after each epoch it scores the 10,000 test images, a pass
timed apart and not counted, and it stops at the first epoch whose test accuracy reaches 98% (or at
--max-epochs). The time is the wall time of the training epochs until then. Each contestant runs
in its own child process with the same thread count; with several rounds the order rotates round
by round and the table shows medians and ranges.

- nnctl: `nnctl train CONFIG` itself, run in the child (the command with all its callbacks, its
  run folder and its writes; the data set handed to it already loaded, as for every contestant):
  configs/mnist_fast.yaml trains every epoch of its config, whatever the test accuracy says (the
  time is the whole run's, the accuracy the one nnctl train reports for the checkpoint it keeps);
  configs/mnist_best.yaml and configs/mnist.yaml stop at the target like the peers. Importing
  numba is set-up, as importing torch is; the first epoch includes the kernels' first calls
  (numba's code generator starting, ~0.3 s of CPU, and each kernel's machine code loaded from
  its cache, a few milliseconds each);
- PyTorch with mnist_fast's recipe and with mnist_best's (the same network, optimizer, batch and
  schedule, read from the configs; the learning rate set once an epoch as nnctl's schedules do),
  and with Adam at lr 1e-3, batch 128 on mnist_best's network;
- scikit-learn's MLPClassifier as its MNIST example sets it ((40,), sgd, learning_rate_init 0.2,
  alpha 1e-4) and (256, 128) with its adam defaults, one partial_fit per epoch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mnist import blas_info, child_env, host_load, peak_rss_mb  # one way to pin threads for every benchmark

REPO = Path(__file__).resolve().parents[1]
FAST, BEST, PLAIN = (REPO / "configs" / f"{name}.yaml" for name in ("mnist_fast", "mnist_best", "mnist"))
LABELS = {
    "nnctl-fast": "nnctl, configs/mnist_fast.yaml (every epoch)",
    "nnctl-best": "nnctl, configs/mnist_best.yaml",
    "nnctl": "nnctl, configs/mnist.yaml",
    "torch-fast": "PyTorch, mnist_fast's recipe",
    "torch-best": "PyTorch, mnist_best's recipe",
    "torch-adam": "PyTorch, mnist_best's network, Adam lr 1e-3, batch 128",
    "sklearn-sgd": "MLPClassifier (40,), sgd lr 0.2 (scikit-learn's MNIST example)",
    "sklearn-adam": "MLPClassifier (256, 128), adam defaults",
}


# ---------------------------------------------------------------- the data


def mnist(rows: int | None, synthetic: bool):
    """nnctl's MNIST as `nnctl train configs/mnist_fast.yaml` loads it (the other configs' split is
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
        # a bright band per class: easy to learn
        x[(np.arange(len(y))[:, None], y[:, None] * 78 + np.arange(78))] += 1.0
        cut = n * 9 // 10
        return data.Dataset("mnist", "classification", list(range(10)), x[:cut], y[:cut], x[cut:n], y[cut:n],
                            x[n:], y[n:], {}, (28, 28), "synthetic")
    ds = load_data(config.load(FAST))
    if rows:
        ds = dataclasses.replace(ds, x_train=ds.x_train[:rows], y_train=ds.y_train[:rows])
    return ds


# ---------------------------------------------------------------- the contestants
# Each setup returns (train, info): train(after_epoch) trains epoch after epoch, calling
# after_epoch(train_s, train_cpu_s, test_accuracy) after each (test_accuracy: a function scoring the
# test split), and stops when it returns True or when the contestant's own rules end training.


def nnctl_run(path: Path, whole: bool = False):
    def setup(ds, threads, max_epochs):
        import nnctl
        from nnctl.cli import main
        from nnctl.engine import kernels, train as engine_train
        from nnctl.runs import training

        kernels.load()  # importing numba (~0.2 s) is set-up, as importing torch is PyTorch's
        info = {"version": nnctl.__version__, "whole": whole, "callbacks": []}

        def run(after_epoch):
            fit, load_data = training.fit, training.load_data

            def fit_timed(model, loss, optimizer, data, *, callbacks=(), **options):
                first, last = engine_train.Callback(), engine_train.Callback()
                clock = {}

                def begin(epoch):
                    clock.update(wall=time.perf_counter(), cpu=time.process_time())

                def end(record):  # after every other callback: the epoch's files are made
                    train_s, cpu_s = time.perf_counter() - clock["wall"], time.process_time() - clock["cpu"]
                    stop = after_epoch(train_s, cpu_s,
                                       lambda: engine_train.evaluate(model, loss, ds.x_test, ds.y_test)["accuracy"])
                    return stop and (not whole or record["epoch"] >= max_epochs)

                first.on_epoch_begin, last.on_epoch_end = begin, end
                info["callbacks"] = [type(c).__name__ for c in callbacks]
                return fit(model, loss, optimizer, data, callbacks=[first, *callbacks, last], **options)

            training.fit, training.load_data = fit_timed, lambda cfg, preprocessing=None: ds
            try:
                with tempfile.TemporaryDirectory(prefix="nnctl-t98-") as tmp:
                    run_dir = Path(tmp) / "run"
                    main(["train", str(path), "--run-dir", str(run_dir), "-q", "--no-plots"], standalone_mode=False)
                    status = json.loads((run_dir / "run.json").read_text())
                    info["final_test_accuracy"] = status["test"]["accuracy"]  # the checkpoint nnctl train keeps
            finally:
                training.fit, training.load_data = fit, load_data

        return run, info

    return setup


def torch_run(path: Path | None):
    """PyTorch with a config's recipe (its layers, optimizer, batch and schedule); None: mnist_best's
    network with Adam at lr 1e-3, batch 128."""

    def setup(ds, threads, max_epochs):
        import torch

        from nnctl import config
        from nnctl.engine import schedules

        cfg = config.load(path or BEST)
        torch.set_num_threads(threads)
        torch.manual_seed(cfg.seed)
        layers, n_in = [], ds.x_train.shape[1]
        for layer in config.plain(cfg.model.layers):  # the config's network, layer by layer
            if layer["type"] == "dropout":
                layers.append(torch.nn.Dropout(layer["rate"]))
            else:
                layers.append(torch.nn.Linear(n_in, layer["units"]))
                n_in = layer["units"]
                if layer["activation"] == "relu":
                    layers.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)  # the softmax is in CrossEntropyLoss
        if path is None:
            optimizer, batch, scheduler = torch.optim.Adam(net.parameters(), lr=1e-3), 128, None
        else:
            opt = config.plain(cfg.optimizer)
            if opt["name"] == "sgd":
                optimizer = torch.optim.SGD(net.parameters(), lr=opt["lr"], momentum=opt["momentum"],
                                            nesterov=opt["nesterov"])
            elif opt["name"] == "adam":
                optimizer = torch.optim.Adam(net.parameters(), lr=opt["lr"], betas=(opt["beta_1"], opt["beta_2"]),
                                             eps=opt["epsilon"], amsgrad=opt["amsgrad"])
            else:
                raise SystemExit(f"{path.name}: no PyTorch twin for optimizer {opt['name']}")
            batch = cfg.training.batch_size
            schedule = schedules.build(config.plain(cfg.training.schedule))  # nnctl's own rule: the same rates
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: schedule.lr(i + 1, 1.0))
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

        def test_accuracy():
            net.eval()
            with torch.no_grad():
                predicted = net(x_test).argmax(1).numpy()
            return float((predicted == ds.y_test).mean())

        return epoch_loop(one_epoch, test_accuracy, max_epochs), {
            "version": torch.__version__, "torch_threads": torch.get_num_threads(), "whole": False}

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

        return epoch_loop(one_epoch, lambda: float(clf.score(ds.x_test, ds.y_test)), max_epochs), {
            "version": sklearn.__version__, "whole": False}

    return setup


def epoch_loop(one_epoch, test_accuracy, max_epochs):
    """A peer's training: one_epoch() after another, each timed, until after_epoch says stop."""
    def run(after_epoch):
        for _ in range(max_epochs):
            wall, cpu = time.perf_counter(), time.process_time()
            one_epoch()
            if after_epoch(time.perf_counter() - wall, time.process_time() - cpu, test_accuracy):
                return

    return run


CONTESTANTS = {
    "nnctl-fast": nnctl_run(FAST, whole=True),
    "nnctl-best": nnctl_run(BEST),
    "nnctl": nnctl_run(PLAIN),
    "torch-fast": torch_run(FAST),
    "torch-best": torch_run(BEST),
    "torch-adam": torch_run(None),
    # scikit-learn's example "Visualization of MLP weights on MNIST" (which stops at max_iter=8)
    "sklearn-sgd": sklearn_run({"hidden_layer_sizes": (40,), "solver": "sgd", "learning_rate_init": 0.2, "alpha": 1e-4,
                                "random_state": 1}),
    "sklearn-adam": sklearn_run({"hidden_layer_sizes": (256, 128), "random_state": 0}),
}


def train_to_target(name: str, ds, threads: int, max_epochs: int, target: float, progress=None) -> dict:
    """Train contestant `name` epoch by epoch until its test accuracy reaches `target` (a contestant
    that trains its whole config goes on to its end), its own rules stop it, or max_epochs; every
    epoch's training and scoring times, apart."""
    started = time.perf_counter()
    train, info = CONTESTANTS[name](ds, threads, max_epochs)
    result = {**info, "setup_s": time.perf_counter() - started, "epochs": [], "reached": False, "stopped_early": False}

    def after_epoch(train_s, train_cpu_s, test_accuracy) -> bool:
        wall = time.perf_counter()
        accuracy = test_accuracy()
        record = {"epoch": len(result["epochs"]) + 1, "train_s": train_s, "train_cpu_s": train_cpu_s,
                  "score_s": time.perf_counter() - wall, "test_accuracy": accuracy}
        result["epochs"].append(record)
        if progress is not None:
            progress(f"  {name:12s} epoch {record['epoch']:2d}: {train_s:7.2f} s, test accuracy {accuracy:.4f}")
        result["reached"] = result["reached"] or accuracy >= target
        return result["reached"] or record["epoch"] >= max_epochs

    train(after_epoch)
    result.update(info)  # what the run added: nnctl's callbacks, the test accuracy of the checkpoint it keeps
    if result["whole"]:  # what counts is the model nnctl train keeps at the end of its config's epochs
        result["reached"] = result["final_test_accuracy"] >= target
    elif not result["reached"] and len(result["epochs"]) < max_epochs:
        result["stopped_early"] = True  # its own rules (early stopping, its config's epochs) ended it
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
    """Each contestant once per round, in its own child, the order rotating round by round; the
    host's load average recorded as each child starts."""
    results = {name: [] for name in names}
    extra = ["--synthetic"] * args.synthetic + (["--rows", str(args.rows)] if args.rows else [])
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            cmd = [sys.executable, __file__, "--worker", name, "--threads", str(args.threads), "--max-epochs",
                   str(args.max_epochs), "--target", str(args.target), *extra]
            load = os.getloadavg()[0]
            out = subprocess.run(cmd, env=child_env(args.threads, False), stdout=subprocess.PIPE, text=True,
                                 check=False)
            if out.returncode != 0:
                raise SystemExit(f"the {name} child failed (exit code {out.returncode}); its errors are above")
            results[name].append({**json.loads(out.stdout.splitlines()[-1]), "round": r, "load": load})
    return results


def spread(values) -> str:
    values = list(values)
    return f"{min(values):.1f} – {max(values):.1f}"


def summarize(runs: list[dict]) -> dict:
    """One contestant's rounds: medians (and ranges) of the time to the last epoch trained, of the
    epochs and of the accuracy there; the scoring time apart."""
    times = [sum(e["train_s"] for e in r["epochs"]) for r in runs]
    accuracy = [r["final_test_accuracy"] if r.get("whole") else r["epochs"][-1]["test_accuracy"] for r in runs]
    return {"reached": sum(bool(r["reached"]) for r in runs), "rounds": len(runs),
            "stopped_early": sum(r["stopped_early"] for r in runs), "whole": runs[0].get("whole", False),
            "epochs": statistics.median(len(r["epochs"]) for r in runs),
            "train_s": statistics.median(times), "train_range": spread(times),
            "train_cpu_s": statistics.median(sum(e["train_cpu_s"] for e in r["epochs"]) for r in runs),
            "epoch_s": statistics.median(e["train_s"] for r in runs for e in r["epochs"]),
            "score_s": statistics.median(e["score_s"] for r in runs for e in r["epochs"]),
            "test_accuracy": statistics.median(accuracy), "accuracy_range": (min(accuracy), max(accuracy)),
            "version": runs[0]["version"]}


def ratios(results: dict[str, list[dict]]) -> list[str]:
    """nnctl-fast's whole run against PyTorch's fastest recipe (best against best: each round's
    fastest PyTorch time to the target) and against PyTorch with the same recipe, round by round;
    in wall time, and in CPU time (steadier on a busy host with one thread each; with more, CPU time
    counts threads spinning)."""
    fast = results.get("nnctl-fast")
    if not fast:
        return []
    peers = [run for name, runs in results.items() if name.startswith("torch") for run in runs]
    twins = results.get("torch-fast", [])

    def spent(run, key):
        return sum(e[key] for e in run["epochs"])

    rows = {"best against best": ([], []), "same recipe": ([], [])}
    for ours in fast:
        same_round = [run for run in peers if run["round"] == ours["round"] and run["reached"]]
        twin = [run for run in twins if run["round"] == ours["round"] and run["reached"]]
        for label, found in (("best against best", same_round), ("same recipe", twin)):
            if found:
                wall, cpu = rows[label]
                wall.append(spent(ours, "train_s") / min(spent(run, "train_s") for run in found))
                cpu.append(spent(ours, "train_cpu_s") / min(spent(run, "train_cpu_s") for run in found))
    what = {"best against best": "PyTorch's fastest recipe to the target (best against best)",
            "same recipe": "PyTorch with the same recipe to the target (same recipe)"}
    lines = []
    for label, (wall, cpu) in rows.items():
        if wall:
            lines.append(f"| nnctl-fast's whole run ÷ {what[label]} | {statistics.median(wall):.2f} x "
                         f"| {min(wall):.2f} – {max(wall):.2f} | {statistics.median(cpu):.2f} x "
                         f"({min(cpu):.2f} – {max(cpu):.2f}) | {len(wall)} |")
    if lines:
        lines = ["", "| ratio (each round's own) | wall, median | min – max | CPU time, median (min – max) | rounds |",
                 "| --- | ---: | ---: | ---: | ---: |", *lines]
    return lines


def report(results: dict[str, list[dict]], args, notes=(), load=None) -> str:
    """The Markdown tables the README shows."""
    target = f"{100 * args.target:g}%"
    n_train = next(iter(results.values()))[0]["n_train"] if results else 0
    title = (f"Time to {target} MNIST test accuracy, {args.threads} threads, at most {args.max_epochs} epochs, "
             f"{args.rounds} round(s){' (medians)' if args.rounds > 1 else ''}; {n_train:,} training rows")
    header = (f"| contestant | version | time to {target} (s) | min – max | CPU s | epochs | test accuracy there "
              "| s per epoch | test scoring s per epoch (not counted) |")
    lines = [title, "", header, "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for name, runs in results.items():
        s = summarize(runs)
        low, high = s["accuracy_range"]
        spread = f" ({100 * low:.2f} – {100 * high:.2f})" if low != high else ""
        accuracy = f"{100 * s['test_accuracy']:.2f}%" + spread
        if s["reached"] == s["rounds"]:
            epochs, time_s = f"{s['epochs']:g}" + (" (its config's)" if s["whole"] else ""), f"{s['train_s']:.1f}"
        else:
            why = "stopped early at" if s["stopped_early"] else "in"
            epochs = f"not reached {why} {s['epochs']:g} epochs"
            if s["reached"]:
                epochs += f" ({s['reached']} of {s['rounds']} rounds reached it)"
            time_s = f"({s['train_s']:.1f})"
        lines.append(f"| {LABELS[name]} | {s['version']} | {time_s} | {s['train_range']} | {s['train_cpu_s']:.1f} "
                     f"| {epochs} | {accuracy} | {s['epoch_s']:.2f} | {s['score_s']:.2f} |")
    lines += ratios(results)
    lines += ["", ("A time in parentheses is the whole run's: the target was not reached. nnctl's epochs include "
                   "its validation pass, its callbacks and its run folder's files, as `nnctl train` runs them; "
                   "mnist_fast's time is its whole run (every epoch of its config), its accuracy the test score "
                   "`nnctl train` reports for the checkpoint it keeps.")]
    loads = [r["load"] for runs in results.values() for r in runs if "load" in r]
    if loads:
        lines.append(f"Host load average (1 minute) as each run started: median {statistics.median(loads):.2f}, "
                     f"{min(loads):.2f} – {max(loads):.2f}" + (f"; {load}" if load else "") + ".")
    if args.rows or args.synthetic:
        lines.append("Not MNIST's full training split "
                     f"({'synthetic rows' if args.synthetic else f'--rows {args.rows}'}): "
                     "for trying the script out, not for comparing.")
    lines += list(notes)
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-epochs", type=int, default=20, help="epochs at most per contestant (default 20; nnctl "
                        "also stops at its config's training.epochs and early stopping)")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS / OpenMP / torch threads for every contestant (default 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of every contestant, the order rotating (default 1)")
    parser.add_argument("--only", default=None, help=f"comma-separated contestants among {', '.join(CONTESTANTS)}")
    parser.add_argument("--target", type=float, default=0.98, help="the test accuracy to reach (default 0.98)")
    parser.add_argument("--rows", type=int, default=None, help="train on the first N rows only (for trying it out)")
    parser.add_argument("--synthetic", action="store_true",
                        help="random rows of MNIST's shape instead of MNIST (for tests)")
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
    load_before = host_load()
    results = run_rounds(names, args)
    command = "python benchmarks/bench_time_to_98.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"`{command.strip()}`\n")
    print(report(results, args, notes, load=f"load average {load_before} before, {host_load()} after"))
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "argv": sys.argv[1:] if argv is None else argv},
                                              indent=2))


if __name__ == "__main__":
    main()
