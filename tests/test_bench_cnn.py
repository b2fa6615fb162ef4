"""benchmarks/bench_cnn.py and cnn_breakdown.py: the verdicts, the products they time, the step's parts
and their documentation (no benchmark is run against PyTorch)."""

import importlib.util
import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "benchmarks" / "README.md").read_text()


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_cnn", REPO / "benchmarks" / "bench_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_results(nnctl_s, torch_s, nnctl_mb=500.0):
    def contestant(seconds, mb, **extra):
        return {"version": "1", "epochs": [seconds * 0.9, seconds, seconds * 1.3], "cpu": [seconds, seconds, seconds],
                "peak_rss_mb": mb, "test_accuracy": 0.98, **extra,
                "blas_after": [{"internal_api": "openblas", "version": "0.3", "architecture": "Haswell",
                                "num_threads": 1}]}

    return {"nnctl": contestant(nnctl_s, nnctl_mb), "matmul": contestant(nnctl_s / 2, 300.0),
            "torch": contestant(torch_s, 1000.0, torch_threads=1, torch_cpu_capability="AVX512", onednn=True)}


@pytest.mark.parametrize("nnctl_s,nnctl_mb,verdicts", [(8.0, 500.0, ["met", "met", "met"]),
                                                       (12.0, 1600.0, ["**not met**"] * 3)])
def test_the_report_judges_the_epoch_cpu_and_memory_targets(bench, nnctl_s, nnctl_mb, verdicts):
    results = fake_results(nnctl_s, 10.0, nnctl_mb)
    summary = bench.summarize(results)
    assert summary["ratio_torch"] == pytest.approx(nnctl_s / 10) == summary["ratio_torch_cpu"]
    assert summary["memory_ratio"] == pytest.approx(nnctl_mb / 1000) and summary["products_share"] == pytest.approx(0.5)
    table = bench.report(results, summary, Namespace(threads=1, rounds=3, rows=None), "as set")
    rows = [line for line in table.splitlines() if line.endswith(("| met |", "| **not met** |"))]
    assert [row.rsplit("|", 2)[1].strip() for row in rows] == verdicts
    assert "The matrix products alone take 50% of nnctl's epoch" in table and "PyTorch: 1 threads" in table


def test_the_products_timed_are_nnctls_at_its_shapes(bench):
    """One function per layer with weights, each running a batch one image longer than the first
    convolution's chunk (the layers' own chunks, the last one short)."""
    model = bench.nnctl_model()[0]
    first = model.layers[0]
    assert 1 < first.chunk < bench.BATCH and first.params["W"].shape == (5, 5, 1, 16)
    plan = bench.product_plan(model)
    assert len(plan) == 4  # two convolutions, two dense layers
    for products in plan:
        products(first.chunk + 1)


@pytest.mark.slow
def test_the_step_breakdown_splits_a_step_into_its_parts():
    command = [sys.executable, str(REPO / "benchmarks" / "cnn_breakdown.py"), "--synthetic", "--batches", "2",
               "--threads", "1", "--json"]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, timeout=300)
    result = json.loads(out.stdout)
    median = result["median"]
    assert result["steps"] == 2 and median["conv products"] > 0 and median["im2col"] > 0 and median["step"] > 0
    assert np.isfinite(list(median.values())).all()


def test_every_benchmark_option_is_in_the_readme(bench):
    assert "python benchmarks/bench_cnn.py" in README
    for action in bench.build_parser()._actions:
        if action.help != "==SUPPRESS==" and action.option_strings != ["-h", "--help"]:
            assert any(f"`{opt}" in README for opt in action.option_strings), action.option_strings
