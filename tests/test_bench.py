"""benchmarks/bench_mnist.py: its arithmetic, its verdicts and its documentation (no benchmark is run)."""

import importlib.util
import json
from argparse import Namespace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "benchmarks" / "README.md").read_text()


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_mnist", REPO / "benchmarks" / "bench_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_flop_count_is_the_products_nnctl_does(bench):
    forward = 2 * (784 * 256 + 256 * 128 + 128 * 10)  # per row
    dx = 2 * (256 * 128 + 128 * 10)  # layers 2 and 3; the first layer's dx is skipped
    assert bench.matmul_flops(1) == 2 * forward + dx
    assert bench.matmul_flops(54_000) == pytest.approx(54.4e9, rel=1e-3)


def fake_results(nnctl_s, torch_s):
    def contestant(seconds, **extra):
        return {"version": "1", "epochs": [9.0, seconds * 0.9, seconds, seconds * 1.2], "peak_rss_mb": 300.0,
                "test_accuracy": 0.97, **extra,
                "blas_after": [{"internal_api": "openblas", "version": "0.3", "architecture": "Haswell",
                                "num_threads": 2}]}

    return {"nnctl": contestant(nnctl_s, n_train=54_000),
            "torch": contestant(torch_s, torch_threads=2, torch_blas="mkl",
                                                                             torch_cpu_capability="AVX512"),
            "matmul": contestant(0.3), "load": [(1.5, 1.0, 1.0), (2.5, 1.0, 1.0), (0.5, 1.0, 1.0)]}


@pytest.mark.parametrize("nnctl_s,verdict", [(0.4, "met"), (0.6, "**not met**")])
def test_the_report_judges_each_target_from_the_rounds(bench, nnctl_s, verdict):
    results = fake_results(nnctl_s, torch_s=1.0)
    results["torch"]["epochs"][3] = 2.0  # one slow PyTorch round: its ratio is the low end of the range
    args = Namespace(threads=2, epochs=3)
    summary = bench.summarize(results, {"help_s": 0.25})
    assert summary["ratio_torch"] == pytest.approx(nnctl_s) and summary["bound_share"] == pytest.approx(0.3 / nnctl_s)
    table = bench.report(results, summary, args, batch=64, unset=False)
    low = nnctl_s * 1.2 / 2.0
    row = f"| nnctl epoch / PyTorch epoch | {nnctl_s:.3g} x ({low:.2f} – {nnctl_s:.2f}) | ≤ 0.5 x | {verdict} |"
    assert row in table
    assert "| `nnctl --help` | 0.25 s | ≤ 0.2 s | **not met** |" in table  # a slow start-up is never hidden
    assert "openblas 0.3 (Haswell, 2 threads)" in table and "9.0" not in table  # the warm-up epoch is left out
    assert "batch 64" in table and "load average (1 minute) at the rounds' starts: median 1.50, 0.50 – 2.50" in table


def test_every_benchmark_option_is_in_the_readme(bench):
    assert "python benchmarks/bench_mnist.py" in README
    for action in bench.build_parser()._actions:
        if action.help != "==SUPPRESS==" and action.option_strings != ["-h", "--help"]:
            assert any(f"`{opt}" in README for opt in action.option_strings), action.option_strings


def test_the_epoch_breakdown_times_nnctl_train_piece_by_piece(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("epoch_breakdown", REPO / "benchmarks" / "epoch_breakdown.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "breakdown.json"
    module.main(["--synthetic", "--rows", "700", "--epochs", "1", "--threads", "1", "--json", str(path)])
    out = json.loads(path.read_text())
    records, summary = out["runs"]["synthetic"], out["summary"]["synthetic"]
    assert [r["clocked"] for r in records] == [False, True, False]  # alternating, the first not counted
    clocked = records[1]
    assert clocked["products"] > 0 and clocked["optimizer"] > 0 and clocked["validation"] > 0
    assert clocked["callbacks"] > 0 and clocked["diagnostics"] > 0  # nnctl train's own callbacks ran
    assert sum(clocked[p] for p in module.PIECES) == pytest.approx(clocked["seconds"], abs=1e-4)
    assert all(r["bound_s"] > 0 for r in records) and 0 < summary["bound_share"]
    assert summary["epoch_s"] == records[2]["seconds"]
    table = capsys.readouterr().out
    assert "| products |" in table and "load average" in table and "share of the bound" in table
    assert "python benchmarks/epoch_breakdown.py" in README
    section = README.split("epoch_breakdown.py", 1)[1]
    for option in ("--config", "--batch", "--epochs", "--threads", "--set", "--cpu", "--synthetic", "--rows", "--json"):
        assert f"`{option}" in section, option


@pytest.fixture(scope="module")
def to98():
    spec = importlib.util.spec_from_file_location("bench_time_to_98", REPO / "benchmarks" / "bench_time_to_98.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["nnctl-best", "sklearn-sgd"])
def test_time_to_98_stops_at_the_first_epoch_that_reaches_the_target(to98, name):
    ds = to98.mnist(rows=300, synthetic=True)
    reached = to98.train_to_target(name, ds, threads=1, max_epochs=3, target=0.0)  # any accuracy reaches 0
    assert reached["reached"] and len(reached["epochs"]) == 1
    missed = to98.train_to_target(name, ds, threads=1, max_epochs=2, target=1.01)  # none reaches 101%
    assert not missed["reached"] and [e["epoch"] for e in missed["epochs"]] == [1, 2]
    for epoch in missed["epochs"]:
        assert epoch["train_s"] > 0 and epoch["score_s"] > 0 and 0 <= epoch["test_accuracy"] <= 1


def test_time_to_98_drives_nnctl_through_its_own_callbacks(to98):
    ds = to98.mnist(rows=300, synthetic=True)
    run = to98.train_to_target("nnctl-best", ds, threads=1, max_epochs=1, target=1.01)
    # nnctl train itself: its callbacks (schedule, early stopping, best weights...) and the run folder's writes
    assert {"LearningRateScheduler", "EarlyStopping", "BestWeights", "LossLimit", "MetricsLogger",
            "Checkpointer", "Diagnostics"} <= set(run["callbacks"])


@pytest.mark.slow
def test_time_to_98_reports_a_missed_target_as_not_reached(to98, tmp_path, capsys):
    path = tmp_path / "t98.json"
    to98.main(["--synthetic", "--rows", "300", "--max-epochs", "1", "--threads", "1", "--only", "sklearn-sgd",
               "--target", "1.01", "--json", str(path)])
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("| MLPClassifier (40,)"))
    assert "not reached in 1 epochs" in row and "synthetic rows" in table
    runs = json.loads(path.read_text())["results"]["sklearn-sgd"]
    assert len(runs) == 1 and len(runs[0]["epochs"]) == 1 and runs[0]["n_train"] == 270


def test_time_to_98_reports_medians_ranges_and_ratios_over_rounds(to98):
    def run(seconds, reached, round, **extra):
        return {"version": "1", "reached": reached, "stopped_early": False, "n_train": 54_000, "round": round,
                "load": 1.0 + round, "epochs": [{"epoch": 1, "train_s": seconds, "train_cpu_s": seconds, "score_s": 0.5,
                                                 "test_accuracy": 0.981 if reached else 0.97}], **extra}

    args = Namespace(target=0.98, threads=2, max_epochs=1, rounds=3, rows=None, synthetic=False)
    whole = dict(whole=True)
    results = {"nnctl-fast": [run(1.0, True, 0, final_test_accuracy=0.9805, **whole),
                              run(2.0, True, 1, final_test_accuracy=0.9811, **whole),
                              run(1.5, True, 2, final_test_accuracy=0.9809, **whole)],
               "torch-fast": [run(5.0, False, 0), run(4.0, True, 1), run(3.0, True, 2)],
               "torch-adam": [run(2.0, True, 0), run(8.0, True, 1), run(6.0, True, 2)]}
    table = to98.report(results, args)
    assert "| nnctl, configs/mnist_fast.yaml (every epoch) | 1 | 1.5 | 1.0 – 2.0 | 1.5 | 1 (its config's) " \
           "| 98.09% (98.05 – 98.11) |" in table
    assert "| (4.0) | 3.0 – 5.0 |" in table and "not reached in 1 epochs (2 of 3 rounds reached it)" in table
    # best against best: each round's fastest PyTorch that reached it (2.0, 4.0, 3.0): 0.5, 0.5, 0.5
    assert "| nnctl-fast's whole run ÷ PyTorch's fastest recipe to the target (best against best) | 0.50 x " \
           "| 0.50 – 0.50 | 0.50 x (0.50 – 0.50) | 3 |" in table
    # the same recipe, in the rounds where PyTorch reached it: 2.0 / 4.0 and 1.5 / 3.0
    assert "| nnctl-fast's whole run ÷ PyTorch with the same recipe to the target (same recipe) | 0.50 x " \
           "| 0.50 – 0.50 | 0.50 x (0.50 – 0.50) | 2 |" in table
    assert "Host load average (1 minute) as each run started: median 2.00, 1.00 – 3.00" in table
    assert "not for comparing" not in table  # a full run carries no such note


def test_every_time_to_98_option_is_in_the_readme(to98):
    section = README.split("bench_time_to_98.py", 1)[1]
    for action in to98.build_parser()._actions:
        if action.help != "==SUPPRESS==" and action.option_strings != ["-h", "--help"]:
            assert any(f"`{opt}" in section for opt in action.option_strings), action.option_strings
