"""Fingerprints of the shipped configs' trained weights: one SHA-256 per config and file.

A change that is not meant to change numbers proves it: record before, compare after.

    python benchmarks/shipped_weights.py --out before.json            # trains every shipped config
    python benchmarks/shipped_weights.py --compare before.json        # trains again, lists what moved
    python benchmarks/shipped_weights.py --only moons,digits --out x.json

Each config is trained with `nnctl train CONFIG --run-dir TMP -q` in a child process (so NNCTL_JIT
and the thread settings of this command apply); the fingerprint hashes the `state` of
`checkpoint.json` and of `last.json` (the arrays' dtype, shape and bytes, by name), not the files'
other contents (times, paths). MNIST configs need the MNIST files (NNCTL_DATA_DIR or the cache).
"""

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
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


def fingerprint(config: Path) -> dict:
    """Train `config` into a temporary folder; the hashes of its checkpoint.json and last.json."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        done = subprocess.run([sys.executable, "-m", "nnctl.cli", "train", str(config), "--run-dir", str(run_dir), "-q"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}
        return {name: state_hash(run_dir / name) for name in ("checkpoint.json", "last.json")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the fingerprints to this JSON file")
    parser.add_argument("--compare", help="a JSON file of earlier fingerprints: list what differs")
    parser.add_argument("--only", help="comma-separated config names (stems), e.g. moons,digits")
    args = parser.parse_args()
    configs = shipped_configs()
    if args.only:
        wanted = set(args.only.split(","))
        configs = [c for c in configs if c.stem in wanted]
    results = {}
    for config in configs:
        results[config.stem] = fingerprint(config)
        print(f"{config.stem:16} {json.dumps(results[config.stem])}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    if not args.compare:
        return 0
    before = json.loads(Path(args.compare).read_text())
    moved = [name for name in results if name in before and results[name] != before[name]]
    for name in moved:
        print(f"MOVED {name}: before {before[name]} after {results[name]}")
    print(f"{len(results) - len(moved)} of {len(results)} configs identical")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
