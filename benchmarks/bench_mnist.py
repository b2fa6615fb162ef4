"""nnctl against PyTorch and scikit-learn on MNIST, side by side, and the other speed targets.

    python benchmarks/bench_mnist.py                       # 1 warm-up + 5 timed epochs each
    python benchmarks/bench_mnist.py --unset-openblas-env  # the same, children without OPENBLAS_CORETYPE / _L2_SIZE
    python benchmarks/bench_mnist.py --both-openblas-envs  # both, alternated in the same rounds

The work is issue 4's: MNIST (nnctl's loader: 54,000 training rows, pixels / 255, float32),
784-256-128-10 with ReLU, softmax cross-entropy, Adam at lr 1e-3, batch 128, the same thread
count for every contestant. Each contestant lives in its own child process (so no two thread
pools fight over the cores) and the parent alternates them epoch by epoch, rotating who goes
first, so that the machine's drift hits them alike. A fourth child times NumPy's matrix products
alone at the same shapes: the compute bound nnctl's epoch is measured against.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BATCH, LR, HIDDEN, N_IN, N_OUT = 128, 1e-3, (256, 128), 784, 10
LABELS = {"nnctl": "nnctl", "nnctl-numpy": "nnctl, NumPy only (NNCTL_JIT=0)", "torch": "PyTorch",
          "sklearn": "scikit-learn MLPClassifier", "matmul": "NumPy matmul alone"}
GAP = 0.3  # seconds between turns: the previous child's spinning BLAS / OpenMP threads go to sleep
CONFIG = """seed: 0
data: {{name: mnist, val_fraction: 0.1}}
model:
  layers:
    - {{units: 256, activation: relu}}
    - {{units: 128, activation: relu}}
    - {{units: 10, activation: softmax}}
loss: cross_entropy
optimizer: {{name: adam, lr: 0.001}}
training: {{epochs: {epochs}, batch_size: 128}}
run: {{name: bench}}
"""
TARGETS = [  # (key, what, limit, unit, at_most)
    ("ratio_torch", "nnctl epoch / PyTorch epoch", 0.5, "x", True),
    ("ratio_sklearn", "nnctl epoch / MLPClassifier epoch", 0.5, "x", True),
    ("bound_share", "nnctl at this share of NumPy's matmul throughput", 0.7, "", False),
    ("train_peak_mb", "peak memory of `nnctl train` (MNIST, 1 epoch)", 600, "MB", True),
    ("help_s", "`nnctl --help`", 0.2, "s", True),
    ("summary_s", "`nnctl summary configs/mnist.yaml`", 0.5, "s", True),
    ("cache_load_s", "MNIST from the cache (`data.load`: read, split, scale)", 0.5, "s", True),
    ("checkpoint_s", "save + load of the MNIST checkpoint", 0.3, "s", True),
    ("eval_s", "`nnctl eval` on the MNIST test set, end to end", 2.0, "s", True),
    ("predict_s", "predict 10,000 rows from a loaded checkpoint", 0.2, "s", True),
]


def matmul_flops(n_rows: int) -> int:
    """The products nnctl does per epoch: forward, dW of every layer, dx of all but the first."""
    sizes = [N_IN, *HIDDEN, N_OUT]
    pairs = list(itertools.pairwise(sizes))
    return 2 * n_rows * (2 * sum(a * b for a, b in pairs) + sum(a * b for a, b in pairs[1:]))


# ---------------------------------------------------------------- children


def host_load() -> str:
    """The host's load average over 1, 5 and 15 minutes, as `uptime` shows it: how busy the cores
    were around a measurement (2 cores here: above 2, other work waited for them)."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def emit(obj) -> None:
    print(json.dumps(obj), flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def blas_info() -> list:
    from threadpoolctl import threadpool_info

    return [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads",
                                   "version")} for i in threadpool_info()]


def load_mnist():
    from nnctl import data
    from nnctl.config import MnistData

    return data.load(MnistData(name="mnist", val_fraction=0.1), seed=0)


def worker_nnctl_numpy(ds, threads, tmp, batch):
    """nnctl without its compiled kernels: every step in NumPy, as with numba missing."""
    os.environ["NNCTL_JIT"] = "0"
    return worker_nnctl(ds, threads, tmp, batch)


def worker_nnctl(ds, threads, tmp, batch):
    import numpy as np

    import nnctl
    from nnctl import api
    from nnctl.config import plain
    from nnctl.engine import optimizers, train
    from nnctl.engine.losses import LOSSES
    from nnctl.engine.model import build

    path = Path(tmp) / "bench.yaml"
    path.write_text(CONFIG.format(epochs=1000))
    cfg = api.load_config(path)
    model = build(plain(cfg.model.layers), N_IN, np.random.default_rng(cfg.seed), cfg.training.dtype)
    optimizer, loss = optimizers.build(plain(cfg.optimizer)), LOSSES[cfg.loss]
    epoch = [0]

    def one_epoch():  # train.fit as `nnctl train` runs it: with train accuracy and the validation pass
        train.fit(model, loss, optimizer, ds, epochs=epoch[0] + 1, start=train.Position(epoch[0]), batch_size=batch,
                  shuffle=True, seed=cfg.seed)
        epoch[0] += 1

    def finish():
        return {"test_accuracy": train.evaluate(model, loss, ds.x_test, ds.y_test)["accuracy"]}

    return one_epoch, finish, {"version": nnctl.__version__}


def worker_torch(ds, threads, tmp, batch):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    net = torch.nn.Sequential(torch.nn.Linear(N_IN, HIDDEN[0]), torch.nn.ReLU(), torch.nn.Linear(*HIDDEN),
                              torch.nn.ReLU(),
                              torch.nn.Linear(HIDDEN[1], N_OUT))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)

    def one_epoch():  # the usual loop over shuffled index batches (a DataLoader would only add overhead)
        net.train()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(x[idx]), y[idx]).backward()
            optimizer.step()

    def finish():
        with torch.no_grad():
            predicted = net(torch.from_numpy(ds.x_test)).argmax(1).numpy()
        return {"test_accuracy": float((predicted == ds.y_test).mean())}

    return one_epoch, finish, {"version": torch.__version__, "torch_threads": torch.get_num_threads(),
                               "torch_blas": "mkl" if torch.backends.mkl.is_available() else "other",
                               "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}


def worker_sklearn(ds, threads, tmp, batch):
    import numpy as np
    import sklearn
    from sklearn.neural_network import MLPClassifier

    # alpha=0: no L2 penalty, the same loss as the others; partial_fit = one shuffled epoch
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam", alpha=0.0, batch_size=batch,
                        learning_rate_init=LR, shuffle=True, random_state=0)
    classes = np.arange(N_OUT)

    def one_epoch():
        clf.partial_fit(ds.x_train, ds.y_train, classes=classes)

    def finish():
        return {"test_accuracy": float(clf.score(ds.x_test, ds.y_test)), "dtype": str(clf.coefs_[0].dtype)}

    return one_epoch, finish, {"version": sklearn.__version__}


def worker_matmul(ds, threads, tmp, batch):
    """The same products as nnctl's epoch, on preallocated arrays, with nothing else: the bound."""
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = [N_IN, *HIDDEN, N_OUT]
    W = [rng.uniform(-0.05, 0.05, (a, b)).astype(np.float32) for a, b in itertools.pairwise(sizes)]
    outs = [np.empty((batch, b), np.float32) for b in sizes[1:]]  # layer outputs, reused as their gradients
    dxs = [np.empty((batch, a), np.float32) for a in sizes[1:-1]]
    dW = [np.empty_like(w) for w in W]
    x = ds.x_train

    def one_epoch():
        for i in range(0, len(x), batch):
            h = x[i:i + batch]
            n = len(h)
            inputs = [h]
            for w, out in zip(W, outs):
                h = np.matmul(h, w, out=out[:n])
                inputs.append(h)
            d = h
            for k in range(len(W) - 1, -1, -1):
                np.matmul(inputs[k].T, d, out=dW[k])
                if k:
                    d = np.matmul(d, W[k].T, out=dxs[k - 1][:n])

    return one_epoch, dict, {"version": np.__version__}


def worker_extras(ds, threads, tmp, checkpoint_path):
    """In-process timings: the cache load, checkpoint save + load, predicting 10,000 rows."""
    import numpy as np

    from nnctl import api, data
    from nnctl.config import MnistData
    from nnctl.runs import checkpoint

    def best_of(fn, n=5):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    cache_load = best_of(lambda: data.load(MnistData(name="mnist", val_fraction=0.1), seed=0), 3)
    raw_cache = best_of(lambda: data.load_mnist_raw(), 3)
    ckpt = checkpoint.load(checkpoint_path)
    copy = Path(tmp) / "copy.json"

    def save_and_load():
        checkpoint.save(copy, config=ckpt.config, model=ckpt.model, preprocessing=ckpt.preprocessing,
                        classes=ckpt.classes, n_inputs=ckpt.n_inputs, epoch=ckpt.epoch, metrics=ckpt.metrics)
        checkpoint.load(copy)

    rows = data.load_mnist_raw()[0][-10_000:]
    probabilities = api.predict(ckpt, rows)
    assert probabilities.shape == (10_000, N_OUT) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    return {"cache_load_s": cache_load, "raw_cache_s": raw_cache, "checkpoint_s": best_of(save_and_load),
            "checkpoint_bytes": copy.stat().st_size, "predict_s": best_of(lambda: api.predict(ckpt, rows), 7)}


WORKERS = {"nnctl": worker_nnctl, "nnctl-numpy": worker_nnctl_numpy, "torch": worker_torch, "sklearn": worker_sklearn,
           "matmul": worker_matmul}


def serve(name: str, threads: int, tmp: str, batch: int) -> None:
    """A child: set up, then run one epoch per `epoch` line on stdin and answer with its seconds."""
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(threads)  # noqa: F841 (kept alive: the limit holds while it exists)
    started = time.perf_counter()
    ds = load_mnist()
    one_epoch, finish, info = WORKERS[name](ds, threads, tmp, batch)
    emit({"ready": True, "setup_s": time.perf_counter() - started, "n_train": len(ds.y_train), **info,
          "blas": blas_info()})
    for line in sys.stdin:
        if line.strip() == "epoch":
            start = time.perf_counter()
            one_epoch()
            emit({"seconds": time.perf_counter() - start})
        else:
            emit({**finish(), "peak_rss_mb": peak_rss_mb(), "blas_after": blas_info()})
            return


# ---------------------------------------------------------------- the parent


def child_env(threads: int, unset_openblas: bool) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO)}
    if unset_openblas:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_rounds(names: list[str], epochs: int, threads: int, settings: dict[str, tuple[dict, int]], tmp: str) -> dict:
    """Start one child per contestant and setting (an environment and a batch size), then alternate
    them epoch by epoch, rotating the order. Returns {setting: {contestant: results}}, each
    contestant's epochs in round order (so that round r of two contestants ran side by side), and
    the host's load average at each round's start under "load"."""
    keys = [(label, name) for label in settings for name in names]
    children, results, load = {}, {}, []
    for key in keys:
        label, name = key
        env, batch = settings[label]
        children[key] = subprocess.Popen([sys.executable, __file__, "--worker", name, "--threads", str(threads),
                                          "--tmp", tmp, "--batch", str(batch)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env=env)
        results[key] = {**read(children[key], name), "epochs": []}
    for r in range(epochs + 1):  # round 0 is the warm-up
        load.append(os.getloadavg())
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:
            children[key].stdin.write("epoch\n")
            children[key].stdin.flush()
            seconds = read(children[key], key[1])["seconds"]
            results[key]["epochs"].append(seconds)
            where = f" ({key[0]})" if len(settings) > 1 else ""
            print(f"  round {r} {key[1]:8s} {seconds:.3f} s{where}", file=sys.stderr, flush=True)
            time.sleep(GAP)
    for key, child in children.items():
        child.stdin.write("finish\n")
        child.stdin.flush()
        results[key].update(read(child, key[1]))
        child.stdin.close()
        child.wait()
    return {label: {**{name: results[(label, name)] for name in names}, "load": load[1:]} for label in settings}


def read(child, name) -> dict:
    line = child.stdout.readline()
    if not line:
        raise SystemExit(f"the {name} child died (exit code {child.wait()}); run it alone to see why")
    return json.loads(line)


def timed(cmd: list[str], env: dict, n: int) -> float:
    """Median wall time of a command run n times (its output discarded; a failure stops the benchmark)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_extras(env: dict, threads: int, tmp: str) -> dict:
    """The start-up, memory, checkpoint, eval and predict targets, each in a child process."""
    nnctl = shutil.which("nnctl", path=str(Path(sys.executable).parent)) or shutil.which("nnctl")
    if nnctl is None:
        raise SystemExit("the nnctl command is not installed in this environment: pip install -e .")
    config = Path(tmp) / "train.yaml"
    config.write_text(CONFIG.format(epochs=1))
    run_dir = Path(tmp) / "run"
    start = time.perf_counter()
    errors = Path(tmp) / "train.err"
    with errors.open("w") as err:
        child = subprocess.Popen([nnctl, "train", str(config), "--run-dir", str(run_dir), "--quiet", "--json"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # the rusage of this child alone: its own peak memory
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"nnctl train failed ({child.returncode}): {errors.read_text()}")
    extras = {"train_wall_s": time.perf_counter() - start, "train_peak_mb": usage.ru_maxrss / 1024}
    checkpoint = run_dir / "checkpoint.json"
    extras["help_s"] = timed([nnctl, "--help"], env, 7)
    extras["summary_s"] = timed([nnctl, "summary", str(REPO / "configs" / "mnist.yaml")], env, 5)
    extras["eval_s"] = timed([nnctl, "eval", str(checkpoint)], env, 3)
    out = subprocess.run([sys.executable, __file__, "--worker", "extras", "--threads", str(threads), "--tmp", tmp,
                          "--checkpoint", str(checkpoint)], env=env, check=True, capture_output=True, text=True)
    extras.update(json.loads(out.stdout.splitlines()[-1]))
    return extras


def spread(values: list[float]) -> dict:
    """The median and the range of some rounds' values."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(results: dict, extras: dict) -> dict:
    """Medians of the timed epochs; each ratio the median of its rounds' ratios (two contestants'
    epochs of the same round ran side by side), with their range."""
    timed_epochs = {name: r["epochs"][1:] for name, r in results.items() if name != "load"}
    median = {name: statistics.median(t) for name, t in timed_epochs.items()}
    n_rows = results["nnctl"]["n_train"] if "nnctl" in results else 54_000
    flops = matmul_flops(n_rows)
    summary = {"median_s": median, "flops_per_epoch": flops, **extras}
    ours = timed_epochs.get("nnctl")
    if ours is not None:
        summary["ratios"] = {name: spread([a / b for a, b in zip(ours, t)]) for name, t in timed_epochs.items()}
        for peer in ("torch", "sklearn"):
            if peer in median:
                summary[f"ratio_{peer}"] = summary["ratios"][peer]["median"]
        if "matmul" in median:
            summary["bound_shares"] = spread([b / a for a, b in zip(ours, timed_epochs["matmul"])])
            summary["bound_share"] = summary["bound_shares"]["median"]
    if results.get("load"):
        summary["load"] = spread([one for one, _, _ in results["load"]])
    return summary


def report(results: dict, summary: dict, args, batch: int, unset: bool) -> str:
    """The Markdown the README shows."""
    median, flops = summary["median_s"], summary["flops_per_epoch"]
    contestants = {name: r for name, r in results.items() if name != "load"}
    lines = [f"MNIST 784-256-128-10, ReLU, softmax cross-entropy, Adam lr 1e-3, batch {batch}, float32, "
             f"{args.threads} threads; {args.epochs} timed epochs after 1 warm-up, alternated"
             + (", OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset" if unset else ""), "",
             ("| contestant | version | epoch s (median) | min – max | nnctl ÷ this: median of the rounds (min – max) "
             "| GFLOP/s | test accuracy | peak RSS |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in contestants.items():
        epochs = r["epochs"][1:]
        ratio = summary.get("ratios", {}).get(name)
        ratio = f"{ratio['median']:.2f} ({ratio['min']:.2f} – {ratio['max']:.2f})" if ratio else "-"
        acc = f"{100 * r['test_accuracy']:.2f}%" if "test_accuracy" in r else "-"
        gflops = f"{flops / median[name] / 1e9:.0f}" if name in ("nnctl", "nnctl-numpy", "matmul") else "-"
        lines.append(f"| {LABELS[name]} | {r['version']} | {median[name]:.3f} | {min(epochs):.3f} – {max(epochs):.3f} "
                     f"| {ratio} | {gflops} | {acc} | {r['peak_rss_mb']:.0f} MB |")
    lines += ["", (f"GFLOP/s counts the {flops / 1e9:.1f} GFLOP of matrix products nnctl does per epoch "
              f"({contestants.get('nnctl', {}).get('n_train', 54000):,} rows: forward, dW, and dx of all but the first "
              "layer).")]
    kernels = sorted({f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)"
                      for r in contestants.values() for b in r.get("blas_after", [])})
    lines.append("BLAS: " + "; ".join(kernels) + ".")
    if "torch" in contestants:
        t = contestants["torch"]
        lines.append(f"PyTorch: {t['torch_threads']} threads, BLAS {t['torch_blas']}, CPU capability "
                     f"{t['torch_cpu_capability']}.")
    if "sklearn" in contestants:
        lines.append(f"MLPClassifier trained in {contestants['sklearn'].get('dtype')}.")
    if "load" in summary:
        load = summary["load"]
        lines.append(f"Host load average (1 minute) at the rounds' starts: median {load['median']:.2f}, "
                     f"{load['min']:.2f} – {load['max']:.2f} (2 cores: above 2, other work waited for them).")
    lines += ["", "| target | measured (min – max over the rounds) | limit | |", "| --- | --- | --- | --- |"]
    for key, what, limit, unit, at_most in TARGETS:
        if key not in summary:
            continue
        value = summary[key]
        ok = value <= limit if at_most else value >= limit
        rounds = summary["bound_shares"] if key == "bound_share" else summary.get("ratios", {}).get(key[len("ratio_"):])
        if key == "bound_share":
            shown = f"{value:.0%} ({rounds['min']:.0%} – {rounds['max']:.0%})"
        else:
            shown = f"{value:.3g} {unit}".strip() + (f" ({rounds['min']:.2f} – {rounds['max']:.2f})" if rounds else "")
        bound = f"≥ {limit:.0%}" if key == "bound_share" else f"≤ {limit:g} {unit}".strip()
        lines.append(f"| {what} | {shown} | {bound} | {'met' if ok else '**not met**'} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5,
                        help="timed epochs per contestant, after one warm-up (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / OpenMP threads for every contestant (default 2)")
    parser.add_argument("--batch", default=str(BATCH), help=f"comma-separated batch sizes: every contestant at each, "
                        f"all alternated in the same rounds, one table each (default {BATCH})")
    parser.add_argument("--only", default=None,
                        help="comma-separated contestants among nnctl, nnctl-numpy, torch, sklearn, matmul")
    parser.add_argument("--unset-openblas-env", action="store_true",
                        help="run the children without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (this command only)")
    parser.add_argument("--both-openblas-envs", action="store_true",
                        help="run every contestant twice, with the environment as it is and with both variables unset, "
                             "all alternated in one set of rounds; one table for each")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the start-up, memory, checkpoint, eval and predict timings")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement to PATH as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    if args.worker == "extras":
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.threads):
            emit(worker_extras(None, args.threads, args.tmp, args.checkpoint))
        return
    if args.worker:
        serve(args.worker, args.threads, args.tmp, int(args.batch))
        return
    names = args.only.split(",") if args.only else ["nnctl", "nnctl-numpy", "torch", "sklearn", "matmul"]
    if "torch" in names and importlib.util.find_spec("torch") is None:
        print("PyTorch is not installed (pip install -e '.[bench]'): comparing without it", file=sys.stderr)
        names.remove("torch")
    unknown = set(names) - set(WORKERS)
    if unknown:
        parser.error(f"unknown contestants {sorted(unknown)}; expected some of {', '.join(WORKERS)}")
    if args.both_openblas_envs:
        envs = {"as set": child_env(args.threads, False), "unset": child_env(args.threads, True)}
    else:
        envs = {"unset" if args.unset_openblas_env else "as set": child_env(args.threads, args.unset_openblas_env)}
    batches = [int(b) for b in args.batch.split(",")]
    settings = {f"batch {b}, {label}": (env, b) for label, env in envs.items() for b in batches}
    load_before = host_load()
    with tempfile.TemporaryDirectory(prefix="nnctl-bench-") as tmp:
        by_setting = run_rounds(names, args.epochs, args.threads, settings, tmp)
        extras = {} if args.no_extras else run_extras(next(iter(envs.values())), args.threads, tmp)
    tables, dump = [], {}
    for label, results in by_setting.items():
        _, batch = settings[label]
        summary = summarize(results, extras if not tables else {})
        tables.append(report(results, summary, args, batch, unset=label.endswith("unset")))
        dump[label] = {"results": results, "summary": summary}
    print(f"`python benchmarks/bench_mnist.py {' '.join(sys.argv[1:])}`; load average {load_before} before, "
          f"{host_load()} after\n")
    print("\n\n".join(tables))
    if args.json:
        Path(args.json).write_text(json.dumps({**dump, "argv": sys.argv[1:]}, indent=2))


if __name__ == "__main__":
    main()
