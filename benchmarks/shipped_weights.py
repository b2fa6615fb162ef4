"""Fingerprints of the shipped configs' trained weights: one SHA-256 per config and file.

A change that is not meant to change numbers proves it: record before, compare after.

    python benchmarks/shipped_weights.py --out before.json            # trains every shipped config
    python benchmarks/shipped_weights.py --compare before.json        # trains again, lists what moved
    python benchmarks/shipped_weights.py --only moons,digits --out x.json
    python benchmarks/shipped_weights.py --only mnist,mnist_best,mnist_fast --rounds 3   # the times, 3 rounds

Each config is trained with `nnctl train CONFIG --run-dir TMP -q` in a child process (so NNCTL_JIT
and the thread settings of this command apply); the fingerprint hashes the `state` of
`checkpoint.json` and of `last.json` (the arrays' dtype, shape and bytes, by name), not the files'
other contents (times, paths). MNIST configs need the MNIST files (NNCTL_DATA_DIR or the cache).
Each line also gives the command's wall time and the test accuracy (or r2) it reported: the
README's table of shipped configs quotes them. With --rounds N every config is trained N times,
the order rotating, and the times are shown as median and range (the fingerprints must agree).
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shipped_configs() -> list[Path]:
    """Every config in configs/ that `nnctl train` takes (sweep specs are not configs)."""
    return sorted(p for p in (ROOT / "configs").glob("*.yaml") if not p.name.startswith("sweep_"))


def state_hash(checkpoint: Path) -> str:
    """SHA-256 over the checkpoint's arrays, in name order: dtype, shape and base64 bytes."""
    state = json.loads(checkpoint.read_text())["state"]
    digest = hashlib.sha256()
    for name in sorted(state):
        record = state[name]
        digest.update(json.dumps([name, record["dtype"], record["shape"], record["data"]]).encode())
    return digest.hexdigest()


def fingerprint(config: Path) -> tuple[dict, dict]:
    """Train `config` into a temporary folder; the hashes of its checkpoint.json and last.json, and
    the command's wall time and test score."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "nnctl.cli", "train", str(config), "--run-dir", str(run_dir), "-q",
                               "--json", "--no-plots"], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}, {}
        test = json.loads(done.stdout)["test"]
        score = {"seconds": seconds, "epochs": len(json.loads(done.stdout)["history"]),
                 **{k: test[k] for k in ("accuracy", "r2") if k in test}}
        return {name: state_hash(run_dir / name) for name in ("checkpoint.json", "last.json")}, score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the fingerprints to this JSON file")
    parser.add_argument("--compare", help="a JSON file of earlier fingerprints: list what differs")
    parser.add_argument("--only", help="comma-separated config names (stems), e.g. moons,digits")
    parser.add_argument("--rounds", type=int, default=1, help="train every config this many times, the order rotating")
    args = parser.parse_args()
    configs = shipped_configs()
    if args.only:
        wanted = set(args.only.split(","))
        configs = [c for c in configs if c.stem in wanted]
    results, scores, loads = {}, {c.stem: [] for c in configs}, []
    for r in range(args.rounds):
        for config in configs[r % len(configs):] + configs[:r % len(configs)]:
            loads.append(os.getloadavg()[0])
            hashes, score = fingerprint(config)
            if config.stem in results and results[config.stem] != hashes:
                print(f"NOT REPEATABLE {config.stem}: {results[config.stem]} then {hashes}")
                return 1
            results[config.stem] = hashes
            scores[config.stem].append(score)
            shown = ", ".join(f"{v:.1f} s" if k == "seconds" else f"{k} {v}" if k == "epochs" else f"{k} {v:.4f}"
                              for k, v in score.items())
            print(f"{config.stem:16} {json.dumps(hashes)}  {shown}", flush=True)
    if args.rounds > 1:
        print(f"\n`nnctl train CONFIG -q --no-plots`, wall time of the whole command, {args.rounds} rounds; load "
              "average "
              f"(1 minute) as each started: {min(loads):.2f} – {max(loads):.2f}")
        for name, runs in scores.items():
            seconds = [s["seconds"] for s in runs if "seconds" in s]
            if seconds:
                print(f"{name:16} {statistics.median(seconds):.1f} s ({min(seconds):.1f} – {max(seconds):.1f})")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    if not args.compare:
        return 0
    before = json.loads(Path(args.compare).read_text())
    compared = [name for name in results if name in before]
    moved = [name for name in compared if results[name] != before[name]]
    for name in moved:
        print(f"MOVED {name}: before {before[name]} after {results[name]}")
    new = sorted(set(results) - set(before))
    print(f"{len(compared) - len(moved)} of {len(compared)} configs identical"
          + (f" ({', '.join(new)}: not in {args.compare})" if new else ""))
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
