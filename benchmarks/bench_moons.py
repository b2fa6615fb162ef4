"""A small network, end to end: nnctl against scikit-learn and PyTorch on moons, side by side.

    python benchmarks/bench_moons.py              # 5 rounds, contestants alternated
    python benchmarks/bench_moons.py --rounds 9 --json moons.json

The work is configs/moons.yaml's: 1,000 moons (nnctl's loader: 720 training rows, standard
scaling, float32), 2-32-32-2 with ReLU, softmax cross-entropy, Adam at lr 0.01, batch 32 (23
steps an epoch), 60 epochs. For a network of 1,250 parameters the time is per-step Python
overhead and start-up, not arithmetic, so two things are timed, each contestant in a fresh child
process per round, the order rotating round by round so that the machine's drift hits them alike:

- the training loop alone (the 60 epochs, after imports and data): nnctl's `engine.train.fit`
  (with its train-accuracy count and validation pass each epoch, which the others do not do),
  MLPClassifier.fit (alpha 0, no early stopping, no tolerance stop), and PyTorch's usual loop over
  shuffled index batches; steps per second from it;
- the whole command: `nnctl train configs/moons.yaml -q --no-plots` (warm data cache, and cold:
  an empty cache, so scikit-learn draws the set), against a script that does the same with
  scikit-learn or PyTorch (imports, make_moons and the split, scaling, training, test accuracy).

Every child gets one BLAS / OpenMP thread (more only costs at this size). Next to each median wall
time is the median CPU time (user + system) of the loop, or of the whole child process: on a machine
shared with other jobs, the wall times stretch and the CPU times much less.
"""

from __future__ import annotations

import argparse
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
CONFIG = REPO / "configs" / "moons.yaml"
EPOCHS, BATCH, LR, HIDDEN = 60, 32, 0.01, (32, 32)
LOOPS = ("nnctl", "sklearn", "torch")
COMMANDS = ("nnctl_warm", "nnctl_cold", "sklearn_script", "torch_script")
LABELS = {"nnctl": "nnctl (engine.train.fit)", "sklearn": "scikit-learn MLPClassifier.fit", "torch": "PyTorch loop",
          "nnctl_warm": "`nnctl train configs/moons.yaml -q --no-plots`, warm cache",
          "nnctl_cold": "the same, cold cache (scikit-learn draws the set)",
          "sklearn_script": "a scikit-learn script (make_moons, split, MLPClassifier)",
          "torch_script": "a PyTorch script (make_moons, split, the loop)"}
TARGETS = [("whole_warm_s", "`nnctl train` of moons, warm cache", 0.7, "s"),
           ("ratio_sklearn", "nnctl loop / MLPClassifier loop", 0.5, "x"),
           ("ratio_torch", "nnctl loop / PyTorch loop", 0.5, "x")]


# ---------------------------------------------------------------- children


def moons_data():
    """nnctl's moons: the configs/moons.yaml split and scaling (the peers train on the same rows)."""
    from nnctl import config, data

    cfg = config.load(CONFIG)
    return data.load(cfg.data, cfg.seed, cfg.training.dtype)


def loop_nnctl(ds):
    import numpy as np

    from nnctl.engine import optimizers, train
    from nnctl.engine.losses import LOSSES
    from nnctl.engine.model import build

    layers = [{"units": u, "activation": "relu"} for u in HIDDEN] + [{"units": 2, "activation": "softmax"}]
    model = build(layers, 2, np.random.default_rng(0), "float32")
    optimizer = optimizers.build({"name": "adam", "lr": LR})
    started, cpu = time.perf_counter(), time.process_time()
    train.fit(model, LOSSES["cross_entropy"], optimizer, ds, epochs=EPOCHS, batch_size=BATCH, shuffle=True, seed=0)
    return time.perf_counter() - started, time.process_time() - cpu, train.evaluate(model, LOSSES["cross_entropy"],
                                                                                    ds.x_test, ds.y_test)["accuracy"]


def loop_sklearn(ds):
    import warnings

    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam", alpha=0.0, batch_size=BATCH,
                        learning_rate_init=LR, max_iter=EPOCHS, tol=0.0, n_iter_no_change=EPOCHS + 1, shuffle=True,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached, as asked
        started, cpu = time.perf_counter(), time.process_time()
        clf.fit(ds.x_train, ds.y_train)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, float(clf.score(ds.x_test, ds.y_test))


def loop_torch(ds):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    net = torch.nn.Sequential(torch.nn.Linear(2, HIDDEN[0]), torch.nn.ReLU(), torch.nn.Linear(*HIDDEN), torch.nn.ReLU(),
                              torch.nn.Linear(HIDDEN[1], 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(x[idx]), y[idx]).backward()
            optimizer.step()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with torch.no_grad():
        accuracy = float((net(torch.from_numpy(ds.x_test)).argmax(1).numpy() == ds.y_test).mean())
    return seconds, cpu, accuracy


def script(kind: str) -> None:
    """What a user's script does for the same run: make_moons, the split, scaling, training, the test score."""
    from types import SimpleNamespace

    import numpy as np
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = make_moons(n_samples=1000, noise=0.2, random_state=0)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=1)
    x_train, _, y_train, _ = train_test_split(x_rest, y_rest, test_size=0.1, stratify=y_rest, random_state=2)
    scaler = StandardScaler().fit(x_train)
    ds = SimpleNamespace(x_train=scaler.transform(x_train).astype(np.float32), y_train=y_train.astype(np.int64),
                         x_test=scaler.transform(x_test).astype(np.float32), y_test=y_test.astype(np.int64))
    (loop_sklearn if kind == "sklearn_script" else loop_torch)(ds)


def child(name: str) -> None:
    if name in LOOPS:
        ds = moons_data()
        seconds, cpu, accuracy = globals()[f"loop_{name}"](ds)
        steps = EPOCHS * -(-len(ds.x_train) // BATCH)
        print(json.dumps({"seconds": seconds, "cpu": cpu, "steps": steps, "test_accuracy": accuracy}), flush=True)
    else:
        script(name)


# ---------------------------------------------------------------- parent


def child_env(cache: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NNCTL_CACHE_DIR": cache}
    env.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    return env


def run_once(name: str, tmp: Path, warm_cache: str) -> dict:
    """One contestant's child: its wall time, and what it reported."""
    if name.startswith("nnctl_"):
        cache = warm_cache if name == "nnctl_warm" else tempfile.mkdtemp(dir=tmp)
        run_dir = Path(tempfile.mkdtemp(dir=tmp)) / "run"
        cmd = [sys.executable, "-m", "nnctl.cli", "train", str(CONFIG), "-q", "--no-plots", "--run-dir", str(run_dir)]
    else:
        cache = warm_cache
        cmd = [sys.executable, __file__, "--child", name]
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, env=child_env(cache), capture_output=True, text=True)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-2000:]}")
    reported = json.loads(out.stdout.splitlines()[-1]) if name in LOOPS else {"cpu": child_cpu}
    return {"wall": wall, **reported}


def run_rounds(names: list[str], rounds: int, tmp: Path) -> dict:
    warm = str(tmp / "warm-cache")
    run_once("nnctl_warm", tmp, warm)  # fills the warm cache
    results = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(run_once(name, tmp, warm))
    return results


def summarize(results: dict) -> dict:
    median = {name: statistics.median(r["seconds"] if name in LOOPS else r["wall"] for r in runs)
              for name, runs in results.items() if runs}
    out = {"median_s": median, "median_cpu_s": {name: statistics.median(r["cpu"] for r in runs)
                                                for name, runs in results.items() if runs}}
    if "nnctl" in median:
        out["steps_per_s"] = {n: results[n][0]["steps"] / median[n] for n in LOOPS if n in median}
        for peer in ("sklearn", "torch"):
            if peer in median:  # each round's own ratio: the two ran in the same round
                ratios = [a["seconds"] / b["seconds"] for a, b in zip(results["nnctl"], results[peer])]
                out[f"ratio_{peer}"] = statistics.median(ratios)
                out[f"ratio_{peer}_range"] = (min(ratios), max(ratios))
                cpu = [a["cpu"] / b["cpu"] for a, b in zip(results["nnctl"], results[peer])]  # steadier on a busy host
                out[f"ratio_{peer}_cpu"] = (statistics.median(cpu), min(cpu), max(cpu))
    if "nnctl_warm" in median:
        out["whole_warm_s"] = median["nnctl_warm"]
        warm = [r["wall"] for r in results["nnctl_warm"]]
        out["whole_warm_s_range"] = (min(warm), max(warm))
    return out


def report(results: dict, summary: dict) -> str:
    lines = ["| contestant | median s | CPU s | steps/s | test accuracy |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, runs in results.items():
        if not runs:
            continue
        steps = summary.get("steps_per_s", {}).get(name)
        accuracy = statistics.median(r["test_accuracy"] for r in runs) if "test_accuracy" in runs[0] else None
        lines.append(f"| {LABELS[name]} | {summary['median_s'][name]:.3f} | {summary['median_cpu_s'][name]:.3f} | "
                     f"{f'{steps:,.0f}' if steps else ''} | "
                     f"{f'{accuracy:.3f}' if accuracy is not None else ''} |")
    lines += ["", "| target | measured | limit | verdict |", "| --- | ---: | ---: | --- |"]
    for key, what, limit, unit in TARGETS:
        if key in summary:
            verdict = "met" if summary[key] <= limit else "**not met**"
            low, high = summary.get(f"{key}_range", (None, None))
            spread = f" ({low:.2f} – {high:.2f})" if low is not None else ""
            if f"{key}_cpu" in summary:
                spread += " wall; CPU {:.2f}x ({:.2f} – {:.2f})".format(*summary[f"{key}_cpu"])
            lines.append(f"| {what} | {summary[key]:.2f}{unit}{spread} | {limit}{unit} | {verdict} |")
    lines.append("")
    lines.append("Ratios and times: the median of the rounds (each round's own ratio), with their range in "
                 "parentheses.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of alternated runs (default 5)")
    parser.add_argument("--only", default=None, help=f"comma-separated contestants among {', '.join(LOOPS + COMMANDS)}")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement to PATH as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    names = [n for n in LOOPS + COMMANDS if args.only is None or n in args.only.split(",")]
    if "torch" in names or "torch_script" in names:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch is not installed: its rows are left out (pip install -e '.[bench]')", file=sys.stderr)
            names = [n for n in names if not n.startswith("torch")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-moons-"))
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        results = run_rounds(names, args.rounds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = summarize(results)
    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"`python benchmarks/bench_moons.py {' '.join(sys.argv[1:])}`: {args.rounds} rounds; load average "
          f"{load_before} before, {load_after} after\n")
    print(report(results, summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
