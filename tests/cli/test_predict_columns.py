"""predict matches a CSV's columns by the names recorded at training, and warns on rows far outside
the training range (both recorded in the checkpoint's preprocessing["inputs"])."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.data import inputs


def run(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in row) for row in rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint trained on a CSV whose text target sits between its features, and the CSV."""
    folder = tmp_path_factory.mktemp("columns")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(150, 3)) * [1, 10, 100]
    label = np.where(x[:, 0] > 0, "up", "down")
    data = write_csv(folder / "train.csv", ["a", "label", "b", "c"],
                     [(f"{r[0]:.4f}", l, f"{r[1]:.4f}", f"{r[2]:.4f}") for r, l in zip(x, label)])
    result = run("train", "--data", data, "--target", "label", "--set", "training.epochs=3", "-q", "--no-plots",
                 "--run-dir", folder / "run")
    assert result.exit_code == 0, result.output
    return folder / "run" / "checkpoint.json", data, x


def predicted(result):
    return [line.split(",")[0] for line in result.stdout.splitlines()[1:]]


def test_the_checkpoint_records_the_names_and_ranges(trained):
    checkpoint, _, x = trained
    recorded = json.loads(checkpoint.read_text())["preprocessing"]["inputs"]
    assert recorded["names"] == ["a", "b", "c"]
    assert len(recorded["min"]) == 3 and all(lo >= x[:, j].min() - 1e-3 for j, lo in enumerate(recorded["min"]))


def test_the_training_csv_with_its_target_column_is_predicted(trained):
    checkpoint, data, _ = trained
    result = run("predict", checkpoint, data)
    assert result.exit_code == 0, result.output
    assert len(predicted(result)) == 150 and result.stderr == ""


def test_columns_are_matched_by_name_in_any_order(trained, tmp_path):
    checkpoint, _data, x = trained
    ordered = write_csv(tmp_path / "ordered.csv", ["a", "b", "c"], x[:20].round(4).tolist())
    shuffled = write_csv(tmp_path / "shuffled.csv", ["c", "extra", "a", "b"],
                         [(r[2], 7, r[0], r[1]) for r in x[:20].round(4).tolist()])
    first, second = run("predict", checkpoint, ordered), run("predict", checkpoint, shuffled)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    assert second.stderr == (f"warning: {shuffled}: ignoring the column 'extra', which the model was not trained on\n")


def test_a_missing_column_exits_5_naming_it(trained, tmp_path):
    checkpoint, _, x = trained
    partial = write_csv(tmp_path / "partial.csv", ["c", "a"], [(r[2], r[0]) for r in x[:5].tolist()])
    result = run("predict", checkpoint, partial)
    assert result.exit_code == 5
    assert result.stderr.startswith(f"error: {partial}: missing the column 'b', which the model was trained on "
                                    f"(the header names c, a); columns are matched by name")


def test_rows_without_a_header_are_still_read_by_position(trained):
    checkpoint, _, x = trained
    text = "\n".join(",".join(f"{v:.4f}" for v in row) for row in x[:3]) + "\n"
    result = run("predict", checkpoint, "-", input=text)
    assert result.exit_code == 0 and len(predicted(result)) == 3


def test_rows_far_outside_the_range_warn_but_predict(trained, tmp_path):
    checkpoint, _, x = trained
    far = write_csv(tmp_path / "far.csv", ["a", "b", "c"], (x[:20] * 1000).round(2).tolist())
    result = run("predict", checkpoint, far)
    assert result.exit_code == 0 and len(predicted(result)) == 20
    assert "% of the input values lie far outside the training range (beyond it by more than its width), most in " \
           "column" in result.stderr
    assert "are these the same features, in the same units?" in result.stderr


def test_scaled_images_warn_did_you_scale_them_already(tmp_path):
    from sklearn.datasets import load_digits

    result = run("train", "--data", "digits", "--set", "training.epochs=1", "-q", "--no-plots",
                 "--run-dir", tmp_path / "run")
    assert result.exit_code == 0, result.output
    rows = load_digits().data[:3]
    np.save(tmp_path / "raw.npy", rows)
    np.save(tmp_path / "scaled.npy", rows / 16)
    raw = run("predict", tmp_path / "run" / "checkpoint.json", tmp_path / "raw.npy")
    scaled = run("predict", tmp_path / "run" / "checkpoint.json", tmp_path / "scaled.npy")
    assert raw.exit_code == scaled.exit_code == 0 and raw.stderr == ""
    assert scaled.stderr == ("warning: all input values lie in 0..1, but the training data ranged 0..16: did you "
                             "scale them already? nnctl applies the checkpoint's scaling itself, so give raw values\n")


def test_the_warning_rules():
    recorded = inputs.fit(np.array([[0.0, 0.0], [255.0, 255.0]]), None)
    assert inputs.warnings(np.full((40, 2), 0.5), recorded)[0].startswith("all input values lie in 0.5..0.5")
    assert inputs.warnings(np.array([[10.0, 200.0]]), recorded) == []  # one row says nothing about a spread
    assert inputs.warnings(np.array([[600.0, 20.0]]), recorded)[0].startswith("50% of the input values")
    assert inputs.warnings(np.zeros((3, 2)), None) == []  # an older checkpoint: nothing recorded


def test_a_malformed_record_makes_the_checkpoint_invalid(trained, tmp_path):
    from nnctl.runs import checkpoint as checkpoint_module

    checkpoint, _, _ = trained
    doc = json.loads(checkpoint.read_text())
    doc["preprocessing"]["inputs"]["names"] = ["a", "b"]
    doc["sha256"] = checkpoint_module._digest(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run("predict", bad, "-", input="1,2,3\n")
    assert result.exit_code == 4
    assert "preprocessing: inputs.names: expected null or 3 distinct column names" in result.stderr
