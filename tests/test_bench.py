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
        return {"version": "1", "epochs": [9.0] + [seconds] * 3, "peak_rss_mb": 300.0, "test_accuracy": 0.97,
                "blas_after": [{"internal_api": "openblas", "version": "0.3", "architecture": "Haswell", "num_threads": 2}],
                **extra}

    return {"nnctl": contestant(nnctl_s, n_train=54_000), "torch": contestant(torch_s, torch_threads=2, torch_blas="mkl",
                                                                             torch_cpu_capability="AVX512"),
            "matmul": contestant(0.3)}


@pytest.mark.parametrize("nnctl_s,verdict", [(0.4, "met"), (0.6, "**not met**")])
def test_the_report_judges_each_target_from_the_medians(bench, nnctl_s, verdict):
    results = fake_results(nnctl_s, torch_s=1.0)
    args = Namespace(threads=2, epochs=3, unset_openblas_env=False)
    summary = bench.summarize(results, {"help_s": 0.25}, args)
    assert summary["ratio_torch"] == pytest.approx(nnctl_s) and summary["bound_share"] == pytest.approx(0.3 / nnctl_s)
    table = bench.report(results, summary, args)
    assert f"| nnctl epoch / PyTorch epoch | {nnctl_s:.3g} x | ≤ 0.5 x | {verdict} |" in table
    assert "| `nnctl --help` | 0.25 s | ≤ 0.2 s | **not met** |" in table  # a slow start-up is never hidden
    assert "openblas 0.3 (Haswell, 2 threads)" in table and "9.0" not in table  # the warm-up epoch is left out


def test_every_benchmark_option_is_in_the_readme(bench):
    assert "python benchmarks/bench_mnist.py" in README
    for action in bench.build_parser()._actions:
        if action.help != "==SUPPRESS==" and action.option_strings != ["-h", "--help"]:
            assert any(f"`{opt}" in README for opt in action.option_strings), action.option_strings


def test_the_epoch_breakdown_accounts_for_the_whole_epoch(capsys):
    spec = importlib.util.spec_from_file_location("epoch_breakdown", REPO / "benchmarks" / "epoch_breakdown.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--synthetic", "--rows", "700", "--epochs", "2", "--threads", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert len(out["epochs"]) == 2 and out["packed"] is True and out["parameters"] == 235_146
    for epoch in out["epochs"]:
        pieces = sum(epoch[k] for k in module.PIECES)
        assert 0 < pieces <= epoch["epoch"] and pieces > 0.8 * epoch["epoch"]  # the clocks cover the loop
    assert out["products"] > 0 and out["adam_step"] > 0
    assert "python benchmarks/epoch_breakdown.py" in README
    for option in ("--epochs", "--threads", "--synthetic", "--rows", "--json"):
        assert f"`{option}" in README.split("epoch_breakdown.py", 1)[1], option


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
    # nnctl train's callbacks (schedule, early stopping, best weights...), less the run folder's writes
    assert {"LearningRateScheduler", "EarlyStopping", "BestWeights", "LossLimit"} <= set(run["callbacks"])
    assert not {"MetricsLogger", "Checkpointer"} & set(run["callbacks"])


def test_time_to_98_reports_a_missed_target_as_not_reached(to98, tmp_path, capsys):
    path = tmp_path / "t98.json"
    to98.main(["--synthetic", "--rows", "300", "--max-epochs", "1", "--threads", "1", "--only", "sklearn-sgd",
               "--target", "1.01", "--json", str(path)])
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("| MLPClassifier (40,)"))
    assert "not reached in 1 epochs" in row and "synthetic rows" in table
    runs = json.loads(path.read_text())["results"]["sklearn-sgd"]
    assert len(runs) == 1 and len(runs[0]["epochs"]) == 1 and runs[0]["n_train"] == 270


def test_time_to_98_reports_medians_over_rounds(to98):
    def run(seconds, reached):
        return {"version": "1", "reached": reached, "stopped_early": False, "n_train": 54_000,
                "epochs": [{"epoch": 1, "train_s": seconds, "train_cpu_s": seconds, "score_s": 0.5,
                            "test_accuracy": 0.981 if reached else 0.97}]}

    args = Namespace(target=0.98, threads=2, max_epochs=1, rounds=3, rows=None, synthetic=False)
    table = to98.report({"nnctl-best": [run(3.0, True), run(1.0, True), run(2.0, True)],
                         "torch-best": [run(5.0, False), run(4.0, True), run(6.0, False)]}, args)
    assert "| nnctl, configs/mnist_best.yaml | 1 | 2.0 | 2.0 | 1 | 98.10% |" in table
    assert "| (5.0) |" in table and "not reached in 1 epochs (1 of 3 rounds reached it)" in table
    assert "not for comparing" not in table  # a full run carries no such note


def test_every_time_to_98_option_is_in_the_readme(to98):
    section = README.split("bench_time_to_98.py", 1)[1]
    for action in to98.build_parser()._actions:
        if action.help != "==SUPPRESS==" and action.option_strings != ["-h", "--help"]:
            assert any(f"`{opt}" in section for opt in action.option_strings), action.option_strings
