"""nnctl doctor: every finding on a small run built to trigger it, no warning on the shipped configs."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.runs import doctor

ROOT = Path(__file__).resolve().parents[2]

MOONS = """\
seed: 0
data: {name: moons, n_samples: 400, noise: 0.2, test_fraction: 0.2, val_fraction: 0.2}
model:
  layers:
    - {units: 16, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: sgd, lr: 0.1}
training: {epochs: 20, batch_size: 32}
"""

OVERFIT = """\
seed: 0
data: {name: moons, n_samples: 120, noise: 0.35, test_fraction: 0.25, val_fraction: 0.3}
model:
  layers:
    - {units: 256, activation: relu}
    - {units: 256, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.01}
training: {epochs: 60, batch_size: 16}
"""


def train(tmp_path, text, *sets, name="run"):
    """Train `text` via the CLI into tmp_path/name; the folder and its exit code."""
    config = tmp_path / f"{name}.yaml"
    config.write_text(text)
    args = ["train", str(config), "--run-dir", str(tmp_path / name), "-q", "--no-plots"]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(main, args)
    return tmp_path / name, result.exit_code


def findings(run_dir, *extra):
    result = CliRunner().invoke(main, ["doctor", str(run_dir), "--json", *extra])
    assert result.exit_code == 0, result.output
    return {f["code"]: f for f in json.loads(result.output)["findings"]}


def history(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def test_oscillating_loss_is_a_rate_too_high(tmp_path):
    run, code = train(tmp_path, MOONS, "optimizer.lr=10")
    assert code == 0
    found = findings(run)["lr_too_high"]
    assert found["severity"] == "warning"
    loss = [r["train_loss"] for r in history(run)]
    worst = int(np.argmax(np.diff(loss))) + 2  # the epoch after the largest rise
    assert f"most at epoch {worst} " in found["evidence"] and "lr 10)" in found["evidence"]
    assert "divide optimizer.lr by 10" in found["advice"]


def test_a_tiny_rate_makes_no_progress_and_one_class(tmp_path):
    run, _ = train(tmp_path, MOONS, "optimizer.lr=1e-6")
    found = findings(run)
    assert found["no_progress"]["severity"] == "warning"
    assert "at epoch 20" in found["no_progress"]["evidence"] and "lr 1e-06" in found["no_progress"]["evidence"]
    assert found["predicts_one_class"]["severity"] == "warning"
    assert "lr_too_high" not in found and "overfitting" not in found


@pytest.mark.slow
def test_a_big_net_on_few_rows_overfits(tmp_path):
    run, _ = train(tmp_path, OVERFIT)
    status = json.loads((run / "run.json").read_text())
    found = findings(run)
    over = found["overfitting"]
    best = status["best_epoch"]
    assert over["severity"] == "warning" and over["epoch"] == best
    assert f"rising since epoch {best} " in over["evidence"]
    assert f"would have stopped at epoch {best + 10}" in over["advice"]
    # the same run's test score is far from its small validation split's: the sizes are given
    far = found["test_far_from_val"]
    assert "validation 27 rows, test 30 rows" in far["evidence"]


def test_two_epochs_are_still_improving(tmp_path):
    run, _ = train(tmp_path, MOONS, "training.epochs=2")
    found = findings(run)["still_improving"]
    assert found["severity"] == "warning" and found["epoch"] == 2
    assert "training.epochs: 4" in found["advice"]


@pytest.mark.parametrize("accuracy, severity", [(0.995, "info"), (0.9, "warning")])
def test_without_a_validation_split_the_training_accuracy_says_whether_more_epochs_can_gain(tmp_path, accuracy,
                                                                                             severity):
    rows = [{"epoch": e, "train_loss": 0.5 / e, "train_accuracy": accuracy, "lr": 0.01} for e in range(1, 11)]
    found = findings(write_run(tmp_path / "r", rows), "--no-data")["still_improving"]
    assert found["severity"] == severity and found["evidence"].startswith("train_loss still falling")
    assert ("the training score is already 0.995" in found["evidence"]) == (severity == "info")


def test_a_diverged_run(tmp_path):
    run, code = train(tmp_path, MOONS, "optimizer.lr=1e6")
    assert code == 6
    found = findings(run)["diverged"]
    assert found["severity"] == "warning" and "status diverged" in found["evidence"]


def test_imbalanced_classes_and_the_majority_class(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"] + [f"{x[0]:.3f},{x[1]:.3f},{x[2]:.3f},{'rare' if i % 10 == 0 else 'common'}"
                              for i, x in enumerate(rng.standard_normal((300, 3)))]
    csv = tmp_path / "noise.csv"
    csv.write_text("\n".join(rows) + "\n")
    text = MOONS.replace("{name: moons, n_samples: 400, noise: 0.2,", f"{{name: csv, path: {csv}, target: label,")
    run, code = train(tmp_path, text, "optimizer.lr=0.01")
    assert code == 0
    found = findings(run, "--data", str(csv))
    assert found["class_imbalance"]["severity"] == "info" and "common" in found["class_imbalance"]["evidence"]
    one = found["predicts_one_class"]
    assert one["severity"] == "warning" and "class common" in one["evidence"]
    # the file outside the run folder is read on the checkpoint's word only while its SHA-256 matches
    assert "class_imbalance" in findings(run) and "data_not_seen" not in findings(run)
    csv.write_text(csv.read_text().replace("rare", "Rare", 1))
    found = findings(run)
    assert "class_imbalance" not in found and "changed since training" in found["data_not_seen"]["evidence"]


def write_run(folder, rows, status="finished"):
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"status": status, "epochs": len(rows)}))
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def layer_rows(n=8, **columns):
    """Healthy scores with per-layer columns: each keyword a function of the epoch."""
    return [{"epoch": e, "train_loss": 0.5 / e, "train_accuracy": 0.9, "val_loss": 0.5 / e, "val_accuracy": 0.9,
             "lr": 0.01, **{k.replace("__", "."): f(e) for k, f in columns.items()}} for e in range(1, n + 1)]


def test_per_layer_findings_from_their_columns(tmp_path):
    rows = layer_rows(layers__0__dead_fraction=lambda e: 0.1 if e < 3 else 0.71,
                      layers__1__dead_fraction=lambda e: 0.0,
                      layers__0__update_ratio=lambda e: 0.05, layers__1__update_ratio=lambda e: 2e-6,
                      layers__0__grad_norm=lambda e: 1e-7, layers__1__grad_norm=lambda e: 1.0,
                      layers__1__saturated_fraction=lambda e: 0.9 if e >= 5 else 0.2)
    found = findings(write_run(tmp_path / "r", rows), "--no-data")
    assert "layers.0: 71% of relu units dead since epoch 3" in found["dead_units"]["evidence"]
    assert "layers.1" not in found["dead_units"]["evidence"]
    assert found["update_ratio_high"]["evidence"].startswith("layers.0: update/weight ratio 0.05")
    assert found["update_ratio_low"]["evidence"].startswith("layers.1: update/weight ratio 2e-06")
    assert "layers.0 is 1.0e-07 times that of layers.1" in found["vanishing_gradients"]["evidence"]
    assert "layers.1: 90% of outputs saturated since epoch 5" in found["saturation"]["evidence"]
    assert all(f["severity"] == "warning" for f in found.values() if f["code"] != "still_improving")


def test_per_layer_findings_are_silent_without_their_columns(tmp_path):
    found = findings(write_run(tmp_path / "r", layer_rows(n=8)), "--no-data")
    assert not set(found) & {"dead_units", "update_ratio_high", "update_ratio_low", "vanishing_gradients", "saturation"}


def test_unreadable_rows_are_left_out_and_an_unreadable_folder_is_exit_4(tmp_path):
    run = write_run(tmp_path / "r", layer_rows(n=6))
    with (run / "metrics.jsonl").open("a") as f:
        f.write("{not json\n[1, 2]\n")
    assert findings(run, "--no-data")["unreadable_rows"]["evidence"].startswith("metrics.jsonl: 2 rows")
    (run / "run.json").write_text("[")
    assert CliRunner().invoke(main, ["doctor", str(run)]).exit_code == 4
    assert CliRunner().invoke(main, ["doctor", str(tmp_path / "missing")]).exit_code == 4


@pytest.mark.parametrize("value", [1e308, 1e300])
def test_huge_metrics_give_no_numpy_warning(tmp_path, value):
    """Finite but huge values (a hand-edited file): beyond ±1e300 a row is left out as unreadable;
    up to it the checks run without a NumPy warning (warnings are errors in the tests)."""
    rows = layer_rows(n=6, layers__0__grad_norm=lambda e: value, layers__0__dead_fraction=lambda e: value)
    for row in rows:
        row.update({k: (-1) ** row["epoch"] * value for k in ("train_loss", "val_loss", "val_accuracy")})
    found = findings(write_run(tmp_path / "r", rows), "--no-data")
    assert ("unreadable_rows" in found) == (value > 1e300)


def test_per_layer_findings_read_the_configs_layers_only(tmp_path):
    rows = layer_rows(n=6, layers__0__grad_norm=lambda e: 1.0, layers__1__grad_norm=lambda e: 1.0,
                      **{f"layers__{n}__grad_norm": (lambda e: 1e9) for n in range(2, 500)})
    run = write_run(tmp_path / "r", rows)
    assert "vanishing_gradients" in findings(run, "--no-data")  # no config: every column is a layer
    (run / "config.yaml").write_text(MOONS)
    assert "vanishing_gradients" not in findings(run, "--no-data")


def test_the_text_output_puts_warnings_first(tmp_path):
    run, _ = train(tmp_path, MOONS, "training.epochs=2", "data.val_fraction=0.05")
    out = CliRunner().invoke(main, ["doctor", str(run)], env={"NO_COLOR": "1"}).output
    severities = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
    assert severities == sorted(severities, key=lambda s: s != "warning") and "try: " in out


def test_docs_table_is_the_registry():
    text = (ROOT / "docs" / "doctor.md").read_text()
    assert doctor.markdown_table() in text, "docs/doctor.md is stale: paste nnctl.runs.doctor.markdown_table()"


SHIPPED = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")
                 if not p.stem.startswith(("sweep_", "mnist")))


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_no_false_alarm_on_a_shipped_config(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # a config's data path is relative to the repository's root
    result = CliRunner().invoke(main, ["train", f"configs/{name}.yaml", "--run-dir", str(tmp_path / "run"), "-q",
                                       "--no-plots"])
    assert result.exit_code == 0, result.output
    warnings = [f for f in findings(tmp_path / "run").values() if f["severity"] == "warning"]
    assert warnings == []
