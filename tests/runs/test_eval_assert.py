"""eval --assert: CI gates with exit code 7, each assertion printed with the value found."""

import json

import pytest
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.runs import assertions


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("text,metric,op,threshold", [
    ("accuracy>=0.97", "accuracy", ">=", 0.97), (" loss < 1e-1 ", "loss", "<", 0.1), ("n==200", "n", "==", 200.0)])
def test_parse(text, metric, op, threshold):
    a = assertions.parse(text)
    assert (a.metric, a.op, a.threshold) == (metric, op, threshold)


@pytest.mark.parametrize("text", ["accuracy=0.9", "accuracy>=", ">=0.9", "accuracy>=high", "accuracy=>0.9"])
def test_parse_refuses(text):
    with pytest.raises(ValueError):
        assertions.parse(text)


def test_check_compares_and_fails_on_missing_values():
    gates = [assertions.parse(t) for t in ("accuracy>=0.9", "loss<0.1", "accuracy!=0.95", "loss>0")]
    results = assertions.check(gates, {"accuracy": 0.95, "loss": None})
    assert [r["passed"] for r in results] == [True, False, False, False]
    assert results[0]["value"] == 0.95


@pytest.mark.slow
def test_passing_assertions_exit_0_and_print_each(moons_run):
    acc = moons_run["test"]["accuracy"]
    result = invoke("eval", moons_run["checkpoint"], "--assert", f"accuracy>={acc - 0.01}", "--assert", "loss<10")
    assert result.exit_code == 0, result.output
    assert f"PASS  accuracy>={acc - 0.01}" in result.stdout and "PASS  loss<10  (loss = " in result.stdout


def test_a_failing_assertion_exits_7(moons_run):
    acc = moons_run["test"]["accuracy"]
    result = invoke("eval", moons_run["checkpoint"], "--assert", "loss<10", "--assert", f"accuracy>{acc}")
    assert result.exit_code == 7
    assert f"FAIL  accuracy>{acc}  (accuracy = {acc:.6f})" in result.stdout
    assert "1 of 2 assertions failed" in result.stderr


def test_assertions_in_json(moons_run):
    result = invoke("eval", moons_run["checkpoint"], "--json", "--assert", "accuracy>1")
    assert result.exit_code == 7
    out = json.loads(result.stdout)
    assert out["assertions"] == [{"assertion": "accuracy>1", "metric": "accuracy", "value": out["accuracy"],
                                  "passed": False}]


def test_bad_assertions_are_usage_errors(moons_run):
    assert invoke("eval", moons_run["checkpoint"], "--assert", "accuracy=0.9").exit_code == 2
    result = invoke("eval", moons_run["checkpoint"], "--assert", "acc>0.9")
    assert result.exit_code == 2 and "available: accuracy, loss, macro_f1, n, roc_auc" in result.output


def test_any_number_eval_reports_can_be_asserted(moons_run):
    result = invoke("eval", moons_run["checkpoint"], "--assert", "macro_f1>0.5", "--assert", "roc_auc>0.5")
    assert result.exit_code == 0, result.output
    assert "PASS  macro_f1>0.5" in result.stdout and "PASS  roc_auc>0.5" in result.stdout


def test_an_infinite_threshold_is_a_usage_error(moons_run):
    result = invoke("eval", moons_run["checkpoint"], "--assert", "loss<1e999")
    assert result.exit_code == 2 and "is not a finite number" in result.output
