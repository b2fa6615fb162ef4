"""What the per-layer diagnostics (engine/diagnostics.py) cost an MNIST epoch.

    python benchmarks/diagnostics_cost.py              # MNIST, epoch_breakdown.py's network
    python benchmarks/diagnostics_cost.py --synthetic  # random rows of MNIST's shape

Trains epochs with the Diagnostics callback, timing its hooks alone, and prints the time they
took as a share of the epoch's (the median over the epochs): a ratio within one process, so it
holds on a machine other work slows down, where two epochs' times cannot be compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from epoch_breakdown import BATCH, dataset, network  # noqa: E402
from nnctl.engine import optimizers, train  # noqa: E402
from nnctl.engine.diagnostics import Diagnostics, probe_rows  # noqa: E402
from nnctl.engine.losses import LOSSES  # noqa: E402


class Timed(Diagnostics):
    """Diagnostics that add up the seconds spent in their hooks."""

    seconds = 0.0

    def on_epoch_begin(self, epoch):
        started = time.perf_counter()
        super().on_epoch_begin(epoch)
        self.seconds += time.perf_counter() - started

    def on_batch_end(self, epoch, rows_done, n_rows):
        started = time.perf_counter()
        super().on_batch_end(epoch, rows_done, n_rows)
        self.seconds += time.perf_counter() - started

    def on_epoch_end(self, record):
        started = time.perf_counter()
        super().on_epoch_end(record)
        self.seconds += time.perf_counter() - started
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    ds = dataset(args.synthetic, 70_000)
    model = network()
    optimizer = optimizers.build({"name": "adam", "lr": 1e-3})
    shares = []
    with threadpool_limits(2, "blas"):
        for epoch in range(1, args.epochs + 1):
            timed = Timed(model, probe_rows(ds.x_val, ds.x_train))
            started = time.perf_counter()
            train.fit(model, LOSSES["cross_entropy"], optimizer, ds, epochs=epoch, batch_size=BATCH, shuffle=True,
                      seed=0, callbacks=[timed], start=train.Position(epoch - 1))
            total = time.perf_counter() - started
            shares.append(timed.seconds / (total - timed.seconds))
            print(f"epoch {epoch}: {total - timed.seconds:.3f} s training, {timed.seconds * 1000:.1f} ms diagnostics "
                  f"({shares[-1]:.2%})")
    print(f"diagnostics: {statistics.median(shares):.2%} of an epoch (median of {len(shares)})")


if __name__ == "__main__":
    main()
