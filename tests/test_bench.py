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
