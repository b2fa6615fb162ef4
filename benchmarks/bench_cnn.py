"""nnctl against PyTorch on issue 21's convolutional network, side by side, with where nnctl's step goes.

    python benchmarks/bench_cnn.py                        # 3 alternated rounds of one epoch each, 2 threads
    python benchmarks/bench_cnn.py --threads 1 --rounds 5
    python benchmarks/bench_cnn.py --both-openblas-envs   # also with OPENBLAS_CORETYPE / _L2_SIZE unset

The network: conv(16, 5x5, same)-relu-maxpool(2) -> conv(32, 5x5, same)-relu-maxpool(2) -> flatten
-> dense 128 relu -> dense 10, softmax cross-entropy, Adam lr 1e-3, batch 128, float32, on MNIST as
nnctl loads it (54,000 training rows, pixels / 255). Each contestant lives in its own child
process with the same thread count (bench_mnist.py's children and environment), and the parent
alternates them epoch by epoch, rotating who goes first. An epoch is 422 training steps and a
validation pass over the 6,000 validation rows, for both: nnctl's is engine.train.fit as `nnctl
train` runs it (with its accuracy count), PyTorch's the usual loop over shuffled index batches then
an evaluation in no_grad. A third child times the matrix products alone at nnctl's shapes (each
convolution's products a chunk of images at a time, as nnctl does them, and the dense layers'):
their share of nnctl's epoch. Last, a fourth child times nnctl's step part by part
(benchmarks/cnn_breakdown.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mnist import GAP, blas_info, child_env, emit, load_mnist, peak_rss_mb, read

REPO = Path(__file__).resolve().parents[1]
BATCH, LR, WARMUP_BATCHES = 128, 1e-3, 20
LAYERS = [
    {"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool_size": 2},
    {"type": "conv2d", "filters": 32, "kernel_size": 5, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool_size": 2},
    {"type": "flatten"},
    {"units": 128, "activation": "relu"},
    {"units": 10, "activation": "softmax"},
]
IMAGE = (28, 28, 1)
LABELS = {"nnctl": "nnctl", "nnctl-numpy": "nnctl, NumPy only (NNCTL_JIT=0)", "torch": "PyTorch",
          "matmul": "nnctl's matrix products alone"}
TARGETS = [  # (key, what, limit)
    ("ratio_torch", "nnctl epoch / PyTorch epoch (medians)", 1.0),
    ("ratio_torch_cpu", "the same in CPU time (steadier on a busy host)", 1.0),
    ("memory_ratio", "nnctl's peak memory / PyTorch's", 1.5),
]


# ---------------------------------------------------------------- the network, both ways


def nnctl_model(seed: int = 0):
    """Issue 21's network as nnctl builds it, with Adam and the cross-entropy."""
    import numpy as np

    from nnctl.engine import optimizers
    from nnctl.engine.losses import LOSSES
    from nnctl.engine.model import build

    model = build(LAYERS, IMAGE, np.random.default_rng(seed), "float32")
    return model, LOSSES["cross_entropy"], optimizers.build({"name": "adam", "lr": LR})


def torch_model(torch):
    """The same network in PyTorch (channels first, its default), softmax in the loss."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


# ---------------------------------------------------------------- children


def worker_nnctl_numpy(ds, threads):
    """nnctl without its compiled kernels: every step in NumPy, as with numba missing."""
    import os

    os.environ["NNCTL_JIT"] = "0"
    return worker_nnctl(ds, threads)


def worker_nnctl(ds, threads):
    import nnctl
    from nnctl.engine import train

    model, loss, optimizer = nnctl_model()
    epoch = [0]
    head = WARMUP_BATCHES * BATCH
    warm = dataclasses.replace(ds, x_train=ds.x_train[:head], y_train=ds.y_train[:head])
    # compiles, touches memory
    train.fit(model, loss, optimizer, warm, epochs=1, batch_size=BATCH, shuffle=True, seed=1)

    def one_epoch():  # train.fit as `nnctl train` runs it: with train accuracy and the validation pass
        train.fit(model, loss, optimizer, ds, epochs=epoch[0] + 1, start=train.Position(epoch[0]), batch_size=BATCH,
                  shuffle=True, seed=0)
        epoch[0] += 1

    def finish():
        return {"test_accuracy": train.evaluate(model, loss, ds.x_test, ds.y_test)["accuracy"]}

    return one_epoch, finish, {"version": nnctl.__version__}


def worker_torch(ds, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    shape = (-1, 1, 28, 28)
    x, y = torch.from_numpy(ds.x_train).reshape(shape), torch.from_numpy(ds.y_train)
    x_val, x_test = torch.from_numpy(ds.x_val).reshape(shape), torch.from_numpy(ds.x_test).reshape(shape)
    net = torch_model(torch)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)

    def steps(n_rows):  # the usual loop over shuffled index batches
        net.train()
        order = torch.randperm(n_rows, generator=generator)
        for i in range(0, n_rows, BATCH):
            idx = order[i:i + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(x[idx]), y[idx]).backward()
            optimizer.step()

    def predict(rows):
        net.eval()
        with torch.no_grad():
            return torch.cat([net(rows[i:i + 8192]) for i in range(0, len(rows), 8192)]).argmax(1).numpy()

    def one_epoch():  # the same work as nnctl's: the steps, then the validation pass
        steps(len(x))
        float((predict(x_val) == ds.y_val).mean())

    steps(WARMUP_BATCHES * BATCH)
    return one_epoch, lambda: {"test_accuracy": float((predict(x_test) == ds.y_test).mean())}, \
        {"version": torch.__version__, "torch_threads": torch.get_num_threads(),
         "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
         "onednn": torch.backends.mkldnn.is_available()}


def worker_matmul(ds, threads):
    """The matrix products of nnctl's epoch alone, at its shapes and in its order of operands."""
    import numpy as np

    products = product_plan(nnctl_model()[0])
    n = len(ds.x_train)
    batches = [BATCH] * (n // BATCH) + ([n % BATCH] if n % BATCH else [])

    def one_epoch():
        for rows in batches:
            for product in products:
                product(rows)

    for _ in range(WARMUP_BATCHES):
        for product in products:
            product(BATCH)
    return one_epoch, dict, {"version": np.__version__}


def product_plan(model) -> list:
    """One function per layer with weights, each doing that layer's products for a batch of `rows`:
    a convolution's a chunk of images at a time (forward, dW, and dx's dcols but for the first
    layer), its patches as nnctl lays them out (a tap per row for one channel); a dense layer's
    forward, dW and dx (but the first)."""
    import numpy as np

    from nnctl.engine.conv import Conv2D
    from nnctl.engine.layers import Dense

    rng = np.random.default_rng(1)
    plan, first = [], True
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            plan.append(_conv_products(layer, first, rng))
        elif isinstance(layer, Dense):
            plan.append(_dense_products(layer, first, rng))
        else:
            continue
        first = False
    return plan


def _conv_products(layer, first: bool, rng):
    import numpy as np

    W = layer.params["W"]
    W2, per_image, chunk = W.reshape(-1, W.shape[3]), layer.w.height * layer.w.width, layer.chunk
    k, f, by_tap = W2.shape[0], W2.shape[1], W.shape[2] == 1
    flat, back = rng.random(chunk * per_image * k, dtype=np.float32), np.empty(chunk * per_image * k, np.float32)
    z, dW = np.empty((chunk * per_image, f), np.float32), np.empty_like(W2)

    def products(rows):
        for start in range(0, rows, chunk):
            r = (min(rows, start + chunk) - start) * per_image
            cols = flat[:r * k].reshape(k, r).T if by_tap else flat[:r * k].reshape(r, k)
            dcols = back[:r * k].reshape(k, r).T if by_tap else back[:r * k].reshape(r, k)  # nnctl reuses cols'
            np.matmul(cols, W2, out=z[:r])
            np.matmul(cols.T, z[:r], out=dW)
            if not first:
                if by_tap:
                    np.matmul(W2, z[:r].T, out=dcols.T)
                else:
                    np.matmul(z[:r], W2.T, out=dcols)

    return products


def _dense_products(layer, first: bool, rng):
    import numpy as np

    W = layer.params["W"]
    x, z = rng.random((BATCH, W.shape[0]), dtype=np.float32), np.empty((BATCH, W.shape[1]), np.float32)
    dW, dx = np.empty_like(W), np.empty_like(x)

    def products(rows):
        np.matmul(x[:rows], W, out=z[:rows])
        np.matmul(x[:rows].T, z[:rows], out=dW)
        if not first:
            np.matmul(z[:rows], W.T, out=dx[:rows])

    return products


WORKERS = {"nnctl": worker_nnctl, "nnctl-numpy": worker_nnctl_numpy, "torch": worker_torch, "matmul": worker_matmul}


def serve(name: str, threads: int, rows: int | None) -> None:
    """A child: set up (and warm up), then run one epoch per `epoch` line on stdin and answer with its seconds."""
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(threads)  # noqa: F841 (kept alive: the limit holds while it exists)
    started = time.perf_counter()
    ds = load_mnist()
    if rows:
        ds = dataclasses.replace(ds, x_train=ds.x_train[:rows], y_train=ds.y_train[:rows])
    one_epoch, finish, info = WORKERS[name](ds, threads)
    emit({"ready": True, "setup_s": time.perf_counter() - started, "n_train": len(ds.y_train), **info,
          "blas": blas_info()})
    for line in sys.stdin:
        if line.strip() == "epoch":
            start, cpu = time.perf_counter(), time.process_time()
            one_epoch()
            emit({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu})
        else:
            emit({**finish(), "peak_rss_mb": peak_rss_mb(), "blas_after": blas_info()})
            return


# ---------------------------------------------------------------- the parent


def run_rounds(names: list[str], rounds: int, threads: int, envs: dict[str, dict], rows: int | None = None) -> dict:
    """One child per contestant and environment, alternated epoch by epoch with the order rotating
    round by round. Returns {environment label: {contestant: results}}."""
    keys = [(label, name) for label in envs for name in names]
    children, results = {}, {}
    for key in keys:
        label, name = key
        children[key] = subprocess.Popen([sys.executable, __file__, "--worker", name, "--threads", str(threads),
                                          *(["--rows", str(rows)] if rows else [])],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=envs[label])
        results[key] = {**read(children[key], name), "epochs": [], "cpu": []}
    for r in range(rounds):
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:
            children[key].stdin.write("epoch\n")
            children[key].stdin.flush()
            answer = read(children[key], key[1])
            results[key]["epochs"].append(answer["seconds"])
            results[key]["cpu"].append(answer["cpu_seconds"])
            where = f" ({key[0]})" if len(envs) > 1 else ""
            print(f"  round {r + 1} {key[1]:8s} {answer['seconds']:.2f} s{where}", file=sys.stderr, flush=True)
            time.sleep(GAP)
    for key, child in children.items():
        child.stdin.write("finish\n")
        child.stdin.flush()
        results[key].update(read(child, key[1]))
        child.stdin.close()
        child.wait()
    return {label: {name: results[(label, name)] for name in names} for label in envs}


def breakdown(threads: int, env: dict, batches: int) -> dict:
    """cnn_breakdown.py in a child of its own, with the same threads and environment."""
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("cnn_breakdown.py")), "--threads", str(threads),
                          "--batches", str(batches), "--json"], env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def summarize(results: dict) -> dict:
    median = {name: statistics.median(r["epochs"]) for name, r in results.items()}
    cpu = {name: statistics.median(r["cpu"]) for name, r in results.items()}
    summary = {"median_s": median, "median_cpu_s": cpu}
    if "nnctl" in median:
        if "torch" in median:
            summary["ratio_torch"] = median["nnctl"] / median["torch"]
            summary["ratio_torch_cpu"] = cpu["nnctl"] / cpu["torch"]
            summary["memory_ratio"] = results["nnctl"]["peak_rss_mb"] / results["torch"]["peak_rss_mb"]
        if "matmul" in median:
            summary["products_share"] = median["matmul"] / median["nnctl"]
    return summary


def report(results: dict, summary: dict, args, label: str) -> str:
    """The Markdown the benchmark README shows for one environment."""
    median = summary["median_s"]
    unset = ", OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset" if label == "unset" else ""
    rows = f" (the first {args.rows:,} training rows only: for trying the script out, not for comparing)" \
        if args.rows else ""
    lines = [(f"Issue 21's CNN on MNIST{rows}, batch {BATCH}, Adam lr 1e-3, float32, {args.threads} thread(s); "
              f"{args.rounds} alternated rounds of one epoch each{unset}"), "",
             ("| contestant | version | epoch s (median) | min – max | CPU s (median) | nnctl ÷ this (medians) "
              "| test accuracy | peak RSS |"),
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        ratio = f"{median['nnctl'] / median[name]:.2f}" if "nnctl" in median else "-"
        accuracy = f"{100 * r['test_accuracy']:.2f}%" if "test_accuracy" in r else "-"
        lines.append(f"| {LABELS[name]} | {r['version']} | {median[name]:.2f} | {min(r['epochs']):.2f} – "
                     f"{max(r['epochs']):.2f} | {statistics.median(r['cpu']):.2f} | {ratio} | {accuracy} "
                     f"| {r['peak_rss_mb']:.0f} MB |")
    lines.append("")
    kernels = sorted({f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)"
                      for r in results.values() for b in r.get("blas_after", [])})
    lines.append("BLAS: " + "; ".join(kernels) + ".")
    if "torch" in results:
        t = results["torch"]
        lines.append(f"PyTorch: {t['torch_threads']} threads, CPU capability {t['torch_cpu_capability']}, "
                     f"oneDNN {'on' if t['onednn'] else 'off'}.")
    if "products_share" in summary:
        lines.append(f"The matrix products alone take {summary['products_share']:.0%} of nnctl's epoch (medians).")
    lines += ["", "| target | measured | limit | |", "| --- | --- | --- | --- |"]
    for key, what, limit in TARGETS:
        if key in summary:
            value = summary[key]
            lines.append(f"| {what} | {value:.2f} x | ≤ {limit:g} x | {'met' if value <= limit else '**not met**'} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per contestant, alternated (default 3)")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS / OpenMP / torch threads for every contestant (default 2)")
    parser.add_argument("--only", default=None, help="comma-separated contestants among nnctl, nnctl-numpy, torch, "
                        "matmul (default: nnctl, torch, matmul)")
    parser.add_argument("--both-openblas-envs", action="store_true",
                        help="run every contestant twice, with the environment as it is and with OPENBLAS_CORETYPE and "
                             "OPENBLAS_L2_SIZE unset, alternated in the same rounds; one table for each")
    parser.add_argument("--breakdown-batches", type=int, default=60,
                        help="training steps cnn_breakdown.py times part by part after the rounds "
                             "(0: none; default 60)")
    parser.add_argument("--rows", type=int, default=None, help="train on the first N training rows only (for trying "
                        "the script out: the table says so)")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement to PATH as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker:
        serve(args.worker, args.threads, args.rows)
        return
    names = args.only.split(",") if args.only else ["nnctl", "torch", "matmul"]
    unknown = set(names) - set(WORKERS)
    if unknown:
        parser.error(f"unknown contestants {sorted(unknown)}; expected some of {', '.join(WORKERS)}")
    if "torch" in names and importlib.util.find_spec("torch") is None:
        print("PyTorch is not installed (pip install -e '.[bench]'): comparing without it", file=sys.stderr)
        names.remove("torch")
    envs = {"as set": child_env(args.threads, False)}
    if args.both_openblas_envs:
        envs["unset"] = child_env(args.threads, True)
    load_before = load_average()
    by_env = run_rounds(names, args.rounds, args.threads, envs, args.rows)
    parts = breakdown(args.threads, envs["as set"], args.breakdown_batches) if args.breakdown_batches else None
    load_after = load_average()
    tables, dump = [], {}
    for label, results in by_env.items():
        summary = summarize(results)
        tables.append(report(results, summary, args, label))
        dump[label] = {"results": results, "summary": summary}
    command = "python benchmarks/bench_cnn.py" + "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))
    print("\n\n".join(tables))
    if parts is not None:
        from cnn_breakdown import table

        print("\n" + table(parts))
    print(f"\n`{command}`; load average (1, 5, 15 min) {load_before} before, {load_after} after.")
    if args.json:
        Path(args.json).write_text(json.dumps({**dump, "breakdown": parts, "command": command,
                                               "load_average": [load_before, load_after]}, indent=2))


if __name__ == "__main__":
    main()
